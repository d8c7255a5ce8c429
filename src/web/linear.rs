//! `/linear`: the Linear board (L4). A project selector, then for each team its workflow
//! states as columns (in Linear's order) with the project's issues as cards: identifier,
//! title, priority, assignee, labels, and the agent working it with its status. Admins drag a
//! card to another column (or use its "Move to" menu): Linear changes the issue first; when it
//! refuses, the card goes back with Linear's reason (static/board.js). The columns are the
//! live region, re-rendered when an issue, a project or an agent changes.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::shell::{Nav, Shell, Visit};
use super::theme::Theme;
use super::time::Clock;
use super::{page_or_fragment, see_other};
use crate::api::auth::safe_redirect;
use crate::domain::linear::{LinearIssue, WorkflowState, priority_name};
use crate::error::AppResult;
use crate::http::json::Form;
use crate::service::linear::board::{self, Worker};
use crate::service::linear::{self as service, SyncStatus, sync};
use crate::state::App;

/// A card: the issue, and what the page shows of it.
pub struct CardView {
    pub issue: LinearIssue,
    pub labels: Vec<String>,
    pub priority: &'static str,
    /// `urgent`, `high`, `medium`, `low` or `none`: the card's colour.
    pub priority_class: &'static str,
    /// The assignee's initials, for the avatar (no image is loaded from Linear).
    pub initials: String,
    pub worker: Option<Worker>,
    /// The issue's page in Linear.
    pub link: Option<String>,
}

impl CardView {
    fn of(issue: LinearIssue, worker: Option<Worker>) -> CardView {
        let labels = issue.label_names.as_deref().and_then(|l| serde_json::from_str::<Vec<String>>(l).ok()).unwrap_or_default();
        let (priority_class, priority) = priority_name(issue.priority);
        let initials = issue.assignee_name.as_deref().map(initials).unwrap_or_default();
        // Only web addresses become links (a card never links to `javascript:`).
        let link = issue.url.clone().filter(|u| u.starts_with("https://") || u.starts_with("http://"));
        CardView { labels, priority, priority_class, initials, worker, link, issue }
    }

    pub fn title(&self) -> String {
        match &self.issue.identifier {
            Some(id) => format!("{id} {}", self.issue.title),
            None => self.issue.title.clone(),
        }
    }
}

/// Up to two initials of a name ("Ana Lima" → "AL", "builder" → "B").
fn initials(name: &str) -> String {
    name.split_whitespace().filter_map(|w| w.chars().next()).take(2).flat_map(char::to_uppercase).collect()
}

pub struct Column {
    pub state: WorkflowState,
    pub cards: Vec<CardView>,
}

pub struct TeamBoard {
    pub name: String,
    pub columns: Vec<Column>,
}

impl TeamBoard {
    /// The team's other columns, for a card's "Move to" menu: (state id, name).
    pub fn moves_from(&self, state: &str) -> Vec<(&str, &str)> {
        self.columns.iter().filter(|c| c.state.id != state).map(|c| (c.state.id.as_str(), c.state.name.as_str())).collect()
    }
}

pub struct LinearView {
    pub configured: bool,
    /// (id, name) of every cached project, by name.
    pub projects: Vec<(String, String)>,
    pub selected: Option<String>,
    pub teams: Vec<TeamBoard>,
    pub shown: usize,
    /// Issues of the project whose workflow state is not cached (shown after the next sync).
    pub unplaced: usize,
    pub last_sync: Option<SyncStatus>,
    pub clock: Clock,
}

#[derive(Template)]
#[template(path = "linear.html")]
struct LinearPage {
    shell: Shell,
    view: LinearView,
}

#[derive(Template)]
#[template(path = "linear_live.html")]
struct LinearLive {
    shell: Shell,
    view: LinearView,
}

/// The project's board: its teams' columns with its issues.
async fn load(app: &App, wanted: Option<&str>) -> AppResult<LinearView> {
    let summaries = board::projects(app).await?;
    // Without a choice, the project with the most issues.
    let busiest =
        summaries.iter().max_by_key(|p| (p.issues_by_state.values().sum::<i64>(), std::cmp::Reverse(p.project.name.to_lowercase())));
    let busiest = busiest.map(|p| p.project.id.clone());
    let team_of: HashMap<String, Option<String>> = summaries.iter().map(|p| (p.project.id.clone(), p.project.team_id.clone())).collect();
    let mut projects: Vec<(String, String)> = summaries.into_iter().map(|p| (p.project.id, p.project.name)).collect();
    projects.sort_by(|a, b| a.1.to_lowercase().cmp(&b.1.to_lowercase()).then(a.0.cmp(&b.0)));
    let selected = wanted.filter(|w| projects.iter().any(|(id, _)| id == w)).map(String::from).or(busiest);
    let data = match &selected {
        Some(project) => Some(board::board(app, Some(project)).await?),
        None => None,
    };
    let mut teams = Vec::new();
    let (mut shown, mut unplaced) = (0, 0);
    if let Some(mut data) = data {
        let project_team = selected.as_ref().and_then(|p| team_of.get(p).cloned().flatten());
        let mut by_state: HashMap<String, Vec<CardView>> = HashMap::new();
        let known: HashMap<&str, &WorkflowState> = data.states.iter().map(|s| (s.id.as_str(), s)).collect();
        let mut team_ids: Vec<String> = project_team.into_iter().collect();
        for issue in std::mem::take(&mut data.issues) {
            let Some(state) = issue.state_id.as_deref().and_then(|id| known.get(id)) else {
                unplaced += 1;
                continue;
            };
            if !team_ids.contains(&state.team_id) {
                team_ids.push(state.team_id.clone());
            }
            let worker = data.workers.remove(&issue.id);
            by_state.entry(state.id.clone()).or_default().push(CardView::of(issue, worker));
            shown += 1;
        }
        for team_id in team_ids {
            let name = data.teams.iter().find(|t| t.id == team_id).map_or_else(|| team_id.clone(), |t| t.name.clone());
            let columns = data
                .states
                .iter()
                .filter(|s| s.team_id == team_id)
                .map(|s| {
                    let mut cards = by_state.remove(&s.id).unwrap_or_default();
                    cards.sort_by(|a, b| {
                        priority_order(a.issue.priority).cmp(&priority_order(b.issue.priority)).then(a.issue.id.cmp(&b.issue.id))
                    });
                    Column { state: s.clone(), cards }
                })
                .collect();
            teams.push(TeamBoard { name, columns });
        }
    }
    Ok(LinearView {
        configured: app.linear.is_configured(),
        projects,
        selected,
        teams,
        shown,
        unplaced,
        last_sync: service::last_sync(&app.db.read).await?,
        clock: Clock { now: app.clock.now() },
    })
}

/// Urgent first, no priority last (Linear's own order).
fn priority_order(p: i64) -> i64 {
    if p == 0 { 5 } else { p }
}

pub async fn show(State(app): State<App>, visit: Visit) -> AppResult<Response> {
    let mut shell = Shell::build(&app, &visit, "Linear", Nav::Linear).await?.with_script(&app, "board.js");
    shell.live = Some("linear");
    let view = load(&app, visit.params.non_empty("linear_project")).await?;
    Ok(page_or_fragment(
        &visit.params,
        (shell, view),
        |(shell, view)| LinearPage { shell, view },
        |(shell, view)| LinearLive { shell, view },
    ))
}

#[derive(Debug, Deserialize)]
pub struct MoveForm {
    status: String,
    #[serde(default)]
    back: Option<String>,
}

/// `POST /linear/issues/{id}/move`: the card menu without JavaScript.
pub async fn move_issue(State(app): State<App>, Path(id): Path<String>, Form(form): Form<MoveForm>) -> AppResult<Response> {
    board::move_issue(&app, id, form.status).await?;
    Ok(see_other(safe_redirect(form.back.as_deref(), &app.base_path)))
}

#[derive(Debug, Deserialize)]
pub struct SyncForm {
    #[serde(default)]
    back: Option<String>,
}

/// `POST /linear/sync`: the page's "Sync now".
pub async fn sync_now(State(app): State<App>, Form(form): Form<SyncForm>) -> AppResult<Response> {
    sync::run(&app, None, "manual").await?;
    Ok(see_other(safe_redirect(form.back.as_deref(), &app.base_path)))
}

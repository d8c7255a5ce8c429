//! The full sync (L2): teams → workflow states → projects → issues, every page, then one
//! write that replaces the cache and removes what Linear no longer has. Run by
//! `POST /api/linear/sync`, the Linear page's button and the scheduler's `linear:sync` timer.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use serde_json::{Value, json};

use crate::db::WriteConn;
use crate::db::linear::{self as cache, Table};
use crate::domain::linear::{LinearIssue, LinearProject, LinearTeam, WorkflowState, issue_from, project_from};
use crate::error::{AppError, AppResult};
use crate::linear::queries::{PROJECT, PROJECT_ISSUES, PROJECTS, TEAM_STATES, TEAMS};
use crate::linear::{Linear, LinearError};
use crate::state::App;

/// What a sync brought, as `POST /api/linear/sync` reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Synced {
    pub projects: usize,
    pub issues: usize,
    pub states: usize,
}

/// Linear's side of the workspace, fetched before anything is written.
struct Fetched {
    teams: Vec<LinearTeam>,
    states: Vec<WorkflowState>,
    projects: Vec<LinearProject>,
    /// Each project's issues (linked tasks filled in at write time).
    issues: Vec<LinearIssue>,
}

/// Page sizes: Linear's defaults for teams and projects; states and issues in larger pages
/// (an issue page with its labels stays well under the complexity limit).
const TEAMS_PAGE: u32 = 50;
const STATES_PAGE: u32 = 100;
const PROJECTS_PAGE: u32 = 50;
const ISSUES_PAGE: u32 = 100;

fn text(node: &Value, key: &str) -> String {
    node.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

async fn fetch(linear: &Linear, only: Option<&str>, now: i64) -> Result<Fetched, LinearError> {
    let team_nodes = linear.all_pages(TEAMS, json!({"first": TEAMS_PAGE}), &["teams"]).await?;
    let teams: Vec<LinearTeam> = team_nodes
        .iter()
        .map(|t| LinearTeam { id: text(t, "id"), key: text(t, "key"), name: text(t, "name"), synced_at: now })
        .filter(|t| !t.id.is_empty())
        .collect();
    let mut states = Vec::new();
    for team in &teams {
        for s in linear.all_pages(TEAM_STATES, json!({"teamId": team.id, "first": STATES_PAGE}), &["team", "states"]).await? {
            states.push(WorkflowState {
                id: text(&s, "id"),
                team_id: team.id.clone(),
                name: text(&s, "name"),
                kind: text(&s, "type"),
                color: s.get("color").and_then(Value::as_str).map(String::from),
                position: s.get("position").and_then(Value::as_f64),
                synced_at: now,
            });
        }
    }
    tracing::info!(teams = teams.len(), states = states.len(), "Linear sync: teams and workflow states fetched");
    let project_nodes = match only {
        Some(id) => vec![linear.run(PROJECT, json!({"id": id})).await?.get("project").cloned().unwrap_or(Value::Null)],
        None => linear.all_pages(PROJECTS, json!({"first": PROJECTS_PAGE}), &["projects"]).await?,
    };
    let team_names: HashMap<&str, &str> = teams.iter().map(|t| (t.id.as_str(), t.name.as_str())).collect();
    let projects: Vec<LinearProject> = project_nodes
        .iter()
        .filter(|p| p.is_object())
        .map(|p| project_from(p, |id| team_names.get(id).map(|n| n.to_string()), now))
        .collect();
    let by_id: HashMap<&str, &WorkflowState> = states.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut issues = Vec::new();
    for project in &projects {
        let nodes =
            linear.all_pages(PROJECT_ISSUES, json!({"projectId": project.id, "first": ISSUES_PAGE}), &["project", "issues"]).await?;
        tracing::info!(project = %project.name, issues = nodes.len(), "Linear sync: project fetched");
        issues.extend(nodes.iter().map(|node| {
            let state = node.get("state").and_then(|s| s.get("id")).and_then(Value::as_str).and_then(|id| by_id.get(id).copied());
            issue_from(node, Some(&project.id), state, None, now)
        }));
    }
    Ok(Fetched { teams, states, projects, issues })
}

/// Syncs everything, or one project's issues (`only`), and records how it went for Settings.
pub async fn run(app: &App, only: Option<String>, trigger: &str) -> AppResult<Synced> {
    let started = Instant::now();
    let now = app.clock.now();
    let outcome = match fetch(&app.linear, only.as_deref(), now).await {
        Ok(fetched) => store(app, fetched, only, now).await,
        Err(e) => Err(e.into()),
    };
    let status = super::SyncStatus {
        at: app.clock.now(),
        duration_ms: started.elapsed().as_millis() as u64,
        trigger: trigger.to_string(),
        projects: outcome.as_ref().map_or(0, |s| s.projects),
        issues: outcome.as_ref().map_or(0, |s| s.issues),
        states: outcome.as_ref().map_or(0, |s| s.states),
        error: outcome.as_ref().err().map(shown),
    };
    match &status.error {
        None => tracing::info!(projects = status.projects, issues = status.issues, ms = status.duration_ms, "Linear sync done"),
        Some(error) => tracing::warn!(%error, "Linear sync failed"),
    }
    super::record_sync(app, status).await?;
    outcome
}

/// What Settings shows of a failed sync: Linear's reason, or that ocd's own storage failed
/// (whose cause is in the log, not on a page).
fn shown(e: &AppError) -> String {
    match e {
        AppError::BadGateway(m) | AppError::NotConfigured(m) | AppError::BadRequest(m) => m.clone(),
        _ => "ocd could not store the sync (see the server log)".into(),
    }
}

/// One write: upserts what was fetched, removes what Linear no longer has (rows synced
/// before this sync began that it did not see — a webhook's newer row stays), announces it.
async fn store(app: &App, fetched: Fetched, only: Option<String>, now: i64) -> AppResult<Synced> {
    let synced = Synced { projects: fetched.projects.len(), issues: fetched.issues.len(), states: fetched.states.len() };
    app.db
        .write(move |c| {
            Box::pin(async move {
                let linked = cache::linked_tasks(c).await?;
                let full = only.is_none();
                if full {
                    for team in &fetched.teams {
                        cache::upsert_team(c, team).await?;
                    }
                    for state in &fetched.states {
                        cache::upsert_state(c, state).await?;
                    }
                } else {
                    // A one-project sync refreshes the states its board needs, and removes none.
                    for state in &fetched.states {
                        cache::upsert_state(c, state).await?;
                    }
                }
                for project in &fetched.projects {
                    cache::upsert_project(c, project).await?;
                }
                for issue in fetched.issues.iter() {
                    let issue = LinearIssue { agent_task_id: linked.get(&issue.id).cloned(), ..issue.clone() };
                    cache::upsert_issue(c, &issue).await?;
                }
                if full {
                    remove_unseen(c, Table::Teams, fetched.teams.iter().map(|t| &t.id), now, None).await?;
                    remove_unseen(c, Table::States, fetched.states.iter().map(|s| &s.id), now, None).await?;
                    remove_unseen(c, Table::Projects, fetched.projects.iter().map(|p| &p.id), now, None).await?;
                    remove_unseen(c, Table::Issues, fetched.issues.iter().map(|i| &i.id), now, None).await?;
                } else {
                    remove_unseen(c, Table::Issues, fetched.issues.iter().map(|i| &i.id), now, only.as_deref()).await?;
                }
                super::publish(c, "project:updated", json!({ "synced": synced }), now).await?;
                super::publish(c, "todo:updated", json!({ "synced_issues": synced.issues }), now).await?;
                Ok(synced)
            })
        })
        .await
}

async fn remove_unseen<'a>(
    c: &mut WriteConn,
    table: Table,
    seen: impl Iterator<Item = &'a String>,
    before: i64,
    project: Option<&str>,
) -> AppResult<()> {
    let seen: HashSet<&String> = seen.collect();
    let gone: Vec<String> = cache::synced_before(c, table, before, project).await?.into_iter().filter(|id| !seen.contains(id)).collect();
    if !gone.is_empty() {
        tracing::info!(table = ?table, removed = gone.len(), "Linear sync: removed what Linear no longer has");
        cache::delete_rows(c, table, &gone).await?;
    }
    Ok(())
}

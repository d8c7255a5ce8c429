//! The full sync (L2): teams → workflow states → projects → issues, every page, then one
//! write that replaces the cache and removes what Linear no longer has. Run by
//! `POST /api/linear/sync`, the Linear page's button and the scheduler's `linear:sync` timer.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::db::WriteConn;
use crate::db::linear::{self as cache, Table};
use crate::domain::linear::{LinearIssue, LinearProject, LinearTeam, WorkflowState, issue_from, project_from};
use crate::error::{AppError, AppResult};
use crate::linear::queries::{ISSUES, PROJECT, PROJECTS, TEAMS, WORKFLOW_STATES};
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

#[derive(Debug, Deserialize)]
struct TeamNode {
    id: String,
    key: String,
    name: String,
}

#[derive(Debug, Deserialize)]
struct StateNode {
    id: String,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    color: Option<String>,
    position: Option<f64>,
    team: IdOnly,
}

#[derive(Debug, Deserialize)]
struct IdOnly {
    id: String,
}

/// Teams, workflow states, projects (all, or `only`), then those projects' issues: one
/// paginated list each.
async fn fetch(linear: &Linear, only: Option<&str>, now: i64) -> Result<Fetched, LinearError> {
    let teams: Vec<LinearTeam> = linear
        .all_pages::<TeamNode>(TEAMS, json!({"first": TEAMS_PAGE}), &["teams"])
        .await?
        .into_iter()
        .map(|t| LinearTeam { id: t.id, key: t.key, name: t.name, synced_at: now })
        .collect();
    let states: Vec<WorkflowState> = linear
        .all_pages::<StateNode>(WORKFLOW_STATES, json!({"first": STATES_PAGE}), &["workflowStates"])
        .await?
        .into_iter()
        .map(|s| WorkflowState {
            id: s.id,
            team_id: s.team.id,
            name: s.name,
            kind: s.kind,
            color: s.color,
            position: s.position,
            synced_at: now,
        })
        .collect();
    tracing::info!(teams = teams.len(), states = states.len(), "Linear sync: teams and workflow states fetched");
    // Projects and issues stay JSON: the same rules (domain/linear.rs) read a webhook's data.
    let project_nodes = match only {
        Some(id) => vec![linear.run(PROJECT, json!({"id": id})).await?.get("project").cloned().unwrap_or(Value::Null)],
        None => linear.all_pages::<Value>(PROJECTS, json!({"first": PROJECTS_PAGE}), &["projects"]).await?,
    };
    let team_names: HashMap<&str, &str> = teams.iter().map(|t| (t.id.as_str(), t.name.as_str())).collect();
    let projects: Vec<LinearProject> = project_nodes
        .iter()
        .map(|p| project_from(p, |id| team_names.get(id).map(|n| n.to_string()), now))
        .filter(|p| !p.id.is_empty())
        .collect();
    tracing::info!(projects = projects.len(), "Linear sync: projects fetched");
    let filter = match only {
        Some(id) => json!({"project": {"id": {"eq": id}}}),
        None => json!({"project": {"null": false}}),
    };
    let by_id: HashMap<&str, &WorkflowState> = states.iter().map(|s| (s.id.as_str(), s)).collect();
    let known_projects: HashSet<&str> = projects.iter().map(|p| p.id.as_str()).collect();
    let issues: Vec<LinearIssue> = linear
        .all_pages::<Value>(ISSUES, json!({"filter": filter, "first": ISSUES_PAGE}), &["issues"])
        .await?
        .iter()
        .map(|node| {
            let state = node.get("state").and_then(|s| s.get("id")).and_then(Value::as_str).and_then(|id| by_id.get(id).copied());
            issue_from(node, state, None, now)
        })
        // (An issue of a project the project list left out, say an archived one, is not kept.)
        .filter(|i| !i.id.is_empty() && i.project_id.as_deref().is_some_and(|p| known_projects.contains(p)))
        .collect();
    tracing::info!(issues = issues.len(), "Linear sync: issues fetched");
    Ok(Fetched { teams, states, projects, issues })
}

/// Syncs everything, or one project's issues (`only`), and records how it went for Settings.
/// One sync at a time per process (the scheduler's lease makes it one across replicas): a
/// second one asked for meanwhile is refused (409).
pub async fn run(app: &App, only: Option<String>, trigger: &str) -> AppResult<Synced> {
    let Ok(_running) = app.linear_sync.try_lock() else {
        return Err(AppError::Conflict("A Linear sync is running; it will be done in a moment".into()));
    };
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
                let full = only.is_none();
                if full {
                    for team in &fetched.teams {
                        cache::upsert_team(c, team).await?;
                    }
                }
                // (A one-project sync refreshes the states its board needs, and removes none.)
                for state in &fetched.states {
                    cache::upsert_state(c, state).await?;
                }
                for project in &fetched.projects {
                    cache::upsert_project(c, project).await?;
                }
                // (An upsert keeps the cached issue's linked agent task.)
                for issue in &fetched.issues {
                    cache::upsert_issue(c, issue).await?;
                }
                // What Linear has is not removed, whatever a webhook said before.
                cache::forget_found_removals(c).await?;
                // The issues this sync speaks for: those of the projects it read, and of the
                // projects that are gone (their issues Linear still has are in no project now).
                let mut scope: Vec<String> = fetched.projects.iter().map(|p| p.id.clone()).collect();
                let mut gone = Vec::new();
                if full {
                    remove_unseen(c, Table::Teams, fetched.teams.iter().map(|t| &t.id), now, &[]).await?;
                    remove_unseen(c, Table::States, fetched.states.iter().map(|s| &s.id), now, &[]).await?;
                    gone = unseen(c, Table::Projects, fetched.projects.iter().map(|p| &p.id), now, &[]).await?;
                    scope.extend(gone.iter().cloned());
                }
                remove_unseen(c, Table::Issues, fetched.issues.iter().map(|i| &i.id), now, &scope).await?;
                for project in &gone {
                    cache::delete_project(c, project).await?;
                }
                super::publish(c, "project:updated", json!({ "synced": synced }), now).await?;
                super::publish(c, "todo:updated", json!({ "synced_issues": synced.issues }), now).await?;
                Ok(synced)
            })
        })
        .await
}

/// The rows of `table` synced before `before` that this sync did not see (issues: of `projects`).
async fn unseen<'a>(
    c: &mut WriteConn,
    table: Table,
    seen: impl Iterator<Item = &'a String>,
    before: i64,
    projects: &[String],
) -> AppResult<Vec<String>> {
    let seen: HashSet<&String> = seen.collect();
    Ok(cache::synced_before(c, table, before, projects).await?.into_iter().filter(|id| !seen.contains(id)).collect())
}

async fn remove_unseen<'a>(
    c: &mut WriteConn,
    table: Table,
    seen: impl Iterator<Item = &'a String>,
    before: i64,
    projects: &[String],
) -> AppResult<()> {
    let gone = unseen(c, table, seen, before, projects).await?;
    if !gone.is_empty() {
        tracing::info!(table = ?table, removed = gone.len(), "Linear sync: removed what Linear no longer has");
        cache::delete_rows(c, table, &gone).await?;
    }
    Ok(())
}

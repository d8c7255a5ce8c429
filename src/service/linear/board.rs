//! The Linear board (L4): what its columns and cards show, and a card moved to another
//! column — Linear changes the issue's state first; the cache follows Linear's answer.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::db::linear::{self as cache};
use crate::domain::linear::{LinearIssue, LinearProject, LinearTeam, WorkflowState};
use crate::error::{AppError, AppResult};
use crate::linear::LinearError;
use crate::linear::queries::ISSUE_SET_STATE;
use crate::state::App;

/// A project with how many of its issues are in each state type (`GET /api/linear/projects`).
#[derive(Debug, Clone, Serialize)]
pub struct ProjectSummary {
    #[serde(flatten)]
    pub project: LinearProject,
    pub issues_by_state: BTreeMap<String, i64>,
}

pub async fn projects(app: &App) -> AppResult<Vec<ProjectSummary>> {
    let mut counts: HashMap<String, BTreeMap<String, i64>> = HashMap::new();
    for (project, state, count) in cache::issue_counts(&app.db.read).await? {
        counts.entry(project).or_default().insert(state, count);
    }
    let projects = cache::projects(&app.db.read).await?;
    Ok(projects.into_iter().map(|p| ProjectSummary { issues_by_state: counts.remove(&p.id).unwrap_or_default(), project: p }).collect())
}

/// The agent task working an issue, as its card shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Worker {
    pub task_id: String,
    pub task_status: String,
    pub agent_id: String,
    pub agent_name: String,
    pub agent_status: String,
}

/// Everything one board shows: the issues (of a project, or all), every workflow state and
/// team, and the agent working each linked issue.
pub struct Board {
    pub issues: Vec<LinearIssue>,
    pub states: Vec<WorkflowState>,
    pub teams: Vec<LinearTeam>,
    pub workers: HashMap<String, Worker>,
}

pub async fn board(app: &App, project: Option<&str>) -> AppResult<Board> {
    let issues = cache::issues(&app.db.read, project).await?;
    let states = cache::states(&app.db.read).await?;
    let teams = cache::teams(&app.db.read).await?;
    let workers = cache::workers(&app.db.read, project)
        .await?
        .into_iter()
        .map(|(issue, task_id, task_status, agent_id, agent_name, agent_status)| {
            (issue, Worker { task_id, task_status, agent_id, agent_name, agent_status })
        })
        .collect();
    Ok(Board { issues, states, teams, workers })
}

/// `GET /api/linear/issues`: the original's answer, plus the teams and each card's worker.
pub fn board_json(board: &Board) -> Value {
    let issues: Vec<Value> = board
        .issues
        .iter()
        .map(|i| {
            let mut value = json!(i);
            if let (Some(map), Some(worker)) = (value.as_object_mut(), board.workers.get(&i.id)) {
                map.insert("agent".into(), json!(worker));
            }
            value
        })
        .collect();
    json!({ "issues": issues, "workflow_states": board.states, "teams": board.teams })
}

/// Linear's answer to `issueUpdate`: whether it changed the issue, and the issue's new state.
#[derive(Debug, Deserialize)]
struct IssueUpdated {
    #[serde(rename = "issueUpdate")]
    issue_update: UpdatePayload,
}

#[derive(Debug, Deserialize)]
struct UpdatePayload {
    success: bool,
    issue: Option<UpdatedIssue>,
}

#[derive(Debug, Deserialize)]
pub(super) struct UpdatedIssue {
    #[serde(rename = "updatedAt")]
    updated_at: Option<String>,
    state: StateRef,
}

#[derive(Debug, Deserialize)]
struct StateRef {
    id: String,
    name: String,
    #[serde(rename = "type")]
    kind: String,
}

/// Asks Linear to move an issue to a workflow state: the issue as Linear reports it after
/// the change, or none when Linear answered that it did not change it.
pub(super) async fn set_state_in_linear(app: &App, issue_id: &str, state_id: &str) -> Result<Option<UpdatedIssue>, LinearError> {
    let answer: IssueUpdated = app.linear.query(ISSUE_SET_STATE, json!({"id": issue_id, "stateId": state_id})).await?;
    Ok(answer.issue_update.issue.filter(|_| answer.issue_update.success))
}

/// The cached card takes the state Linear reported (with Linear's time of the change, so an
/// older copy arriving later does not undo it); announced on the stream.
pub(super) async fn store_state(app: &App, issue_id: String, reported: UpdatedIssue) -> AppResult<LinearIssue> {
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let cached = cache::state(&mut *c, &reported.state.id).await?;
                let state = WorkflowState {
                    team_id: cached.map(|s| s.team_id).unwrap_or_default(),
                    id: reported.state.id,
                    name: reported.state.name,
                    kind: reported.state.kind,
                    color: None,
                    position: None,
                    synced_at: now,
                };
                cache::set_issue_state(c, &issue_id, &state, reported.updated_at.as_deref(), now).await?;
                let issue = cache::issue(&mut *c, &issue_id).await?.ok_or_else(|| AppError::NotFound("Issue not found in cache".into()))?;
                super::issue_changed(c, &issue, now).await?;
                Ok(issue)
            })
        })
        .await
}

/// Moves an issue to another workflow state: Linear first (`issueUpdate`); the cached card
/// then takes the state Linear reports. An issue ocd has not cached is refused before
/// anything is asked of Linear.
pub async fn move_issue(app: &App, issue_id: String, state_id: String) -> AppResult<LinearIssue> {
    if cache::issue(&app.db.read, &issue_id).await?.is_none() {
        return Err(AppError::NotFound("Issue not found in cache".into()));
    }
    let Some(reported) = set_state_in_linear(app, &issue_id, &state_id).await? else {
        return Err(AppError::BadGateway("Linear did not change the issue's state".into()));
    };
    store_state(app, issue_id, reported).await
}

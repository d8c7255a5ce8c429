//! Agents and Linear issues (L5). An issue that enters a started state and whose assignee is
//! an agent (by the user map, else by name) becomes that agent's task `linear_<issueId>`,
//! linked to the issue, and the agent is told about it with a `message` command. When an
//! agent finishes such a task and `complete_on_done` is on, the issue moves to its team's
//! first completed state in Linear (a durable timer, so a restart or an unreachable Linear
//! delays it but does not lose it).

use crate::db::linear as cache;
use crate::domain::agents::CommandKind;
use crate::domain::linear::{Candidate, agent_for, assignment_message, first_completed_state, task_id_for, task_priority};
use crate::error::{AppError, AppResult};
use crate::service::agents::{self, NewAssignment};
use crate::service::commands;
use crate::state::App;

/// Gives the issue to its agent when the rule says so; the task it made, if any.
pub async fn consider(app: &App, issue_id: &str) -> AppResult<Option<String>> {
    let Some(issue) = cache::issue(&app.db.read, issue_id).await? else { return Ok(None) };
    let settings = super::settings(&app.db.read).await?;
    let names = crate::db::agents::names(&app.db.read).await?;
    let candidates: Vec<Candidate> = names.iter().map(|(id, name)| Candidate { id, name }).collect();
    let Some(agent_id) = agent_for(&issue, &settings, &candidates) else { return Ok(None) };
    let project_id = crate::db::agents::find(&app.db.read, &agent_id).await?.and_then(|a| a.project_id);
    let new = NewAssignment {
        task_id: task_id_for(&issue.id),
        title: issue.title.clone(),
        priority: task_priority(issue.priority),
        linear_issue_id: Some(issue.id.clone()),
        project_id,
    };
    let task = match agents::assign(app, agent_id.clone(), new).await {
        Ok(task) => task,
        // Another delivery of this issue got here first, or the agent is gone: nothing to do.
        Err(AppError::Conflict(_) | AppError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    commands::queue(app, &agent_id, CommandKind::Message, Some(assignment_message(&issue))).await?;
    tracing::info!(issue = %issue.id, agent = %agent_id, "Linear issue assigned to its agent");
    Ok(Some(task.id))
}

/// The `linear:done:<issue>` timer: with `complete_on_done` on, moves the issue to its team's
/// first completed state. An error Linear will repeat (the issue is gone, the key refused) is
/// logged and dropped; a passing one (unreachable, rate limited) is returned, so the timer
/// runs again when its lease ends.
pub async fn finish_issue(app: &App, issue_id: &str) -> AppResult<()> {
    if !super::settings(&app.db.read).await?.complete_on_done || !app.linear.is_configured() {
        return Ok(());
    }
    let Some(issue) = cache::issue(&app.db.read, issue_id).await? else { return Ok(()) };
    if matches!(issue.state_type.as_deref(), Some("completed" | "canceled")) {
        return Ok(());
    }
    let states = cache::states(&app.db.read).await?;
    let Some(done) = issue.team_id.as_deref().and_then(|team| first_completed_state(&states, team)).cloned() else {
        tracing::warn!(issue = %issue_id, "Linear issue not finished: its team has no completed state in the cache");
        return Ok(());
    };
    match super::board::set_state_in_linear(app, issue_id, &done.id).await {
        Ok(Some(reported)) => super::board::store_state(app, issue_id.to_string(), reported).await.map(|_| ()),
        Ok(None) => {
            tracing::warn!(issue = %issue_id, "Linear did not finish the issue");
            Ok(())
        }
        Err(e) if e.is_transient() => Err(e.into()),
        Err(e) => {
            tracing::warn!(issue = %issue_id, error = %e, "Linear issue not finished");
            Ok(())
        }
    }
}

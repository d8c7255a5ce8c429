//! An agent's tasks as it reports them: created or updated by id, patched field by field,
//! a new status running its rule (docs/decisions.md#agent-tasks, #upserts, #completion).

use serde::Deserialize;
use serde_json::json;

use super::lifecycle;
use crate::db::agents::{self, AgentTask, Usage, announce};
use crate::db::{alerts, projects};
use crate::domain::agents::{AgentStatus, AgentTaskStatus, BlockSource};
use crate::domain::{Field, Int, Priority, ids, non_null};
use crate::error::{AppError, AppResult};
use crate::state::App;

/// A generated agent task id in the original's format.
pub fn new_task_id(now_ms: i64) -> String {
    ids::generate("task", now_ms)
}

#[derive(Debug, Deserialize)]
pub struct TaskReport {
    #[serde(default, deserialize_with = "non_null")]
    pub id: Option<String>,
    pub title: String,
    #[serde(default)]
    pub linear_issue_id: Field<String>,
    #[serde(default)]
    pub project_id: Field<String>,
    #[serde(default, deserialize_with = "non_null")]
    pub priority: Option<Priority>,
    #[serde(default, deserialize_with = "non_null")]
    pub status: Option<AgentTaskStatus>,
    #[serde(flatten)]
    pub usage: Usage,
}

/// Creates a task (`true`) or, for a known id of this agent, updates it (decisions.md#upserts).
/// A task that starts in progress (or pending) becomes the agent's current work; one created
/// finished leaves the agent alone (decisions.md#agent-tasks).
pub async fn report(app: &App, agent_id: String, body: TaskReport) -> AppResult<(AgentTask, bool)> {
    let now_ms = app.clock.now_ms();
    let now = now_ms.div_euclid(1000);
    let id = agent_id.clone();
    let (task, created) = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let mut agent = agents::get(c, &id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
                let task_id = body.id.filter(|s| !s.is_empty()).unwrap_or_else(|| new_task_id(now_ms));
                let existing = agents::get_task(c, &task_id).await?;
                if existing.as_ref().is_some_and(|t| t.agent_id != agent.id) {
                    return Err(AppError::Conflict(format!("Task {task_id} belongs to another agent")));
                }
                let status = body.status.unwrap_or(AgentTaskStatus::Pending);
                let was_completed = existing.as_ref().is_some_and(|t| t.status == AgentTaskStatus::Completed);
                let created = existing.is_none();
                let mut task =
                    existing.unwrap_or_else(|| AgentTask::pending(task_id, agent.id.clone(), String::new(), Priority::Medium, now));
                task.title = body.title;
                if let Some(issue) = body.linear_issue_id.update() {
                    task.linear_issue_id = issue;
                }
                if let Some(project) = body.project_id.empty_as_null().update() {
                    task.project_id = project;
                }
                if let Some(priority) = body.priority {
                    task.priority = priority;
                }
                if created || body.status.is_some() {
                    task.status = status;
                    if status == AgentTaskStatus::InProgress {
                        task.started_at = task.started_at.or(Some(now));
                    }
                    if matches!(status, AgentTaskStatus::Completed | AgentTaskStatus::Cancelled) {
                        task.completed_at = task.completed_at.or(Some(now));
                    }
                }
                task.updated_at = now;
                if created {
                    agents::insert_task(c, &task).await?;
                } else {
                    agents::save_task(c, &task).await?;
                }
                projects::ensure(c, task.project_id.as_deref(), now).await?;
                agents::record_activity(c, &agent.id, Some(&task.id), body.usage, now).await?;
                let task = agents::get_task(c, &task.id).await?.unwrap_or(task);
                if task.status == AgentTaskStatus::Completed && !was_completed {
                    lifecycle::linear_issue_done(c, &task, now).await?;
                }
                match task.status {
                    AgentTaskStatus::InProgress | AgentTaskStatus::Pending if agent.status != AgentStatus::Sleeping => {
                        agent.status = AgentStatus::Working;
                        agent.current_task_id = Some(task.id.clone());
                        agents::save(c, &agent).await?;
                    }
                    AgentTaskStatus::Blocked => {
                        agent.status = AgentStatus::Blocked;
                        agent.current_task_id = Some(task.id.clone());
                        agents::save(c, &agent).await?;
                    }
                    _ => {}
                }
                announce(c, task.project_id.as_deref(), json!({"agent": agent, "task": task, "action": "task_created"}), now).await?;
                Ok((task, created))
            })
        })
        .await?;
    // Progress moved: the live usage figures follow (service/usage.rs).
    app.usage.touch(&agent_id);
    Ok((task, created))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    #[serde(default)]
    pub linear_issue_id: Field<String>,
    #[serde(default)]
    pub project_id: Field<String>,
    #[serde(default, deserialize_with = "non_null")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    pub status: Option<AgentTaskStatus>,
    #[serde(default, deserialize_with = "non_null")]
    pub priority: Option<Priority>,
    #[serde(default)]
    pub blocked_reason: Field<String>,
    #[serde(default)]
    pub blocked_at: Field<Int>,
    #[serde(default)]
    pub started_at: Field<Int>,
    #[serde(default)]
    pub completed_at: Field<Int>,
    #[serde(default, deserialize_with = "non_null")]
    pub tokens_in: Option<i64>,
    #[serde(default, deserialize_with = "non_null")]
    pub tokens_out: Option<i64>,
    #[serde(default, deserialize_with = "non_null")]
    pub cost_usd: Option<f64>,
}

/// Changes what was sent; a new status runs its rule (completion, block, resume, cancel).
pub async fn patch(app: &App, agent_id: String, task_id: String, body: TaskPatch) -> AppResult<AgentTask> {
    let usage = Usage { tokens_in: body.tokens_in, tokens_out: body.tokens_out, cost_usd: body.cost_usd };
    let now = app.clock.now();
    let id = agent_id.clone();
    let task = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let mut agent = agents::get(c, &id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
                let mut task =
                    agents::get_task(c, &task_id).await?.filter(|t| t.agent_id == agent.id).ok_or_else(|| AppError::not_found("Task"))?;
                if let Some(v) = body.linear_issue_id.update() {
                    task.linear_issue_id = v;
                }
                if let Some(v) = body.project_id.update() {
                    task.project_id = v;
                }
                if let Some(v) = body.title {
                    task.title = v;
                }
                if let Some(v) = body.priority {
                    task.priority = v;
                }
                let new_reason = body.blocked_reason.update();
                if let Some(v) = new_reason.clone() {
                    task.blocked_reason = v;
                }
                if let Some(v) = body.blocked_at.update() {
                    task.blocked_at = v.map(|i| i.0);
                }
                if let Some(v) = body.started_at.update() {
                    task.started_at = v.map(|i| i.0);
                }
                if let Some(v) = body.completed_at.update() {
                    task.completed_at = v.map(|i| i.0);
                }
                task.updated_at = now;
                match body.status {
                    // The same rule as POST …/complete (decisions.md#completion, fixes decisions.md#agent-tasks).
                    Some(AgentTaskStatus::Completed) => lifecycle::complete(c, &mut agent, &mut task, now).await?,
                    Some(AgentTaskStatus::Blocked) => {
                        let reason = new_reason.flatten().or(task.blocked_reason.clone()).unwrap_or_else(|| "blocked".into());
                        lifecycle::block(c, &mut agent, &mut task, BlockSource::Explicit, &reason, now).await?;
                        // The reason given here is stored as sent.
                        task.blocked_reason = Some(reason);
                        agents::save_task(c, &task).await?;
                    }
                    Some(AgentTaskStatus::InProgress) => lifecycle::resume(c, &mut agent, &mut task, now).await?,
                    Some(AgentTaskStatus::Cancelled) => {
                        task.status = AgentTaskStatus::Cancelled;
                        agents::save_task(c, &task).await?;
                        alerts::cancel_pending(c, &agent.id, &task.id).await?;
                        if agent.current_task_id.as_deref() == Some(task.id.as_str()) {
                            agent.status = AgentStatus::Idle;
                            agent.current_task_id = None;
                            agents::save(c, &agent).await?;
                        }
                        let payload = json!({"agent": agent, "action": "task_cancelled", "task_id": task.id});
                        announce(c, task.project_id.as_deref(), payload, now).await?;
                    }
                    Some(AgentTaskStatus::Pending) => {
                        task.status = AgentTaskStatus::Pending;
                        agents::save_task(c, &task).await?;
                    }
                    None => agents::save_task(c, &task).await?,
                }
                agents::record_activity(c, &agent.id, Some(&task.id), usage, now).await?;
                let task = agents::get_task(c, &task.id).await?.unwrap_or(task);
                announce(c, task.project_id.as_deref(), json!({"agent_id": agent.id, "task": task, "action": "task_updated"}), now).await?;
                Ok(task)
            })
        })
        .await?;
    // Progress moved: the live usage figures follow (service/usage.rs).
    app.usage.touch(&agent_id);
    Ok(task)
}

//! The task workflow (docs/decisions.md#workflow) without a workflow engine: one row per
//! (agent, task), advanced by its routes, by signals and by the sweep (sleep timeouts), so it
//! survives restarts and works across replicas.

use crate::db::WriteConn;
use serde::Deserialize;
use serde_json::json;

use super::agents::NewAssignment;
use super::lifecycle;
use crate::crypto::random_hex;
use crate::db::agents::{self, AgentTask, announce};
use crate::db::alerts::{self, NewAlert};
use crate::db::workflows::{self, Workflow};
use crate::domain::agents::{AgentStatus, AgentTaskStatus, WORKFLOW_SLEEP_TIMEOUT_SECS, WorkflowResult, WorkflowStatus};
use crate::domain::alerts::Trigger;
use crate::error::{AppError, AppResult};
use crate::state::App;

/// Starts the workflow of a task: the task (created if new) becomes the agent's current one.
/// 409 while the task's workflow is still running or when the task is another agent's.
pub async fn start(app: &App, agent_id: String, new: NewAssignment) -> AppResult<Workflow> {
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let mut agent = agents::get(c, &agent_id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
                let wf_id = workflows::id_of(&agent.id, &new.task_id);
                if workflows::get(c, &wf_id).await?.is_some_and(|w| w.result.is_none()) {
                    return Err(AppError::Conflict("Workflow already running for this task".into()));
                }
                let mut task = match agents::get_task(c, &new.task_id).await? {
                    Some(t) if t.agent_id == agent.id => t,
                    Some(_) => return Err(AppError::Conflict(format!("Task {} belongs to another agent", new.task_id))),
                    None => lifecycle::insert_pending(c, new.task(&agent.id, now), now).await?,
                };
                lifecycle::resume(c, &mut agent, &mut task, now).await?;
                agent.last_heartbeat = Some(now);
                agents::save(c, &agent).await?;
                announce(c, task.project_id.as_deref(), json!({"agentId": agent.id, "action": "task_started", "taskId": task.id}), now)
                    .await?;
                let w = Workflow {
                    id: wf_id,
                    run_id: random_hex(16),
                    agent_id: agent.id.clone(),
                    task_id: task.id.clone(),
                    title: new.title.clone(),
                    priority: new.priority,
                    status: WorkflowStatus::Working,
                    result: None,
                    sleep_until: None,
                    created_at: now,
                    updated_at: now,
                };
                workflows::put(c, &w).await?;
                Ok(w)
            })
        })
        .await
}

/// The workflow of `task_id` (default: the agent's current task), advanced to now.
async fn locate(c: &mut WriteConn, agent_id: &str, task_id: Option<String>, now: i64) -> AppResult<Workflow> {
    let agent = agents::get(c, agent_id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
    let task_id = task_id
        .filter(|t| !t.is_empty())
        .or(agent.current_task_id)
        .ok_or_else(|| AppError::BadRequest("No taskId provided and agent has no current task".into()))?;
    let mut w = workflows::get(c, &workflows::id_of(agent_id, &task_id)).await?.ok_or_else(|| AppError::not_found("Workflow"))?;
    advance(c, &mut w, now).await?;
    Ok(w)
}

/// The workflow (advanced to now) and, while blocked, its task's reason.
pub async fn query(app: &App, agent_id: String, task_id: Option<String>) -> AppResult<(Workflow, Option<String>)> {
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let w = locate(c, &agent_id, task_id, now).await?;
                let reason = agents::get_task(c, &w.task_id).await?.and_then(|t| t.blocked_reason);
                Ok((w, reason))
            })
        })
        .await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Signal {
    Sleep,
    Wake,
    Unblock,
    Cancel,
}

/// Sends a signal to a running workflow (409 once it finished).
pub async fn signal(app: &App, agent_id: String, task_id: Option<String>, signal: Signal, reason: Option<String>) -> AppResult<()> {
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let mut w = locate(c, &agent_id, task_id, now).await?;
                if w.result.is_some() {
                    return Err(AppError::Conflict("Workflow already finished".into()));
                }
                let mut agent = agents::get(c, &w.agent_id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
                let mut task = agents::get_task(c, &w.task_id).await?.ok_or_else(|| AppError::not_found("Task"))?;
                match signal {
                    Signal::Sleep => {
                        lifecycle::sleep(c, &mut agent, "workflow", reason.as_deref(), now).await?;
                        w.sleep_until = Some(now + WORKFLOW_SLEEP_TIMEOUT_SECS);
                        workflows::save(c, &w).await?;
                    }
                    Signal::Wake => {
                        lifecycle::wake(c, &mut agent, reason.as_deref().unwrap_or("workflow"), now).await?;
                    }
                    Signal::Unblock => {
                        if task.status == AgentTaskStatus::Blocked {
                            lifecycle::resume(c, &mut agent, &mut task, now).await?;
                        }
                    }
                    Signal::Cancel => return finish_cancelled(c, &mut w, WorkflowStatus::Idle, now).await,
                }
                advance(c, &mut w, now).await
            })
        })
        .await
}

/// Advances one open workflow (the sweep's poll); a workflow gone meanwhile is skipped.
pub async fn advance_by_id(app: &App, id: String, now: i64) -> AppResult<()> {
    app.db
        .write(move |c| {
            Box::pin(async move {
                match workflows::get(c, &id).await? {
                    Some(mut w) => advance(c, &mut w, now).await,
                    None => Ok(()),
                }
            })
        })
        .await
}

/// "Report": the agent's (and task's) state as the workflow sees it, on the stream.
async fn report(c: &mut WriteConn, w: &Workflow, task: &AgentTask, now: i64) -> AppResult<()> {
    let payload = json!({"agentId": w.agent_id, "status": w.status, "taskId": w.task_id, "taskStatus": task.status});
    announce(c, task.project_id.as_deref(), payload, now).await?;
    Ok(())
}

/// Ends the workflow: agent offline, task cancelled, result `cancelled` (decisions.md#workflow step 4).
async fn finish_cancelled(c: &mut WriteConn, w: &mut Workflow, status: WorkflowStatus, now: i64) -> AppResult<()> {
    if let Some(mut task) = agents::get_task(c, &w.task_id).await? {
        if task.status != AgentTaskStatus::Completed {
            task.status = AgentTaskStatus::Cancelled;
            task.completed_at = Some(now);
            task.updated_at = now;
            agents::save_task(c, &task).await?;
        }
        alerts::cancel_pending(c, &w.agent_id, &w.task_id).await?;
        if let Some(mut agent) = agents::get(c, &w.agent_id).await? {
            agent.status = AgentStatus::Offline;
            agent.current_task_id = None;
            agents::save(c, &agent).await?;
        }
        w.status = status;
        w.result = Some(WorkflowResult::Cancelled);
        w.updated_at = now;
        workflows::save(c, w).await?;
        report(c, w, &task, now).await?;
    }
    Ok(())
}

/// One poll of the workflow loop: derives its status from the task and agent, ends it when
/// the task finished, and gives up a sleep that was never woken.
async fn advance(c: &mut WriteConn, w: &mut Workflow, now: i64) -> AppResult<()> {
    if w.result.is_some() {
        return Ok(());
    }
    let agent = agents::get(c, &w.agent_id).await?;
    let task = agents::get_task(c, &w.task_id).await?;
    let (Some(mut agent), Some(task)) = (agent, task) else {
        w.status = WorkflowStatus::Error;
        w.result = Some(WorkflowResult::Error);
        w.updated_at = now;
        return Ok(workflows::save(c, w).await?);
    };
    let asleep = agent.status == AgentStatus::Sleeping;
    if asleep && w.sleep_until.is_some_and(|until| until <= now) {
        return finish_cancelled(c, w, WorkflowStatus::Idle, now).await;
    }
    let (status, result) = match task.status {
        AgentTaskStatus::Completed => (WorkflowStatus::Completed, Some(WorkflowResult::Completed)),
        AgentTaskStatus::Cancelled => (WorkflowStatus::Error, Some(WorkflowResult::Error)),
        AgentTaskStatus::Blocked => (WorkflowStatus::Blocked, None),
        _ if asleep => (WorkflowStatus::Sleeping, None),
        _ => (WorkflowStatus::Working, None),
    };
    if result == Some(WorkflowResult::Error) {
        // Cancelled outside the workflow: the agent stops working on it and an error alert is raised.
        if agent.current_task_id.as_deref() == Some(task.id.as_str()) {
            agent.status = AgentStatus::Idle;
            agent.current_task_id = None;
            agents::save(c, &agent).await?;
        }
        let alert = NewAlert {
            trigger: Trigger::Error,
            agent_id: w.agent_id.clone(),
            task_id: Some(w.task_id.clone()),
            title: Some(w.title.clone()),
            priority: w.priority,
            reason: Some("Task cancelled externally".into()),
            project: task.project_id.clone(),
            since: None,
            approval_id: None,
        };
        alerts::raise(c, &alert, &format!("workflow-error:{}:{}", w.id, w.run_id), now).await?;
    }
    if w.status != status || result.is_some() {
        w.status = status;
        w.result = result;
        if status != WorkflowStatus::Sleeping {
            w.sleep_until = None;
        }
        w.updated_at = now;
        workflows::save(c, w).await?;
        report(c, w, &task, now).await?;
    }
    Ok(())
}

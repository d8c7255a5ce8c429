//! `/api/agents/{id}/workflow` and `/workflow/signal`: the task workflow of decisions.md#workflow
//! without a workflow engine (decisions.md#workflow). The row is advanced by these routes, by signals, and by
//! the scheduler's sweep (sleep timeouts), so it survives restarts and works across replicas.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::AnyConnection;

use crate::crypto::random_hex;
use crate::db::agents;
use crate::db::agents::announce;
use crate::db::workflows::{self, SLEEP_TIMEOUT_SECS, Workflow, advance, finish_cancelled};
use crate::domain::agents::AgentTaskStatus;
use crate::error::{AppError, AppResult};
use crate::http::json::{Body, Params, non_null};
use crate::service::lifecycle;
use crate::state::App;

pub async fn start(
    State(app): State<App>,
    Path(id): Path<String>,
    Body(body): Body<super::agent_actions::AssignmentBody>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let body = body.checked()?;
    let now = app.clock.now();
    let workflow = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let mut agent = agents::get(c, &id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
                let wf_id = workflows::id_of(&agent.id, &body.task_id);
                if workflows::get(c, &wf_id).await?.is_some_and(|w| w.result.is_none()) {
                    return Err(AppError::Conflict("Workflow already running for this task".into()));
                }
                let priority = body.priority;
                let mut task = match agents::get_task(c, &body.task_id).await? {
                    Some(t) if t.agent_id == agent.id => t,
                    Some(_) => return Err(AppError::Conflict(format!("Task {} belongs to another agent", body.task_id))),
                    None => lifecycle::insert_pending(c, body.task(&agent.id, now), now).await?,
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
                    title: body.title.clone(),
                    priority: priority.as_str().into(),
                    status: "working".into(),
                    result: None,
                    sleep_until: None,
                    created_at: now,
                    updated_at: now,
                };
                workflows::put(c, &w).await?;
                Ok(w)
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"workflowId": workflow.id, "runId": workflow.run_id}))))
}

/// The workflow of `task_id` (default: the agent's current task), advanced to now.
async fn locate(c: &mut AnyConnection, agent_id: &str, task_id: Option<String>, now: i64) -> AppResult<Workflow> {
    let agent = agents::get(c, agent_id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
    let task_id = task_id
        .filter(|t| !t.is_empty())
        .or(agent.current_task_id)
        .ok_or_else(|| AppError::BadRequest("No taskId provided and agent has no current task".into()))?;
    let mut w = workflows::get(c, &workflows::id_of(agent_id, &task_id)).await?.ok_or_else(|| AppError::not_found("Workflow"))?;
    advance(c, &mut w, now).await?;
    Ok(w)
}

pub async fn query(State(app): State<App>, Path(id): Path<String>, params: Params) -> AppResult<Json<Value>> {
    let task_id = params.get("taskId").map(String::from);
    let now = app.clock.now();
    let (w, reason) = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let w = locate(c, &id, task_id, now).await?;
                let reason = agents::get_task(c, &w.task_id).await?.and_then(|t| t.blocked_reason);
                Ok((w, reason))
            })
        })
        .await?;
    let mut progress = json!({"status": w.status, "taskTitle": w.title});
    if w.status == "blocked"
        && let Some(reason) = reason
    {
        progress["blockedReason"] = Value::from(reason);
    }
    if let Some(result) = &w.result {
        progress["result"] = Value::from(result.as_str());
    }
    Ok(Json(json!({"status": w.status, "progress": progress})))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Signal {
    Sleep,
    Wake,
    Unblock,
    Cancel,
}

#[derive(Debug, Deserialize)]
pub struct SignalBody {
    signal: Signal,
    #[serde(default, deserialize_with = "non_null")]
    reason: Option<String>,
    #[serde(default, rename = "taskId", deserialize_with = "non_null")]
    task_id: Option<String>,
}

pub async fn signal(State(app): State<App>, Path(id): Path<String>, Body(body): Body<SignalBody>) -> AppResult<Json<Value>> {
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let mut w = locate(c, &id, body.task_id, now).await?;
                if w.result.is_some() {
                    return Err(AppError::Conflict("Workflow already finished".into()));
                }
                let mut agent = agents::get(c, &w.agent_id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
                let mut task = agents::get_task(c, &w.task_id).await?.ok_or_else(|| AppError::not_found("Task"))?;
                match body.signal {
                    Signal::Sleep => {
                        lifecycle::sleep(c, &mut agent, "workflow", body.reason.as_deref(), now).await?;
                        w.sleep_until = Some(now + SLEEP_TIMEOUT_SECS);
                        workflows::save(c, &w).await?;
                    }
                    Signal::Wake => {
                        lifecycle::wake(c, &mut agent, body.reason.as_deref().unwrap_or("workflow"), now).await?;
                    }
                    Signal::Unblock => {
                        if task.status == AgentTaskStatus::Blocked.as_str() {
                            lifecycle::resume(c, &mut agent, &mut task, now).await?;
                        }
                    }
                    Signal::Cancel => return finish_cancelled(c, &mut w, "idle", now).await,
                }
                advance(c, &mut w, now).await
            })
        })
        .await?;
    Ok(Json(json!({"success": true})))
}

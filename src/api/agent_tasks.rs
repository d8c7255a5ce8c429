//! `/api/agents/{id}/tasks` and `/api/agents/{id}/tasks/{taskId}` (decisions.md#agent-tasks; decisions.md#upserts, decisions.md#completion,
//! fixes decisions.md#agent-tasks).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::agent_actions::new_task_id;
use crate::db::agents::announce;
use crate::db::agents::{self, AgentTask, Usage};
use crate::db::{alerts, projects};
use crate::domain::agents::{AgentStatus, AgentTaskStatus, BlockSource};
use crate::domain::{Field, Priority};
use crate::error::{AppError, AppResult};
use crate::http::json::{Checks, Int, non_null, parse};
use crate::service::lifecycle;
use crate::state::App;

/// `?project=` shows only that project's tasks (a scoped key always has it).
pub async fn list(State(app): State<App>, Path(id): Path<String>, params: crate::http::json::Params) -> AppResult<Json<Value>> {
    agents::find(&app.db.read, &id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
    let mut tasks = agents::tasks(&app.db.read, &id).await?;
    if let Some(project) = params.non_empty("project") {
        tasks.retain(|t| t.project_id.as_deref() == Some(project));
    }
    Ok(Json(json!({ "tasks": tasks })))
}

#[derive(Debug, Deserialize)]
pub struct CreateBody {
    #[serde(default, deserialize_with = "non_null")]
    id: Option<String>,
    title: String,
    #[serde(default)]
    linear_issue_id: Field<String>,
    #[serde(default)]
    project_id: Field<String>,
    #[serde(default, deserialize_with = "non_null")]
    priority: Option<Priority>,
    #[serde(default, deserialize_with = "non_null")]
    status: Option<AgentTaskStatus>,
    #[serde(flatten)]
    usage: Usage,
}

/// Creates a task (201) or, for a known id of this agent, updates it (200; decisions.md#upserts). A task that
/// starts in progress (or pending) becomes the agent's current work; one created finished
/// leaves the agent alone (fixes decisions.md#agent-tasks).
pub async fn create(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> AppResult<(StatusCode, Json<Value>)> {
    agents::find(&app.db.read, &id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
    let body: CreateBody = parse(&body)?;
    Checks::new().min1("title", &body.title).finish()?;
    let now_ms = app.clock.now_ms();
    let now = now_ms.div_euclid(1000);
    let agent_id = id.clone();
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
                let created = existing.is_none();
                let mut task = existing
                    .unwrap_or_else(|| AgentTask::pending(task_id, agent.id.clone(), String::new(), Priority::Medium.as_str(), now));
                task.title = body.title;
                if let Some(issue) = body.linear_issue_id.update() {
                    task.linear_issue_id = issue;
                }
                if let Some(project) = body.project_id.empty_as_null().update() {
                    task.project_id = project;
                }
                if let Some(priority) = body.priority {
                    task.priority = priority.as_str().into();
                }
                if created || body.status.is_some() {
                    task.status = status.as_str().into();
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
                match AgentTaskStatus::parse(&task.status) {
                    Some(AgentTaskStatus::InProgress) | Some(AgentTaskStatus::Pending)
                        if agent.status != AgentStatus::Sleeping.as_str() =>
                    {
                        agent.status = AgentStatus::Working.as_str().into();
                        agent.current_task_id = Some(task.id.clone());
                        agents::save(c, &agent).await?;
                    }
                    Some(AgentTaskStatus::Blocked) => {
                        agent.status = AgentStatus::Blocked.as_str().into();
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
    // Progress moved: the live usage figures follow (events/usage.rs).
    app.usage.touch(&agent_id);
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(json!({ "task": task }))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    #[serde(default)]
    linear_issue_id: Field<String>,
    #[serde(default)]
    project_id: Field<String>,
    #[serde(default, deserialize_with = "non_null")]
    title: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    status: Option<AgentTaskStatus>,
    #[serde(default, deserialize_with = "non_null")]
    priority: Option<Priority>,
    #[serde(default)]
    blocked_reason: Field<String>,
    #[serde(default)]
    blocked_at: Field<Int>,
    #[serde(default)]
    started_at: Field<Int>,
    #[serde(default)]
    completed_at: Field<Int>,
    #[serde(default, deserialize_with = "non_null")]
    tokens_in: Option<i64>,
    #[serde(default, deserialize_with = "non_null")]
    tokens_out: Option<i64>,
    #[serde(default, deserialize_with = "non_null")]
    cost_usd: Option<f64>,
}

pub async fn patch(State(app): State<App>, Path((id, task_id)): Path<(String, String)>, body: Bytes) -> AppResult<Json<Value>> {
    agents::find(&app.db.read, &id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
    let body: PatchBody = parse(&body)?;
    let usage = Usage { tokens_in: body.tokens_in, tokens_out: body.tokens_out, cost_usd: body.cost_usd };
    Checks::new().min1_opt("title", body.title.as_deref()).finish()?;
    let now = app.clock.now();
    let agent_id = id.clone();
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
                    task.priority = v.as_str().into();
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
                        task.status = AgentTaskStatus::Cancelled.as_str().into();
                        agents::save_task(c, &task).await?;
                        alerts::cancel_pending(c, &agent.id, &task.id).await?;
                        if agent.current_task_id.as_deref() == Some(task.id.as_str()) {
                            agent.status = AgentStatus::Idle.as_str().into();
                            agent.current_task_id = None;
                            agents::save(c, &agent).await?;
                        }
                        let payload = json!({"agent": agent, "action": "task_cancelled", "task_id": task.id});
                        announce(c, task.project_id.as_deref(), payload, now).await?;
                    }
                    Some(AgentTaskStatus::Pending) => {
                        task.status = AgentTaskStatus::Pending.as_str().into();
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
    // Progress moved: the live usage figures follow (events/usage.rs).
    app.usage.touch(&agent_id);
    Ok(Json(json!({ "task": task })))
}

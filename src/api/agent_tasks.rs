//! `/api/agents/{id}/tasks` and `/api/agents/{id}/tasks/{taskId}` (decisions.md#agent-tasks; decisions.md#upserts, decisions.md#completion,
//! fixes decisions.md#agent-tasks).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::db::agents;
use crate::error::{AppError, AppResult};
use crate::http::json::{Checks, parse};
use crate::service::tasks::{self, TaskPatch, TaskReport};
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

/// Creates a task (201) or, for a known id of this agent, updates it (200).
pub async fn create(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> AppResult<(StatusCode, Json<Value>)> {
    agents::find(&app.db.read, &id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
    let body: TaskReport = parse(&body)?;
    Checks::new().min1("title", &body.title).finish()?;
    let (task, created) = tasks::report(&app, id, body).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(json!({ "task": task }))))
}

pub async fn patch(State(app): State<App>, Path((id, task_id)): Path<(String, String)>, body: Bytes) -> AppResult<Json<Value>> {
    agents::find(&app.db.read, &id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
    let body: TaskPatch = parse(&body)?;
    Checks::new().min1_opt("title", body.title.as_deref()).finish()?;
    let task = tasks::patch(&app, id, task_id, body).await?;
    Ok(Json(json!({ "task": task })))
}

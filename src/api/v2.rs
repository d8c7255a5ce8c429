//! `/api/v2/tasks`: the V2 planner (decisions.md#work-items; unknown ids are 404, decisions.md#work-items; v1 ids are
//! checked against `original_id`, decisions.md#work-items).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::db::todos::{self, Filter};
use crate::db::v2::{self, Task};
use crate::domain::todos::Todo;
use crate::domain::v2::{next_task, v1_task_id, v1_to_v2_status, validate_dependencies};
use crate::error::{AppError, AppResult};
use crate::http::json::{Body, Checks, Int, Params, leading_int, non_null, parse};
use crate::service::planner::{self as service, DEFAULT_TAG, SubtaskFields, TaskFields, Updated};
use crate::state::App;

/// A v1 todo as it appears among v2 tasks.
fn project_todo(t: &Todo) -> Value {
    json!({
        "id": v1_task_id(&t.id),
        "tag": t.project.as_deref().filter(|p| !p.is_empty()).unwrap_or("v1-legacy"),
        "title": t.content,
        "description": null,
        "status": v1_to_v2_status(t.status),
        "priority": t.priority,
        "dependencies": null,
        "details": null,
        "test_strategy": null,
        "complexity_score": null,
        "assigned_agent_id": t.agent,
        "linear_issue_id": null,
        "source": "v1",
        "original_id": t.id,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
    })
}

pub async fn list(State(app): State<App>, params: Params) -> AppResult<Json<Value>> {
    let tag = params.non_empty("tag").unwrap_or(DEFAULT_TAG);
    let stored = v2::list(&app.db.read, (tag != "all").then_some(tag)).await?;
    let mut filter = Filter::default();
    if tag != "all" && tag != DEFAULT_TAG {
        filter.text("project = ?", tag);
    }
    // `?project=` narrows the merged todos too (and is how a project-scoped key reads, decisions.md#project-scoped-keys).
    if let Some(project) = params.non_empty("project") {
        filter.text("project = ?", project);
    }
    let todos = todos::rows(&app.db.read, &filter).await?;
    let mut tasks: Vec<Value> = stored
        .iter()
        .map(|t| {
            let mut v = json!(t);
            v["source"] = Value::from("v2");
            v
        })
        .chain(todos.iter().map(project_todo))
        .collect();
    if let Some(statuses) = params.non_empty("status") {
        let wanted: Vec<&str> = statuses.split(',').map(str::trim).collect();
        tasks.retain(|t| t["status"].as_str().is_some_and(|s| wanted.contains(&s)));
    }
    Ok(Json(json!({ "tasks": tasks })))
}

pub async fn create(State(app): State<App>, Body(fields): Body<TaskFields>) -> AppResult<(StatusCode, Json<Value>)> {
    let task = service::create(&app, fields).await?;
    Ok((StatusCode::CREATED, Json(json!({ "task": task }))))
}

#[derive(Debug, Deserialize)]
pub struct UpdateBody {
    id: Int,
    #[serde(default, deserialize_with = "non_null")]
    original_id: Option<String>,
    #[serde(flatten)]
    fields: TaskFields,
}

pub async fn update(State(app): State<App>, Body(body): Body<UpdateBody>) -> AppResult<Json<Value>> {
    let task = match service::update(&app, body.id.0, body.original_id, body.fields).await? {
        Updated::Task(task) => json!(task),
        Updated::Todo(todo) => project_todo(&todo),
    };
    Ok(Json(json!({ "task": task })))
}

#[derive(Debug, Deserialize)]
pub struct DeleteBody {
    id: Int,
    #[serde(default, deserialize_with = "non_null")]
    original_id: Option<String>,
}

/// The original's answer, plus the `error` every 4xx of ocd carries.
fn deleted(found: bool) -> (StatusCode, Json<Value>) {
    if found {
        (StatusCode::OK, Json(json!({"success": true})))
    } else {
        (StatusCode::NOT_FOUND, Json(json!({"success": false, "error": "Task not found"})))
    }
}

pub async fn delete(State(app): State<App>, Body(body): Body<DeleteBody>) -> AppResult<(StatusCode, Json<Value>)> {
    Ok(deleted(service::delete(&app, body.id.0, body.original_id).await?))
}

fn task_id(raw: &str) -> AppResult<i64> {
    leading_int(raw).filter(|id| *id > 0).ok_or_else(|| AppError::BadRequest("Invalid task id".into()))
}

pub async fn list_subtasks(State(app): State<App>, Path(raw): Path<String>) -> AppResult<Json<Value>> {
    let id = task_id(&raw)?;
    let subtasks = v2::subtasks(&app.db.read, id).await?;
    Ok(Json(json!({ "subtasks": subtasks })))
}

pub async fn create_subtask(State(app): State<App>, Path(raw): Path<String>, body: Bytes) -> AppResult<(StatusCode, Json<Value>)> {
    let id = task_id(&raw)?;
    v2::find(&app.db.read, id).await?.ok_or_else(|| AppError::not_found("Task"))?;
    let subtask = service::create_subtask(&app, id, parse(&body)?).await?;
    Ok((StatusCode::CREATED, Json(json!({ "subtask": subtask }))))
}

#[derive(Debug, Deserialize)]
pub struct SubtaskUpdate {
    id: Int,
    #[serde(flatten)]
    fields: SubtaskFields,
}

pub async fn update_subtask(State(app): State<App>, Path(raw): Path<String>, body: Bytes) -> AppResult<Json<Value>> {
    let task = task_id(&raw)?;
    let body: SubtaskUpdate = parse(&body)?;
    let subtask = service::update_subtask(&app, task, body.id.0, body.fields).await?;
    Ok(Json(json!({ "subtask": subtask })))
}

#[derive(Debug, Deserialize)]
pub struct SubtaskDelete {
    id: Int,
}

pub async fn delete_subtask(State(app): State<App>, Path(raw): Path<String>, body: Bytes) -> AppResult<(StatusCode, Json<Value>)> {
    let task = task_id(&raw)?;
    let body: SubtaskDelete = parse(&body)?;
    Ok(deleted(service::delete_subtask(&app, task, body.id.0).await?))
}

pub async fn next(State(app): State<App>, params: Params) -> AppResult<Json<Value>> {
    let tag = params.non_empty("tag").unwrap_or(DEFAULT_TAG);
    let tasks = v2::list(&app.db.read, Some(tag)).await?;
    let plans: Vec<_> = tasks.iter().map(Task::plan).collect();
    let next = next_task(&plans).and_then(|id| tasks.into_iter().find(|t| t.id == id));
    Ok(Json(json!({ "task": next })))
}

#[derive(Debug, Deserialize)]
pub struct ValidateBody {
    #[serde(default, deserialize_with = "non_null")]
    tag: Option<String>,
}

pub async fn validate_deps(State(app): State<App>, Body(body): Body<ValidateBody>) -> AppResult<Json<Value>> {
    Checks::new().min1_opt("tag", body.tag.as_deref()).finish()?;
    let tag = body.tag.unwrap_or_else(|| DEFAULT_TAG.into());
    let tasks = v2::list(&app.db.read, Some(&tag)).await?;
    let plans: Vec<_> = tasks.iter().map(Task::plan).collect();
    let issues = validate_dependencies(&plans);
    Ok(Json(json!({"valid": issues.is_empty(), "issues": issues})))
}

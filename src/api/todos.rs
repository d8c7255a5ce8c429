//! `/api/todos` and its sub-resources (decisions.md#upserts, decisions.md#upserts).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::db::sprints;
use crate::db::todos::{self, Filter};
use crate::domain::todos::TodoPatch;
use crate::domain::{Field, Priority, TodoStatus};
use crate::error::{AppError, AppResult};
use crate::http::json::{Body, Params, leading_int, non_null, parse};
use crate::service::todos::{self as service, TodoWrite};
use crate::state::App;

/// The fields of a todo write, as POST and PUT accept them.
#[derive(Debug, Deserialize)]
pub struct TodoBody {
    #[serde(default, deserialize_with = "non_null")]
    id: Option<String>,
    #[serde(default)]
    name: Field<String>,
    #[serde(default, deserialize_with = "non_null")]
    content: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    status: Option<TodoStatus>,
    #[serde(default, deserialize_with = "non_null")]
    priority: Option<Priority>,
    #[serde(default)]
    agent: Field<String>,
    #[serde(default)]
    project: Field<String>,
    #[serde(default)]
    parent_id: Field<String>,
    #[serde(default)]
    session_id: Field<String>,
    #[serde(default, deserialize_with = "non_null")]
    sprint_id: Option<String>,
}

impl TodoBody {
    fn into_write(self) -> TodoWrite {
        TodoWrite {
            id: self.id,
            sprint_id: self.sprint_id.filter(|s| !s.is_empty()),
            patch: TodoPatch {
                name: self.name,
                content: self.content,
                status: self.status,
                priority: self.priority,
                agent: self.agent,
                project: self.project,
                parent_id: self.parent_id,
                session_id: self.session_id,
            },
        }
    }
}

pub async fn list(State(app): State<App>, RawQuery(query): RawQuery, params: Params) -> AppResult<Response> {
    if let Some(id) = params.get("id") {
        let todo = todos::find(&app.db.read, id).await?;
        // With `?project=` (always so for a project-scoped key) a todo elsewhere is not found.
        let todo = todo.filter(|t| params.non_empty("project").is_none_or(|p| t.project.as_deref() == Some(p)));
        let todo = todo.ok_or_else(|| AppError::not_found("Todo"))?;
        return Ok(Json(json!({"id": todo.id, "content": todo.content, "status": todo.status, "priority": todo.priority})).into_response());
    }
    let mut filter = Filter::default();
    if let Some(v) = params.non_empty("session_id") {
        filter.text("session_id = ?", v);
    }
    if let Some(v) = params.non_empty("project") {
        filter.text("project = ?", v);
    }
    if let Some(v) = params.non_empty("sprint_id") {
        filter.text("id IN (SELECT todo_id FROM todo_sprints WHERE sprint_id = ?)", v);
    }
    if let Some(v) = params.non_empty("parent_id") {
        filter.text("parent_id = ?", v);
    }
    if params.get("top_level") == Some("true") {
        filter.raw("parent_id IS NULL");
    }
    if let Some(v) = params.non_empty("status") {
        filter.any_of("status", &v.split(',').collect::<Vec<_>>());
    }
    if let Some(since) = params.get("since").and_then(leading_int) {
        filter.int("updated_at >= ?", since);
    }
    // The key must include everything that shapes the answer (today: the query string).
    let key = query.unwrap_or_default();
    let generation = (app.db.commit_count(), app.hub.last_id());
    let body = match app.list_cache.get(&key, generation) {
        Some(body) => body,
        None => {
            let todos = todos::list_json(&app.db.read, app.db.backend, &filter).await?;
            let body = Bytes::from(format!(r#"{{"todos":{todos}}}"#));
            app.list_cache.put(key, generation, body.clone());
            body
        }
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

pub async fn upsert(State(app): State<App>, Body(body): Body<TodoBody>) -> AppResult<Json<Value>> {
    let done = service::upsert(&app, body.into_write()).await?;
    Ok(Json(json!({"todo": done.todo, "auto_sprint_id": done.auto_sprint_id})))
}

#[derive(Debug, Deserialize)]
pub struct BatchBody {
    todos: Vec<TodoBody>,
}

/// Batch upsert, all or nothing (decisions.md#upserts).
pub async fn batch(State(app): State<App>, Body(body): Body<BatchBody>) -> AppResult<Json<Value>> {
    let done = service::upsert_batch(&app, body.todos.into_iter().map(TodoBody::into_write).collect()).await?;
    let results: Vec<Value> =
        done.iter().map(|d| json!({"id": d.todo.id, "action": if d.created { "created" } else { "updated" }})).collect();
    Ok(Json(json!({ "results": results })))
}

/// 404 for an unknown todo, before its body is looked at.
async fn require_todo(app: &App, id: &str) -> AppResult<()> {
    todos::find(&app.db.read, id).await?.map(|_| ()).ok_or_else(|| AppError::not_found("Todo"))
}

pub async fn subtasks(State(app): State<App>, Path(id): Path<String>) -> AppResult<Json<Value>> {
    let children = todos::children(&app.db.read, &id).await?;
    Ok(Json(json!({ "subtasks": children })))
}

pub async fn create_subtask(State(app): State<App>, Path(parent_id): Path<String>, body: Bytes) -> AppResult<(StatusCode, Json<Value>)> {
    require_todo(&app, &parent_id).await?;
    let todo = service::create_subtask(&app, parent_id, parse(&body)?).await?;
    Ok((StatusCode::CREATED, Json(json!({ "todo": todo }))))
}

pub async fn comments(State(app): State<App>, Path(id): Path<String>) -> AppResult<Json<Value>> {
    require_todo(&app, &id).await?;
    let comments = todos::comments(&app.db.read, &id).await?;
    Ok(Json(json!({ "comments": comments })))
}

#[derive(Debug, Deserialize)]
pub struct CommentBody {
    body: String,
    #[serde(default, deserialize_with = "non_null")]
    author: Option<String>,
}

pub async fn create_comment(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> AppResult<(StatusCode, Json<Value>)> {
    require_todo(&app, &id).await?;
    let body: CommentBody = parse(&body)?;
    let comment = service::comment(&app, id, body.body, body.author).await?;
    Ok((StatusCode::CREATED, Json(json!({ "comment": comment }))))
}

pub async fn sprints(State(app): State<App>, Path(id): Path<String>) -> AppResult<Json<Value>> {
    require_todo(&app, &id).await?;
    let list = sprints::of_todo(&app.db.read, &id).await?;
    Ok(Json(json!({ "sprints": list })))
}

#[derive(Debug, Deserialize)]
pub struct SprintLinkBody {
    sprint_id: String,
}

pub async fn link_sprint(State(app): State<App>, Path(id): Path<String>, Body(body): Body<SprintLinkBody>) -> AppResult<Json<Value>> {
    service::link_sprint(&app, id, body.sprint_id).await?;
    Ok(Json(json!({"ok": true})))
}

pub async fn unlink_sprint(State(app): State<App>, Path(id): Path<String>, Body(body): Body<SprintLinkBody>) -> AppResult<Json<Value>> {
    service::unlink_sprint(&app, id, body.sprint_id).await?;
    Ok(Json(json!({"ok": true})))
}

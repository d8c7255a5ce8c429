//! `/api/todos` and its sub-resources (decisions.md#upserts, decisions.md#upserts).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::db::events::{self, NewEvent};
use crate::db::todos::{self, Filter, TodoWrite};
use crate::db::{projects, sprints};
use crate::domain::hierarchy::MAX_DEPTH;
use crate::domain::todos::{self as rules, TodoPatch};
use crate::domain::{Field, Priority, TodoStatus, ids};
use crate::error::{AppError, AppResult, Issue};
use crate::http::json::{Body, Checks, Params, leading_int, non_null, parse};
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
    let write = body.into_write();
    if write.id.is_none() && write.patch.content.is_none() {
        return Err(AppError::field("invalid_type", "content", "content is required to create a todo"));
    }
    let now_ms = app.clock.now_ms();
    let done = app.db.write(move |c| Box::pin(todos::upsert(c, write, now_ms))).await?;
    Ok(Json(json!({"todo": done.todo, "auto_sprint_id": done.auto_sprint_id})))
}

#[derive(Debug, Deserialize)]
pub struct BatchBody {
    todos: Vec<TodoBody>,
}

/// Batch upsert, all or nothing (decisions.md#upserts).
pub async fn batch(State(app): State<App>, Body(body): Body<BatchBody>) -> AppResult<Json<Value>> {
    let missing_ids: Vec<Issue> = (body.todos.iter().enumerate())
        .filter(|(_, item)| item.id.is_none())
        .map(|(i, _)| Issue {
            code: "invalid_type",
            path: vec![json!("todos"), json!(i), json!("id")],
            message: format!("todos.{i}.id: is required"),
        })
        .collect();
    if !missing_ids.is_empty() {
        return Err(AppError::InvalidBody(missing_ids));
    }
    let writes: Vec<TodoWrite> = body.todos.into_iter().map(TodoBody::into_write).collect();
    let now_ms = app.clock.now_ms();
    let results = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let mut results = Vec::with_capacity(writes.len());
                for (i, write) in writes.into_iter().enumerate() {
                    let done = todos::upsert(c, write, now_ms).await.map_err(|e| in_item(e, i))?;
                    results.push(json!({"id": done.todo.id, "action": if done.created { "created" } else { "updated" }}));
                }
                Ok(results)
            })
        })
        .await?;
    Ok(Json(json!({ "results": results })))
}

/// Names the batch item an error belongs to.
fn in_item(e: AppError, i: usize) -> AppError {
    match e {
        AppError::InvalidBody(mut issues) => {
            for issue in &mut issues {
                issue.path.splice(0..0, [Value::from("todos"), Value::from(i)]);
                issue.message = format!("todos.{i}.{}", issue.message);
            }
            AppError::InvalidBody(issues)
        }
        AppError::BadRequest(m) => AppError::BadRequest(format!("todos[{i}]: {m}")),
        AppError::NotFound(m) => AppError::NotFound(format!("todos[{i}]: {m}")),
        other => other,
    }
}

async fn require_todo(app: &App, id: &str) -> AppResult<crate::domain::todos::Todo> {
    todos::find(&app.db.read, id).await?.ok_or_else(|| AppError::not_found("Todo"))
}

pub async fn subtasks(State(app): State<App>, Path(id): Path<String>) -> AppResult<Json<Value>> {
    let children = todos::children(&app.db.read, &id).await?;
    Ok(Json(json!({ "subtasks": children })))
}

#[derive(Debug, Deserialize)]
pub struct SubtaskBody {
    content: String,
    #[serde(default, deserialize_with = "non_null")]
    status: Option<TodoStatus>,
    #[serde(default, deserialize_with = "non_null")]
    priority: Option<Priority>,
    #[serde(default)]
    agent: Field<String>,
    #[serde(default)]
    project: Field<String>,
}

pub async fn create_subtask(State(app): State<App>, Path(parent_id): Path<String>, body: Bytes) -> AppResult<(StatusCode, Json<Value>)> {
    require_todo(&app, &parent_id).await?;
    let body: SubtaskBody = parse(&body)?;
    Checks::new().min1("content", &body.content).finish()?;
    let now_ms = app.clock.now_ms();
    let todo = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let parent = todos::get(c, &parent_id).await?.ok_or_else(|| AppError::not_found("Todo"))?;
                if todos::depth(c, &parent.id).await? >= MAX_DEPTH {
                    return Err(AppError::BadRequest("Maximum todo depth exceeded".into()));
                }
                let now = now_ms.div_euclid(1000);
                let project = match body.project {
                    Field::Absent => parent.project.clone().map_or(Field::Absent, Field::Value),
                    other => other,
                };
                let patch = TodoPatch {
                    content: Some(body.content),
                    status: body.status,
                    priority: body.priority,
                    agent: body.agent,
                    project,
                    parent_id: Field::Value(parent.id.clone()),
                    session_id: parent.session_id.clone().map_or(Field::Absent, Field::Value),
                    ..Default::default()
                };
                let (todo, change) = rules::create(ids::generate("todo", now_ms), patch, now)
                    .map_err(|_| AppError::field("invalid_type", "content", "content is required"))?;
                todos::insert_new(c, &todo, &change).await?;
                projects::ensure(c, todo.project.as_deref(), now).await?;
                events::append(c, now, NewEvent::new("todo:created", todo.project.as_deref(), &json!({ "todo": todo }))).await?;
                Ok(todo)
            })
        })
        .await?;
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
    Checks::new().min1("body", &body.body).min1_opt("author", body.author.as_deref()).finish()?;
    let now = app.clock.now();
    let comment = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let todo = todos::get(c, &id).await?.ok_or_else(|| AppError::not_found("Todo"))?;
                let author = body.author.unwrap_or_else(|| "anonymous".into());
                Ok(todos::add_comment(c, &todo, &body.body, &author, now).await?)
            })
        })
        .await?;
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
    Checks::new().min1("sprint_id", &body.sprint_id).finish()?;
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let todo = todos::get(c, &id).await?.ok_or_else(|| AppError::not_found("Todo"))?;
                todos::link_sprint(c, &id, &body.sprint_id).await?;
                let payload = json!({"todo_id": id, "sprint_id": body.sprint_id, "action": "sprint_linked"});
                events::append(c, now, NewEvent::new("todo:updated", todo.project.as_deref(), &payload)).await?;
                Ok(())
            })
        })
        .await?;
    Ok(Json(json!({"ok": true})))
}

pub async fn unlink_sprint(State(app): State<App>, Path(id): Path<String>, Body(body): Body<SprintLinkBody>) -> AppResult<Json<Value>> {
    Checks::new().min1("sprint_id", &body.sprint_id).finish()?;
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                if todos::unlink_sprint(c, &id, &body.sprint_id).await? {
                    let project = todos::get(c, &id).await?.and_then(|t| t.project);
                    let payload = json!({"todo_id": id, "sprint_id": body.sprint_id, "action": "sprint_unlinked"});
                    events::append(c, now, NewEvent::new("todo:updated", project.as_deref(), &payload)).await?;
                }
                Ok(())
            })
        })
        .await?;
    Ok(Json(json!({"ok": true})))
}

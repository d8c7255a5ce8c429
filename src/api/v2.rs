//! `/api/v2/tasks`: the V2 planner (decisions.md#work-items; unknown ids are 404, decisions.md#work-items; v1 ids are
//! checked against `original_id`, decisions.md#work-items).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::db::events::{self, NewEvent};
use crate::db::todos::{self, Filter};
use crate::db::v2::{self, Subtask, Task};
use crate::domain::todos::{Todo, TodoPatch};
use crate::domain::v2::{
    dependencies_shape_ok, next_task, normalize_dependencies, v1_task_id, v1_to_v2_status, v2_to_v1_status, validate_dependencies,
};
use crate::domain::{Field, Priority, SubtaskStatus, TaskStatus};
use crate::error::{AppError, AppResult};
use crate::http::json::{Body, Checks, Int, Params, leading_int, non_null, parse};
use crate::state::App;

const DEFAULT_TAG: &str = "master";

/// A v1 todo as it appears among v2 tasks.
fn project_todo(t: &Todo) -> Value {
    json!({
        "id": v1_task_id(&t.id),
        "tag": t.project.as_deref().filter(|p| !p.is_empty()).unwrap_or("v1-legacy"),
        "title": t.content,
        "description": null,
        "status": v1_to_v2_status(&t.status),
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

/// Checks shared by tasks and subtasks: a non-empty title when given, and dependencies of
/// the accepted shapes.
fn check_common(title: Option<&str>, dependencies: &Field<Value>) -> Checks {
    let deps_ok = match dependencies {
        Field::Value(v) => dependencies_shape_ok(v),
        _ => true,
    };
    let mut checks = Checks::new();
    checks.min1_opt("title", title).require(
        deps_ok,
        "invalid_union",
        "dependencies",
        "must be a string, an array of positive integers, or null",
    );
    checks
}

/// The fields shared by create and update; on update every one is optional.
#[derive(Debug, Deserialize)]
pub struct TaskFields {
    #[serde(default, deserialize_with = "non_null")]
    title: Option<String>,
    #[serde(default)]
    description: Field<String>,
    #[serde(default, deserialize_with = "non_null")]
    status: Option<TaskStatus>,
    #[serde(default, deserialize_with = "non_null")]
    priority: Option<Priority>,
    #[serde(default)]
    dependencies: Field<Value>,
    #[serde(default)]
    details: Field<String>,
    #[serde(default)]
    test_strategy: Field<String>,
    #[serde(default, deserialize_with = "non_null")]
    tag: Option<String>,
    #[serde(default)]
    complexity_score: Field<f64>,
    #[serde(default)]
    assigned_agent_id: Field<String>,
    #[serde(default)]
    linear_issue_id: Field<String>,
}

impl TaskFields {
    fn check(&self) -> AppResult<()> {
        check_common(self.title.as_deref(), &self.dependencies).min1_opt("tag", self.tag.as_deref()).finish()
    }

    /// Applies the present fields to `t`.
    fn apply(self, t: &mut Task) {
        if let Some(title) = self.title {
            t.title = title;
        }
        if let Some(description) = self.description.update() {
            t.description = description;
        }
        if let Some(status) = self.status {
            t.status = status.as_str().to_string();
        }
        if let Some(priority) = self.priority {
            t.priority = priority.as_str().to_string();
        }
        if let Some(deps) = self.dependencies.update() {
            t.dependencies = normalize_dependencies(deps.as_ref());
        }
        if let Some(details) = self.details.update() {
            t.details = details;
        }
        if let Some(test_strategy) = self.test_strategy.update() {
            t.test_strategy = test_strategy;
        }
        if let Some(tag) = self.tag {
            t.tag = tag;
        }
        if let Some(score) = self.complexity_score.update() {
            t.complexity_score = score;
        }
        if let Some(agent) = self.assigned_agent_id.update() {
            t.assigned_agent_id = agent;
        }
        if let Some(issue) = self.linear_issue_id.update() {
            t.linear_issue_id = issue;
        }
    }
}

pub async fn create(State(app): State<App>, Body(fields): Body<TaskFields>) -> AppResult<(StatusCode, Json<Value>)> {
    fields.check()?;
    if fields.title.is_none() {
        return Err(AppError::field("invalid_type", "title", "title is required"));
    }
    let now = app.clock.now();
    let mut task = Task {
        id: 0,
        tag: DEFAULT_TAG.into(),
        title: String::new(),
        description: None,
        status: TaskStatus::Pending.as_str().into(),
        priority: Priority::Medium.as_str().into(),
        dependencies: None,
        details: None,
        test_strategy: None,
        complexity_score: None,
        assigned_agent_id: None,
        linear_issue_id: None,
        project_id: None,
        created_at: now,
        updated_at: now,
    };
    fields.apply(&mut task);
    let task = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let task = v2::insert(c, &task).await?;
                events::append(c, now, NewEvent::new("task:created", None, &json!({ "task": task }))).await?;
                Ok(task)
            })
        })
        .await?;
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

/// The todo a negative id stands for; `original_id` must be given and hash to `id`.
fn v1_target(id: i64, original_id: Option<String>, action: &str) -> AppResult<String> {
    let original = original_id.ok_or_else(|| AppError::BadRequest(format!("original_id is required for v1 task {action}")))?;
    if v1_task_id(&original) != id {
        return Err(AppError::field("custom", "original_id", "original_id does not match id"));
    }
    Ok(original)
}

pub async fn update(State(app): State<App>, Body(body): Body<UpdateBody>) -> AppResult<Json<Value>> {
    body.fields.check()?;
    let now_ms = app.clock.now_ms();
    let now = now_ms.div_euclid(1000);
    if body.id.0 < 0 {
        let original = v1_target(body.id.0, body.original_id, "updates")?;
        let patch = TodoPatch { status: body.fields.status.map(v2_to_v1_status), priority: body.fields.priority, ..Default::default() };
        let todo = app
            .db
            .write(move |c| {
                Box::pin(async move {
                    let existing = todos::get(c, &original).await?.ok_or_else(|| AppError::not_found("Todo"))?;
                    let (todo, change) = crate::domain::todos::update(&existing, patch, now);
                    todos::save(c, &todo, change.as_ref()).await?;
                    events::append(c, now, NewEvent::new("todo:updated", todo.project.as_deref(), &json!({ "todo": todo }))).await?;
                    Ok(todo)
                })
            })
            .await?;
        return Ok(Json(json!({ "task": project_todo(&todo) })));
    }
    let id = body.id.0;
    let fields = body.fields;
    let task = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let mut task = v2::get(c, id).await?.ok_or_else(|| AppError::not_found("Task"))?;
                fields.apply(&mut task);
                task.updated_at = now;
                v2::update(c, &task).await?;
                events::append(c, now, NewEvent::new("task:updated", None, &json!({ "task": task }))).await?;
                Ok(task)
            })
        })
        .await?;
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
    let now = app.clock.now();
    let id = body.id.0;
    let target = if id < 0 { Some(v1_target(id, body.original_id, "deletion")?) } else { None };
    let found = app
        .db
        .write(move |c| {
            Box::pin(async move {
                match target {
                    Some(todo_id) => {
                        let project = todos::get(c, &todo_id).await?.and_then(|t| t.project);
                        let found = todos::delete(c, &todo_id).await?;
                        if found {
                            events::append(c, now, NewEvent::new("todo:deleted", project.as_deref(), &json!({"todo_id": todo_id}))).await?;
                        }
                        Ok(found)
                    }
                    None => {
                        let found = v2::delete(c, id).await?;
                        if found {
                            events::append(c, now, NewEvent::new("task:deleted", None, &json!({"task_id": id}))).await?;
                        }
                        Ok(found)
                    }
                }
            })
        })
        .await?;
    Ok(deleted(found))
}

fn task_id(raw: &str) -> AppResult<i64> {
    leading_int(raw).filter(|id| *id > 0).ok_or_else(|| AppError::BadRequest("Invalid task id".into()))
}

pub async fn list_subtasks(State(app): State<App>, Path(raw): Path<String>) -> AppResult<Json<Value>> {
    let id = task_id(&raw)?;
    let subtasks = v2::subtasks(&app.db.read, id).await?;
    Ok(Json(json!({ "subtasks": subtasks })))
}

#[derive(Debug, Deserialize)]
pub struct SubtaskFields {
    #[serde(default, deserialize_with = "non_null")]
    title: Option<String>,
    #[serde(default)]
    description: Field<String>,
    #[serde(default, deserialize_with = "non_null")]
    status: Option<SubtaskStatus>,
    #[serde(default)]
    dependencies: Field<Value>,
    #[serde(default)]
    details: Field<String>,
}

impl SubtaskFields {
    fn check(&self) -> AppResult<()> {
        check_common(self.title.as_deref(), &self.dependencies).finish()
    }

    fn apply(self, s: &mut Subtask) {
        if let Some(title) = self.title {
            s.title = title;
        }
        if let Some(description) = self.description.update() {
            s.description = description;
        }
        if let Some(status) = self.status {
            s.status = status.as_str().to_string();
        }
        if let Some(deps) = self.dependencies.update() {
            s.dependencies = normalize_dependencies(deps.as_ref());
        }
        if let Some(details) = self.details.update() {
            s.details = details;
        }
    }
}

pub async fn create_subtask(State(app): State<App>, Path(raw): Path<String>, body: Bytes) -> AppResult<(StatusCode, Json<Value>)> {
    let id = task_id(&raw)?;
    v2::find(&app.db.read, id).await?.ok_or_else(|| AppError::not_found("Task"))?;
    let fields: SubtaskFields = parse(&body)?;
    fields.check()?;
    if fields.title.is_none() {
        return Err(AppError::field("invalid_type", "title", "title is required"));
    }
    let now = app.clock.now();
    let mut subtask = Subtask {
        id: 0,
        task_id: id,
        title: String::new(),
        description: None,
        status: SubtaskStatus::Pending.as_str().into(),
        dependencies: None,
        details: None,
        created_at: now,
    };
    fields.apply(&mut subtask);
    let subtask = app
        .db
        .write(move |c| {
            Box::pin(async move {
                v2::get(c, id).await?.ok_or_else(|| AppError::not_found("Task"))?;
                let subtask = v2::insert_subtask(c, &subtask).await?;
                events::append(c, now, NewEvent::new("task:updated", None, &json!({"task_id": id, "subtask": subtask}))).await?;
                Ok(subtask)
            })
        })
        .await?;
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
    body.fields.check()?;
    Checks::new().require(body.id.0 > 0, "too_small", "id", "must be a positive integer").finish()?;
    let now = app.clock.now();
    let subtask = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let mut s = v2::get_subtask(c, task, body.id.0).await?.ok_or_else(|| AppError::not_found("Subtask"))?;
                body.fields.apply(&mut s);
                v2::update_subtask(c, &s).await?;
                events::append(c, now, NewEvent::new("task:updated", None, &json!({"task_id": task, "subtask": s}))).await?;
                Ok(s)
            })
        })
        .await?;
    Ok(Json(json!({ "subtask": subtask })))
}

#[derive(Debug, Deserialize)]
pub struct SubtaskDelete {
    id: Int,
}

pub async fn delete_subtask(State(app): State<App>, Path(raw): Path<String>, body: Bytes) -> AppResult<(StatusCode, Json<Value>)> {
    let task = task_id(&raw)?;
    let body: SubtaskDelete = parse(&body)?;
    Checks::new().require(body.id.0 > 0, "too_small", "id", "must be a positive integer").finish()?;
    let now = app.clock.now();
    let found = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let found = v2::delete_subtask(c, task, body.id.0).await?;
                if found {
                    events::append(c, now, NewEvent::new("task:updated", None, &json!({"task_id": task, "deleted_subtask": body.id.0})))
                        .await?;
                }
                Ok(found)
            })
        })
        .await?;
    Ok(deleted(found))
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

//! Todos as agents and people write them (docs/decisions.md#upserts, #work-items): one way to
//! create a todo — whether it comes as an upsert, a batch item or a subtask — so each gets the
//! same defaults, hierarchy checks, status history, active-sprint link, project record and event.

use crate::db::WriteConn;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::db::events::{self, NewEvent};
use crate::db::todos::{self, Comment};
use crate::db::{projects, sprints};
use crate::domain::hierarchy;
use crate::domain::todos::{self as rules, Todo, TodoPatch};
use crate::domain::{Field, Priority, TodoStatus, ids, non_null};
use crate::error::{AppError, AppResult, Checks, Issue};
use crate::state::App;

/// A todo write: the patch plus where it goes.
#[derive(Debug, Clone, Default)]
pub struct TodoWrite {
    pub id: Option<String>,
    pub patch: TodoPatch,
    pub sprint_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Upserted {
    pub todo: Todo,
    #[serde(skip)]
    pub created: bool,
    pub auto_sprint_id: Option<String>,
}

/// Creates (no id, or an unknown one) or updates one todo.
pub async fn upsert(app: &App, write: TodoWrite) -> AppResult<Upserted> {
    let now_ms = app.clock.now_ms();
    app.db.write(move |c| Box::pin(upsert_in(c, write, now_ms))).await
}

/// Every item or none (decisions.md#upserts); an error names the item it belongs to.
pub async fn upsert_batch(app: &App, writes: Vec<TodoWrite>) -> AppResult<Vec<Upserted>> {
    let missing_ids: Vec<Issue> = (writes.iter().enumerate())
        .filter(|(_, write)| write.id.is_none())
        .map(|(i, _)| Issue {
            code: "invalid_type",
            path: vec![json!("todos"), json!(i), json!("id")],
            message: format!("todos.{i}.id: is required"),
        })
        .collect();
    if !missing_ids.is_empty() {
        return Err(AppError::InvalidBody(missing_ids));
    }
    let now_ms = app.clock.now_ms();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let mut done = Vec::with_capacity(writes.len());
                for (i, write) in writes.into_iter().enumerate() {
                    done.push(upsert_in(c, write, now_ms).await.map_err(|e| in_item(e, i))?);
                }
                Ok(done)
            })
        })
        .await
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

/// The upsert inside a caller's write unit. A new todo joins the sprint named, else the active
/// sprint of its project (or a shared one).
async fn upsert_in(c: &mut WriteConn, write: TodoWrite, now_ms: i64) -> AppResult<Upserted> {
    let now = now_ms.div_euclid(1000);
    let existing = match &write.id {
        Some(id) => todos::get(c, id).await?,
        None => None,
    };
    let parent_changed = write.patch.parent_id.is_present();
    let (todo, change, created) = match &existing {
        Some(old) => {
            let (todo, change) = rules::update(old, write.patch, now);
            (todo, change, false)
        }
        None => {
            let id = write.id.clone().unwrap_or_else(|| ids::generate("todo", now_ms));
            let (todo, change) = rules::create(id, write.patch, now)
                .map_err(|_| AppError::field("invalid_type", "content", "content is required to create a todo"))?;
            (todo, Some(change), true)
        }
    };
    if parent_changed
        && let Some(parent) = &todo.parent_id
        && existing.as_ref().and_then(|t| t.parent_id.as_ref()) != Some(parent)
    {
        check_parent(c, &todo.id, parent, !created).await?;
    }
    match &existing {
        Some(stored) => todos::update(c, stored, &todo).await?,
        None => todos::insert(c, &todo).await?,
    }
    if let Some(change) = change {
        todos::record_status(c, &todo.id, &change, now).await?;
    }
    let mut auto_sprint_id = None;
    if let Some(sprint_id) = &write.sprint_id {
        link(c, &todo.id, sprint_id).await?;
    } else if created && let Some(active) = sprints::active(c, now, todo.project.as_deref()).await? {
        link(c, &todo.id, &active).await?;
        auto_sprint_id = Some(active);
    }
    // A project is recorded when an item first names it; re-sending the same project on
    // every update (as hooks do) costs nothing.
    if existing.as_ref().is_none_or(|old| old.project != todo.project) {
        projects::ensure(c, todo.project.as_deref(), now).await?;
    }
    let name = if created { "todo:created" } else { "todo:updated" };
    events::append(c, now, NewEvent::new(name, todo.project.as_deref(), &json!({ "todo": todo }))).await?;
    Ok(Upserted { todo, created, auto_sprint_id })
}

/// Rejects a parent that is missing, would close a cycle, or makes the tree too deep.
async fn check_parent(c: &mut WriteConn, todo_id: &str, parent_id: &str, has_subtree: bool) -> AppResult<()> {
    let chain = todos::parent_chain(c, parent_id).await?;
    let height = if has_subtree { todos::subtree_height(c, todo_id).await? } else { 0 };
    hierarchy::check_parent(todo_id, parent_id, &chain, height).map_err(|e| AppError::BadRequest(e.to_string()))
}

/// Applies `patch` to a stored todo and records its status change; the caller sends the event
/// (the event API and the v2 view each send their own).
pub async fn patch_in(c: &mut WriteConn, id: &str, patch: TodoPatch, now: i64) -> AppResult<Todo> {
    let existing = todos::get(c, id).await?.ok_or_else(|| AppError::not_found("Todo"))?;
    let (todo, change) = rules::update(&existing, patch, now);
    todos::update(c, &existing, &todo).await?;
    if let Some(change) = change {
        todos::record_status(c, &todo.id, &change, now).await?;
    }
    Ok(todo)
}

/// A subtask as `POST /api/todos/{id}/subtasks` takes it.
#[derive(Debug, Deserialize)]
pub struct NewSubtask {
    pub content: String,
    #[serde(default, deserialize_with = "non_null")]
    pub status: Option<TodoStatus>,
    #[serde(default, deserialize_with = "non_null")]
    pub priority: Option<Priority>,
    #[serde(default)]
    pub agent: Field<String>,
    #[serde(default)]
    pub project: Field<String>,
}

/// A new todo under `parent_id`, in its parent's session and (unless given) project.
pub async fn create_subtask(app: &App, parent_id: String, new: NewSubtask) -> AppResult<Todo> {
    Checks::new().min1("content", &new.content).finish()?;
    let now_ms = app.clock.now_ms();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let parent = todos::get(c, &parent_id).await?.ok_or_else(|| AppError::not_found("Todo"))?;
                let project = match new.project {
                    Field::Absent => parent.project.map_or(Field::Absent, Field::Value),
                    other => other,
                };
                let patch = TodoPatch {
                    content: Some(new.content),
                    status: new.status,
                    priority: new.priority,
                    agent: new.agent,
                    project,
                    parent_id: Field::Value(parent.id),
                    session_id: parent.session_id.map_or(Field::Absent, Field::Value),
                    ..Default::default()
                };
                Ok(upsert_in(c, TodoWrite { id: None, patch, sprint_id: None }, now_ms).await?.todo)
            })
        })
        .await
}

/// A comment on a todo, by `author` (default "anonymous").
pub async fn comment(app: &App, todo_id: String, body: String, author: Option<String>) -> AppResult<Comment> {
    Checks::new().min1("body", &body).min1_opt("author", author.as_deref()).finish()?;
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let todo = todos::get(c, &todo_id).await?.ok_or_else(|| AppError::not_found("Todo"))?;
                let author = author.unwrap_or_else(|| "anonymous".into());
                let comment = todos::add_comment(c, &todo, &body, &author, now).await?;
                events::append(c, now, NewEvent::new("comment:created", todo.project.as_deref(), &json!({ "comment": comment }))).await?;
                Ok(comment)
            })
        })
        .await
}

/// Links a todo to a sprint (idempotent); an unknown sprint is a 404.
async fn link(c: &mut WriteConn, todo_id: &str, sprint_id: &str) -> AppResult<()> {
    if sprints::get(c, sprint_id).await?.is_none() {
        return Err(AppError::not_found("Sprint"));
    }
    Ok(todos::link_sprint(c, todo_id, sprint_id).await?)
}

pub async fn link_sprint(app: &App, todo_id: String, sprint_id: String) -> AppResult<()> {
    Checks::new().min1("sprint_id", &sprint_id).finish()?;
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let todo = todos::get(c, &todo_id).await?.ok_or_else(|| AppError::not_found("Todo"))?;
                link(c, &todo_id, &sprint_id).await?;
                let payload = json!({"todo_id": todo_id, "sprint_id": sprint_id, "action": "sprint_linked"});
                events::append(c, now, NewEvent::new("todo:updated", todo.project.as_deref(), &payload)).await?;
                Ok(())
            })
        })
        .await
}

/// Removes a sprint link; removing one that is not there changes nothing and sends no event.
pub async fn unlink_sprint(app: &App, todo_id: String, sprint_id: String) -> AppResult<()> {
    Checks::new().min1("sprint_id", &sprint_id).finish()?;
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                if todos::unlink_sprint(c, &todo_id, &sprint_id).await? {
                    let project = todos::get(c, &todo_id).await?.and_then(|t| t.project);
                    let payload = json!({"todo_id": todo_id, "sprint_id": sprint_id, "action": "sprint_unlinked"});
                    events::append(c, now, NewEvent::new("todo:updated", project.as_deref(), &payload)).await?;
                }
                Ok(())
            })
        })
        .await
}

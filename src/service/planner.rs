//! The V2 planner's tasks and subtasks (docs/decisions.md#work-items). A v1 todo appears among
//! v2 tasks under a negative id; changing or deleting it needs its `original_id`, checked
//! against the id.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::db::events::{self, NewEvent};
use crate::db::todos;
use crate::db::v2::{self, Subtask, Task};
use crate::domain::todos::{Todo, TodoPatch};
use crate::domain::v2::{dependencies_shape_ok, normalize_dependencies, v1_task_id, v2_to_v1_status};
use crate::domain::{Field, Priority, SubtaskStatus, TaskStatus, non_null};
use crate::error::{AppError, AppResult, Checks};
use crate::state::App;

/// The tag of tasks created without one, and the one lists default to.
pub const DEFAULT_TAG: &str = "master";

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
    pub title: Option<String>,
    #[serde(default)]
    pub description: Field<String>,
    #[serde(default, deserialize_with = "non_null")]
    pub status: Option<TaskStatus>,
    #[serde(default, deserialize_with = "non_null")]
    pub priority: Option<Priority>,
    #[serde(default)]
    pub dependencies: Field<Value>,
    #[serde(default)]
    pub details: Field<String>,
    #[serde(default)]
    pub test_strategy: Field<String>,
    #[serde(default, deserialize_with = "non_null")]
    pub tag: Option<String>,
    #[serde(default)]
    pub complexity_score: Field<f64>,
    #[serde(default)]
    pub assigned_agent_id: Field<String>,
    #[serde(default)]
    pub linear_issue_id: Field<String>,
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
            t.status = status;
        }
        if let Some(priority) = self.priority {
            t.priority = priority;
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

/// A new task (title required); unset fields take their defaults.
pub async fn create(app: &App, fields: TaskFields) -> AppResult<Task> {
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
        status: TaskStatus::Pending,
        priority: Priority::Medium,
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
    app.db
        .write(move |c| {
            Box::pin(async move {
                let task = v2::insert(c, &task).await?;
                events::append(c, now, NewEvent::new("task:created", None, &json!({ "task": task }))).await?;
                Ok(task)
            })
        })
        .await
}

/// The todo a negative id stands for; `original_id` must be given and hash to `id`.
fn v1_target(id: i64, original_id: Option<String>, action: &str) -> AppResult<String> {
    let original = original_id.ok_or_else(|| AppError::BadRequest(format!("original_id is required for v1 task {action}")))?;
    if v1_task_id(&original) != id {
        return Err(AppError::field("custom", "original_id", "original_id does not match id"));
    }
    Ok(original)
}

/// What an update changed: a v2 task, or the v1 todo a negative id stands for (only its status
/// and priority change).
pub enum Updated {
    Task(Task),
    Todo(Todo),
}

pub async fn update(app: &App, id: i64, original_id: Option<String>, fields: TaskFields) -> AppResult<Updated> {
    fields.check()?;
    let now = app.clock.now();
    if id < 0 {
        let original = v1_target(id, original_id, "updates")?;
        let patch = TodoPatch { status: fields.status.map(v2_to_v1_status), priority: fields.priority, ..Default::default() };
        let todo = app
            .db
            .write(move |c| {
                Box::pin(async move {
                    let todo = super::todos::patch_in(c, &original, patch, now).await?;
                    events::append(c, now, NewEvent::new("todo:updated", todo.project.as_deref(), &json!({ "todo": todo }))).await?;
                    Ok(todo)
                })
            })
            .await?;
        return Ok(Updated::Todo(todo));
    }
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
    Ok(Updated::Task(task))
}

/// Deletes a task, or the v1 todo a negative id stands for; `false` when there was none.
pub async fn delete(app: &App, id: i64, original_id: Option<String>) -> AppResult<bool> {
    let now = app.clock.now();
    let target = if id < 0 { Some(v1_target(id, original_id, "deletion")?) } else { None };
    app.db
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
        .await
}

#[derive(Debug, Deserialize)]
pub struct SubtaskFields {
    #[serde(default, deserialize_with = "non_null")]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Field<String>,
    #[serde(default, deserialize_with = "non_null")]
    pub status: Option<SubtaskStatus>,
    #[serde(default)]
    pub dependencies: Field<Value>,
    #[serde(default)]
    pub details: Field<String>,
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
            s.status = status;
        }
        if let Some(deps) = self.dependencies.update() {
            s.dependencies = normalize_dependencies(deps.as_ref());
        }
        if let Some(details) = self.details.update() {
            s.details = details;
        }
    }
}

/// A new subtask of task `task_id` (title required); 404 for an unknown task.
pub async fn create_subtask(app: &App, task_id: i64, fields: SubtaskFields) -> AppResult<Subtask> {
    fields.check()?;
    if fields.title.is_none() {
        return Err(AppError::field("invalid_type", "title", "title is required"));
    }
    let now = app.clock.now();
    let mut subtask = Subtask {
        id: 0,
        task_id,
        title: String::new(),
        description: None,
        status: SubtaskStatus::Pending,
        dependencies: None,
        details: None,
        created_at: now,
    };
    fields.apply(&mut subtask);
    app.db
        .write(move |c| {
            Box::pin(async move {
                v2::get(c, task_id).await?.ok_or_else(|| AppError::not_found("Task"))?;
                let subtask = v2::insert_subtask(c, &subtask).await?;
                events::append(c, now, NewEvent::new("task:updated", None, &json!({"task_id": task_id, "subtask": subtask}))).await?;
                Ok(subtask)
            })
        })
        .await
}

fn check_subtask_id(id: i64) -> AppResult<()> {
    Checks::new().require(id > 0, "too_small", "id", "must be a positive integer").finish()
}

pub async fn update_subtask(app: &App, task_id: i64, id: i64, fields: SubtaskFields) -> AppResult<Subtask> {
    fields.check()?;
    check_subtask_id(id)?;
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let mut s = v2::get_subtask(c, task_id, id).await?.ok_or_else(|| AppError::not_found("Subtask"))?;
                fields.apply(&mut s);
                v2::update_subtask(c, &s).await?;
                events::append(c, now, NewEvent::new("task:updated", None, &json!({"task_id": task_id, "subtask": s}))).await?;
                Ok(s)
            })
        })
        .await
}

/// Deletes a subtask; `false` when there was none.
pub async fn delete_subtask(app: &App, task_id: i64, id: i64) -> AppResult<bool> {
    check_subtask_id(id)?;
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let found = v2::delete_subtask(c, task_id, id).await?;
                if found {
                    let payload = json!({"task_id": task_id, "deleted_subtask": id});
                    events::append(c, now, NewEvent::new("task:updated", None, &payload)).await?;
                }
                Ok(found)
            })
        })
        .await
}

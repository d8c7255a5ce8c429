//! Todo writes: creation defaults, partial updates (decisions.md#upserts), status history and `completed_at`.

use serde::Serialize;

use super::{Field, Priority, TodoStatus};

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Todo {
    pub id: String,
    pub name: Option<String>,
    pub session_id: Option<String>,
    pub content: String,
    pub status: TodoStatus,
    pub priority: Priority,
    pub agent: Option<String>,
    pub project: Option<String>,
    pub parent_id: Option<String>,
    pub completed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a write says about a todo; absent keys leave stored values alone.
#[derive(Debug, Clone, Default)]
pub struct TodoPatch {
    pub name: Field<String>,
    pub content: Option<String>,
    pub status: Option<TodoStatus>,
    pub priority: Option<Priority>,
    pub agent: Field<String>,
    pub project: Field<String>,
    pub parent_id: Field<String>,
    pub session_id: Field<String>,
}

/// A status-history row to record.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    pub old: Option<TodoStatus>,
    pub new: TodoStatus,
    pub by: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingContent;

/// A new todo from `patch`: status `pending` and priority `medium` unless given.
pub fn create(id: String, patch: TodoPatch, now: i64) -> Result<(Todo, StatusChange), MissingContent> {
    let content = patch.content.ok_or(MissingContent)?;
    let status = patch.status.unwrap_or(TodoStatus::Pending);
    let agent = patch.agent.empty_as_null().into_option();
    let todo = Todo {
        id,
        name: patch.name.into_option(),
        session_id: patch.session_id.empty_as_null().into_option(),
        content,
        status,
        priority: patch.priority.unwrap_or(Priority::Medium),
        agent: agent.clone(),
        project: patch.project.empty_as_null().into_option(),
        parent_id: patch.parent_id.into_option(),
        completed_at: (status == TodoStatus::Completed).then_some(now),
        created_at: now,
        updated_at: now,
    };
    let change = StatusChange { old: None, new: todo.status, by: agent };
    Ok((todo, change))
}

/// `existing` with the keys present in `patch` applied.
pub fn update(existing: &Todo, patch: TodoPatch, now: i64) -> (Todo, Option<StatusChange>) {
    let mut todo = existing.clone();
    if let Some(name) = patch.name.update() {
        todo.name = name;
    }
    if let Some(content) = patch.content {
        todo.content = content;
    }
    if let Some(priority) = patch.priority {
        todo.priority = priority;
    }
    let new_agent = patch.agent.empty_as_null().update();
    if let Some(agent) = new_agent.clone() {
        todo.agent = agent;
    }
    if let Some(project) = patch.project.empty_as_null().update() {
        todo.project = project;
    }
    if let Some(parent) = patch.parent_id.update() {
        todo.parent_id = parent;
    }
    if let Some(session) = patch.session_id.empty_as_null().update() {
        todo.session_id = session;
    }
    todo.updated_at = now;
    let mut change = None;
    if let Some(status) = patch.status
        && status != existing.status
    {
        todo.status = status;
        todo.completed_at = (status == TodoStatus::Completed).then_some(now);
        let by = new_agent.flatten().or_else(|| existing.agent.clone());
        change = Some(StatusChange { old: Some(existing.status), new: todo.status, by });
    }
    (todo, change)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Todo {
        let patch = TodoPatch { content: Some("write docs".into()), agent: Field::Value("sisyphus".into()), ..Default::default() };
        create("t1".into(), patch, 100).unwrap().0
    }

    #[test]
    fn creation_applies_defaults_and_records_history() {
        let patch = TodoPatch { content: Some("x".into()), agent: Field::Value("".into()), ..Default::default() };
        let (todo, change) = create("t".into(), patch, 5).unwrap();
        assert_eq!((todo.status.as_str(), todo.priority.as_str()), ("pending", "medium"));
        assert_eq!(todo.agent, None);
        assert_eq!(change, StatusChange { old: None, new: TodoStatus::Pending, by: None });
        assert_eq!(create("t".into(), TodoPatch::default(), 5), Err(MissingContent));
    }

    #[test]
    fn created_completed_gets_completed_at() {
        let patch = TodoPatch { content: Some("x".into()), status: Some(TodoStatus::Completed), ..Default::default() };
        assert_eq!(create("t".into(), patch, 7).unwrap().0.completed_at, Some(7));
    }

    #[test]
    fn status_only_update_keeps_every_other_field() {
        let mut existing = base();
        existing.project = Some("billing".into());
        existing.priority = Priority::High;
        let (todo, change) = update(&existing, TodoPatch { status: Some(TodoStatus::InProgress), ..Default::default() }, 200);
        assert_eq!(todo.content, "write docs");
        assert_eq!(todo.project.as_deref(), Some("billing"));
        assert_eq!(todo.priority, Priority::High);
        assert_eq!(todo.updated_at, 200);
        assert_eq!(change.unwrap().by.as_deref(), Some("sisyphus"));
    }

    #[test]
    fn completed_at_follows_the_status() {
        let existing = base();
        let (done, _) = update(&existing, TodoPatch { status: Some(TodoStatus::Completed), ..Default::default() }, 300);
        assert_eq!(done.completed_at, Some(300));
        // editing a completed todo keeps its completion time
        let (edited, change) = update(&done, TodoPatch { content: Some("new".into()), ..Default::default() }, 400);
        assert_eq!((edited.completed_at, change), (Some(300), None));
        // same status again: no history row, no new completion time
        let (again, change) = update(&done, TodoPatch { status: Some(TodoStatus::Completed), ..Default::default() }, 500);
        assert_eq!((again.completed_at, change), (Some(300), None));
        let (reopened, _) = update(&done, TodoPatch { status: Some(TodoStatus::Pending), ..Default::default() }, 600);
        assert_eq!(reopened.completed_at, None);
    }

    #[test]
    fn explicit_null_clears_a_field() {
        let mut existing = base();
        existing.parent_id = Some("p".into());
        let (todo, _) = update(&existing, TodoPatch { parent_id: Field::Null, agent: Field::Null, ..Default::default() }, 1);
        assert_eq!((todo.parent_id, todo.agent), (None, None));
    }
}

//! Reads for the pages: a todo with what its card shows (comment count, newest sprint), and a
//! todo's status history.

use sqlx::AnyPool;

use super::todos::Filter;
use crate::domain::todos::Todo;

/// A todo and the counts its card shows.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Card {
    #[sqlx(flatten)]
    pub todo: Todo,
    pub comment_count: i64,
    /// The newest sprint the todo is in.
    pub sprint_id: Option<String>,
    pub sprint_name: Option<String>,
}

/// The todos matching `filter` as cards, in no particular order (the page orders them).
pub async fn cards(pool: &AnyPool, filter: &Filter) -> Result<Vec<Card>, sqlx::Error> {
    let statement = sql!(
        "SELECT t.id, t.name, t.session_id, t.content, t.status, t.priority, t.agent, t.project, t.parent_id, t.completed_at, \
         t.created_at, t.updated_at, \
         (SELECT COUNT(*) FROM todo_comments c WHERE c.todo_id = t.id) AS comment_count, \
         s.id AS sprint_id, s.name AS sprint_name \
         FROM todos t LEFT JOIN sprints s ON s.id = (SELECT ts.sprint_id FROM todo_sprints ts JOIN sprints x ON x.id = ts.sprint_id \
         WHERE ts.todo_id = t.id ORDER BY x.start_date DESC, x.id DESC LIMIT 1) \
         WHERE {}",
        filter.sql()
    );
    sqlx::query_as_with(statement, filter.arguments()).fetch_all(pool).await
}

/// One status change of a todo.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StatusEntry {
    pub old_status: Option<String>,
    pub new_status: String,
    pub changed_by: Option<String>,
    pub changed_at: i64,
}

/// A todo's status changes, oldest first.
pub async fn status_history(pool: &AnyPool, todo_id: &str) -> Result<Vec<StatusEntry>, sqlx::Error> {
    sqlx::query_as("SELECT old_status, new_status, changed_by, changed_at FROM todo_status_history WHERE todo_id = $1 ORDER BY id")
        .bind(todo_id)
        .fetch_all(pool)
        .await
}

//! V2 planner tasks and their subtasks.

use crate::db::WriteConn;
use serde::Serialize;
use sqlx::AnyPool;

use crate::domain::v2::PlanTask;
use crate::domain::{Priority, SubtaskStatus, TaskStatus};

pub const TASK_COLUMNS: &str = "id, tag, title, description, status, priority, dependencies, details, test_strategy, \
    complexity_score, assigned_agent_id, linear_issue_id, project_id, created_at, updated_at";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Task {
    pub id: i64,
    pub tag: String,
    pub title: String,
    pub description: Option<String>,
    pub status: TaskStatus,
    pub priority: Priority,
    pub dependencies: Option<String>,
    pub details: Option<String>,
    pub test_strategy: Option<String>,
    pub complexity_score: Option<f64>,
    pub assigned_agent_id: Option<String>,
    pub linear_issue_id: Option<String>,
    pub project_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Task {
    pub fn plan(&self) -> PlanTask {
        PlanTask {
            id: self.id,
            status: self.status,
            priority: self.priority,
            dependencies: self.dependencies.clone(),
            created_at: self.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Subtask {
    pub id: i64,
    pub task_id: i64,
    pub title: String,
    pub description: Option<String>,
    pub status: SubtaskStatus,
    pub dependencies: Option<String>,
    pub details: Option<String>,
    pub created_at: i64,
}

const SUBTASK_COLUMNS: &str = "id, task_id, title, description, status, dependencies, details, created_at";

/// Tasks of `tag` (all tags for `None`), most recently updated first.
pub async fn list(pool: &AnyPool, tag: Option<&str>) -> Result<Vec<Task>, sqlx::Error> {
    match tag {
        Some(tag) => {
            sqlx::query_as(sql!("SELECT {TASK_COLUMNS} FROM tasks WHERE tag = $1 ORDER BY updated_at DESC, id DESC"))
                .bind(tag)
                .fetch_all(pool)
                .await
        }
        None => sqlx::query_as(sql!("SELECT {TASK_COLUMNS} FROM tasks ORDER BY updated_at DESC, id DESC")).fetch_all(pool).await,
    }
}

pub async fn get(conn: &mut WriteConn, id: i64) -> Result<Option<Task>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1")).bind(id).fetch_optional(&mut *conn).await
}

pub async fn find(pool: &AnyPool, id: i64) -> Result<Option<Task>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1")).bind(id).fetch_optional(pool).await
}

/// A nullable float bound as text and cast back in SQL. sqlx's `Any` driver sends a NULL
/// `f64` to PostgreSQL as a 4-byte float; the prepared statement keeps that type, and the next
/// real value (8 bytes) then fails with "incorrect binary data format" on every later call.
/// Text NULLs and text values share one type. (Rust prints an `f64` so it parses back exactly.)
fn nullable_float(value: Option<f64>) -> Option<String> {
    value.map(|v| v.to_string())
}

/// Inserts `t` (its id is assigned by the database) and returns the stored row.
pub async fn insert(conn: &mut WriteConn, t: &Task) -> Result<Task, sqlx::Error> {
    sqlx::query_as(sql!(
        "INSERT INTO tasks (tag, title, description, status, priority, dependencies, details, test_strategy, complexity_score, \
         assigned_agent_id, linear_issue_id, project_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CAST($9 AS DOUBLE PRECISION), $10, $11, $12, $13, $14) RETURNING {TASK_COLUMNS}"
    ))
    .bind(&t.tag)
    .bind(&t.title)
    .bind(&t.description)
    .bind(t.status)
    .bind(t.priority)
    .bind(&t.dependencies)
    .bind(&t.details)
    .bind(&t.test_strategy)
    .bind(nullable_float(t.complexity_score))
    .bind(&t.assigned_agent_id)
    .bind(&t.linear_issue_id)
    .bind(&t.project_id)
    .bind(t.created_at)
    .bind(t.updated_at)
    .fetch_one(&mut *conn)
    .await
}

pub async fn update(conn: &mut WriteConn, t: &Task) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE tasks SET tag = $2, title = $3, description = $4, status = $5, priority = $6, dependencies = $7, details = $8, \
         test_strategy = $9, complexity_score = CAST($10 AS DOUBLE PRECISION), assigned_agent_id = $11, linear_issue_id = $12, updated_at = $13 WHERE id = $1",
    )
    .bind(t.id)
    .bind(&t.tag)
    .bind(&t.title)
    .bind(&t.description)
    .bind(t.status)
    .bind(t.priority)
    .bind(&t.dependencies)
    .bind(&t.details)
    .bind(&t.test_strategy)
    .bind(nullable_float(t.complexity_score))
    .bind(&t.assigned_agent_id)
    .bind(&t.linear_issue_id)
    .bind(t.updated_at)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

pub async fn delete(conn: &mut WriteConn, id: i64) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM tasks WHERE id = $1").bind(id).execute(&mut *conn).await?.rows_affected() > 0)
}

pub async fn subtasks(pool: &AnyPool, task_id: i64) -> Result<Vec<Subtask>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {SUBTASK_COLUMNS} FROM subtasks WHERE task_id = $1 ORDER BY id")).bind(task_id).fetch_all(pool).await
}

pub async fn get_subtask(conn: &mut WriteConn, task_id: i64, id: i64) -> Result<Option<Subtask>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {SUBTASK_COLUMNS} FROM subtasks WHERE task_id = $1 AND id = $2"))
        .bind(task_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
}

/// Inserts a subtask with the next id of its task (max + 1, starting at 1).
pub async fn insert_subtask(conn: &mut WriteConn, s: &Subtask) -> Result<Subtask, sqlx::Error> {
    let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM subtasks WHERE task_id = $1")
        .bind(s.task_id)
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query_as(sql!(
        "INSERT INTO subtasks (task_id, id, title, description, status, dependencies, details, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {SUBTASK_COLUMNS}"
    ))
    .bind(s.task_id)
    .bind(next)
    .bind(&s.title)
    .bind(&s.description)
    .bind(s.status)
    .bind(&s.dependencies)
    .bind(&s.details)
    .bind(s.created_at)
    .fetch_one(&mut *conn)
    .await
}

pub async fn update_subtask(conn: &mut WriteConn, s: &Subtask) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE subtasks SET title = $3, description = $4, status = $5, dependencies = $6, details = $7 WHERE task_id = $1 AND id = $2",
    )
    .bind(s.task_id)
    .bind(s.id)
    .bind(&s.title)
    .bind(&s.description)
    .bind(s.status)
    .bind(&s.dependencies)
    .bind(&s.details)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

pub async fn delete_subtask(conn: &mut WriteConn, task_id: i64, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM subtasks WHERE task_id = $1 AND id = $2").bind(task_id).bind(id).execute(&mut *conn).await?;
    Ok(done.rows_affected() > 0)
}

//! Sprints.

use crate::db::WriteConn;
use serde::Serialize;
use sqlx::AnyPool;

use crate::domain::SprintStatus;

pub const COLUMNS: &str = "id, name, start_date, end_date, goal, status, project_id, created_at, updated_at";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Sprint {
    pub id: String,
    pub name: String,
    pub start_date: i64,
    pub end_date: i64,
    pub goal: Option<String>,
    pub status: SprintStatus,
    pub project_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub async fn get(conn: &mut WriteConn, id: &str) -> Result<Option<Sprint>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {COLUMNS} FROM sprints WHERE id = $1")).bind(id).fetch_optional(&mut *conn).await
}

pub async fn find(pool: &AnyPool, id: &str) -> Result<Option<Sprint>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {COLUMNS} FROM sprints WHERE id = $1")).bind(id).fetch_optional(pool).await
}

/// Sprints newest first, optionally of one project.
pub async fn list(pool: &AnyPool, project: Option<&str>) -> Result<Vec<Sprint>, sqlx::Error> {
    match project {
        Some(p) => {
            sqlx::query_as(sql!("SELECT {COLUMNS} FROM sprints WHERE project_id = $1 ORDER BY start_date DESC, created_at DESC"))
                .bind(p)
                .fetch_all(pool)
                .await
        }
        None => sqlx::query_as(sql!("SELECT {COLUMNS} FROM sprints ORDER BY start_date DESC, created_at DESC")).fetch_all(pool).await,
    }
}

/// Sprints linked to a todo, newest first.
pub async fn of_todo(pool: &AnyPool, todo_id: &str) -> Result<Vec<Sprint>, sqlx::Error> {
    sqlx::query_as(sql!(
        "SELECT {} FROM sprints s JOIN todo_sprints ts ON ts.sprint_id = s.id WHERE ts.todo_id = $1 ORDER BY s.start_date DESC, s.created_at DESC",
        COLUMNS.split(", ").map(|c| format!("s.{c}")).collect::<Vec<_>>().join(", ")
    ))
    .bind(todo_id)
    .fetch_all(pool)
    .await
}

/// The active sprint new todos join: status `active` with `start_date ≤ now ≤ end_date`,
/// earliest start first.
/// A todo of a project joins only that project's sprint or a shared one (never another
/// project's); a todo without a project joins any, as in the original.
pub async fn active(conn: &mut WriteConn, now: i64, project: Option<&str>) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM sprints WHERE status = 'active' AND start_date <= $1 AND end_date >= $1 \
         AND ($2 IS NULL OR project_id IS NULL OR project_id = $2) ORDER BY start_date, created_at LIMIT 1",
    )
    .bind(now)
    .bind(project)
    .fetch_optional(&mut *conn)
    .await
}

pub async fn insert(conn: &mut WriteConn, s: &Sprint) -> Result<(), sqlx::Error> {
    sqlx::query(sql!("INSERT INTO sprints ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"))
        .bind(&s.id)
        .bind(&s.name)
        .bind(s.start_date)
        .bind(s.end_date)
        .bind(&s.goal)
        .bind(s.status)
        .bind(&s.project_id)
        .bind(s.created_at)
        .bind(s.updated_at)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

pub async fn update(conn: &mut WriteConn, s: &Sprint) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sprints SET name = $2, start_date = $3, end_date = $4, goal = $5, status = $6, project_id = $7, updated_at = $8 WHERE id = $1")
        .bind(&s.id)
        .bind(&s.name)
        .bind(s.start_date)
        .bind(s.end_date)
        .bind(&s.goal)
        .bind(s.status)
        .bind(&s.project_id)
        .bind(s.updated_at)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

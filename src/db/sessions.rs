//! Agent work sessions.

use crate::db::WriteConn;
use serde::Serialize;
use sqlx::AnyPool;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Session {
    pub id: String,
    pub name: Option<String>,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub project_id: Option<String>,
}

const COLUMNS: &str = "id, name, started_at, ended_at, project_id";

pub async fn get(conn: &mut WriteConn, id: &str) -> Result<Option<Session>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {COLUMNS} FROM sessions WHERE id = $1")).bind(id).fetch_optional(&mut *conn).await
}

pub async fn list(pool: &AnyPool, project: Option<&str>) -> Result<Vec<Session>, sqlx::Error> {
    match project {
        Some(p) => {
            sqlx::query_as(sql!("SELECT {COLUMNS} FROM sessions WHERE project_id = $1 ORDER BY started_at DESC, id DESC"))
                .bind(p)
                .fetch_all(pool)
                .await
        }
        None => sqlx::query_as(sql!("SELECT {COLUMNS} FROM sessions ORDER BY started_at DESC, id DESC")).fetch_all(pool).await,
    }
}

pub async fn insert(conn: &mut WriteConn, s: &Session) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO sessions (id, name, started_at, ended_at, project_id) VALUES ($1, $2, $3, $4, $5)")
        .bind(&s.id)
        .bind(&s.name)
        .bind(s.started_at)
        .bind(s.ended_at)
        .bind(&s.project_id)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

pub async fn update(conn: &mut WriteConn, s: &Session) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET name = $2, project_id = $3 WHERE id = $1")
        .bind(&s.id)
        .bind(&s.name)
        .bind(&s.project_id)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

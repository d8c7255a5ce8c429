//! Workflow rows (decisions.md#workflow): one per (agent, task), status per decisions.md#workflow, `result` once finished.

use crate::db::WriteConn;
use serde::Serialize;

use crate::domain::Priority;
use crate::domain::agents::{WorkflowResult, WorkflowStatus};

const COLUMNS: &str = "id, run_id, agent_id, task_id, title, priority, status, result, sleep_until, created_at, updated_at";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Workflow {
    pub id: String,
    pub run_id: String,
    pub agent_id: String,
    pub task_id: String,
    pub title: String,
    pub priority: Priority,
    pub status: WorkflowStatus,
    pub result: Option<WorkflowResult>,
    pub sleep_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub fn id_of(agent_id: &str, task_id: &str) -> String {
    format!("agent-task-{agent_id}-{task_id}")
}

pub async fn get(conn: &mut WriteConn, id: &str) -> Result<Option<Workflow>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {COLUMNS} FROM workflows WHERE id = $1")).bind(id).fetch_optional(&mut *conn).await
}

/// Workflows still running (no result yet).
pub async fn open_ids(pool: &sqlx::AnyPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM workflows WHERE result IS NULL").fetch_all(pool).await
}

/// Inserts or restarts the row for this (agent, task).
pub async fn put(conn: &mut WriteConn, w: &Workflow) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM workflows WHERE id = $1").bind(&w.id).execute(&mut *conn).await?;
    sqlx::query(sql!("INSERT INTO workflows ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"))
        .bind(&w.id)
        .bind(&w.run_id)
        .bind(&w.agent_id)
        .bind(&w.task_id)
        .bind(&w.title)
        .bind(w.priority)
        .bind(w.status)
        .bind(w.result)
        .bind(w.sleep_until)
        .bind(w.created_at)
        .bind(w.updated_at)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

pub async fn save(conn: &mut WriteConn, w: &Workflow) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE workflows SET status = $2, result = $3, sleep_until = $4, updated_at = $5 WHERE id = $1")
        .bind(&w.id)
        .bind(w.status)
        .bind(w.result)
        .bind(w.sleep_until)
        .bind(w.updated_at)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

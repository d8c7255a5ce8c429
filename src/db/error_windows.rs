//! The error window of each agent task: when its first recent error happened and how many
//! followed (docs/decisions.md#agent-errors). Kept in the database so restarts and replicas
//! count the same.

use crate::db::WriteConn;

use crate::domain::agents::ErrorWindow;

pub async fn get(conn: &mut WriteConn, agent_id: &str, task_id: &str) -> Result<Option<ErrorWindow>, sqlx::Error> {
    let stored: Option<(i64, i64)> =
        sqlx::query_as("SELECT first_error_at, count FROM agent_error_windows WHERE agent_id = $1 AND task_id = $2")
            .bind(agent_id)
            .bind(task_id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(stored.map(|(first_error_at, count)| ErrorWindow { first_error_at, count }))
}

pub async fn put(conn: &mut WriteConn, agent_id: &str, task_id: &str, window: ErrorWindow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO agent_error_windows (agent_id, task_id, first_error_at, count) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (agent_id, task_id) DO UPDATE SET first_error_at = $5, count = $6",
    )
    .bind(agent_id)
    .bind(task_id)
    .bind(window.first_error_at)
    .bind(window.count)
    .bind(window.first_error_at)
    .bind(window.count)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

pub async fn clear(conn: &mut WriteConn, agent_id: &str, task_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM agent_error_windows WHERE agent_id = $1 AND task_id = $2")
        .bind(agent_id)
        .bind(task_id)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

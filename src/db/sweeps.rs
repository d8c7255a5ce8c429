//! The candidates each sweep rule looks at. Each query only narrows the field: the rule itself
//! (in `service/sweep.rs` and `domain/agents.rs`) is checked again on every candidate inside its
//! write unit, so a candidate that changed in between is left alone.

use crate::db::WriteConn;
use sqlx::AnyPool;

/// Working agents whose last sign of life (heartbeat, else registration) is before `before`.
pub async fn silent_working(pool: &AnyPool, before: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM agents WHERE status = 'working' AND COALESCE(last_heartbeat, created_at) < $1")
        .bind(before)
        .fetch_all(pool)
        .await
}

/// Agents awake and silent since before `before` that have pending tasks.
pub async fn idle_with_pending(pool: &AnyPool, before: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM agents WHERE status NOT IN ('sleeping', 'offline') AND COALESCE(last_heartbeat, created_at) < $1 \
         AND EXISTS (SELECT 1 FROM agent_tasks t WHERE t.agent_id = agents.id AND t.status = 'pending')",
    )
    .bind(before)
    .fetch_all(pool)
    .await
}

/// Working agents without real progress since before `before`.
pub async fn without_progress(pool: &AnyPool, before: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM agents WHERE status = 'working' AND COALESCE(last_activity_at, created_at) < $1")
        .bind(before)
        .fetch_all(pool)
        .await
}

/// Tasks blocked since before `before`.
pub async fn blocked_since(pool: &AnyPool, before: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM agent_tasks WHERE status = 'blocked' AND blocked_at < $1").bind(before).fetch_all(pool).await
}

/// Idle agents with nothing pending (they sleep when the sleep window starts).
pub async fn idle_without_pending(conn: &mut WriteConn) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM agents WHERE status = 'idle' AND NOT EXISTS \
         (SELECT 1 FROM agent_tasks t WHERE t.agent_id = agents.id AND t.status = 'pending')",
    )
    .fetch_all(&mut *conn)
    .await
}

/// Agents asleep because of the sleep window (they wake when it ends).
pub async fn asleep_on_schedule(conn: &mut WriteConn) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM agents WHERE status = 'sleeping' AND sleep_reason = 'schedule'").fetch_all(&mut *conn).await
}

/// Agents of integrations (`<tool>-…`, `tools`) whose last sign of life (heartbeat or real
/// progress: a long tool call reports none of the first) is before `before`,
/// with `offline` (purge candidates) or without it (going offline). Sub-agents come first.
pub async fn ingest_agents(pool: &AnyPool, tools: &[&str], offline: bool, before: i64) -> Result<Vec<String>, sqlx::Error> {
    let prefixes: Vec<String> = tools.iter().map(|t| format!("id LIKE '{}-%'", t.replace('\'', ""))).collect();
    let status = if offline { "status = 'offline'" } else { "status <> 'offline'" };
    sqlx::query_scalar(sql!(
        "SELECT id FROM agents WHERE {status} AND ({}) \
         AND COALESCE(CASE WHEN last_activity_at > last_heartbeat THEN last_activity_at ELSE last_heartbeat END, last_heartbeat, last_activity_at, created_at) < $1 \
         ORDER BY CASE WHEN parent_agent_id IS NULL THEN 1 ELSE 0 END, id",
        prefixes.join(" OR ")
    ))
    .bind(before)
    .fetch_all(pool)
    .await
}

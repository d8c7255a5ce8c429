//! An agent's timeline (`agent_activity`): one row per thing that happened to or was reported
//! by the agent, pruned by age with the event log.

use serde::Serialize;
use sqlx::AnyPool;

use crate::db::WriteConn;

/// How much of a timeline the API and the agent page show by default.
pub const DEFAULT_LIMIT: i64 = 100;

/// The longest summary kept; longer ones are cut (on a character boundary).
pub const MAX_SUMMARY_CHARS: usize = 1000;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ActivityRow {
    pub id: i64,
    pub agent_id: String,
    pub task_id: Option<String>,
    pub project_id: Option<String>,
    pub kind: String,
    pub summary: Option<String>,
    pub created_at: i64,
}

/// Where a timeline row belongs: the agent, the task it is about, and the project (the
/// task's, else the agent's).
pub struct Subject<'a> {
    pub agent_id: &'a str,
    pub task_id: Option<&'a str>,
    pub project_id: Option<&'a str>,
}

/// Adds a row to the subject agent's timeline.
pub async fn record(conn: &mut WriteConn, at: Subject<'_>, kind: &str, summary: Option<&str>, now: i64) -> Result<(), sqlx::Error> {
    let summary: Option<String> = summary.map(|s| s.chars().take(MAX_SUMMARY_CHARS).collect());
    sqlx::query("INSERT INTO agent_activity (agent_id, task_id, project_id, kind, summary, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(at.agent_id)
        .bind(at.task_id)
        .bind(at.project_id)
        .bind(kind)
        .bind(summary)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

/// The newest `limit` rows of the agent's timeline, older than row `before` when given, and
/// only those of `project` when one is given.
pub async fn list(
    pool: &AnyPool,
    agent_id: &str,
    project: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<ActivityRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, agent_id, task_id, project_id, kind, summary, created_at FROM agent_activity \
         WHERE agent_id = $1 AND id < $2 AND ($4 IS NULL OR project_id = $4) ORDER BY id DESC LIMIT $3",
    )
    .bind(agent_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .bind(project)
    .fetch_all(pool)
    .await
}

/// The summary of each agent's latest timeline row, for the agents among `ids`.
pub async fn latest_summaries(pool: &AnyPool, ids: &[String]) -> Result<Vec<(String, Option<String>)>, sqlx::Error> {
    let mut found = Vec::new();
    for chunk in ids.chunks(super::IN_CHUNK) {
        let sql = format!(
            "SELECT agent_id, summary FROM agent_activity WHERE id IN (SELECT MAX(id) FROM agent_activity WHERE agent_id IN ({}) GROUP BY agent_id)",
            super::placeholders(1, chunk.len())
        );
        let mut query = sqlx::query_as::<_, (String, Option<String>)>(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(id.clone());
        }
        found.extend(query.fetch_all(pool).await?);
    }
    Ok(found)
}

/// Deletes up to `limit` rows older than `cutoff`; returns how many went.
pub async fn delete_older_than(conn: &mut WriteConn, cutoff: i64, limit: i64) -> Result<u64, sqlx::Error> {
    let done =
        sqlx::query("DELETE FROM agent_activity WHERE id IN (SELECT id FROM agent_activity WHERE created_at < $1 ORDER BY id LIMIT $2)")
            .bind(cutoff)
            .bind(limit)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected())
}

//! Keys of what an ingest already applied (K29 idempotency): event ids, message ids, tool-call
//! ids. Claimed in the unit that applies the effect, so an effect happens once.

use crate::db::WriteConn;

/// Claims `key`; `false` when it was claimed before (the effect already happened).
pub async fn claim(conn: &mut WriteConn, key: &str, now: i64) -> Result<bool, sqlx::Error> {
    let claimed: Option<String> =
        sqlx::query_scalar("INSERT INTO ingest_keys (key, created_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING key")
            .bind(key)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(claimed.is_some())
}

/// Deletes up to `limit` keys older than `cutoff` (a replay older than the event log is not expected).
pub async fn delete_older_than(conn: &mut WriteConn, cutoff: i64, limit: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM ingest_keys WHERE key IN (SELECT key FROM ingest_keys WHERE created_at < $1 LIMIT $2)")
        .bind(cutoff)
        .bind(limit)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

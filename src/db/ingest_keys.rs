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

/// How much cumulative series `series` grew since its last point (K29): its last value is
/// kept; a point of a new run of the series (another start time) counts whole; a point older
/// or equal to the last counts nothing and leaves it.
pub async fn cumulative_growth(conn: &mut WriteConn, series: &str, start_ns: &str, value: f64, now: i64) -> Result<f64, sqlx::Error> {
    let last: Option<(String, f64)> =
        sqlx::query_as("SELECT start_ns, value FROM otlp_series WHERE series = $1").bind(series).fetch_optional(&mut *conn).await?;
    let growth = match &last {
        Some((start, previous)) if start == start_ns => value - previous,
        _ => value,
    };
    if growth > 0.0 || last.is_none() {
        sqlx::query(
            "INSERT INTO otlp_series (series, start_ns, value, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (series) DO UPDATE SET start_ns = $5, value = $6, updated_at = $7",
        )
        .bind(series)
        .bind(start_ns)
        .bind(value)
        .bind(now)
        .bind(start_ns)
        .bind(value)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(growth.max(0.0))
}

//! The last value of each cumulative OpenTelemetry series (K29): a new point adds only what it
//! grew by. Runs inside the writer's units (on PostgreSQL under the events lock), so two
//! replicas never count the same growth.

use crate::db::WriteConn;

/// Deletes up to `limit` cumulative series not updated since `cutoff` (their sessions are over).
pub async fn delete_older_than(conn: &mut WriteConn, cutoff: i64, limit: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM otlp_series WHERE series IN (SELECT series FROM otlp_series WHERE updated_at < $1 LIMIT $2)")
        .bind(cutoff)
        .bind(limit)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// How much cumulative series `series` grew since its last point (K29): its last value is
/// kept; a point of a new run of the series (another start time) counts whole; a point older
/// or equal to the last counts nothing and leaves it.
pub async fn growth(conn: &mut WriteConn, series: &str, start_ns: &str, value: f64, now: i64) -> Result<f64, sqlx::Error> {
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

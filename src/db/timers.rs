//! Durable timers as rows (docs/decisions.md#durable-timers): claimed with a lease, so exactly
//! one replica runs each due timer, and rescheduled or removed when done.

use crate::db::WriteConn;

use super::Backend;

/// Makes sure a recurring timer exists (first start, or after someone deleted it) with this
/// period (a changed setting changes it; when it is next due stays).
pub async fn ensure_recurring(conn: &mut WriteConn, id: &str, period: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO timers (id, due_at, period_secs, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (id) DO UPDATE SET period_secs = excluded.period_secs \
         WHERE timers.period_secs IS NULL OR timers.period_secs <> excluded.period_secs",
    )
    .bind(id)
    .bind(now)
    .bind(period)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

/// Removes a timer (a feature turned off).
pub async fn remove(conn: &mut WriteConn, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM timers WHERE id = $1").bind(id).execute(&mut *conn).await.map(|_| ())
}

/// Keeps a claimed timer for its replica until `until` (a run longer than the usual lease).
pub async fn hold(conn: &mut WriteConn, id: &str, until: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE timers SET claimed_until = $2 WHERE id = $1").bind(id).bind(until).execute(&mut *conn).await.map(|_| ())
}

/// A one-shot timer due at `due_at` (an existing one with this id is moved there).
pub async fn schedule_once(conn: &mut WriteConn, id: &str, due_at: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO timers (id, due_at, period_secs, created_at) VALUES ($1, $2, NULL, $3) \
         ON CONFLICT (id) DO UPDATE SET due_at = excluded.due_at",
    )
    .bind(id)
    .bind(due_at)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

/// Claims up to 100 due timers that nobody holds until `lease_until`; returns their ids.
/// PostgreSQL skips rows another replica is claiming at the same moment.
pub async fn claim_due(conn: &mut WriteConn, backend: Backend, now: i64, lease_until: i64) -> Result<Vec<String>, sqlx::Error> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    sqlx::query_scalar(sql!(
        "UPDATE timers SET claimed_until = $1 WHERE id IN (SELECT id FROM timers WHERE due_at <= $2 \
         AND (claimed_until IS NULL OR claimed_until < $3) ORDER BY due_at LIMIT 100{lock}) RETURNING id"
    ))
    .bind(lease_until)
    .bind(now)
    .bind(now)
    .fetch_all(&mut *conn)
    .await
}

/// A run is done: a recurring timer comes due again one period later, a one-shot goes.
pub async fn finish(conn: &mut WriteConn, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE timers SET due_at = $1 + period_secs, claimed_until = NULL WHERE id = $2 AND period_secs IS NOT NULL")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM timers WHERE id = $1 AND period_secs IS NULL").bind(id).execute(&mut *conn).await?;
    Ok(())
}

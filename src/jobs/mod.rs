//! Durable timers and the scheduler (decisions.md#durable-timers). Timers are rows; a tick claims the
//! due ones atomically with a lease, runs their effects, and reschedules recurring ones. A
//! replica that dies mid-run leaves a lease that expires, and another replica runs the
//! timer again — every effect is idempotent, so it happens once.

pub mod purge;
pub mod sweep;

use std::time::Duration;

use sqlx::AnyConnection;

use crate::db::Backend;
use crate::error::AppResult;
use crate::state::App;

/// How long a claimed timer is reserved for the replica that claimed it.
const LEASE_SECS: i64 = 60;

/// The recurring lifecycle sweep (idle agents, stale blocks, sleep-window edges).
pub const SWEEP: &str = "sweep:lifecycle";
pub const SWEEP_PERIOD_SECS: i64 = 30;

/// The hourly purge of expired sessions and spent sign-in links.
pub const PURGE: &str = "purge:auth";
pub const PURGE_PERIOD_SECS: i64 = 3600;

/// Makes sure a recurring timer exists (first start, or after someone deleted it).
pub async fn ensure_recurring(conn: &mut AnyConnection, id: &str, period: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO timers (id, due_at, period_secs, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING")
        .bind(id)
        .bind(now)
        .bind(period)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

/// Claims every due timer that nobody holds; returns their ids.
async fn claim(app: &App, now: i64) -> AppResult<Vec<String>> {
    let lock = match app.db.backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE timers SET claimed_until = $1 WHERE id IN (SELECT id FROM timers WHERE due_at <= $2 \
         AND (claimed_until IS NULL OR claimed_until < $3) ORDER BY due_at LIMIT 100{lock}) RETURNING id"
    );
    let claimed = app
        .db
        .write(move |c| {
            Box::pin(async move {
                Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(now + LEASE_SECS).bind(now).bind(now).fetch_all(&mut *c).await?)
            })
        })
        .await?;
    Ok(claimed)
}

/// Marks a run done: recurring timers come due again one period later, others go.
async fn finish(app: &App, id: String, now: i64) -> AppResult<()> {
    app.db
        .write(move |c| {
            Box::pin(async move {
                sqlx::query("UPDATE timers SET due_at = $1 + period_secs, claimed_until = NULL WHERE id = $2 AND period_secs IS NOT NULL")
                    .bind(now)
                    .bind(&id)
                    .execute(&mut *c)
                    .await?;
                sqlx::query("DELETE FROM timers WHERE id = $1 AND period_secs IS NULL").bind(&id).execute(&mut *c).await?;
                Ok(())
            })
        })
        .await
}

/// One scheduler pass at the app's clock: runs every due timer once. Tests call this after
/// moving the clock (decisions.md#injected-clock); the background loop calls it every few seconds.
pub async fn tick(app: &App) -> AppResult<usize> {
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                ensure_recurring(c, SWEEP, SWEEP_PERIOD_SECS, now).await?;
                Ok(ensure_recurring(c, PURGE, PURGE_PERIOD_SECS, now).await?)
            })
        })
        .await?;
    let claimed = claim(app, now).await?;
    let count = claimed.len();
    for id in claimed {
        match id.as_str() {
            SWEEP => sweep::run(app, now).await?,
            PURGE => purge::run(app, now).await?,
            other => tracing::warn!(timer = other, "unknown timer dropped"),
        }
        finish(app, id, now).await?;
    }
    Ok(count)
}

/// Runs `tick` every `SCHEDULER_TICK_MS` until the app shuts down.
pub fn spawn(app: App) {
    let every = Duration::from_millis(app.config.scheduler_tick_ms);
    if every.is_zero() {
        return;
    }
    tokio::spawn(async move {
        let mut shutdown = app.shutdown.subscribe();
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                () = tokio::time::sleep(every) => {},
            }
            if let Err(e) = tick(&app).await {
                tracing::warn!(error = %e, "scheduler tick failed");
            }
        }
    });
}

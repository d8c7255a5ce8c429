//! Durable timers and the scheduler (decisions.md#durable-timers). Timers are rows; a tick claims the
//! due ones atomically with a lease, runs their effects, and reschedules recurring ones. A
//! replica that dies mid-run leaves a lease that expires, and another replica runs the
//! timer again — every effect is idempotent, so it happens once.

pub mod alerts;
pub mod linear;
pub mod purge;

use std::time::Duration;

use crate::db::timers;
use crate::error::AppResult;
use crate::service::sweep;
use crate::state::App;

/// How long a claimed timer is reserved for the replica that claimed it.
const LEASE_SECS: i64 = 60;

/// The recurring lifecycle sweep (idle agents, stale blocks, sleep-window edges).
pub const SWEEP: &str = "sweep:lifecycle";
pub const SWEEP_PERIOD_SECS: i64 = 30;

/// The hourly purge of expired sessions and spent sign-in links.
pub const PURGE: &str = "purge:auth";
pub const PURGE_PERIOD_SECS: i64 = 3600;

/// The Linear re-sync (every LINEAR_SYNC_INTERVAL_SECONDS, with LINEAR_API_KEY).
pub const LINEAR_SYNC: &str = "linear:sync";
/// Applies webhook deliveries a stop left unapplied, and forgets old ones.
pub const LINEAR_DELIVERIES: &str = "linear:deliveries";
pub const LINEAR_DELIVERIES_PERIOD_SECS: i64 = 60;

/// Claims every due timer that nobody holds; returns their ids.
async fn claim(app: &App, now: i64) -> AppResult<Vec<String>> {
    let backend = app.db.backend;
    app.db.write(move |c| Box::pin(async move { Ok(timers::claim_due(c, backend, now, now + LEASE_SECS).await?) })).await
}

/// Marks a run done: recurring timers come due again one period later, others go.
pub(crate) async fn finish(app: &App, id: String, now: i64) -> AppResult<()> {
    app.db.write(move |c| Box::pin(async move { Ok(timers::finish(c, &id, now).await?) })).await
}

/// One scheduler pass at the app's clock: runs every due timer once. Tests call this after
/// moving the clock (decisions.md#injected-clock); the background loop calls it every few seconds.
pub async fn tick(app: &App) -> AppResult<usize> {
    let now = app.clock.now();
    let interval = app.config.linear_sync_interval_seconds as i64;
    // At most one sync a minute, whatever the setting says (never hammer Linear).
    let linear_sync_period = (app.linear.is_configured() && interval > 0).then_some(interval.max(linear::MIN_PERIOD_SECS));
    app.db
        .write(move |c| {
            Box::pin(async move {
                timers::ensure_recurring(c, SWEEP, SWEEP_PERIOD_SECS, now).await?;
                timers::ensure_recurring(c, LINEAR_DELIVERIES, LINEAR_DELIVERIES_PERIOD_SECS, now).await?;
                // (A replica without Linear leaves the timer to those with it; see below.)
                if let Some(period) = linear_sync_period {
                    timers::ensure_recurring(c, LINEAR_SYNC, period, now).await?;
                }
                Ok(timers::ensure_recurring(c, PURGE, PURGE_PERIOD_SECS, now).await?)
            })
        })
        .await?;
    let claimed = claim(app, now).await?;
    let count = claimed.len();
    for id in claimed {
        match id.as_str() {
            SWEEP => sweep::run(app, now).await?,
            PURGE => purge::run(app, now).await?,
            LINEAR_SYNC if linear_sync_period.is_none() => {
                // Linear is off here (no key, or LINEAR_SYNC_INTERVAL_SECONDS=0): the timer goes;
                // a replica that has Linear sets it again.
                app.db.write(move |c| Box::pin(async move { Ok(timers::remove(c, LINEAR_SYNC).await?) })).await?;
                continue;
            }
            LINEAR_SYNC => {
                // It runs beside the scheduler and finishes its timer itself.
                linear::start(app).await?;
                continue;
            }
            LINEAR_DELIVERIES => crate::service::linear::webhook::recover(app, now).await?,
            done if done.starts_with(crate::domain::linear::DONE_TIMER) => {
                let issue = &done[crate::domain::linear::DONE_TIMER.len()..];
                if let Err(e) = crate::service::linear::assign::finish_issue(app, issue).await {
                    // Linear unreachable or rate limited: the timer stays claimed and runs
                    // again when its lease ends.
                    tracing::warn!(issue, error = %e, "Linear issue not finished yet");
                    continue;
                }
            }
            other => tracing::warn!(timer = other, "unknown timer dropped"),
        }
        finish(app, id, now).await?;
    }
    Ok(count)
}

/// Runs `tick` every `SCHEDULER_TICK_MS` until the app shuts down.
pub fn spawn(app: App) {
    let every = Duration::from_millis(app.config.scheduler_tick_ms);
    if !every.is_zero() {
        app.every(every, "scheduler tick", |app| async move { tick(&app).await.map(|_| ()) });
    }
    alerts::spawn(app);
}

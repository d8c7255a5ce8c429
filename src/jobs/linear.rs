//! The scheduled Linear sync: a recurring timer, so one replica runs it per period. It runs
//! beside the scheduler (a sync may wait out Linear's rate limits for a while, and the other
//! timers must not wait behind it): the replica that claimed it holds it for up to half an
//! hour and finishes it when the sync ends. A sync that fails is recorded for Settings and
//! tried again next period.

use crate::db::timers;
use crate::error::AppResult;
use crate::service::linear::sync;
use crate::state::App;

/// The shortest period between background syncs, whatever LINEAR_SYNC_INTERVAL_SECONDS says.
pub const MIN_PERIOD_SECS: i64 = 60;
/// How long the claiming replica keeps the sync's timer.
const HOLD_SECS: i64 = 1800;

pub async fn start(app: &App, now: i64) -> AppResult<()> {
    app.db.write(move |c| Box::pin(async move { Ok(timers::hold(c, super::LINEAR_SYNC, now + HOLD_SECS).await?) })).await?;
    let app = app.clone();
    tokio::spawn(async move {
        if let Err(e) = sync::run(&app, None, "schedule").await {
            tracing::warn!(error = %e, "scheduled Linear sync failed");
        }
        if let Err(e) = super::finish(&app, super::LINEAR_SYNC.to_string(), app.clock.now()).await {
            tracing::warn!(error = %e, "the Linear sync's timer was not rescheduled");
        }
    });
    Ok(())
}

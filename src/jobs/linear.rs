//! The scheduled Linear sync: a recurring timer, so one replica runs it per period. It runs
//! beside the scheduler (a sync may wait out Linear's rate limits for a while, and the other
//! timers must not wait behind it). The replica that claimed it keeps a short lease on it and
//! renews it while the sync runs, so a replica that stops mid-sync lets another take the
//! timer within a minute and a half; the sync's end reschedules it one period on. A sync that
//! fails is recorded for Settings and tried again next period.

use std::time::Duration;

use crate::db::timers;
use crate::error::AppResult;
use crate::service::linear::sync;
use crate::state::App;

/// The shortest period between background syncs, whatever LINEAR_SYNC_INTERVAL_SECONDS says.
pub const MIN_PERIOD_SECS: i64 = 60;
/// The lease the running sync keeps on its timer, renewed every `RENEW`.
const LEASE_SECS: i64 = 90;
const RENEW: Duration = Duration::from_secs(30);

async fn hold(app: &App) -> AppResult<()> {
    let until = app.clock.now() + LEASE_SECS;
    app.db.write(move |c| Box::pin(async move { Ok(timers::hold(c, super::LINEAR_SYNC, until).await?) })).await
}

pub async fn start(app: &App) -> AppResult<()> {
    hold(app).await?;
    let app = app.clone();
    tokio::spawn(async move {
        let run = sync::run(&app, None, "schedule");
        tokio::pin!(run);
        let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + RENEW, RENEW);
        let outcome = loop {
            tokio::select! {
                outcome = &mut run => break outcome,
                _ = renew.tick() => {
                    if let Err(e) = hold(&app).await {
                        tracing::warn!(error = %e, "the Linear sync's lease was not renewed");
                    }
                }
            }
        };
        if let Err(e) = outcome {
            tracing::warn!(error = %e, "scheduled Linear sync failed");
        }
        if let Err(e) = super::finish(&app, super::LINEAR_SYNC.to_string(), app.clock.now()).await {
            tracing::warn!(error = %e, "the Linear sync's timer was not rescheduled");
        }
    });
    Ok(())
}

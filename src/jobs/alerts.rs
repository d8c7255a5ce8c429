//! The alert loop (docs/decisions.md#alerting): fires due alerts and digests, then sends due
//! deliveries. It wakes after every local commit that appended events (a raised alert fires at
//! once) and otherwise at the next due time, at most a second away, so an alert raised by
//! another replica also fires within a second of its due time.

use std::time::Duration;

use crate::db::{alert_queue, deliveries};
use crate::error::AppResult;
use crate::notify;
use crate::service::alerting;
use crate::state::App;

/// The longest the loop sleeps without looking.
const LONGEST_WAIT_MS: i64 = 1000;
/// Commits closer together than this are handled by one pass.
const SHORTEST_WAIT_MS: u64 = 50;

/// One pass at the app's clock: fires what is due, then sends what is due. Tests call this
/// after moving the clock.
pub async fn run(app: &App) -> AppResult<()> {
    alerting::fire_due(app).await?;
    while notify::deliver_due(app).await? > 0 {}
    Ok(())
}

/// When something is next due (ms), read without the writer.
async fn next_due(app: &App) -> AppResult<Option<i64>> {
    let pool = &app.db.read;
    let times = [alert_queue::next_due(pool).await?, alert_queue::digest_due(pool).await?, deliveries::next_due(pool).await?];
    Ok(times.into_iter().flatten().min())
}

/// Runs the loop until shutdown (off when the scheduler is off, as in tests).
pub fn spawn(app: App) {
    if app.config.scheduler_tick_ms == 0 {
        return;
    }
    tokio::spawn(async move {
        let mut shutdown = app.shutdown.subscribe();
        let mut commits = app.db.subscribe_commits();
        loop {
            let wait = match next_due(&app).await {
                Ok(Some(due)) if due <= app.clock.now_ms() => match run(&app).await {
                    Ok(()) => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, "alert pass failed");
                        LONGEST_WAIT_MS
                    }
                },
                Ok(Some(due)) => (due - app.clock.now_ms()).min(LONGEST_WAIT_MS),
                Ok(None) => LONGEST_WAIT_MS,
                Err(e) => {
                    tracing::warn!(error = %e, "alert loop cannot read what is due");
                    LONGEST_WAIT_MS
                }
            };
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = commits.changed() => tokio::time::sleep(Duration::from_millis(SHORTEST_WAIT_MS)).await,
                () = tokio::time::sleep(Duration::from_millis(wait.max(1) as u64)) => {}
            }
        }
    });
}

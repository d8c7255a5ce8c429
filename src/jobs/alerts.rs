//! The alert loops (docs/decisions.md#alerting): one fires due alerts and digests, the other
//! sends due deliveries, so a slow receiver never delays an alert. Each wakes after every
//! local commit that appended events (a raised alert fires at once, a queued delivery goes at
//! once) and otherwise at its next due time, at most a second away — so what another replica
//! queued is also handled within a second of its due time.

use std::future::Future;
use std::time::Duration;

use crate::db::{alert_queue, deliveries};
use crate::error::AppResult;
use crate::notify;
use crate::service::alerting;
use crate::state::App;

/// The longest a loop sleeps without looking.
const LONGEST_WAIT_MS: i64 = 1000;
/// Commits closer together than this are handled by one pass.
const SHORTEST_WAIT_MS: u64 = 50;

/// One pass of both at the app's clock: fires what is due, then sends what is due. Tests call
/// this after moving the clock.
pub async fn run(app: &App) -> AppResult<()> {
    alerting::fire_due(app).await?;
    while notify::deliver_due(app).await? > 0 {}
    Ok(())
}

/// When the next alert or digest is due (ms), read without the writer.
async fn next_alert(app: App) -> AppResult<Option<i64>> {
    let pool = &app.db.read;
    Ok([alert_queue::next_due(pool).await?, alert_queue::digest_due(pool).await?].into_iter().flatten().min())
}

async fn next_delivery(app: App) -> AppResult<Option<i64>> {
    Ok(deliveries::next_due(&app.db.read).await?)
}

/// Runs both loops until shutdown (off when the scheduler is off, as in tests).
pub fn spawn(app: App) {
    if app.config.scheduler_tick_ms == 0 {
        return;
    }
    keep_running(app.clone(), "alert", next_alert, |app| async move { alerting::fire_due(&app).await.map(|_| ()) });
    keep_running(app, "delivery", next_delivery, |app| async move { notify::deliver_due(&app).await.map(|_| ()) });
}

/// Runs `pass` whenever `next_due` says something is due; sleeps until then (at most a second)
/// or until a local commit.
fn keep_running<N, NF, P, PF>(app: App, what: &'static str, next_due: N, pass: P)
where
    N: Fn(App) -> NF + Send + 'static,
    NF: Future<Output = AppResult<Option<i64>>> + Send,
    P: Fn(App) -> PF + Send + 'static,
    PF: Future<Output = AppResult<()>> + Send,
{
    tokio::spawn(async move {
        let mut shutdown = app.shutdown.subscribe();
        let mut commits = app.db.subscribe_commits();
        loop {
            let wait = match next_due(app.clone()).await {
                Ok(Some(due)) if due <= app.clock.now_ms() => match pass(app.clone()).await {
                    Ok(()) => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, "{what} pass failed");
                        LONGEST_WAIT_MS
                    }
                },
                Ok(Some(due)) => (due - app.clock.now_ms()).min(LONGEST_WAIT_MS),
                Ok(None) => LONGEST_WAIT_MS,
                Err(e) => {
                    tracing::warn!(error = %e, "{what} loop cannot read what is due");
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

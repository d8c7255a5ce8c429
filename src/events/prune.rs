//! Event retention: events older than `EVENT_RETENTION_HOURS` or beyond the newest
//! `EVENT_RETENTION_ROWS` are deleted in small batches through the writer, so pruning
//! never holds up other writes for long. Agents' timelines (`agent_activity`), settled
//! alerts, finished deliveries and ingest keys follow the same age limit.

use std::time::Duration;

use crate::db::{activity, alert_queue, deliveries, events, ingest_keys, otlp_series};
use crate::error::AppResult;
use crate::state::App;

const BATCH: i64 = 5_000;
const EVERY: Duration = Duration::from_secs(60);

/// Prunes what is due now; returns the number of events deleted.
pub async fn prune(app: &App) -> AppResult<u64> {
    let now = app.clock.now();
    let max_age = i64::try_from(app.config.event_retention_hours.saturating_mul(3600)).unwrap_or(i64::MAX);
    let max_rows = i64::try_from(app.config.event_retention_rows).unwrap_or(i64::MAX);
    prune_timelines(app, now.saturating_sub(max_age)).await?;
    let through = events::prune_point(&app.db.read, now, max_age, max_rows).await?;
    if through == 0 {
        return Ok(0);
    }
    let mut total = 0;
    loop {
        let deleted = app.db.write(move |c| Box::pin(async move { Ok(events::delete_through(c, through, BATCH, now).await?) })).await?;
        total += deleted;
        if deleted < BATCH as u64 {
            return Ok(total);
        }
    }
}

/// Timelines, settled alerts and finished deliveries are kept as long as the events: rows
/// older than `cutoff` go, in batches.
async fn prune_timelines(app: &App, cutoff: i64) -> AppResult<()> {
    loop {
        let deleted = app
            .db
            .write(move |c| {
                Box::pin(async move {
                    let timeline = activity::delete_older_than(c, cutoff, BATCH).await?;
                    let alerts = alert_queue::delete_older_than(c, cutoff, BATCH).await?;
                    let sent = deliveries::delete_older_than(c, cutoff, BATCH).await?;
                    let keys = ingest_keys::delete_older_than(c, cutoff, BATCH).await?;
                    let series = otlp_series::delete_older_than(c, cutoff, BATCH).await?;
                    Ok(timeline.max(alerts).max(sent).max(keys).max(series))
                })
            })
            .await?;
        if deleted < BATCH as u64 {
            return Ok(());
        }
    }
}

/// Runs `prune` every minute until the app shuts down.
pub fn spawn(app: App) {
    app.every(EVERY, "event pruning", |app| async move {
        let deleted = prune(&app).await?;
        if deleted > 0 {
            tracing::info!(deleted, "pruned old events");
        }
        Ok(())
    });
}

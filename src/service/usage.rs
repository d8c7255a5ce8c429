//! Publishing `agent:usage` (see `events::usage`): one event per agent marked since the last
//! flush, with its current figures.

use std::time::Duration;

use serde_json::json;

use crate::db::events::{self, NewEvent};
use crate::error::AppResult;
use crate::state::App;

/// The most often one agent's `agent:usage` is published.
pub const USAGE_EVERY: Duration = Duration::from_secs(2);

/// How many agents one write unit publishes: a flood of marked agents is written in short
/// units, so the heartbeats queued behind them wait for one chunk, not for all.
const AGENTS_PER_UNIT: usize = 100;

/// Writes one `agent:usage` event per agent marked since the last flush; returns how many.
pub async fn flush(app: &App) -> AppResult<usize> {
    let marked = app.usage.take();
    let mut written = 0;
    for chunk in marked.chunks(AGENTS_PER_UNIT) {
        let ids = chunk.to_vec();
        let now = app.clock.now();
        written += app
            .db
            .write(move |c| {
                Box::pin(async move {
                    let agents = crate::db::agents::get_many(c, &ids).await?;
                    let batch: Vec<NewEvent> = agents
                        .iter()
                        .map(|a| {
                            let payload = json!({
                                "agentId": a.id,
                                "project": a.project_id,
                                "last_heartbeat": a.last_heartbeat,
                                "last_activity_at": a.last_activity_at,
                                "tokens_in": a.tokens_in,
                                "tokens_out": a.tokens_out,
                                "cost_usd": a.cost_usd,
                            });
                            NewEvent::new("agent:usage", a.project_id.as_deref(), &payload)
                        })
                        .collect();
                    let count = batch.len();
                    events::append_many(c, now, batch).await?;
                    Ok(count)
                })
            })
            .await?;
    }
    Ok(written)
}

/// Flushes every `USAGE_EVERY` until shutdown. Off when the scheduler is off (tests flush
/// themselves, so no event appears behind their back).
pub fn spawn(app: App) {
    if app.config.scheduler_tick_ms != 0 {
        app.every(USAGE_EVERY, "publishing agent usage", |app| async move { flush(&app).await.map(|_| ()) });
    }
}

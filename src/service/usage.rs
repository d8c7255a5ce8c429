//! Publishing `agent:usage` (see `events::usage`): one event per agent marked since the last
//! flush, with its current figures.

use std::time::Duration;

use serde_json::json;

use crate::db::events::{self, NewEvent};
use crate::error::AppResult;
use crate::state::App;

/// The most often one agent's `agent:usage` is published.
pub const USAGE_EVERY: Duration = Duration::from_secs(2);

/// Writes one `agent:usage` event per agent marked since the last flush, in one write unit;
/// returns how many.
pub async fn flush(app: &App) -> AppResult<usize> {
    let agents = app.usage.take();
    if agents.is_empty() {
        return Ok(0);
    }
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let mut written = 0;
                for id in agents {
                    let Some(a) = crate::db::agents::get(c, &id).await? else { continue };
                    let payload = json!({
                        "agentId": a.id,
                        "project": a.project_id,
                        "last_heartbeat": a.last_heartbeat,
                        "last_activity_at": a.last_activity_at,
                        "tokens_in": a.tokens_in,
                        "tokens_out": a.tokens_out,
                        "cost_usd": a.cost_usd,
                    });
                    events::append(c, now, NewEvent::new("agent:usage", a.project_id.as_deref(), &payload)).await?;
                    written += 1;
                }
                Ok(written)
            })
        })
        .await
}

/// Flushes every `USAGE_EVERY` until shutdown. Off when the scheduler is off (tests flush
/// themselves, so no event appears behind their back).
pub fn spawn(app: App) {
    if app.config.scheduler_tick_ms != 0 {
        app.every(USAGE_EVERY, "publishing agent usage", |app| async move { flush(&app).await.map(|_| ()) });
    }
}

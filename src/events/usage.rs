//! `agent:usage`: what a live page needs to show an agent's last heartbeat, last progress and
//! running cost. Heartbeats and usage reports only mark the agent; at most every
//! `USAGE_EVERY` one event per marked agent is written with its current figures, so a flood
//! of heartbeats costs one event row per agent per interval, not one per beat (heartbeat
//! throughput and event retention stay as they were).

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;

use crate::db::events::{self, NewEvent};
use crate::error::AppResult;
use crate::state::App;

/// The most often one agent's `agent:usage` is published.
pub const USAGE_EVERY: Duration = Duration::from_secs(2);

/// Agents whose heartbeat or usage changed since the last flush.
#[derive(Debug, Default)]
pub struct UsageFeed {
    dirty: Mutex<HashSet<String>>,
}

impl UsageFeed {
    /// Notes that `agent_id` beat or reported usage (after its write committed).
    pub fn touch(&self, agent_id: &str) {
        let mut dirty = self.dirty.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !dirty.contains(agent_id) {
            dirty.insert(agent_id.to_string());
        }
    }

    fn take(&self) -> Vec<String> {
        let mut dirty = self.dirty.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        dirty.drain().collect()
    }
}

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

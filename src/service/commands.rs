//! Steering commands: what a person's action or message becomes for the agent
//! (docs/decisions.md#commands).

use crate::db::commands::Command;
use crate::domain::ids;
use crate::state::App;

/// A queued command for `agent_id`, expiring after `COMMAND_TTL_SECONDS`.
pub fn queued(app: &App, agent_id: &str, kind: &str, text: Option<String>) -> Command {
    let now_ms = app.clock.now_ms();
    let now = now_ms.div_euclid(1000);
    Command {
        id: ids::generate("cmd", now_ms),
        agent_id: agent_id.to_string(),
        kind: kind.to_string(),
        text,
        status: "queued".into(),
        created_at: now,
        delivered_at: None,
        acked_at: None,
        detail: None,
        expires_at: now + app.config.command_ttl_seconds as i64,
    }
}

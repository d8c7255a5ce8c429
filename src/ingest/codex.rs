//! Codex (`POST /api/ingest/codex`, K29): the legacy `notify` program's payload
//! (`{"type": "agent-turn-complete", "thread-id", "turn-id", "cwd", "input-messages",
//! "last-assistant-message"}`), and Codex's newer hooks, which send Claude Code's shapes
//! (`session_id`, `hook_event_name`, …). A thread or session is the agent `codex-<id>`.

use serde_json::Value;

use super::claude_code::Outcome;
use super::reporter::Reporter;
use super::{Sender, clip};
use crate::domain::agents::AgentStatus;
use crate::error::{AppError, AppResult};
use crate::state::App;

pub const TOOL: &str = crate::domain::agents::CODEX;

pub async fn apply(app: &App, sender: &Sender, payload: &Value) -> AppResult<Outcome> {
    if payload.get("hook_event_name").is_some() {
        return super::claude_code::apply(app, TOOL, sender, payload).await;
    }
    let text = |k: &str| super::claude_code::text(payload, k);
    if text("type") != Some("agent-turn-complete") {
        return Ok(Outcome::Ignored);
    }
    let thread = text("thread-id").ok_or_else(|| AppError::field("invalid_type", "thread-id", "thread-id is required"))?;
    let turn = text("turn-id").unwrap_or("turn");
    let mut to = Reporter::new(app, TOOL, sender).in_directory(text("cwd"));
    let (name, project) = (to.session_name(), to.project());
    to.session(thread, None, name, project).await?;
    let asked: Vec<&str> =
        payload.get("input-messages").and_then(Value::as_array).map(|m| m.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    if !asked.is_empty() {
        to.note(thread, format!("codex-prompt:{thread}:{turn}"), "prompt", clip(&asked.join(" "), 300)).await?;
    }
    if let Some(reply) = text("last-assistant-message") {
        to.note(thread, format!("codex-reply:{thread}:{turn}"), "reply", clip(reply, 300)).await?;
    }
    to.status(thread, AgentStatus::Idle).await?;
    Ok(Outcome::Applied)
}

//! Steering commands: what a person's action or message becomes for the agent
//! (docs/decisions.md#commands).

use serde::Deserialize;

use crate::db::activity::Subject;
use crate::db::commands::{self, Command};
use crate::domain::agents::{CommandKind, CommandStatus};
use crate::domain::ids;
use crate::error::{AppError, AppResult};
use crate::state::App;

/// A queued command for `agent_id`, expiring after `COMMAND_TTL_SECONDS`.
pub fn queued(app: &App, agent_id: &str, kind: CommandKind, text: Option<String>) -> Command {
    let now_ms = app.clock.now_ms();
    let now = now_ms.div_euclid(1000);
    Command {
        id: ids::generate("cmd", now_ms),
        agent_id: agent_id.to_string(),
        kind,
        text,
        status: CommandStatus::Queued,
        created_at: now,
        delivered_at: None,
        acked_at: None,
        detail: None,
        expires_at: now + app.config.command_ttl_seconds as i64,
    }
}

/// Queues a command for the agent (a person's message or action); a message needs its text.
pub async fn queue(app: &App, agent_id: &str, kind: CommandKind, text: Option<String>) -> AppResult<Command> {
    let needs_text = kind == CommandKind::Message;
    crate::error::Checks::new()
        .require(!needs_text || text.as_deref().is_some_and(|t| !t.is_empty()), "too_small", "text", "is required for a message")
        .finish()?;
    let command = queued(app, agent_id, kind, text);
    let stored = command.clone();
    app.db
        .write(move |c| {
            Box::pin(async move {
                commands::create(c, &stored).await?;
                let project = crate::db::agents::get(c, &stored.agent_id).await?.and_then(|a| a.project_id);
                let at = Subject { agent_id: &stored.agent_id, task_id: None, project_id: project.as_deref() };
                let summary = stored.text.as_deref().unwrap_or(stored.kind.as_str());
                crate::db::activity::record(c, at, "command", Some(summary), stored.created_at).await?;
                Ok(())
            })
        })
        .await?;
    Ok(command)
}

/// Delivers what is due to the agent (inside a write: delivery changes state).
pub async fn deliver_due(app: &App, agent_id: &str) -> AppResult<Vec<Command>> {
    let now = app.clock.now();
    let redeliver = app.config.command_redeliver_seconds as i64;
    let id = agent_id.to_string();
    app.db.write(move |c| Box::pin(async move { Ok(commands::deliver(c, &id, now, redeliver).await?) })).await
}

/// How an agent answers a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AckStatus {
    Acknowledged,
    Failed,
}

/// The agent's answer to one of its commands; repeating it changes nothing (the first answer
/// stands), an expired command is a conflict.
pub async fn acknowledge(app: &App, agent_id: String, command_id: String, status: AckStatus, detail: Option<String>) -> AppResult<Command> {
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let mut command = commands::get(c, &command_id)
                    .await?
                    .filter(|cmd| cmd.agent_id == agent_id)
                    .ok_or_else(|| AppError::not_found("Command"))?;
                let status = match status {
                    AckStatus::Acknowledged => CommandStatus::Acknowledged,
                    AckStatus::Failed => CommandStatus::Failed,
                };
                match command.status {
                    CommandStatus::Expired => return Err(AppError::Conflict("Command expired".into())),
                    CommandStatus::Acknowledged | CommandStatus::Failed => return Ok(command),
                    CommandStatus::Queued | CommandStatus::Delivered => {}
                }
                commands::acknowledge(c, &mut command, status, detail, now).await?;
                Ok(command)
            })
        })
        .await
}

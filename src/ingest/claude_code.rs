//! Claude Code hooks (`POST /api/ingest/claude-code`, K29): one hook payload per request,
//! exactly as Claude Code sends it (an `http` hook, or `ocd hook claude-code` for command
//! hooks). A session is the agent `claude-code-<session_id>`; inside a sub-agent the payload
//! also carries `agent_id`, whose agent is `claude-code-<session_id>-<agent_id>`, a child of the
//! session's. Tokens and cost come from Claude Code's telemetry (otlp.rs), never from hooks, so
//! they are counted once.

use serde_json::Value;

use super::reporter::{Asked, Item, Reporter, numbered_id, todo_list};
use super::{Sender, clip};
use crate::domain::agents::{AgentStatus, WAITING_PREFIX};
use crate::domain::approvals::Approval;
use crate::domain::{Priority, TodoStatus};
use crate::error::{AppError, AppResult};
use crate::state::App;

pub const TOOL: &str = crate::domain::agents::CLAUDE_CODE;

/// A non-empty string field of a payload.
pub(super) fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// A tool call in a few words: what it was for, as the timeline shows it.
fn tool_summary(payload: &Value) -> String {
    summary_by(payload, &["description", "command", "file_path", "pattern", "url", "subject", "prompt"])
}

/// A permission request in a few words: what exactly would run or change, so a person can judge it.
fn request_summary(payload: &Value) -> String {
    summary_by(payload, &["command", "file_path", "url", "pattern", "path", "description", "prompt"])
}

fn summary_by(payload: &Value, keys: &[&str]) -> String {
    let tool = text(payload, "tool_name").unwrap_or("tool");
    let input = payload.get("tool_input").cloned().unwrap_or(Value::Null);
    let what = keys.iter().find_map(|k| text(&input, k));
    match what {
        Some(what) => clip(&format!("{tool}: {what}"), 300),
        None => tool.to_string(),
    }
}

/// Claude Code's task statuses (TaskUpdate) as ocd's.
fn task_status(status: &str) -> Option<TodoStatus> {
    match status {
        "pending" => Some(TodoStatus::Pending),
        "in_progress" => Some(TodoStatus::InProgress),
        "completed" => Some(TodoStatus::Completed),
        "deleted" | "cancelled" => Some(TodoStatus::Cancelled),
        _ => None,
    }
}

/// One numbered task of Claude Code's task list.
fn task(session: &str, number: &str, subject: &str, status: TodoStatus) -> Item {
    Item { id: numbered_id(session, number), content: clip(subject, 2000), status, priority: Priority::Medium }
}

/// What a hook payload came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Applied,
    Ignored,
    /// A permission request: the hook is answered once the approval is decided or expires.
    Asked(Box<Approval>),
}

/// Applies one hook payload. `project` (the hook's `?project=`) wins over the working
/// directory's name. `tool` names the agents: Codex's hooks send the same shapes.
pub async fn apply(app: &App, tool: &'static str, sender: &Sender, payload: &Value) -> AppResult<Outcome> {
    let event = text(payload, "hook_event_name")
        .ok_or_else(|| AppError::field("invalid_type", "hook_event_name", "hook_event_name is required"))?;
    let session = text(payload, "session_id").ok_or_else(|| AppError::field("invalid_type", "session_id", "session_id is required"))?;
    let mut to = Reporter::new(app, tool, sender).in_directory(text(payload, "cwd"));
    let project = to.project();
    let main_name = to.session_name();
    let label = super::label(tool);
    // Inside a sub-agent, its own agent; else the session's.
    let sub = text(payload, "agent_id").map(|a| format!("{session}-{a}"));
    let me = sub.clone().unwrap_or_else(|| session.to_string());
    // A payload without an id of its own is recognised by its content within the minute: a
    // replay changes nothing, the same notification later in the session shows again.
    let minute = app.clock.now() / 60;
    let key = format!("claude-code:{minute}:{}", crate::crypto::sha256_hex(&payload.to_string()));
    // A sub-agent's event that came before its SubagentStart still lands under the session.
    if sub.is_some() && event != "SubagentStart" {
        to.ensure_under(&me, session).await?;
    }
    match event {
        "SessionStart" => {
            to.session(session, None, main_name, project).await?;
            to.status(session, AgentStatus::Idle).await?;
        }
        "UserPromptSubmit" => {
            to.session(session, None, main_name, project).await?;
            to.status(session, AgentStatus::Working).await?;
            to.note(session, key, "prompt", clip(text(payload, "prompt").unwrap_or(""), 300)).await?;
        }
        "SubagentStart" => {
            let name = format!("{} sub-agent", text(payload, "agent_type").unwrap_or(label));
            to.session(&me, Some(session), name, project).await?;
            to.status(&me, AgentStatus::Working).await?;
        }
        "SubagentStop" => {
            to.status(&me, AgentStatus::Idle).await?;
            if let Some(last) = text(payload, "last_assistant_message") {
                to.note(&me, key, "reply", clip(last, 300)).await?;
            }
        }
        "PreToolUse" => to.status(&me, AgentStatus::Working).await?,
        "PostToolUse" => {
            let call = text(payload, "tool_use_id").map_or(key, |id| format!("claude-code-tool:{id}"));
            // A replayed call changes nothing, its task list included.
            if to.note(&me, call, "tool", tool_summary(payload)).await? {
                tool_todos(&mut to, &me, payload).await?;
            }
        }
        "PostToolUseFailure" => {
            let call = text(payload, "tool_use_id").map_or(key, |id| format!("claude-code-tool:{id}"));
            let error = text(payload, "error").unwrap_or("failed").lines().take(3).collect::<Vec<_>>().join(" ");
            let summary = clip(&format!("{} failed: {error}", text(payload, "tool_name").unwrap_or("tool")), 300);
            to.note(&me, call, "tool_error", summary).await?;
        }
        "Notification" => {
            let kind = if text(payload, "notification_type") == Some("permission_prompt") { "permission" } else { "waiting" };
            to.note(&me, key, kind, clip(&format!("{WAITING_PREFIX}{}", text(payload, "message").unwrap_or("")), 300)).await?;
        }
        "PermissionRequest" => {
            let summary = request_summary(payload);
            let detail = serde_json::json!({
                "tool_name": payload.get("tool_name"),
                "tool_input": payload.get("tool_input"),
                "permission_suggestions": payload.get("permission_suggestions"),
                "permission_mode": payload.get("permission_mode"),
            });
            // The payload has no id of its own: the content key recognises a re-sent hook.
            let asked = Asked { source_key: key, request_id: None, summary, detail };
            let approval = to.permission(&me, asked, app.config.approval_wait_seconds as i64).await?;
            return Ok(Outcome::Asked(Box::new(approval)));
        }
        "TaskCreated" => {
            if let (Some(number), Some(subject)) = (text(payload, "task_id"), text(payload, "task_subject")) {
                to.new_task(&me, task(&me, number, subject, TodoStatus::Pending)).await?;
            }
        }
        "TaskCompleted" => {
            if let (Some(number), Some(subject)) = (text(payload, "task_id"), text(payload, "task_subject")) {
                to.some_todos(&me, vec![task(&me, number, subject, TodoStatus::Completed)]).await?;
            }
        }
        "Stop" => {
            to.status(session, AgentStatus::Idle).await?;
            if let Some(last) = text(payload, "last_assistant_message") {
                to.note(session, key, "reply", clip(last, 300)).await?;
            }
        }
        "SessionEnd" => to.session_ended(session).await?,
        _ => return Ok(Outcome::Ignored),
    }
    Ok(Outcome::Applied)
}

/// Claude Code's own task lists: TodoWrite (the whole list) and TaskCreate/TaskUpdate (one
/// task), each the list of the agent that wrote it (`session`: the session or a sub-agent).
async fn tool_todos(to: &mut Reporter<'_>, session: &str, payload: &Value) -> AppResult<()> {
    let input = payload.get("tool_input").cloned().unwrap_or(Value::Null);
    match text(payload, "tool_name") {
        Some("TodoWrite") => {
            let list = input.get("todos").and_then(Value::as_array).cloned().unwrap_or_default();
            to.todos(session, todo_list(session, &list)).await
        }
        Some("TaskCreate") => {
            let number = payload.pointer("/tool_response/task/id").and_then(Value::as_str);
            match (number, text(&input, "subject")) {
                (Some(number), Some(subject)) => to.new_task(session, task(session, number, subject, TodoStatus::Pending)).await,
                _ => Ok(()),
            }
        }
        Some("TaskUpdate") => {
            let number = text(&input, "taskId");
            let status = text(&input, "status").and_then(task_status);
            match (number, status) {
                (Some(number), Some(status)) => to.task_status(session, &numbered_id(session, number), status).await,
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

//! OpenCode events (`POST /api/ingest/opencode`, K29): the plugin forwards raw events from
//! opencode's event hook; they are read here into actions (pure, tested on events recorded
//! from the real opencode 1.18.33) and applied through the service layer.

use serde_json::Value;

use super::reporter::{Asked, Item, Reporter, todo_list};
use super::{Sender, clip};
use crate::domain::agents::AgentStatus;
use crate::domain::approvals::Decision;
use crate::error::AppResult;
use crate::state::App;

/// Agents of OpenCode sessions are `opencode-<session id>`.
pub const TOOL: &str = crate::domain::agents::OPENCODE;

/// What an event means for ocd.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Session {
        session: String,
        parent: Option<String>,
        title: String,
        directory: Option<String>,
    },
    Working {
        session: String,
    },
    Idle {
        session: String,
    },
    Gone {
        session: String,
    },
    Todos {
        session: String,
        items: Vec<Item>,
    },
    /// A finished model call: tokens and cost as deltas, once per message.
    Usage {
        session: String,
        key: String,
        tokens_in: i64,
        tokens_out: i64,
        cost: f64,
    },
    /// A timeline row, once per key.
    Note {
        session: String,
        key: String,
        kind: &'static str,
        summary: String,
    },
    Error {
        session: String,
        key: String,
        message: String,
    },
    /// A permission request (`permission.asked`): an approval waits for a person.
    Permission {
        session: String,
        asked: Asked,
    },
    /// The request was answered at opencode (`permission.replied`); first there, it stands.
    Replied {
        source_key: String,
        reply: Option<Decision>,
    },
}

fn text<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    v.pointer(path).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn int(v: &Value, path: &str) -> i64 {
    v.pointer(path).and_then(Value::as_i64).unwrap_or(0).max(0)
}

/// A tool call in a few words: its title, else what it was asked to do.
fn tool_summary(part: &Value) -> String {
    let tool = text(part, "/tool").unwrap_or("tool");
    let what = ["/state/title", "/state/input/description", "/state/input/command", "/state/input/filePath", "/state/input/pattern"]
        .iter()
        .find_map(|p| text(part, p));
    match what {
        Some(what) => clip(&format!("{tool}: {what}"), 300),
        None => tool.to_string(),
    }
}

/// The approval key of OpenCode's permission request `id`.
fn permission_key(id: &str) -> String {
    format!("opencode-permission:{id}")
}

/// Reads one event; noise (deltas, catalogue and plugin events, pending tool states…) gives nothing.
pub fn action(event: &Value) -> Option<Action> {
    let kind = text(event, "/type")?;
    let props = event.get("properties")?;
    // The event's id, else (an id-less event) its content: the key a replay is recognised by.
    let event_id = text(event, "/id").map_or_else(|| crate::crypto::sha256_hex(&event.to_string()), String::from);
    let session = || text(props, "/sessionID").map(String::from);
    match kind {
        "session.created" | "session.updated" => {
            let info = props.get("info")?;
            let session = text(info, "/id").map(String::from).or_else(session)?;
            Some(Action::Session {
                session,
                parent: text(info, "/parentID").map(String::from),
                title: clip(text(info, "/title").unwrap_or("OpenCode session"), 200),
                directory: text(info, "/directory").map(String::from),
            })
        }
        "session.deleted" => Some(Action::Gone { session: text(props, "/info/id").map(String::from).or_else(session)? }),
        "session.status" => match text(props, "/status/type")? {
            "busy" => Some(Action::Working { session: session()? }),
            "idle" => Some(Action::Idle { session: session()? }),
            "retry" => Some(Action::Note {
                session: session()?,
                key: format!("opencode:{event_id}"),
                kind: "retry",
                summary: clip(
                    &format!("retrying (attempt {}): {}", int(props, "/status/attempt"), text(props, "/status/message").unwrap_or("")),
                    300,
                ),
            }),
            _ => None,
        },
        "session.idle" => Some(Action::Idle { session: session()? }),
        // Stopping a session (Esc, or stop from ocd) reports an abort: not an error.
        "session.error" if text(props, "/error/name") == Some("MessageAbortedError") => None,
        "session.error" => {
            let message = text(props, "/error/data/message").or_else(|| text(props, "/error/name")).unwrap_or("unknown error");
            Some(Action::Error { session: session()?, key: format!("opencode:{event_id}"), message: clip(message, 1000) })
        }
        "todo.updated" => {
            let session = session()?;
            let list = props.get("todos")?.as_array()?;
            Some(Action::Todos { items: todo_list(&session, list), session })
        }
        "message.updated" => {
            let info = props.get("info")?;
            if text(info, "/role") != Some("assistant") || info.pointer("/time/completed").is_none() {
                return None;
            }
            Some(Action::Usage {
                session: text(info, "/sessionID").map(String::from).or_else(session)?,
                key: format!("opencode-message:{}", text(info, "/id")?),
                tokens_in: int(info, "/tokens/input") + int(info, "/tokens/cache/read") + int(info, "/tokens/cache/write"),
                tokens_out: int(info, "/tokens/output") + int(info, "/tokens/reasoning"),
                cost: info.pointer("/cost").and_then(Value::as_f64).filter(|c| c.is_finite() && *c >= 0.0).unwrap_or(0.0),
            })
        }
        "message.part.updated" => {
            let part = props.get("part")?;
            if text(part, "/type") != Some("tool") {
                return None;
            }
            let session = text(part, "/sessionID").map(String::from).or_else(session)?;
            let key = format!("opencode-part:{}", text(part, "/id")?);
            match text(part, "/state/status")? {
                "completed" => Some(Action::Note { session, key, kind: "tool", summary: tool_summary(part) }),
                "error" => {
                    let error = text(part, "/state/error").unwrap_or("failed");
                    let summary = clip(&format!("{} failed: {error}", text(part, "/tool").unwrap_or("tool")), 300);
                    Some(Action::Note { session, key, kind: "tool_error", summary })
                }
                _ => None,
            }
        }
        "permission.asked" => {
            let what = text(props, "/permission").unwrap_or("permission");
            let patterns: Vec<&str> =
                props.get("patterns").and_then(Value::as_array).map(|p| p.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            let request = text(props, "/id")?;
            let detail = serde_json::json!({
                "permission": what,
                "patterns": props.get("patterns"),
                "always": props.get("always"),
                "metadata": props.get("metadata"),
            });
            Some(Action::Permission {
                session: session()?,
                asked: Asked {
                    source_key: permission_key(request),
                    request_id: Some(request.to_string()),
                    summary: clip(&format!("{what}: {}", patterns.join(" ")), 300),
                    detail,
                },
            })
        }
        "permission.replied" => Some(Action::Replied {
            source_key: permission_key(text(props, "/requestID")?),
            reply: text(props, "/reply").and_then(Decision::parse),
        }),
        _ => None,
    }
}

/// What a batch did.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Applied {
    pub events: usize,
    pub applied: usize,
    /// Events that could not be applied (logged); the others were, so a retry is not needed.
    pub failed: usize,
}

/// Applies a batch of raw events in order. `project` (the plugin's setting) wins over the
/// session's directory.
pub async fn apply(app: &App, sender: &Sender, events: &[Value]) -> AppResult<Applied> {
    let mut to = Reporter::new(app, TOOL, sender);
    let (mut applied, mut failed) = (0, 0);
    for action in events.iter().filter_map(action) {
        match apply_one(&mut to, action).await {
            Ok(()) => applied += 1,
            // One bad event must not hold up the rest, nor make the plugin resend them forever.
            Err(e) => {
                tracing::warn!(error = %e, "an OpenCode event could not be applied");
                failed += 1;
            }
        }
    }
    Ok(Applied { events: events.len(), applied, failed })
}

async fn apply_one(to: &mut Reporter<'_>, action: Action) -> AppResult<()> {
    match action {
        Action::Session { session, parent, title, directory } => {
            let project = to.project_for(directory.as_deref());
            to.session(&session, parent.as_deref(), title, project).await
        }
        Action::Working { session } => to.status(&session, AgentStatus::Working).await,
        // An idle or ended session answers nothing more: its requests expire.
        Action::Idle { session } => {
            to.status(&session, AgentStatus::Idle).await?;
            to.permissions_over(&session).await
        }
        Action::Gone { session } => {
            to.session_ended(&session).await?;
            to.permissions_over(&session).await
        }
        Action::Todos { session, items } => to.todos(&session, items).await,
        Action::Usage { session, key, tokens_in, tokens_out, cost } => to.usage(&session, key, tokens_in, tokens_out, cost).await,
        Action::Note { session, key, kind, summary } => to.note(&session, key, kind, summary).await.map(|_| ()),
        Action::Error { session, key, message } => to.error(&session, key, message).await,
        Action::Permission { session, asked } => {
            // It waits as long as the `permission` command a decision becomes may live.
            let wait = to.app().config.command_ttl_seconds as i64;
            to.permission(&session, asked, wait).await.map(|_| ())
        }
        Action::Replied { source_key, reply } => crate::service::approvals::answered_elsewhere(to.app(), source_key, reply).await,
    }
}

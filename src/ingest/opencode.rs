//! OpenCode events (`POST /api/ingest/opencode`, K29): the plugin forwards raw events from
//! opencode's event hook; they are read here into actions (pure, tested on events recorded
//! from the real opencode 1.18.33) and applied through the service layer.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{clip, project_of_directory};
use crate::db::agents::Usage;
use crate::db::{agents as agent_rows, todos as todo_rows};
use crate::domain::agents::{AgentStatus, AgentType};
use crate::domain::todos::TodoPatch;
use crate::domain::{Field, Priority, TodoStatus};
use crate::error::AppResult;
use crate::service::agents::{self, Activity};
use crate::service::registry::{self, AgentPatch, Registration};
use crate::service::sessions;
use crate::service::todos::{self, TodoWrite};
use crate::state::App;

/// The agent of an OpenCode session.
pub fn agent_id(session: &str) -> String {
    format!("opencode-{session}")
}

/// One todo of a session's list, with the id ocd gives it (OpenCode's todos have none).
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: String,
    pub content: String,
    pub status: TodoStatus,
    pub priority: Priority,
}

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
}

fn text<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    v.pointer(path).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn int(v: &Value, path: &str) -> i64 {
    v.pointer(path).and_then(Value::as_i64).unwrap_or(0).max(0)
}

/// A stable id for a todo of `session`: OpenCode sends the whole list without ids, so the id
/// comes from the text (the n-th item with the same text gets `-n`).
fn todo_id(session: &str, content: &str, nth: usize) -> String {
    let hash = crate::crypto::sha256_hex(&format!("{session}\n{content}"));
    let base = format!("oc-{}", &hash[..16]);
    if nth == 0 { base } else { format!("{base}-{}", nth + 1) }
}

fn items(session: &str, todos: &[Value]) -> Vec<Item> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    todos
        .iter()
        .filter_map(|t| {
            let content = clip(text(t, "/content")?, 2000);
            let nth = seen.entry(content.clone()).or_insert(0);
            let id = todo_id(session, &content, *nth);
            *nth += 1;
            let status = text(t, "/status").and_then(TodoStatus::parse).unwrap_or(TodoStatus::Pending);
            let priority = text(t, "/priority").and_then(Priority::parse).unwrap_or(Priority::Medium);
            Some(Item { id, content, status, priority })
        })
        .collect()
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

/// Reads one event; noise (deltas, catalogue and plugin events, pending tool states…) gives nothing.
pub fn action(event: &Value) -> Option<Action> {
    let kind = text(event, "/type")?;
    let props = event.get("properties")?;
    let event_id = text(event, "/id").unwrap_or_default();
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
        "session.error" => {
            let message = text(props, "/error/data/message").or_else(|| text(props, "/error/name")).unwrap_or("unknown error");
            Some(Action::Error { session: session()?, key: format!("opencode:{event_id}"), message: clip(message, 1000) })
        }
        "todo.updated" => {
            let session = session()?;
            let list = props.get("todos")?.as_array()?;
            Some(Action::Todos { items: items(&session, list), session })
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
            Some(Action::Note {
                session: session()?,
                key: format!("opencode-permission:{}", text(props, "/id").unwrap_or(event_id)),
                kind: "permission",
                summary: clip(&format!("waiting for a person: {what} {}", patterns.join(" ")), 300),
            })
        }
        "permission.replied" => Some(Action::Note {
            session: session()?,
            key: format!("opencode-permission-reply:{}", text(props, "/requestID").unwrap_or(event_id)),
            kind: "permission",
            summary: format!("answered: {}", text(props, "/reply").unwrap_or("?")),
        }),
        _ => None,
    }
}

/// What a batch did.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Applied {
    pub events: usize,
    pub applied: usize,
}

/// Applies a batch of raw events in order. `project` (the plugin's setting) wins over the
/// session's directory.
pub async fn apply(app: &App, project: Option<String>, events: &[Value]) -> AppResult<Applied> {
    let mut run = Run { app, project, known: HashSet::new(), projects: HashMap::new() };
    let mut applied = 0;
    for action in events.iter().filter_map(action) {
        run.apply(action).await?;
        applied += 1;
    }
    Ok(Applied { events: events.len(), applied })
}

struct Run<'a> {
    app: &'a App,
    project: Option<String>,
    /// Agents known to exist (registered in this batch or found).
    known: HashSet<String>,
    /// The project of each session seen in this batch.
    projects: HashMap<String, Option<String>>,
}

impl Run<'_> {
    async fn apply(&mut self, action: Action) -> AppResult<()> {
        match action {
            Action::Session { session, parent, title, directory } => {
                let project = self.project.clone().or_else(|| directory.as_deref().and_then(project_of_directory));
                if let Some(parent) = &parent {
                    self.ensure(parent).await?;
                }
                self.register(&session, parent.as_deref(), title.clone(), project.clone()).await?;
                let registration = sessions::Registration {
                    id: session.clone(),
                    name: Field::Value(title),
                    project: project.clone().map_or(Field::Absent, Field::Value),
                    project_id: Field::Absent,
                };
                sessions::register(self.app, registration).await?;
                self.projects.insert(session, project);
            }
            Action::Working { session } => {
                self.ensure(&session).await?;
                self.set_status(&session, AgentStatus::Working).await?;
            }
            Action::Idle { session } => {
                self.ensure(&session).await?;
                self.set_status(&session, AgentStatus::Idle).await?;
            }
            Action::Gone { session } => {
                self.ensure(&session).await?;
                self.set_status(&session, AgentStatus::Offline).await?;
            }
            Action::Todos { session, items } => {
                self.ensure(&session).await?;
                self.todos(&session, items).await?;
            }
            Action::Usage { session, key, tokens_in, tokens_out, cost } => {
                self.ensure(&session).await?;
                let usage = Usage { tokens_in: Some(tokens_in), tokens_out: Some(tokens_out), cost_usd: Some(cost) };
                let summary = Some(format!("model call: {} tokens", tokens_in + tokens_out));
                agents::activity(
                    self.app,
                    agent_id(&session),
                    Activity { kind: "model".into(), summary, task_id: None, usage, once: Some(key) },
                )
                .await?;
            }
            Action::Note { session, key, kind, summary } => {
                self.ensure(&session).await?;
                let note = Activity { kind: kind.into(), summary: Some(summary), task_id: None, usage: Usage::default(), once: Some(key) };
                agents::activity(self.app, agent_id(&session), note).await?;
            }
            Action::Error { session, key, message } => {
                self.ensure(&session).await?;
                agents::session_error(self.app, agent_id(&session), key, message).await?;
            }
        }
        Ok(())
    }

    async fn register(&mut self, session: &str, parent: Option<&str>, name: String, project: Option<String>) -> AppResult<()> {
        let registration = Registration {
            id: agent_id(session),
            name,
            kind: Some(if parent.is_some() { AgentType::SubAgent } else { AgentType::Primary }),
            parent_agent_id: parent.map_or(Field::Absent, |p| Field::Value(agent_id(p))),
            status: None,
            soul_md: Field::Absent,
            skills: Field::Absent,
            config: Field::Absent,
            project: project.map_or(Field::Absent, Field::Value),
        };
        registry::register(self.app, registration).await?;
        self.known.insert(session.to_string());
        Ok(())
    }

    /// Makes sure the session's agent exists (events of a session whose start the plugin missed).
    async fn ensure(&mut self, session: &str) -> AppResult<()> {
        if self.known.contains(session) {
            return Ok(());
        }
        if agent_rows::find(&self.app.db.read, &agent_id(session)).await?.is_some() {
            self.known.insert(session.to_string());
            return Ok(());
        }
        self.register(session, None, format!("OpenCode {session}"), self.project.clone()).await
    }

    async fn set_status(&self, session: &str, status: AgentStatus) -> AppResult<()> {
        let id = agent_id(session);
        let current = agent_rows::find(&self.app.db.read, &id).await?.map(|a| a.status);
        if current != Some(status) {
            registry::update(self.app, id.clone(), status_patch(status)).await?;
        }
        agents::heartbeat(self.app, id, Usage::default()).await?;
        Ok(())
    }

    /// The session's list becomes its todos on the board: items update in place by their
    /// derived id, and an item that left the list is cancelled.
    async fn todos(&mut self, session: &str, items: Vec<Item>) -> AppResult<()> {
        let project = match self.projects.get(session) {
            Some(p) => p.clone(),
            None => agent_rows::find(&self.app.db.read, &agent_id(session)).await?.and_then(|a| a.project_id).or(self.project.clone()),
        };
        let listed: HashSet<String> = items.iter().map(|i| i.id.clone()).collect();
        let mut filter = crate::db::todos::Filter::default();
        filter.text("session_id = ?", session);
        let stale: Vec<String> = todo_rows::rows(&self.app.db.read, &filter)
            .await?
            .into_iter()
            .filter(|t| t.id.starts_with("oc-") && !listed.contains(&t.id))
            .filter(|t| t.status != TodoStatus::Completed && t.status != TodoStatus::Cancelled)
            .map(|t| t.id)
            .collect();
        let mut writes: Vec<TodoWrite> = items
            .into_iter()
            .map(|item| TodoWrite {
                id: Some(item.id),
                patch: TodoPatch {
                    content: Some(item.content),
                    status: Some(item.status),
                    priority: Some(item.priority),
                    agent: Field::Value(agent_id(session)),
                    project: project.clone().map_or(Field::Absent, Field::Value),
                    session_id: Field::Value(session.to_string()),
                    ..TodoPatch::default()
                },
                sprint_id: None,
            })
            .collect();
        writes.extend(stale.into_iter().map(|id| TodoWrite {
            id: Some(id),
            patch: TodoPatch { status: Some(TodoStatus::Cancelled), ..TodoPatch::default() },
            sprint_id: None,
        }));
        if !writes.is_empty() {
            todos::upsert_batch(self.app, writes).await?;
        }
        Ok(())
    }
}

fn status_patch(status: AgentStatus) -> AgentPatch {
    AgentPatch {
        name: None,
        kind: None,
        parent_agent_id: Field::Absent,
        status: Some(status),
        soul_md: Field::Absent,
        skills: Field::Absent,
        current_task_id: Field::Absent,
        last_heartbeat: Field::Absent,
        config: Field::Absent,
    }
}

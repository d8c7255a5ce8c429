//! What every integration does with what it learned: register sessions as agents (and their
//! sub-agents), set their status, keep their todo lists on the board, and add timeline rows,
//! usage and errors once per key. Agents are `<tool>-<id>` (K29).

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{Sender, clip, project_of_directory};
use crate::db::agents::{Agent, Usage};
use crate::db::projects::{Owned, project_of};
use crate::db::{agents as agent_rows, todos as todo_rows};
use crate::domain::agents::{AgentStatus, AgentType, WAITING_PREFIX};
use crate::domain::approvals::Approval;
use crate::domain::todos::TodoPatch;
use crate::domain::{Field, Priority, TodoStatus};
use crate::error::{AppError, AppResult};
use crate::service::agents::{self, Activity};
use crate::service::approvals;
use crate::service::registry::{self, AgentPatch, Registration};
use crate::service::sessions;
use crate::service::todos::{self, TodoWrite};
use crate::state::App;

/// One todo of a session's list, with the id ocd gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: String,
    pub content: String,
    pub status: TodoStatus,
    pub priority: Priority,
}

/// Todos from a whole list get ids with this prefix (so the list's left-over items are found).
const LIST_PREFIX: &str = "oc-";
/// Todos a tool numbers itself (they are never cancelled by a list).
const NUMBERED_PREFIX: &str = "on-";

/// A stable id for a todo of `session` when the tool gives none (OpenCode, Claude Code's
/// TodoWrite): it comes from the text; the n-th item with the same text gets `-n`.
fn derived_id(session: &str, content: &str, nth: usize) -> String {
    let hash = crate::crypto::sha256_hex(&format!("{session}\n{content}"));
    let base = format!("{LIST_PREFIX}{}", &hash[..16]);
    if nth == 0 { base } else { format!("{base}-{}", nth + 1) }
}

/// The id of a todo the tool numbers itself (Claude Code's tasks).
pub fn numbered_id(session: &str, number: &str) -> String {
    let hash = crate::crypto::sha256_hex(&format!("{session}\n#{number}"));
    format!("{NUMBERED_PREFIX}{}", &hash[..16])
}

/// A whole list `[{content, status, priority?}]` as items with derived ids.
pub fn todo_list(session: &str, todos: &[Value]) -> Vec<Item> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    todos
        .iter()
        .filter_map(|t| {
            let content = clip(t.get("content")?.as_str().filter(|c| !c.trim().is_empty())?, 2000);
            let nth = seen.entry(content.clone()).or_insert(0);
            let id = derived_id(session, &content, *nth);
            *nth += 1;
            let status = t.get("status").and_then(Value::as_str).and_then(TodoStatus::parse).unwrap_or(TodoStatus::Pending);
            let priority = t.get("priority").and_then(Value::as_str).and_then(Priority::parse).unwrap_or(Priority::Medium);
            Some(Item { id, content, status, priority })
        })
        .collect()
}

fn outside(scope: &str) -> AppError {
    AppError::ForbiddenBecause(format!("This API key is limited to project {scope}"))
}

/// Applies what one integration reported, for one request.
pub struct Reporter<'a> {
    app: &'a App,
    tool: &'static str,
    /// The project the client named; wins over the working directory's.
    project: Option<String>,
    /// A project-scoped key's project: agents of other projects are refused.
    scope: Option<String>,
    /// Agents known to exist (registered in this request or found).
    known: HashSet<String>,
    /// The project of each session registered in this request.
    projects: HashMap<String, Option<String>>,
}

/// A permission request as a tool reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Asked {
    /// The request's own key, so a replay finds the same approval.
    pub source_key: String,
    /// The id the tool's reply names, if it has one.
    pub request_id: Option<String>,
    pub summary: String,
    pub detail: Value,
}

impl<'a> Reporter<'a> {
    pub fn new(app: &'a App, tool: &'static str, sender: &Sender) -> Reporter<'a> {
        let (project, scope) = (sender.project.clone(), sender.scope.clone());
        Reporter { app, tool, project, scope, known: HashSet::new(), projects: HashMap::new() }
    }

    /// The stored agent of session `id`; for a scoped key, refused unless it is in the key's
    /// project (a new agent is created in it).
    async fn stored(&self, id: &str) -> AppResult<Option<Agent>> {
        let agent = agent_rows::find(&self.app.db.read, &self.agent_id(id)).await?;
        if let (Some(scope), Some(found)) = (&self.scope, &agent)
            && found.project_id.as_deref() != Some(scope.as_str())
        {
            return Err(outside(scope));
        }
        Ok(agent)
    }

    /// For a scoped key: an existing session row or todo must be in the key's project. Session
    /// rows and todo ids come from the bare session id, which another tool's session (of another
    /// project) may share, so checking the agent alone would not be enough.
    async fn check_owned(&self, kind: Owned, id: &str) -> AppResult<()> {
        let Some(scope) = &self.scope else { return Ok(()) };
        match project_of(&self.app.db.read, kind, id).await? {
            Some(found) if found.as_deref() != Some(scope.as_str()) => Err(outside(scope)),
            _ => Ok(()),
        }
    }

    pub fn app(&self) -> &'a App {
        self.app
    }

    /// The agent of session (or sub-agent) `id`.
    pub fn agent_id(&self, id: &str) -> String {
        format!("{}-{id}", self.tool)
    }

    /// The same reporter, its project now the client's or else `directory`'s name (a tool whose
    /// every payload names its working directory).
    pub fn in_directory(mut self, directory: Option<&str>) -> Reporter<'a> {
        self.project = self.project_for(directory);
        self
    }

    pub fn project(&self) -> Option<String> {
        self.project.clone()
    }

    /// A session's name on the pages: the tool and the project (`Claude Code · billing`).
    pub fn session_name(&self) -> String {
        format!("{} · {}", super::label(self.tool), self.project.as_deref().unwrap_or("session"))
    }

    /// The client's project, else the working directory's name.
    pub fn project_for(&self, directory: Option<&str>) -> Option<String> {
        self.project.clone().or_else(|| directory.and_then(project_of_directory))
    }

    /// Registers (or updates) the agent of `id` and its session; a sub-agent names its parent.
    /// Sessions report themselves often (every title change, every prompt): when nothing
    /// changed, nothing is written (no row, no event).
    pub async fn session(&mut self, id: &str, parent: Option<&str>, name: String, project: Option<String>) -> AppResult<()> {
        let kind = if parent.is_some() { AgentType::SubAgent } else { AgentType::Primary };
        let parent_agent = parent.map(|p| self.agent_id(p));
        if let Some(stored) = self.stored(id).await?
            && stored.name == name
            && stored.kind == kind
            && stored.parent_agent_id == parent_agent
            && (project.is_none() || stored.project_id == project)
        {
            self.known.insert(id.to_string());
            self.projects.insert(id.to_string(), stored.project_id);
            return Ok(());
        }
        if let Some(parent) = parent {
            self.ensure(parent).await?;
        }
        if parent.is_none() {
            self.check_owned(Owned::Session, id).await?;
        }
        self.register(id, parent, name.clone(), project.clone()).await?;
        if parent.is_none() {
            let registration = sessions::Registration {
                id: id.to_string(),
                name: Field::Value(name),
                project: project.clone().map_or(Field::Absent, Field::Value),
                project_id: Field::Absent,
            };
            sessions::register(self.app, registration).await?;
        }
        self.projects.insert(id.to_string(), project);
        Ok(())
    }

    async fn register(&mut self, id: &str, parent: Option<&str>, name: String, project: Option<String>) -> AppResult<()> {
        let registration = Registration {
            id: self.agent_id(id),
            name,
            kind: Some(if parent.is_some() { AgentType::SubAgent } else { AgentType::Primary }),
            parent_agent_id: parent.map_or(Field::Absent, |p| Field::Value(self.agent_id(p))),
            status: None,
            soul_md: Field::Absent,
            skills: Field::Absent,
            config: Field::Absent,
            project: project.map_or(Field::Absent, Field::Value),
        };
        registry::register(self.app, registration).await?;
        self.known.insert(id.to_string());
        Ok(())
    }

    /// Makes sure the agent of `id` exists (events of a session whose start was missed).
    pub async fn ensure(&mut self, id: &str) -> AppResult<()> {
        if self.known.contains(id) {
            return Ok(());
        }
        if self.stored(id).await?.is_some() {
            self.known.insert(id.to_string());
            return Ok(());
        }
        self.register(id, None, self.session_name(), self.project.clone()).await
    }

    /// Makes sure the sub-agent `id` of session `parent` exists.
    pub async fn ensure_under(&mut self, id: &str, parent: &str) -> AppResult<()> {
        if self.known.contains(id) || self.stored(id).await?.is_some() {
            self.known.insert(id.to_string());
            return Ok(());
        }
        self.ensure(parent).await?;
        let name = format!("{} sub-agent", super::label(self.tool));
        self.register(id, Some(parent), name, self.project.clone()).await
    }

    /// Sets the agent's status (when it changed) and counts as a sign of life.
    pub async fn status(&mut self, id: &str, status: AgentStatus) -> AppResult<()> {
        self.ensure(id).await?;
        let agent = self.agent_id(id);
        let current = agent_rows::find(&self.app.db.read, &agent).await?.map(|a| a.status);
        if current != Some(status) {
            registry::update(self.app, agent.clone(), AgentPatch::status(status)).await?;
        }
        agents::seen(self.app, agent).await
    }

    /// A timeline row, once per key; `false` when the key was applied before.
    pub async fn note(&mut self, id: &str, key: String, kind: &str, summary: String) -> AppResult<bool> {
        self.ensure(id).await?;
        let note = Activity { kind: kind.into(), summary: Some(summary), task_id: None, usage: Usage::default(), once: Some(key) };
        agents::activity(self.app, self.agent_id(id), note).await
    }

    /// A permission request of session (or sub-agent) `id`: a "waiting" row on its timeline,
    /// and an approval (once per `source_key`) that waits in ocd for `wait_secs` at most.
    pub async fn permission(&mut self, id: &str, asked: Asked, wait_secs: i64) -> AppResult<Approval> {
        let waiting = clip(&format!("{WAITING_PREFIX}{}", asked.summary), 300);
        self.note(id, asked.source_key.clone(), "permission", waiting).await?;
        let request_id_missing = asked.request_id.is_none();
        self.ensure(id).await?;
        let agent = self.agent_id(id);
        let project = agent_rows::find(&self.app.db.read, &agent).await?.and_then(|a| a.project_id);
        let request = approvals::Request {
            source_key: asked.source_key,
            agent_id: agent,
            session_id: id.to_string(),
            tool: self.tool,
            request_id: asked.request_id,
            summary: asked.summary,
            detail: asked.detail,
            project,
            wait_secs,
            // Only a request that carries its own id is recognised across time.
            repeatable: request_id_missing,
        };
        approvals::request(self.app, request).await
    }

    /// The session's requests can no longer be answered from ocd (it went idle, stopped or ended).
    pub async fn permissions_over(&mut self, id: &str) -> AppResult<()> {
        approvals::expire_for_agent(self.app, &self.agent_id(id)).await
    }

    /// A finished model call's tokens and cost, added once per key.
    pub async fn usage(&mut self, id: &str, key: String, tokens_in: i64, tokens_out: i64, cost: f64) -> AppResult<()> {
        self.ensure(id).await?;
        let usage = Usage { tokens_in: Some(tokens_in), tokens_out: Some(tokens_out), cost_usd: Some(cost) };
        let summary = Some(format!("model call: {} tokens", tokens_in + tokens_out));
        agents::activity(self.app, self.agent_id(id), Activity { kind: "model".into(), summary, task_id: None, usage, once: Some(key) })
            .await?;
        Ok(())
    }

    /// An error of the session: a timeline row and an `error` alert, once per key.
    pub async fn error(&mut self, id: &str, key: String, message: String) -> AppResult<()> {
        self.ensure(id).await?;
        agents::session_error(self.app, self.agent_id(id), key, message).await
    }

    /// The session ended: its agent and its sub-agents go offline.
    pub async fn session_ended(&mut self, id: &str) -> AppResult<()> {
        self.status(id, AgentStatus::Offline).await?;
        let agent = self.agent_id(id);
        for child in agent_rows::sub_agents(&self.app.db.read, &agent).await? {
            if child.status != AgentStatus::Offline {
                registry::update(self.app, child.id, AgentPatch::status(AgentStatus::Offline)).await?;
            }
        }
        Ok(())
    }

    /// A numbered task the tool created: written only if it is new (a replay never resets it).
    pub async fn new_task(&mut self, id: &str, item: Item) -> AppResult<()> {
        if todo_rows::find(&self.app.db.read, &item.id).await?.is_some() {
            return Ok(());
        }
        self.some_todos(id, vec![item]).await
    }

    /// One known todo's new status (a tool that updates a task by its number).
    pub async fn task_status(&mut self, id: &str, todo_id: &str, status: TodoStatus) -> AppResult<()> {
        self.ensure(id).await?;
        self.check_owned(Owned::Todo, todo_id).await?;
        if todo_rows::find(&self.app.db.read, todo_id).await?.is_none() {
            return Ok(());
        }
        let write =
            TodoWrite { id: Some(todo_id.to_string()), patch: TodoPatch { status: Some(status), ..TodoPatch::default() }, sprint_id: None };
        todos::upsert(self.app, write).await.map(|_| ())
    }

    /// The session's list becomes its todos on the board: items update in place by id, and
    /// with `whole_list` an item that left the list is cancelled.
    pub async fn todos(&mut self, id: &str, items: Vec<Item>) -> AppResult<()> {
        self.write_todos(id, items, true).await
    }

    /// Some items of the session's list (the others stay as they are).
    pub async fn some_todos(&mut self, id: &str, items: Vec<Item>) -> AppResult<()> {
        self.write_todos(id, items, false).await
    }

    async fn write_todos(&mut self, id: &str, items: Vec<Item>, whole_list: bool) -> AppResult<()> {
        self.ensure(id).await?;
        let agent = self.agent_id(id);
        let project = match self.projects.get(id) {
            Some(p) => p.clone(),
            None => agent_rows::find(&self.app.db.read, &agent).await?.and_then(|a| a.project_id).or(self.project.clone()),
        };
        let mut stale = Vec::new();
        if whole_list {
            let listed: HashSet<&str> = items.iter().map(|i| i.id.as_str()).collect();
            // Only this agent's own items: another tool's session may share the bare id.
            let mut filter = todo_rows::Filter::default();
            filter.text("session_id = ?", id);
            filter.text("agent = ?", &agent);
            stale = todo_rows::rows(&self.app.db.read, &filter)
                .await?
                .into_iter()
                .filter(|t| t.id.starts_with(LIST_PREFIX) && !listed.contains(t.id.as_str()))
                .filter(|t| t.status != TodoStatus::Completed && t.status != TodoStatus::Cancelled)
                .map(|t| t.id)
                .collect();
        }
        for item in &items {
            self.check_owned(Owned::Todo, &item.id).await?;
        }
        let mut writes: Vec<TodoWrite> = items
            .into_iter()
            .map(|item| TodoWrite {
                id: Some(item.id),
                patch: TodoPatch {
                    content: Some(item.content),
                    status: Some(item.status),
                    priority: Some(item.priority),
                    agent: Field::Value(agent.clone()),
                    project: project.clone().map_or(Field::Absent, Field::Value),
                    session_id: Field::Value(id.to_string()),
                    ..TodoPatch::default()
                },
                sprint_id: None,
            })
            .collect();
        writes.extend(stale.into_iter().map(|stale| TodoWrite {
            id: Some(stale),
            patch: TodoPatch { status: Some(TodoStatus::Cancelled), ..TodoPatch::default() },
            sprint_id: None,
        }));
        if !writes.is_empty() {
            todos::upsert_batch(self.app, writes).await?;
        }
        Ok(())
    }
}

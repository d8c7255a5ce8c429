//! `/agents`: every agent as a card (status, current task, age, time since real progress, the
//! stalled flag, sub-agents, tokens and cost) arranged as a tree of parents and sub-agents;
//! offline agents behind a toggle. `/agents/{id}`: one agent with its tasks, sub-agents and
//! commands, and — for admins — the controls that steer it. Both have a live region.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use super::approvals::ApprovalView;
use super::page_or_fragment;
use super::shell::{Nav, Shell, Visit};
use super::theme::Theme;
use super::time::Clock;
use crate::db::activity::{self, ActivityRow};
use crate::db::approvals::Which;
use crate::db::commands::{self, Command};
use crate::domain::agents::AgentStatus;
use crate::domain::approvals::ApprovalStatus;
use crate::error::AppResult;
use crate::service::agent_views::{self, AgentCard, AgentDetail, AgentQuery};
use crate::state::App;

/// A card and how deep it sits in the tree (0 for a top agent).
pub struct TreeEntry {
    pub depth: usize,
    pub card: AgentCard,
}

pub struct AgentList {
    pub entries: Vec<TreeEntry>,
    pub offline_hidden: usize,
    pub show_offline: bool,
    pub clock: Clock,
}

/// Parents first, each followed by its sub-agents (depth-first); a sub-agent whose parent
/// is not listed is a root.
fn tree(cards: Vec<AgentCard>) -> Vec<TreeEntry> {
    let ids: std::collections::HashSet<String> = cards.iter().map(|c| c.agent.id.clone()).collect();
    let (mut roots, mut children): (Vec<AgentCard>, Vec<AgentCard>) =
        cards.into_iter().partition(|c| c.agent.parent_agent_id.as_ref().is_none_or(|p| !ids.contains(p)));
    roots.sort_by_key(|c| std::cmp::Reverse(c.agent.created_at));
    children.sort_by_key(|c| c.agent.created_at);
    let mut out = Vec::new();
    for root in roots {
        place(root, 0, &mut children, &mut out);
    }
    out
}

fn place(card: AgentCard, depth: usize, children: &mut Vec<AgentCard>, out: &mut Vec<TreeEntry>) {
    let id = card.agent.id.clone();
    out.push(TreeEntry { depth, card });
    while let Some(i) = children.iter().position(|c| c.agent.parent_agent_id.as_deref() == Some(id.as_str())) {
        let child = children.remove(i);
        place(child, (depth + 1).min(4), children, out);
    }
}

#[derive(Template)]
#[template(path = "agents.html")]
struct AgentsPage {
    shell: Shell,
    list: AgentList,
}

#[derive(Template)]
#[template(path = "agents_live.html")]
struct AgentsLive {
    shell: Shell,
    list: AgentList,
}

/// `GET /agents[?offline=1][&fragment=1]`.
pub async fn list(State(app): State<App>, visit: Visit) -> AppResult<Response> {
    let params = &visit.params;
    let mut shell = Shell::build(&app, &visit, "Agents", Nav::Agents).await?;
    shell.live = Some("agents");
    let cards = agent_views::cards(&app, AgentQuery { project: shell.project.as_deref(), ..AgentQuery::default() }).await?;
    let show_offline = params.get("offline") == Some("1");
    let offline_hidden = if show_offline { 0 } else { cards.iter().filter(|c| c.agent.status == AgentStatus::Offline).count() };
    let cards = cards.into_iter().filter(|c| show_offline || c.agent.status != AgentStatus::Offline).collect();
    let list = AgentList { entries: tree(cards), offline_hidden, show_offline, clock: Clock { now: app.clock.now() } };
    Ok(page_or_fragment(params, (shell, list), |(shell, list)| AgentsPage { shell, list }, |(shell, list)| AgentsLive { shell, list }))
}

pub struct AgentView {
    pub detail: AgentDetail,
    pub commands: Vec<Command>,
    /// The newest timeline rows, newest first.
    pub timeline: Vec<ActivityRow>,
    pub clock: Clock,
    pub actions: Vec<(&'static str, &'static str)>,
    /// The agent's permission requests waiting for a person.
    pub approvals: Vec<ApprovalView>,
}

#[derive(Template)]
#[template(path = "agent.html")]
struct AgentPage {
    shell: Shell,
    view: AgentView,
}

#[derive(Template)]
#[template(path = "agent_live.html")]
struct AgentLive {
    shell: Shell,
    view: AgentView,
}

/// `GET /agents/{id}[?fragment=1]`.
pub async fn detail(State(app): State<App>, visit: Visit, Path(id): Path<String>) -> AppResult<Response> {
    let params = &visit.params;
    let detail = agent_views::detail(&app, &id, params.non_empty("project")).await?;
    let mut shell = Shell::build(&app, &visit, &detail.card.agent.name, Nav::Agents).await?;
    shell.live = Some("agent");
    // The newest 50, newest first.
    let mut commands = commands::list(&app.db.read, &id, None).await?;
    commands.reverse();
    commands.truncate(50);
    let actions = vec![("stop", "Stop"), ("sleep", "Sleep"), ("wake", "Wake"), ("unblock", "Unblock"), ("restart", "Restart")];
    let timeline = activity::list(&app.db.read, &id, params.non_empty("project"), None, activity::DEFAULT_LIMIT).await?;
    let pending =
        crate::db::approvals::list(&app.db.read, Which { status: Some(ApprovalStatus::Pending), agent: Some(&id), project: None }, 50)
            .await?;
    let approvals = pending.into_iter().map(ApprovalView::of).collect();
    let view = AgentView { detail, commands, timeline, clock: Clock { now: app.clock.now() }, actions, approvals };
    Ok(page_or_fragment(params, (shell, view), |(shell, view)| AgentPage { shell, view }, |(shell, view)| AgentLive { shell, view }))
}

//! What people see of agents — the list's cards and one agent's detail — composed in one
//! place for the API and the pages: the current task (only one of the project asked for),
//! the sub-agent count, age, the stalled flag and usage totals of the agent's whole subtree.

use std::collections::HashMap;

use crate::db::agents::{self, Agent, AgentTask};
use crate::db::todos::Filter;
use crate::domain::agents::{Totals, is_stalled, subtree_totals, waiting_for};
use crate::error::{AppError, AppResult};
use crate::state::App;

pub struct AgentCard {
    pub agent: Agent,
    pub current_task: Option<AgentTask>,
    pub sub_agent_count: i64,
    pub age_seconds: i64,
    pub stalled: bool,
    pub totals: Totals,
    /// What the agent waits for a person for (its latest timeline row says so), if it does.
    pub waiting_for: Option<String>,
}

/// Which agents to list.
#[derive(Debug, Default)]
pub struct AgentQuery<'a> {
    pub status: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub parent_agent_id: Option<&'a str>,
    /// An agent of the project, or a shared agent with work in it.
    pub project: Option<&'a str>,
}

fn age(agent: &Agent, now: i64) -> i64 {
    (now - agent.created_at).max(0)
}

fn stalled(app: &App, agent: &Agent, now: i64) -> bool {
    is_stalled(agent.status, agent.last_activity_at, agent.created_at, now, app.config.stall_after_seconds as i64)
}

pub async fn cards(app: &App, query: AgentQuery<'_>) -> AppResult<Vec<AgentCard>> {
    let mut filter = Filter::default();
    for (value, column) in [(query.status, "status"), (query.kind, "type"), (query.parent_agent_id, "parent_agent_id")] {
        if let Some(v) = value {
            filter.text(&format!("{column} = ?"), v);
        }
    }
    if let Some(project) = query.project {
        filter.text("(project_id = ? OR (project_id IS NULL AND id IN (SELECT agent_id FROM agent_tasks WHERE project_id = ?)))", project);
    }
    let list = agents::list(&app.db.read, &filter).await?;
    let ids: Vec<String> = list.iter().map(|a| a.id.clone()).collect();
    let mut current: HashMap<String, AgentTask> =
        agents::current_tasks(&app.db.read, &ids).await?.into_iter().map(|t| (t.id.clone(), t)).collect();
    let counts: HashMap<String, i64> = agents::sub_agent_counts(&app.db.read).await?.into_iter().collect();
    let totals = subtree_totals(&agents::usage_rows(&app.db.read).await?);
    let mut waiting = waiting_of(app, &ids).await?;
    let now = app.clock.now();
    Ok(list
        .into_iter()
        .map(|agent| {
            // Narrowed to a project, a current task of another project is not shown.
            let task = agent.current_task_id.as_ref().and_then(|id| current.remove(id));
            let current_task = task.filter(|t| query.project.is_none_or(|p| t.project_id.as_deref() == Some(p)));
            AgentCard {
                current_task,
                sub_agent_count: counts.get(&agent.id).copied().unwrap_or(0),
                age_seconds: age(&agent, now),
                stalled: stalled(app, &agent, now),
                totals: totals.get(&agent.id).copied().unwrap_or_default(),
                waiting_for: waiting.remove(&agent.id),
                agent,
            }
        })
        .collect())
}

/// Which of `ids` wait for a person, and for what.
async fn waiting_of(app: &App, ids: &[String]) -> AppResult<HashMap<String, String>> {
    let latest = crate::db::activity::latest_summaries(&app.db.read, ids).await?;
    Ok(latest.into_iter().filter_map(|(id, summary)| waiting_for(summary.as_deref()).map(|w| (id, w.to_string()))).collect())
}

pub struct AgentDetail {
    pub card: AgentCard,
    pub task_history: Vec<AgentTask>,
    pub sub_agents: Vec<Agent>,
}

/// One agent; with `project`, only that project's tasks, and sub-agents of it or shared.
pub async fn detail(app: &App, id: &str, project: Option<&str>) -> AppResult<AgentDetail> {
    let agent = agents::find(&app.db.read, id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
    let mut task_history = agents::tasks(&app.db.read, id).await?;
    let mut sub_agents = agents::sub_agents(&app.db.read, id).await?;
    if let Some(project) = project {
        task_history.retain(|t| t.project_id.as_deref() == Some(project));
        sub_agents.retain(|a| a.project_id.as_deref().is_none_or(|p| p == project));
    }
    let now = app.clock.now();
    let totals = subtree_totals(&agents::usage_rows(&app.db.read).await?);
    let current_task = agent.current_task_id.as_ref().and_then(|cur| task_history.iter().find(|t| &t.id == cur)).cloned();
    let card = AgentCard {
        current_task,
        sub_agent_count: sub_agents.len() as i64,
        age_seconds: age(&agent, now),
        stalled: stalled(app, &agent, now),
        totals: totals.get(&agent.id).copied().unwrap_or_default(),
        waiting_for: waiting_of(app, std::slice::from_ref(&agent.id)).await?.remove(&agent.id),
        agent,
    };
    Ok(AgentDetail { card, task_history, sub_agents })
}

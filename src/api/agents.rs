//! `/api/agents` and `/api/agents/{id}`: the agent registry (decisions.md#agent-tasks, decisions.md#upserts).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::db::agents::{self, Agent};
use crate::db::todos::Filter;
use crate::domain::agents::{is_stalled, subtree_totals};
use crate::error::{AppError, AppResult};
use crate::http::json::{Body, Params};
use crate::service::registry::{self, AgentPatch, Registration};
use crate::state::App;

/// The stored text decoded for the detail view: JSON when it parses, else the raw string.
fn decoded(text: &Option<String>) -> Value {
    match text.as_deref() {
        None | Some("") => Value::Null,
        Some(t) => serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_string())),
    }
}

fn age(agent: &Agent, now: i64) -> i64 {
    (now - agent.created_at).max(0)
}

pub async fn list(State(app): State<App>, params: Params) -> AppResult<Json<Value>> {
    let mut filter = Filter::default();
    for (key, column) in [("status", "status"), ("type", "type"), ("parent_agent_id", "parent_agent_id")] {
        if let Some(v) = params.non_empty(key) {
            filter.text(&format!("{column} = ?"), v);
        }
    }
    // An agent of the project, or a shared agent with work in it.
    let project = params.non_empty("project");
    if let Some(project) = project {
        filter.text("(project_id = ? OR (project_id IS NULL AND id IN (SELECT agent_id FROM agent_tasks WHERE project_id = ?)))", project);
    }
    let list = agents::list(&app.db.read, &filter).await?;
    let ids: Vec<String> = list.iter().map(|a| a.id.clone()).collect();
    let mut current: HashMap<String, agents::AgentTask> =
        agents::current_tasks(&app.db.read, &ids).await?.into_iter().map(|t| (t.id.clone(), t)).collect();
    let counts: HashMap<String, i64> = agents::sub_agent_counts(&app.db.read).await?.into_iter().collect();
    let totals = subtree_totals(&agents::usage_rows(&app.db.read).await?);
    let now = app.clock.now();
    let stall_after = app.config.stall_after_seconds as i64;
    let enriched: Vec<Value> = list
        .into_iter()
        .map(|a| {
            let mut v = json!(a);
            // Narrowed to a project, a current task of another project is not shown.
            let task = a.current_task_id.as_ref().and_then(|id| current.remove(id));
            let task = task.filter(|t| project.is_none_or(|p| t.project_id.as_deref() == Some(p)));
            v["current_task"] = task.map_or(Value::Null, |t| json!(t));
            v["sub_agent_count"] = Value::from(counts.get(&a.id).copied().unwrap_or(0));
            v["age_seconds"] = Value::from(age(&a, now));
            v["stalled"] = Value::from(is_stalled(a.status, a.last_activity_at, a.created_at, now, stall_after));
            v["totals"] = json!(totals.get(&a.id).copied().unwrap_or_default());
            v
        })
        .collect();
    Ok(Json(json!({ "agents": enriched })))
}

/// Registers an agent (201) or, for a known id, updates what was sent (200).
pub async fn register(State(app): State<App>, Body(body): Body<Registration>) -> AppResult<(StatusCode, Json<Value>)> {
    let (agent, created) = registry::register(&app, body).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(json!({ "agent": agent }))))
}

/// `?project=` (a scoped key always has it) shows only that project's tasks, and sub-agents
/// of that project or shared.
pub async fn detail(State(app): State<App>, Path(id): Path<String>, params: Params) -> AppResult<Json<Value>> {
    let agent = agents::find(&app.db.read, &id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
    let mut history = agents::tasks(&app.db.read, &id).await?;
    let mut subs = agents::sub_agents(&app.db.read, &id).await?;
    if let Some(project) = params.non_empty("project") {
        history.retain(|t| t.project_id.as_deref() == Some(project));
        subs.retain(|a| a.project_id.as_deref().is_none_or(|p| p == project));
    }
    let now = app.clock.now();
    let totals = subtree_totals(&agents::usage_rows(&app.db.read).await?);
    let mut v = json!(agent);
    v["age_seconds"] = Value::from(age(&agent, now));
    v["stalled"] =
        Value::from(is_stalled(agent.status, agent.last_activity_at, agent.created_at, now, app.config.stall_after_seconds as i64));
    v["totals"] = json!(totals.get(&agent.id).copied().unwrap_or_default());
    v["skills"] = decoded(&agent.skills);
    v["config"] = decoded(&agent.config);
    Ok(Json(json!({"agent": v, "task_history": history, "sub_agents": subs})))
}

pub async fn patch(State(app): State<App>, Path(id): Path<String>, Body(body): Body<AgentPatch>) -> AppResult<Json<Value>> {
    let agent = registry::update(&app, id, body).await?;
    Ok(Json(json!({ "agent": agent })))
}

pub async fn delete(State(app): State<App>, Path(id): Path<String>) -> AppResult<Json<Value>> {
    registry::delete(&app, id).await?;
    Ok(Json(json!({"success": true})))
}

//! `/api/agents` and `/api/agents/{id}`: the agent registry (decisions.md#agent-tasks, decisions.md#upserts).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::db::{activity, agents};
use crate::error::{AppError, AppResult};
use crate::http::json::{Body, Params};
use crate::service::agent_views::{self, AgentQuery};
use crate::service::registry::{self, AgentPatch, Registration};
use crate::state::App;

/// The stored text decoded for the detail view: JSON when it parses, else the raw string.
fn decoded(text: &Option<String>) -> Value {
    match text.as_deref() {
        None | Some("") => Value::Null,
        Some(t) => serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_string())),
    }
}

pub async fn list(State(app): State<App>, params: Params) -> AppResult<Json<Value>> {
    let query = AgentQuery {
        status: params.non_empty("status"),
        kind: params.non_empty("type"),
        parent_agent_id: params.non_empty("parent_agent_id"),
        project: params.non_empty("project"),
    };
    let cards = agent_views::cards(&app, query).await?;
    let enriched: Vec<Value> = cards
        .into_iter()
        .map(|c| {
            let mut v = json!(c.agent);
            v["current_task"] = c.current_task.map_or(Value::Null, |t| json!(t));
            v["sub_agent_count"] = Value::from(c.sub_agent_count);
            v["age_seconds"] = Value::from(c.age_seconds);
            v["stalled"] = Value::from(c.stalled);
            v["waiting_for_person"] = json!(c.waiting_for);
            v["totals"] = json!(c.totals);
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
    let d = agent_views::detail(&app, &id, params.non_empty("project")).await?;
    let mut v = json!(d.card.agent);
    v["age_seconds"] = Value::from(d.card.age_seconds);
    v["stalled"] = Value::from(d.card.stalled);
    v["waiting_for_person"] = json!(d.card.waiting_for);
    v["totals"] = json!(d.card.totals);
    v["skills"] = decoded(&d.card.agent.skills);
    v["config"] = decoded(&d.card.agent.config);
    Ok(Json(json!({"agent": v, "task_history": d.task_history, "sub_agents": d.sub_agents})))
}

pub async fn patch(State(app): State<App>, Path(id): Path<String>, Body(body): Body<AgentPatch>) -> AppResult<Json<Value>> {
    let agent = registry::update(&app, id, body).await?;
    Ok(Json(json!({ "agent": agent })))
}

pub async fn delete(State(app): State<App>, Path(id): Path<String>) -> AppResult<Json<Value>> {
    registry::delete(&app, id).await?;
    Ok(Json(json!({"success": true})))
}

/// `GET /api/agents/{id}/activity?limit=&before=`: the agent's timeline, newest first, at
/// most `limit` (1–500, default 100) rows older than row `before`; `next_before` pages on.
pub async fn activity(State(app): State<App>, Path(id): Path<String>, params: Params) -> AppResult<Json<Value>> {
    let limit = match params.get("limit") {
        None => activity::DEFAULT_LIMIT,
        Some(v) => {
            v.parse::<i64>().ok().filter(|l| (1..=500).contains(l)).ok_or_else(|| AppError::BadRequest("limit must be 1–500".into()))?
        }
    };
    let before = match params.get("before") {
        None => None,
        Some(v) => Some(v.parse::<i64>().map_err(|_| AppError::BadRequest("before must be an activity id".into()))?),
    };
    agents::find(&app.db.read, &id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
    // A project's view (a scoped key always has one) shows only that project's rows.
    let rows = activity::list(&app.db.read, &id, params.non_empty("project"), before, limit).await?;
    let next_before = if rows.len() as i64 == limit { rows.last().map(|r| r.id) } else { None };
    Ok(Json(json!({ "activity": rows, "next_before": next_before })))
}

//! `/api/agents` and `/api/agents/{id}`: the agent registry (decisions.md#agent-tasks, decisions.md#upserts).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::db::agents::announce;
use crate::db::agents::{self, Agent};
use crate::db::projects;
use crate::db::todos::Filter;
use crate::domain::Field;
use crate::domain::agents::{AgentStatus, AgentType, is_stalled, subtree_totals};
use crate::error::{AppError, AppResult};
use crate::http::json::{Body, Checks, Int, Params, non_null};
use crate::state::App;

/// `skills` / `config` arrive as a string (stored verbatim), JSON (stored as its text) or null.
fn stored_text(value: Option<Value>) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    }
}

/// The stored text decoded for the detail view: JSON when it parses, else the raw string.
fn decoded(text: &Option<String>) -> Value {
    match text.as_deref() {
        None | Some("") => Value::Null,
        Some(t) => serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_string())),
    }
}

/// `skills`: a string, an array of strings or null; `config`: a string, an object or null.
fn json_field_checks(skills: &Field<Value>, config: &Field<Value>) -> Checks {
    let skills_ok = match skills {
        Field::Value(v) => matches!(v, Value::String(_)) || v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
        _ => true,
    };
    let config_ok = match config {
        Field::Value(v) => matches!(v, Value::String(_) | Value::Object(_)),
        _ => true,
    };
    let mut checks = Checks::new();
    checks.require(skills_ok, "invalid_union", "skills", "must be a string, an array of strings, or null").require(
        config_ok,
        "invalid_union",
        "config",
        "must be a string, an object, or null",
    );
    checks
}

/// Applies the registration fields both POST (for a known id) and PATCH may change.
#[allow(clippy::too_many_arguments)]
fn apply_common(
    a: &mut Agent,
    kind: Option<AgentType>,
    parent: Field<String>,
    status: Option<AgentStatus>,
    soul_md: Field<String>,
    skills: Field<Value>,
    config: Field<Value>,
) {
    if let Some(kind) = kind {
        a.kind = kind.as_str().into();
    }
    if let Some(p) = parent.update() {
        a.parent_agent_id = p;
    }
    if let Some(status) = status {
        a.status = status.as_str().into();
    }
    if let Some(soul) = soul_md.update() {
        a.soul_md = soul;
    }
    if let Some(skills) = skills.update() {
        a.skills = stored_text(skills);
    }
    if let Some(config) = config.update() {
        a.config = stored_text(config);
    }
}

/// An agent may not become its own ancestor: following parents from `parent` must never
/// reach `id` (a loop would make both agents undeletable and their totals endless).
async fn refuse_parent_cycle(c: &mut sqlx::AnyConnection, id: &str, parent: Option<&str>) -> AppResult<()> {
    let Some(parent) = parent else { return Ok(()) };
    if agents::is_ancestor(c, id, parent).await? {
        return Err(AppError::field(
            "custom",
            "parent_agent_id",
            format!("parent_agent_id: `{parent}` is a sub-agent of `{id}`; an agent cannot be its own ancestor"),
        ));
    }
    Ok(())
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
            v["stalled"] = Value::from(is_stalled(&a.status, a.last_activity_at, a.created_at, now, stall_after));
            v["totals"] = json!(totals.get(&a.id).copied().unwrap_or_default());
            v
        })
        .collect();
    Ok(Json(json!({ "agents": enriched })))
}

#[derive(Debug, Deserialize)]
pub struct RegisterBody {
    id: String,
    name: String,
    #[serde(default, rename = "type", deserialize_with = "non_null")]
    kind: Option<AgentType>,
    #[serde(default)]
    parent_agent_id: Field<String>,
    #[serde(default, deserialize_with = "non_null")]
    status: Option<AgentStatus>,
    #[serde(default)]
    soul_md: Field<String>,
    #[serde(default)]
    skills: Field<Value>,
    #[serde(default)]
    config: Field<Value>,
    /// The project the agent works for (a project-scoped key fills in its own).
    #[serde(default)]
    project: Field<String>,
}

/// Registers an agent (201) or, for a known id, updates what was sent (200; decisions.md#upserts).
pub async fn register(State(app): State<App>, Body(body): Body<RegisterBody>) -> AppResult<(StatusCode, Json<Value>)> {
    json_field_checks(&body.skills, &body.config).min1("id", &body.id).min1("name", &body.name).finish()?;
    let now = app.clock.now();
    let (agent, created) = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let parent = body.parent_agent_id.clone().into_option();
                if let Some(parent) = &parent
                    && (parent == &body.id || agents::get(c, parent).await?.is_none())
                {
                    return Err(AppError::field(
                        "custom",
                        "parent_agent_id",
                        format!("parent_agent_id: no agent `{parent}` is registered"),
                    ));
                }
                refuse_parent_cycle(c, &body.id, parent.as_deref()).await?;
                let project = body.project.empty_as_null();
                if let Some(Some(p)) = project.clone().update() {
                    projects::ensure(c, Some(&p), now).await?;
                }
                let (agent, created) = match agents::get(c, &body.id).await? {
                    Some(mut a) => {
                        a.name = body.name;
                        if let Some(p) = project.update() {
                            a.project_id = p;
                        }
                        apply_common(&mut a, body.kind, body.parent_agent_id, body.status, body.soul_md, body.skills, body.config);
                        agents::save(c, &a).await?;
                        (a, false)
                    }
                    None => {
                        let a = Agent {
                            id: body.id,
                            name: body.name,
                            kind: body.kind.unwrap_or(AgentType::SubAgent).as_str().into(),
                            parent_agent_id: parent,
                            status: body.status.unwrap_or(AgentStatus::Idle).as_str().into(),
                            soul_md: body.soul_md.into_option(),
                            skills: stored_text(body.skills.into_option()),
                            current_task_id: None,
                            created_at: now,
                            last_heartbeat: None,
                            config: stored_text(body.config.into_option()),
                            last_activity_at: None,
                            tokens_in: 0,
                            tokens_out: 0,
                            cost_usd: 0.0,
                            project_id: project.into_option(),
                        };
                        agents::insert(c, &a).await?;
                        (a, true)
                    }
                };
                let action = if created { "registered" } else { "updated" };
                announce(c, agent.project_id.as_deref(), json!({"agent": agent, "action": action}), now).await?;
                Ok((agent, created))
            })
        })
        .await?;
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
        Value::from(is_stalled(&agent.status, agent.last_activity_at, agent.created_at, now, app.config.stall_after_seconds as i64));
    v["totals"] = json!(totals.get(&agent.id).copied().unwrap_or_default());
    v["skills"] = decoded(&agent.skills);
    v["config"] = decoded(&agent.config);
    Ok(Json(json!({"agent": v, "task_history": history, "sub_agents": subs})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    #[serde(default, deserialize_with = "non_null")]
    name: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "non_null")]
    kind: Option<AgentType>,
    #[serde(default)]
    parent_agent_id: Field<String>,
    #[serde(default, deserialize_with = "non_null")]
    status: Option<AgentStatus>,
    #[serde(default)]
    soul_md: Field<String>,
    #[serde(default)]
    skills: Field<Value>,
    #[serde(default)]
    current_task_id: Field<String>,
    #[serde(default)]
    last_heartbeat: Field<Int>,
    #[serde(default)]
    config: Field<Value>,
}

pub async fn patch(State(app): State<App>, Path(id): Path<String>, Body(body): Body<PatchBody>) -> AppResult<Json<Value>> {
    json_field_checks(&body.skills, &body.config).min1_opt("name", body.name.as_deref()).finish()?;
    let now = app.clock.now();
    let agent = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let mut a = agents::get(c, &id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
                if let Field::Value(parent) = &body.parent_agent_id
                    && (parent == &id || agents::get(c, parent).await?.is_none())
                {
                    return Err(AppError::field(
                        "custom",
                        "parent_agent_id",
                        format!("parent_agent_id: no agent `{parent}` can be the parent"),
                    ));
                }
                if let Field::Value(parent) = &body.parent_agent_id {
                    refuse_parent_cycle(c, &id, Some(parent)).await?;
                }
                if let Some(name) = body.name {
                    a.name = name;
                }
                apply_common(&mut a, body.kind, body.parent_agent_id, body.status, body.soul_md, body.skills, body.config);
                if let Some(task) = body.current_task_id.update() {
                    a.current_task_id = task;
                }
                if let Some(beat) = body.last_heartbeat.update() {
                    a.last_heartbeat = beat.map(|i| i.0);
                }
                agents::save(c, &a).await?;
                announce(c, a.project_id.as_deref(), json!({"agent": a, "action": "updated"}), now).await?;
                Ok(a)
            })
        })
        .await?;
    Ok(Json(json!({ "agent": agent })))
}

/// Deletes the agent and its tasks in one transaction; refused while sub-agents point at it (fixes decisions.md#agent-tasks).
pub async fn delete(State(app): State<App>, Path(id): Path<String>) -> AppResult<Json<Value>> {
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let agent = agents::get(c, &id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
                if agents::count_sub_agents(c, &id).await? > 0 {
                    return Err(AppError::Conflict("Agent has sub-agents; delete or re-parent them first".into()));
                }
                agents::delete(c, &id).await?;
                announce(c, agent.project_id.as_deref(), json!({"agent_id": id, "action": "deleted"}), now).await?;
                Ok(())
            })
        })
        .await?;
    Ok(Json(json!({"success": true})))
}

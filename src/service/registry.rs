//! The agent registry: registering, changing and removing agents (docs/decisions.md#upserts,
//! #agent-tasks, #agent-projects).

use serde::Deserialize;
use serde_json::{Value, json};

use crate::db::agents::{self, Agent, announce};
use crate::db::projects;
use crate::domain::agents::{AgentStatus, AgentType};
use crate::domain::{Field, Int, non_null};
use crate::error::{AppError, AppResult, Checks};
use crate::state::App;

/// `skills` / `config` arrive as a string (stored verbatim), JSON (stored as its text) or null.
fn stored_text(value: Option<Value>) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
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
        a.kind = kind;
    }
    if let Some(p) = parent.update() {
        a.parent_agent_id = p;
    }
    if let Some(status) = status {
        a.status = status;
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
async fn refuse_parent_cycle(c: &mut crate::db::WriteConn, id: &str, parent: Option<&str>) -> AppResult<()> {
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

#[derive(Debug, Deserialize)]
pub struct Registration {
    pub id: String,
    pub name: String,
    #[serde(default, rename = "type", deserialize_with = "non_null")]
    pub kind: Option<AgentType>,
    #[serde(default)]
    pub parent_agent_id: Field<String>,
    #[serde(default, deserialize_with = "non_null")]
    pub status: Option<AgentStatus>,
    #[serde(default)]
    pub soul_md: Field<String>,
    #[serde(default)]
    pub skills: Field<Value>,
    #[serde(default)]
    pub config: Field<Value>,
    /// The project the agent works for (a project-scoped key fills in its own).
    #[serde(default)]
    pub project: Field<String>,
}

/// Registers an agent (`true`) or, for a known id, updates what was sent (decisions.md#upserts).
pub async fn register(app: &App, body: Registration) -> AppResult<(Agent, bool)> {
    json_field_checks(&body.skills, &body.config).min1("id", &body.id).min1("name", &body.name).finish()?;
    let now = app.clock.now();
    app.db
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
                            kind: body.kind.unwrap_or(AgentType::SubAgent),
                            parent_agent_id: parent,
                            status: body.status.unwrap_or(AgentStatus::Idle),
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
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentPatch {
    #[serde(default, deserialize_with = "non_null")]
    pub name: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "non_null")]
    pub kind: Option<AgentType>,
    #[serde(default)]
    pub parent_agent_id: Field<String>,
    #[serde(default, deserialize_with = "non_null")]
    pub status: Option<AgentStatus>,
    #[serde(default)]
    pub soul_md: Field<String>,
    #[serde(default)]
    pub skills: Field<Value>,
    #[serde(default)]
    pub current_task_id: Field<String>,
    #[serde(default)]
    pub last_heartbeat: Field<Int>,
    #[serde(default)]
    pub config: Field<Value>,
}

impl AgentPatch {
    /// A change of the status alone.
    pub fn status(status: AgentStatus) -> AgentPatch {
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
}

/// Changes what was sent (strict body); a parent that would make the agent its own ancestor
/// is refused.
pub async fn update(app: &App, id: String, body: AgentPatch) -> AppResult<Agent> {
    json_field_checks(&body.skills, &body.config).min1_opt("name", body.name.as_deref()).finish()?;
    let now = app.clock.now();
    app.db
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
        .await
}

/// Deletes the agent and its tasks in one transaction; refused while sub-agents point at it
/// (decisions.md#agent-tasks).
pub async fn delete(app: &App, id: String) -> AppResult<()> {
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
        .await
}

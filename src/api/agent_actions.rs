//! What agents report and what people do to them: `/api/agents/{id}/actions`, `assign`,
//! `block`, `complete`, `error`, `heartbeat` (decisions.md#agent-tasks, decisions.md#agent-lifecycle; decisions.md#completion, decisions.md#sleep-window).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::db::agents::{self, Agent, AgentTask, Usage};
use crate::db::lifecycle::{self, announce};
use crate::db::{commands, projects};
use crate::domain::agents::{AgentAction, AgentStatus, AgentTaskStatus, BlockSource};
use crate::domain::{Priority, ids};
use crate::error::{AppError, AppResult};
use crate::http::json::{Body, Checks, non_null, parse};
use crate::state::App;

/// The agent and one of its tasks, or the 404 the contract names.
async fn agent_and_task(c: &mut sqlx::AnyConnection, agent_id: &str, task_id: &str) -> AppResult<(Agent, AgentTask)> {
    let agent = agents::get(c, agent_id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
    let task = agents::get_task(c, task_id).await?.filter(|t| t.agent_id == agent.id).ok_or_else(|| AppError::not_found("Task"))?;
    Ok((agent, task))
}

async fn require_agent(app: &App, id: &str) -> AppResult<()> {
    agents::find(&app.db.read, id).await?.map(|_| ()).ok_or_else(|| AppError::not_found("Agent"))
}

#[derive(Debug, Deserialize)]
pub struct ActionBody {
    action: AgentAction,
}

pub async fn action(State(app): State<App>, Path(id): Path<String>, Body(body): Body<ActionBody>) -> AppResult<Json<Value>> {
    let now_ms = app.clock.now_ms();
    let now = now_ms.div_euclid(1000);
    let action = body.action;
    // Every action also becomes a command the agent itself receives (decisions.md#commands).
    let command = super::commands::queued(&app, &id, action.as_str(), None);
    let agent = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let mut agent = agents::get(c, &id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
                match action {
                    AgentAction::Sleep => {
                        agent.status = AgentStatus::Sleeping.as_str().into();
                        agents::save(c, &agent).await?;
                        agents::set_sleep_reason(c, &agent.id, Some("manual")).await?;
                    }
                    AgentAction::Wake => {
                        lifecycle::wake(c, &mut agent, "manual", now).await?;
                    }
                    AgentAction::Stop => {
                        for mut task in agents::tasks_in(c, &agent.id, AgentTaskStatus::InProgress.as_str()).await? {
                            task.status = AgentTaskStatus::Cancelled.as_str().into();
                            task.completed_at = Some(now);
                            task.updated_at = now;
                            agents::save_task(c, &task).await?;
                        }
                        agent.status = AgentStatus::Offline.as_str().into();
                        agent.current_task_id = None;
                        agents::save(c, &agent).await?;
                    }
                    AgentAction::Unblock => {
                        let mut task = agents::newest_task_in(c, &agent.id, &[AgentTaskStatus::Blocked.as_str()])
                            .await?
                            .ok_or_else(|| AppError::BadRequest("No blocked task found for agent".into()))?;
                        lifecycle::resume(c, &mut agent, &mut task, now).await?;
                    }
                    AgentAction::Restart => {
                        // Durable without any workflow engine (fixes decisions.md#stop-and-restart): the newest unfinished
                        // task is taken up again; with none the agent is simply idle.
                        let statuses =
                            [AgentTaskStatus::InProgress.as_str(), AgentTaskStatus::Blocked.as_str(), AgentTaskStatus::Pending.as_str()];
                        match agents::newest_task_in(c, &agent.id, &statuses).await? {
                            Some(mut task) => lifecycle::resume(c, &mut agent, &mut task, now).await?,
                            None => {
                                agent.status = AgentStatus::Idle.as_str().into();
                                agent.current_task_id = None;
                                agents::save(c, &agent).await?;
                            }
                        }
                        agents::set_sleep_reason(c, &agent.id, None).await?;
                    }
                }
                announce(c, agent.project_id.as_deref(), json!({"agent": agent, "action": action}), now).await?;
                commands::create(c, &command).await?;
                Ok(agent)
            })
        })
        .await?;
    Ok(Json(json!({"agent": agent, "action": action})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    #[serde(rename = "taskId")]
    task_id: String,
    title: String,
    #[serde(default, deserialize_with = "non_null")]
    priority: Option<Priority>,
    #[serde(default, rename = "linearIssueId", deserialize_with = "non_null")]
    linear_issue_id: Option<String>,
    #[serde(default, rename = "projectId", deserialize_with = "non_null")]
    project_id: Option<String>,
}

/// assignTask: a new pending task; the agent works on it — unless it sleeps and the task is
/// not high priority, in which case the task waits (decisions.md#sleep-window).
pub async fn assign(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> AppResult<(StatusCode, Json<Value>)> {
    require_agent(&app, &id).await?;
    let body: AssignBody = parse(&body)?;
    Checks::new().min1("taskId", &body.task_id).min1("title", &body.title).finish()?;
    let now = app.clock.now();
    let task = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let mut agent = agents::get(c, &id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
                if agents::get_task(c, &body.task_id).await?.is_some() {
                    return Err(AppError::Conflict(format!("Task {} already exists", body.task_id)));
                }
                let priority = body.priority.unwrap_or(Priority::Medium);
                let task = AgentTask {
                    linear_issue_id: body.linear_issue_id,
                    project_id: body.project_id,
                    ..AgentTask::pending(body.task_id, agent.id.clone(), body.title, priority.as_str(), now)
                };
                agents::insert_task(c, &task).await?;
                projects::ensure(c, task.project_id.as_deref(), now).await?;
                let asleep = agent.status == AgentStatus::Sleeping.as_str();
                if asleep && priority == Priority::High {
                    lifecycle::wake(c, &mut agent, "high_priority_task", now).await?;
                }
                if agent.status != AgentStatus::Sleeping.as_str() {
                    agent.status = AgentStatus::Working.as_str().into();
                    agent.current_task_id = Some(task.id.clone());
                    agent.last_heartbeat = Some(now);
                    agents::save(c, &agent).await?;
                }
                announce(c, task.project_id.as_deref(), json!({"agentId": agent.id, "action": "task_assigned", "taskId": task.id}), now)
                    .await?;
                Ok(task)
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "task": task }))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockBody {
    #[serde(rename = "taskId")]
    task_id: String,
    source: BlockSource,
    reason: String,
}

pub async fn block(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> AppResult<Json<Value>> {
    require_agent(&app, &id).await?;
    let body: BlockBody = parse(&body)?;
    Checks::new().min1("taskId", &body.task_id).min1("reason", &body.reason).finish()?;
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let (mut agent, mut task) = agent_and_task(c, &id, &body.task_id).await?;
                lifecycle::block(c, &mut agent, &mut task, body.source, &body.reason, now).await?;
                Ok(agents::record_activity(c, &id, Some(&task.id), Usage::default(), now).await?)
            })
        })
        .await?;
    Ok(Json(json!({"success": true})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskRef {
    #[serde(rename = "taskId")]
    task_id: String,
}

pub async fn complete(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> AppResult<Json<Value>> {
    require_agent(&app, &id).await?;
    let body: TaskRef = parse(&body)?;
    Checks::new().min1("taskId", &body.task_id).finish()?;
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let (mut agent, mut task) = agent_and_task(c, &id, &body.task_id).await?;
                lifecycle::complete(c, &mut agent, &mut task, now).await?;
                Ok(agents::record_activity(c, &id, Some(&task.id), Usage::default(), now).await?)
            })
        })
        .await?;
    Ok(Json(json!({"success": true})))
}

pub async fn error(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> AppResult<Json<Value>> {
    require_agent(&app, &id).await?;
    let body: TaskRef = parse(&body)?;
    Checks::new().min1("taskId", &body.task_id).finish()?;
    let now = app.clock.now();
    let triggered = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let (mut agent, mut task) = agent_and_task(c, &id, &body.task_id).await?;
                let triggered = lifecycle::record_error(c, &mut agent, &mut task, now).await?;
                agents::record_activity(c, &id, Some(&task.id), Usage::default(), now).await?;
                Ok(triggered)
            })
        })
        .await?;
    Ok(Json(json!({ "triggered": triggered })))
}

#[derive(Debug, Default, Deserialize)]
pub struct HeartbeatBody {
    #[serde(flatten)]
    usage: Usage,
}

/// `last_heartbeat = now`; the status is not changed (a sleeping agent stays asleep). The
/// body may be empty or `{}` (the hook's); token and cost deltas in it count as progress on
/// the current task. The reply carries the agent's due commands (decisions.md#commands); old clients ignore
/// the extra key.
pub async fn heartbeat(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> AppResult<Json<Value>> {
    let body: HeartbeatBody = if body.iter().all(u8::is_ascii_whitespace) { HeartbeatBody::default() } else { parse(&body)? };
    let now = app.clock.now();
    let redeliver = app.config.command_redeliver_seconds as i64;
    let agent_id = id.clone();
    let due = app
        .db
        .write(move |c| {
            Box::pin(async move {
                // One statement finds the agent, records the beat, names its current task and
                // says whether any command is open for it — most beats need nothing more.
                let beat: Option<(Option<String>, i64)> = sqlx::query_as(
                    "UPDATE agents SET last_heartbeat = $1 WHERE id = $2 RETURNING current_task_id, \
                     CAST(CASE WHEN EXISTS (SELECT 1 FROM commands WHERE agent_id = $2 AND status IN ('queued', 'delivered')) \
                     THEN 1 ELSE 0 END AS BIGINT)",
                )
                .bind(now)
                .bind(&id)
                .fetch_optional(&mut *c)
                .await?;
                let (current_task, open_commands) = beat.ok_or_else(|| AppError::not_found("Agent"))?;
                if !body.usage.is_empty() {
                    agents::record_activity(c, &id, current_task.as_deref(), body.usage, now).await?;
                }
                if open_commands == 0 {
                    return Ok(Vec::new());
                }
                Ok(commands::deliver(c, &id, now, redeliver).await?)
            })
        })
        .await?;
    app.usage.touch(&agent_id);
    Ok(Json(json!({"success": true, "commands": due})))
}

#[derive(Debug, Deserialize)]
pub struct ActivityBody {
    kind: String,
    #[serde(default, deserialize_with = "non_null")]
    summary: Option<String>,
    #[serde(default, rename = "taskId", alias = "task_id", deserialize_with = "non_null")]
    task_id: Option<String>,
    #[serde(flatten)]
    usage: Usage,
}

/// Real progress (decisions.md#stalls-and-usage): a tool call, a message, a file written… Moves `last_activity_at` of
/// the agent and its task and adds the reported token and cost deltas.
pub async fn activity(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> AppResult<Json<Value>> {
    require_agent(&app, &id).await?;
    let body: ActivityBody = parse(&body)?;
    Checks::new().min1("kind", &body.kind).finish()?;
    let now = app.clock.now();
    let agent_id = id.clone();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let agent = agents::get(c, &id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
                let task_id = body.task_id.or(agent.current_task_id.clone());
                agents::record_activity(c, &id, task_id.as_deref(), body.usage, now).await?;
                let payload = json!({"agentId": id, "action": "activity", "kind": body.kind, "summary": body.summary, "taskId": task_id});
                announce(c, agent.project_id.as_deref(), payload, now).await?;
                Ok(())
            })
        })
        .await?;
    app.usage.touch(&agent_id);
    Ok(Json(json!({"success": true})))
}

/// A generated agent task id in the original's format.
pub fn new_task_id(now_ms: i64) -> String {
    ids::generate("task", now_ms)
}

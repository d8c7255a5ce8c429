//! What agents report and what people do to them, whichever door it comes through (the HTTP
//! API today; plugins, hooks and Linear next): each operation runs in one write unit with its
//! events (docs/decisions.md#agent-lifecycle, #agent-tasks, #completion, #sleep-window,
//! #commands, #stalls-and-usage).

use serde_json::json;

use super::commands::queued;
use super::lifecycle;
use crate::db::activity::{self as timeline, Subject};
use crate::db::agents::{self, Agent, AgentTask, Usage, announce};
use crate::db::commands::{self, Command};
use crate::domain::Priority;
use crate::domain::agents::{AgentAction, AgentStatus, AgentTaskStatus, BlockSource};
use crate::error::{AppError, AppResult};
use crate::state::App;

/// A timeline row about `task` of agent `agent_id`, in the task's project.
fn on_task<'a>(agent_id: &'a str, task: &'a AgentTask) -> Subject<'a> {
    Subject { agent_id, task_id: Some(&task.id), project_id: task.project_id.as_deref() }
}

/// The agent and one of its tasks, or the 404 the contract names.
async fn agent_and_task(c: &mut crate::db::WriteConn, agent_id: &str, task_id: &str) -> AppResult<(Agent, AgentTask)> {
    let agent = agents::get(c, agent_id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
    let task = agents::get_task(c, task_id).await?.filter(|t| t.agent_id == agent.id).ok_or_else(|| AppError::not_found("Task"))?;
    Ok((agent, task))
}

/// A person's action on an agent (sleep, wake, stop, unblock, restart); it also becomes a
/// command the agent itself receives.
pub async fn act(app: &App, agent_id: String, action: AgentAction) -> AppResult<Agent> {
    let now = app.clock.now();
    let command = queued(app, &agent_id, action.command(), None);
    app.db
        .write(move |c| {
            Box::pin(async move {
                let mut agent = agents::get(c, &agent_id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
                match action {
                    AgentAction::Sleep => {
                        agent.status = AgentStatus::Sleeping;
                        agents::save(c, &agent).await?;
                        agents::set_sleep_reason(c, &agent.id, Some("manual")).await?;
                    }
                    AgentAction::Wake => {
                        lifecycle::wake(c, &mut agent, "manual", now).await?;
                    }
                    AgentAction::Stop => lifecycle::stop(c, &mut agent, now).await?,
                    AgentAction::Unblock => {
                        let mut task = agents::newest_task_in(c, &agent.id, &[AgentTaskStatus::Blocked.as_str()])
                            .await?
                            .ok_or_else(|| AppError::BadRequest("No blocked task found for agent".into()))?;
                        lifecycle::resume(c, &mut agent, &mut task, now).await?;
                    }
                    AgentAction::Restart => lifecycle::restart(c, &mut agent, now).await?,
                }
                let at = Subject { agent_id: &agent.id, task_id: None, project_id: agent.project_id.as_deref() };
                timeline::record(c, at, "action", Some(action.as_str()), now).await?;
                announce(c, agent.project_id.as_deref(), json!({"agent": agent, "action": action}), now).await?;
                commands::create(c, &command).await?;
                Ok(agent)
            })
        })
        .await
}

/// A task to give an agent (assignTask, and the task a workflow starts with).
#[derive(Debug, Clone)]
pub struct NewAssignment {
    pub task_id: String,
    pub title: String,
    pub priority: Priority,
    pub linear_issue_id: Option<String>,
    pub project_id: Option<String>,
}

impl NewAssignment {
    /// The pending task this assignment creates.
    pub fn task(&self, agent_id: &str, now: i64) -> AgentTask {
        AgentTask {
            linear_issue_id: self.linear_issue_id.clone(),
            project_id: self.project_id.clone(),
            ..AgentTask::pending(self.task_id.clone(), agent_id.to_string(), self.title.clone(), self.priority, now)
        }
    }
}

/// A new pending task the agent works on — unless it sleeps and the task is not high
/// priority, in which case the task waits. The task id must be new.
pub async fn assign_in(c: &mut crate::db::WriteConn, agent: &mut Agent, new: NewAssignment, now: i64) -> AppResult<AgentTask> {
    if agents::get_task(c, &new.task_id).await?.is_some() {
        return Err(AppError::Conflict(format!("Task {} already exists", new.task_id)));
    }
    let task = lifecycle::insert_pending(c, new.task(&agent.id, now), now).await?;
    if let Some(issue) = &new.linear_issue_id {
        // assignTask: the cached Linear issue shows who works it.
        crate::db::linear::link_task(c, issue, &task.id, now).await?;
    }
    if agent.status == AgentStatus::Sleeping && new.priority == Priority::High {
        lifecycle::wake(c, agent, "high_priority_task", now).await?;
    }
    if agent.status != AgentStatus::Sleeping {
        agent.status = AgentStatus::Working;
        agent.current_task_id = Some(task.id.clone());
        agent.last_heartbeat = Some(now);
        agents::save(c, agent).await?;
    }
    Ok(task)
}

pub async fn assign(app: &App, agent_id: String, new: NewAssignment) -> AppResult<AgentTask> {
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let mut agent = agents::get(c, &agent_id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
                let task = assign_in(c, &mut agent, new, now).await?;
                timeline::record(c, on_task(&agent.id, &task), "assigned", Some(&task.title), now).await?;
                let payload = json!({"agentId": agent.id, "action": "task_assigned", "taskId": task.id});
                announce(c, task.project_id.as_deref(), payload, now).await?;
                Ok(task)
            })
        })
        .await
}

/// detectBlocked: the task and its agent are blocked (one alert per blocked episode).
pub async fn block(app: &App, agent_id: String, task_id: String, source: BlockSource, reason: String) -> AppResult<()> {
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let (mut agent, mut task) = agent_and_task(c, &agent_id, &task_id).await?;
                lifecycle::block(c, &mut agent, &mut task, source, &reason, now).await?;
                timeline::record(c, on_task(&agent_id, &task), "blocked", Some(&reason), now).await?;
                Ok(agents::record_activity(c, &agent_id, Some(&task.id), Usage::default(), now).await?)
            })
        })
        .await
}

pub async fn complete(app: &App, agent_id: String, task_id: String) -> AppResult<()> {
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let (mut agent, mut task) = agent_and_task(c, &agent_id, &task_id).await?;
                lifecycle::complete(c, &mut agent, &mut task, now).await?;
                timeline::record(c, on_task(&agent_id, &task), "completed", Some(&task.title), now).await?;
                Ok(agents::record_activity(c, &agent_id, Some(&task.id), Usage::default(), now).await?)
            })
        })
        .await
}

/// An error of a task; whether it triggered the error rule (blocked task, sleeping agent).
pub async fn error(app: &App, agent_id: String, task_id: String, message: Option<String>) -> AppResult<bool> {
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let (mut agent, mut task) = agent_and_task(c, &agent_id, &task_id).await?;
                let triggered = lifecycle::record_error(c, &mut agent, &mut task, message.as_deref(), now).await?;
                timeline::record(c, on_task(&agent_id, &task), "error", Some(&task.title), now).await?;
                agents::record_activity(c, &agent_id, Some(&task.id), Usage::default(), now).await?;
                Ok(triggered)
            })
        })
        .await
}

/// `last_heartbeat = now` (the status is not changed: a sleeping agent stays asleep); usage
/// deltas count as progress on the current task. Returns the commands now due to the agent.
pub async fn heartbeat(app: &App, agent_id: String, usage: Usage) -> AppResult<Vec<Command>> {
    let now = app.clock.now();
    let redeliver = app.config.command_redeliver_seconds as i64;
    let id = agent_id.clone();
    let due = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let beat = agents::beat(c, &id, now).await?.ok_or_else(|| AppError::not_found("Agent"))?;
                if !usage.is_empty() {
                    agents::record_activity(c, &id, beat.current_task_id.as_deref(), usage, now).await?;
                }
                if !beat.open_commands {
                    return Ok(Vec::new());
                }
                Ok(commands::deliver(c, &id, now, redeliver).await?)
            })
        })
        .await?;
    app.usage.touch(&agent_id);
    Ok(due)
}

/// A sign of life reported by an integration: `last_heartbeat` moves; queued commands stay
/// queued for the agent's own poll (a heartbeat would mark them delivered).
pub async fn seen(app: &App, agent_id: String) -> AppResult<()> {
    let now = app.clock.now();
    let id = agent_id.clone();
    app.db.write(move |c| Box::pin(async move { Ok(agents::beat(c, &id, now).await.map(|_| ())?) })).await?;
    app.usage.touch(&agent_id);
    Ok(())
}

/// How a telemetry point counts (K29).
#[derive(Debug, Clone)]
pub enum Counted {
    /// A delta point: added once per key.
    Delta { key: String },
    /// A cumulative point: only what its series grew by since the last point.
    Cumulative { series: String, start_ns: String },
}

/// Adds a telemetry point's tokens or cost to the agent's totals, counted once.
pub async fn telemetry_usage(app: &App, agent_id: String, counted: Counted, value: f64, usage_of: fn(f64) -> Usage) -> AppResult<()> {
    let now = app.clock.now();
    let id = agent_id.clone();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let amount = match &counted {
                    Counted::Delta { key } => {
                        if !crate::db::ingest_keys::claim(c, key, now).await? {
                            return Ok(());
                        }
                        value
                    }
                    Counted::Cumulative { series, start_ns } => crate::db::otlp_series::growth(c, series, start_ns, value, now).await?,
                };
                if amount > 0.0 {
                    agents::record_activity(c, &id, None, usage_of(amount), now).await?;
                }
                Ok(())
            })
        })
        .await?;
    app.usage.touch(&agent_id);
    Ok(())
}

/// An error an integration reported for a whole session (no task named): a timeline row and an
/// `error` alert with the message, once per `key`.
pub async fn session_error(app: &App, agent_id: String, key: String, message: String) -> AppResult<()> {
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let agent = agents::get(c, &agent_id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
                if !crate::db::ingest_keys::claim(c, &key, now).await? {
                    return Ok(());
                }
                let task = match &agent.current_task_id {
                    Some(id) => agents::get_task(c, id).await?,
                    None => None,
                };
                let project = task.as_ref().map_or(agent.project_id.clone(), |t| t.project_id.clone());
                let at = Subject { agent_id: &agent_id, task_id: task.as_ref().map(|t| t.id.as_str()), project_id: project.as_deref() };
                timeline::record(c, at, "error", Some(&message), now).await?;
                let alert = crate::db::alerts::NewAlert {
                    trigger: crate::domain::alerts::Trigger::Error,
                    agent_id: agent_id.clone(),
                    task_id: task.as_ref().map(|t| t.id.clone()),
                    title: Some(task.as_ref().map_or(agent.name.clone(), |t| t.title.clone())),
                    priority: task.as_ref().map_or(crate::domain::Priority::Medium, |t| t.priority),
                    reason: Some(message),
                    project,
                    since: None,
                    approval_id: None,
                };
                crate::db::alerts::raise(c, &alert, &format!("session-error:{key}"), now).await?;
                agents::record_activity(c, &agent_id, None, Usage::default(), now).await?;
                Ok(())
            })
        })
        .await
}

/// Real progress: a tool call, a message, a file written…
#[derive(Debug, Clone)]
pub struct Activity {
    pub kind: String,
    pub summary: Option<String>,
    /// The task it is about; the agent's current task when absent.
    pub task_id: Option<String>,
    pub usage: Usage,
    /// Applied once per key (an ingested event's, message's or tool call's id): a replay changes nothing.
    pub once: Option<String>,
}

/// Moves `last_activity_at` of the agent and its task and adds the usage deltas; `false` when
/// its `once` key was applied before (nothing happened).
pub async fn activity(app: &App, agent_id: String, activity: Activity) -> AppResult<bool> {
    let now = app.clock.now();
    let id = agent_id.clone();
    let applied = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let agent = agents::get(c, &id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
                if let Some(key) = &activity.once
                    && !crate::db::ingest_keys::claim(c, key, now).await?
                {
                    return Ok(false);
                }
                let task_id = activity.task_id.or(agent.current_task_id.clone());
                agents::record_activity(c, &id, task_id.as_deref(), activity.usage, now).await?;
                let task = match task_id.as_deref() {
                    Some(task_id) => agents::get_task(c, task_id).await?.filter(|t| t.agent_id == id),
                    None => None,
                };
                let project = task.as_ref().map_or(agent.project_id.as_deref(), |t| t.project_id.as_deref());
                let at = Subject { agent_id: &id, task_id: task_id.as_deref(), project_id: project };
                timeline::record(c, at, &activity.kind, activity.summary.as_deref(), now).await?;
                let payload =
                    json!({"agentId": id, "action": "activity", "kind": activity.kind, "summary": activity.summary, "taskId": task_id});
                announce(c, agent.project_id.as_deref(), payload, now).await?;
                Ok(true)
            })
        })
        .await?;
    if applied {
        app.usage.touch(&agent_id);
    }
    Ok(applied)
}

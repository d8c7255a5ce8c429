//! The agent lifecycle rules of decisions.md#agent-lifecycle applied inside a write unit: every state a
//! rule reads or keeps (error windows, sleep reasons, the schedule) is in the database, so
//! restarts and replicas change nothing (decisions.md#state-in-the-database).

use crate::db::WriteConn;
use serde_json::{Value, json};

use crate::db::agents::{self, Agent, AgentTask, announce};
use crate::db::alerts::{self, NewAlert};
use crate::db::{error_windows, settings};
use crate::domain::agents::{AfterCompletion, AgentStatus, AgentTaskStatus, BlockSource, ErrorVerdict, SleepSchedule};
use crate::domain::agents::{after_completion, record_error as count_error};
use crate::domain::alerts::Trigger;
use crate::error::{AppError, AppResult};
use crate::state::App;

const SCHEDULE_KEY: &str = "sleep_schedule";

/// Takes the writer's connection or a reader.
pub async fn sleep_schedule(conn: impl sqlx::Executor<'_, Database = sqlx::Any>) -> Result<SleepSchedule, sqlx::Error> {
    Ok(settings::get(conn, SCHEDULE_KEY).await?.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default())
}

pub async fn save_sleep_schedule(conn: &mut WriteConn, schedule: &SleepSchedule, now: i64) -> Result<(), sqlx::Error> {
    settings::put(conn, SCHEDULE_KEY, &serde_json::to_string(schedule).unwrap_or_default(), now).await
}

/// A change to the sleep schedule: only the fields given change (at least one is required).
#[derive(Debug, Default)]
pub struct ScheduleChange {
    pub start_hour: Option<i64>,
    pub end_hour: Option<i64>,
    pub timezone: Option<String>,
    pub enabled: Option<bool>,
}

fn hour(field: &str, value: Option<i64>) -> AppResult<Option<u8>> {
    match value {
        None => Ok(None),
        Some(h) if (0..=23).contains(&h) => Ok(Some(h as u8)),
        Some(_) => Err(AppError::field("too_big", field, format!("{field} must be an hour from 0 to 23"))),
    }
}

/// Changes the sleep window (docs/decisions.md#sleep-window): hours 0–23 that differ, an IANA
/// time zone.
pub async fn change_sleep_schedule(app: &App, change: ScheduleChange) -> AppResult<SleepSchedule> {
    if change.start_hour.is_none() && change.end_hour.is_none() && change.timezone.is_none() && change.enabled.is_none() {
        return Err(AppError::field("custom", "", "At least one field is required"));
    }
    let start = hour("startHour", change.start_hour)?;
    let end = hour("endHour", change.end_hour)?;
    if let Some(zone) = &change.timezone
        && jiff::tz::TimeZone::get(zone).is_err()
    {
        return Err(AppError::field("invalid_value", "timezone", format!("timezone: `{zone}` is not an IANA time zone")));
    }
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let mut s = sleep_schedule(&mut *c).await?;
                if let Some(h) = start {
                    s.start_hour = h;
                }
                if let Some(h) = end {
                    s.end_hour = h;
                }
                if let Some(zone) = change.timezone {
                    s.timezone = zone;
                }
                if let Some(enabled) = change.enabled {
                    s.enabled = enabled;
                }
                if s.start_hour == s.end_hour {
                    return Err(AppError::field("custom", "endHour", "startHour and endHour must differ"));
                }
                save_sleep_schedule(c, &s, now).await?;
                Ok(s)
            })
        })
        .await
}

/// Blocks `task` (detectBlocked): the task and its agent become blocked and one `blocked`
/// alert is raised per blocked episode.
pub async fn block(
    conn: &mut WriteConn,
    agent: &mut Agent,
    task: &mut AgentTask,
    source: BlockSource,
    reason: &str,
    now: i64,
) -> AppResult<()> {
    let already_blocked = task.status == AgentTaskStatus::Blocked;
    task.status = AgentTaskStatus::Blocked;
    task.blocked_reason = Some(format!("[{}] {reason}", source.as_str()));
    if !already_blocked || task.blocked_at.is_none() {
        task.blocked_at = Some(now);
    }
    task.updated_at = now;
    agents::save_task(conn, task).await?;
    agent.status = AgentStatus::Blocked;
    agent.current_task_id = Some(task.id.clone());
    agents::save(conn, agent).await?;
    let alert = NewAlert {
        trigger: Trigger::Blocked,
        agent_id: agent.id.clone(),
        task_id: Some(task.id.clone()),
        title: Some(task.title.clone()),
        priority: task.priority,
        reason: Some(reason.to_string()),
        project: task.project_id.clone(),
        since: task.blocked_at,
        approval_id: None,
    };
    let episode = task.blocked_at.unwrap_or(now);
    alerts::raise(conn, &alert, &format!("blocked:{}:{}:{episode}", agent.id, task.id), now).await?;
    let payload = json!({"agentId": agent.id, "action": "blocked", "taskId": task.id, "reason": reason, "source": source});
    announce(conn, task.project_id.as_deref(), payload, now).await?;
    Ok(())
}

/// Puts the agent to sleep (triggerSleep) unless it is already asleep or offline.
pub async fn sleep(conn: &mut WriteConn, agent: &mut Agent, reason: &str, detail: Option<&str>, now: i64) -> AppResult<()> {
    if agent.status == AgentStatus::Sleeping || agent.status == AgentStatus::Offline {
        return Ok(());
    }
    agent.status = AgentStatus::Sleeping;
    agents::save(conn, agent).await?;
    agents::set_sleep_reason(conn, &agent.id, Some(reason)).await?;
    let mut payload = json!({"agentId": agent.id, "action": "sleep", "reason": reason});
    if let Some(detail) = detail {
        payload["detail"] = Value::from(detail);
    }
    announce(conn, agent.project_id.as_deref(), payload, now).await?;
    Ok(())
}

/// Wakes a sleeping agent (decisions.md#sleep-window); others are left alone. Returns whether it woke.
pub async fn wake(conn: &mut WriteConn, agent: &mut Agent, reason: &str, now: i64) -> AppResult<bool> {
    if agent.status != AgentStatus::Sleeping {
        return Ok(false);
    }
    agent.status = AgentStatus::Idle;
    agent.last_heartbeat = Some(now);
    agents::save(conn, agent).await?;
    agents::set_sleep_reason(conn, &agent.id, None).await?;
    announce(conn, agent.project_id.as_deref(), json!({"agentId": agent.id, "action": "wake", "reason": reason}), now).await?;
    Ok(true)
}

/// Counts an error of `task` (recordError) and raises an `error` alert (fixes decisions.md#agent-errors). Returns
/// whether the error blocked the task.
/// `message` is what the agent said went wrong; without one the alert counts the errors.
pub async fn record_error(
    conn: &mut WriteConn,
    agent: &mut Agent,
    task: &mut AgentTask,
    message: Option<&str>,
    now: i64,
) -> AppResult<bool> {
    let current = error_windows::get(conn, &agent.id, &task.id).await?;
    let (window, verdict) = count_error(current, now);
    error_windows::put(conn, &agent.id, &task.id, window).await?;
    let alert = NewAlert {
        trigger: Trigger::Error,
        agent_id: agent.id.clone(),
        task_id: Some(task.id.clone()),
        title: Some(task.title.clone()),
        priority: task.priority,
        reason: Some(message.map_or_else(|| format!("error {} of the last 10 minutes", window.count), str::to_string)),
        project: task.project_id.clone(),
        since: None,
        approval_id: None,
    };
    let key = format!("error:{}:{}:{}:{}", agent.id, task.id, window.first_error_at, window.count);
    alerts::raise(conn, &alert, &key, now).await?;
    match verdict {
        ErrorVerdict::Counted => Ok(false),
        ErrorVerdict::Block { reason } => {
            block(conn, agent, task, BlockSource::RepeatedErrors, &reason, now).await?;
            Ok(true)
        }
        ErrorVerdict::BlockAndSleep { reason, detail } => {
            block(conn, agent, task, BlockSource::RepeatedErrors, &reason, now).await?;
            sleep(conn, agent, "error_threshold", Some(&detail), now).await?;
            Ok(true)
        }
    }
}

/// Completes `task` (completeTask, decisions.md#completion). Completing a completed task changes nothing (decisions.md#completion).
pub async fn complete(conn: &mut WriteConn, agent: &mut Agent, task: &mut AgentTask, now: i64) -> AppResult<()> {
    if task.status == AgentTaskStatus::Completed {
        return Ok(());
    }
    task.status = AgentTaskStatus::Completed;
    task.completed_at = Some(now);
    task.updated_at = now;
    agents::save_task(conn, task).await?;
    alerts::cancel_pending(conn, &agent.id, &task.id).await?;
    error_windows::clear(conn, &agent.id, &task.id).await?;
    let pending_left = agents::has_pending_tasks(conn, &agent.id).await?;
    let in_window = sleep_schedule(&mut *conn).await?.contains(now);
    agent.current_task_id = None;
    match after_completion(pending_left, in_window) {
        AfterCompletion::ClearCurrent => agents::save(conn, agent).await?,
        AfterCompletion::Idle => {
            agent.status = AgentStatus::Idle;
            agents::save(conn, agent).await?;
        }
        AfterCompletion::Sleep => {
            agents::save(conn, agent).await?;
            sleep(conn, agent, "schedule", Some("Sleep window active, no pending tasks"), now).await?;
        }
    }
    let alert = NewAlert {
        trigger: Trigger::Completed,
        agent_id: agent.id.clone(),
        task_id: Some(task.id.clone()),
        title: Some(task.title.clone()),
        priority: task.priority,
        reason: None,
        project: task.project_id.clone(),
        since: None,
        approval_id: None,
    };
    alerts::raise(conn, &alert, &format!("completed:{}:{}", agent.id, task.id), now).await?;
    linear_issue_done(conn, task, now).await?;
    announce(conn, task.project_id.as_deref(), json!({"agentId": agent.id, "action": "task_completed", "taskId": task.id}), now).await?;
    Ok(())
}

/// A finished task that worked a Linear issue: the issue may move to done in Linear (the
/// `linear:done:<issue>` timer; service/linear/assign.rs decides when it runs). Every path
/// that completes a task calls this.
pub async fn linear_issue_done(conn: &mut WriteConn, task: &AgentTask, now: i64) -> AppResult<()> {
    if let Some(issue) = task.linear_issue_id.as_deref().filter(|i| !i.is_empty()) {
        crate::db::timers::schedule_once(conn, &crate::domain::linear::done_timer(issue), now, now).await?;
    }
    Ok(())
}

/// Back to work on a blocked task: the task is in progress again and its pending alerts
/// are cancelled (fixes decisions.md#alerts).
pub async fn resume(conn: &mut WriteConn, agent: &mut Agent, task: &mut AgentTask, now: i64) -> AppResult<()> {
    task.status = AgentTaskStatus::InProgress;
    task.blocked_reason = None;
    task.blocked_at = None;
    task.started_at = task.started_at.or(Some(now));
    task.updated_at = now;
    agents::save_task(conn, task).await?;
    alerts::cancel_pending(conn, &agent.id, &task.id).await?;
    agent.status = AgentStatus::Working;
    agent.current_task_id = Some(task.id.clone());
    agents::save(conn, agent).await?;
    Ok(())
}

/// `stop`: the tasks in progress are cancelled and the agent goes offline.
pub async fn stop(conn: &mut WriteConn, agent: &mut Agent, now: i64) -> AppResult<()> {
    for mut task in agents::tasks_in(conn, &agent.id, AgentTaskStatus::InProgress.as_str()).await? {
        task.status = AgentTaskStatus::Cancelled;
        task.completed_at = Some(now);
        task.updated_at = now;
        agents::save_task(conn, &task).await?;
    }
    agent.status = AgentStatus::Offline;
    agent.current_task_id = None;
    agents::save(conn, agent).await?;
    Ok(())
}

/// `restart`, durable without any workflow engine (decisions.md#stop-and-restart): the newest
/// unfinished task is taken up again; with none the agent is simply idle.
pub async fn restart(conn: &mut WriteConn, agent: &mut Agent, now: i64) -> AppResult<()> {
    let statuses = [AgentTaskStatus::InProgress.as_str(), AgentTaskStatus::Blocked.as_str(), AgentTaskStatus::Pending.as_str()];
    match agents::newest_task_in(conn, &agent.id, &statuses).await? {
        Some(mut task) => resume(conn, agent, &mut task, now).await?,
        None => {
            agent.status = AgentStatus::Idle;
            agent.current_task_id = None;
            agents::save(conn, agent).await?;
        }
    }
    agents::set_sleep_reason(conn, &agent.id, None).await?;
    Ok(())
}

/// Stores a new pending task of `agent_id` and records its project.
pub async fn insert_pending(conn: &mut WriteConn, task: AgentTask, now: i64) -> AppResult<AgentTask> {
    agents::insert_task(conn, &task).await?;
    crate::db::projects::ensure(conn, task.project_id.as_deref(), now).await?;
    Ok(task)
}

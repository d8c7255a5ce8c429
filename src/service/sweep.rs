//! The lifecycle sweep, run by the scheduler (decisions.md#agent-lifecycle; a periodic scan with explicit thresholds, fixing decisions.md#silence): silent
//! working agents are blocked, agents idle too long with pending work and tasks blocked too
//! long raise one alert each, and the sleep window's edges put agents to sleep and wake them
//! (decisions.md#sleep-window). Every candidate is re-checked inside its write unit, and every alert is keyed, so a
//! sweep that runs twice changes nothing the second time.

use crate::db::WriteConn;

use crate::db::agents::{self, AgentTask};
use crate::db::alerts::{self, NewAlert};
use crate::db::{settings, sweeps};
use crate::domain::Priority;
use crate::domain::agents::{
    AgentStatus, AgentTaskStatus, BlockSource, IDLE_TOO_LONG_SECS, INGEST_TOOLS, SILENT_BLOCK_SECS, STALE_SECS, silent_since,
};
use crate::domain::alerts::Trigger;
use crate::error::AppResult;
use crate::service::lifecycle;
use crate::state::App;

const WINDOW_STATE_KEY: &str = "sleep_window_active";

pub async fn run(app: &App, now: i64) -> AppResult<()> {
    sleep_window_edges(app, now).await?;
    app.db.write(move |c| Box::pin(async move { Ok(crate::db::commands::expire_due(c, now).await?) })).await?;
    crate::service::approvals::expire_due(app).await?;
    let silent = sweeps::silent_working(&app.db.read, now - SILENT_BLOCK_SECS).await?;
    for id in silent {
        app.db.write(move |c| Box::pin(async move { block_if_silent(c, &id, now).await })).await?;
    }
    let idle = sweeps::idle_with_pending(&app.db.read, now - IDLE_TOO_LONG_SECS).await?;
    for id in idle {
        app.db.write(move |c| Box::pin(async move { alert_idle_too_long(c, &id, now).await })).await?;
    }
    for id in crate::db::workflows::open_ids(&app.db.read).await? {
        super::workflows::advance_by_id(app, id, now).await?;
    }
    let stalled = sweeps::without_progress(&app.db.read, now - app.config.stall_after_seconds as i64).await?;
    let stall_after = app.config.stall_after_seconds as i64;
    for id in stalled {
        app.db.write(move |c| Box::pin(async move { alert_stalled(c, &id, now, stall_after).await })).await?;
    }
    let stale = sweeps::blocked_since(&app.db.read, now - STALE_SECS).await?;
    for id in stale {
        app.db.write(move |c| Box::pin(async move { alert_stale(c, &id, now).await })).await?;
    }
    integration_sessions(app, now).await
}

/// Agents of integrations (K29): silent past `AGENT_OFFLINE_AFTER_SECONDS` they go offline (a
/// session that ended without saying so); offline past `AGENT_RETENTION_DAYS` they are removed,
/// sub-agents first (their todos and the event log stay).
async fn integration_sessions(app: &App, now: i64) -> AppResult<()> {
    let silent_since = now.saturating_sub(app.config.agent_offline_after_seconds as i64);
    for id in sweeps::ingest_agents(&app.db.read, INGEST_TOOLS, false, silent_since).await? {
        let patch = crate::service::registry::AgentPatch::status(AgentStatus::Offline);
        crate::service::registry::update(app, id, patch).await?;
    }
    let gone_since = now.saturating_sub(app.config.agent_retention_days.saturating_mul(86_400) as i64);
    for id in sweeps::ingest_agents(&app.db.read, INGEST_TOOLS, true, gone_since).await? {
        // A parent whose sub-agents are not all gone yet is removed on a later sweep.
        if let Err(e) = crate::service::registry::delete(app, id.clone()).await {
            tracing::debug!(agent = %id, error = %e, "integration agent kept for now");
        }
    }
    Ok(())
}

async fn block_if_silent(c: &mut WriteConn, agent_id: &str, now: i64) -> AppResult<()> {
    let Some(mut agent) = agents::get(c, agent_id).await? else { return Ok(()) };
    if agent.status != AgentStatus::Working {
        return Ok(());
    }
    let Some(task_id) = agent.current_task_id.clone() else { return Ok(()) };
    let Some(mut task) = agents::get_task(c, &task_id).await? else { return Ok(()) };
    let age = now - silent_since(agent.last_heartbeat, agent.created_at, task.started_at);
    if task.status != AgentTaskStatus::InProgress || age <= SILENT_BLOCK_SECS {
        return Ok(());
    }
    let minutes = age / 60;
    let reason = format!("Agent idle for {minutes} minutes with in_progress task");
    lifecycle::block(c, &mut agent, &mut task, BlockSource::Idle, &reason, now).await
}

async fn alert_idle_too_long(c: &mut WriteConn, agent_id: &str, now: i64) -> AppResult<()> {
    let Some(agent) = agents::get(c, agent_id).await? else { return Ok(()) };
    let since = agent.last_heartbeat.unwrap_or(agent.created_at);
    if now - since <= IDLE_TOO_LONG_SECS || agent.status == AgentStatus::Sleeping || agent.status == AgentStatus::Offline {
        return Ok(());
    }
    let Some(task) = agents::newest_task_in(c, agent_id, &[AgentTaskStatus::Pending.as_str()]).await? else { return Ok(()) };
    let alert =
        alert_for(Trigger::IdleTooLong, &task, Some(format!("no report for {} minutes with pending tasks", (now - since) / 60)), since);
    alerts::raise(c, &alert, &format!("idle_too_long:{agent_id}:{since}"), now).await?;
    Ok(())
}

/// One `stalled` alert each time a working agent stops making real progress (decisions.md#stalls-and-usage).
async fn alert_stalled(c: &mut WriteConn, agent_id: &str, now: i64, stall_after: i64) -> AppResult<()> {
    let Some(agent) = agents::get(c, agent_id).await? else { return Ok(()) };
    if !crate::domain::agents::is_stalled(agent.status, agent.last_activity_at, agent.created_at, now, stall_after) {
        return Ok(());
    }
    let since = agent.last_activity_at.unwrap_or(agent.created_at);
    let task = match &agent.current_task_id {
        Some(id) => agents::get_task(c, id).await?,
        None => None,
    };
    let alert = NewAlert {
        trigger: Trigger::Stalled,
        agent_id: agent.id.clone(),
        task_id: task.as_ref().map(|t| t.id.clone()),
        title: task.as_ref().map(|t| t.title.clone()),
        priority: task.as_ref().map_or(Priority::Medium, |t| t.priority),
        reason: Some(format!("no progress for {} minutes while working", (now - since) / 60)),
        project: task.and_then(|t| t.project_id),
        since: Some(since),
        approval_id: None,
    };
    alerts::raise(c, &alert, &format!("stalled:{}:{since}", agent.id), now).await?;
    Ok(())
}

async fn alert_stale(c: &mut WriteConn, task_id: &str, now: i64) -> AppResult<()> {
    let Some(task) = agents::get_task(c, task_id).await? else { return Ok(()) };
    let Some(blocked_at) = task.blocked_at.filter(|at| task.status == AgentTaskStatus::Blocked && now - at > STALE_SECS) else {
        return Ok(());
    };
    let alert = alert_for(Trigger::StaleTask, &task, task.blocked_reason.clone(), blocked_at);
    alerts::raise(c, &alert, &format!("stale:{}:{}:{blocked_at}", task.agent_id, task.id), now).await?;
    Ok(())
}

fn alert_for(trigger: Trigger, task: &AgentTask, reason: Option<String>, since: i64) -> NewAlert {
    NewAlert {
        trigger,
        since: Some(since),
        approval_id: None,
        agent_id: task.agent_id.clone(),
        task_id: Some(task.id.clone()),
        title: Some(task.title.clone()),
        priority: task.priority,
        reason,
        project: task.project_id.clone(),
    }
}

/// At the window's start idle agents with nothing pending sleep (reason `schedule`); at its
/// end the agents asleep for that reason wake. The last seen edge is stored, so a restart
/// in the middle of the window neither repeats nor misses an edge.
async fn sleep_window_edges(app: &App, now: i64) -> AppResult<()> {
    app.db
        .write(move |c| {
            Box::pin(async move {
                let inside = lifecycle::sleep_schedule(&mut *c).await?.contains(now);
                let was_inside = settings::get(&mut *c, WINDOW_STATE_KEY).await?.as_deref() == Some("1");
                if inside == was_inside {
                    return Ok(());
                }
                settings::put(c, WINDOW_STATE_KEY, if inside { "1" } else { "0" }, now).await?;
                if inside {
                    let idle = sweeps::idle_without_pending(c).await?;
                    for id in idle {
                        if let Some(mut agent) = agents::get(c, &id).await? {
                            lifecycle::sleep(c, &mut agent, "schedule", Some("Sleep window started"), now).await?;
                        }
                    }
                } else {
                    let sleepers = sweeps::asleep_on_schedule(c).await?;
                    for id in sleepers {
                        if let Some(mut agent) = agents::get(c, &id).await? {
                            lifecycle::wake(c, &mut agent, "schedule", now).await?;
                        }
                    }
                }
                Ok(())
            })
        })
        .await
}

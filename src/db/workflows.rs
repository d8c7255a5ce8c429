//! Workflow rows (decisions.md#workflow): one per (agent, task), status per decisions.md#workflow, `result` once finished.

use serde::Serialize;
use serde_json::json;
use sqlx::AnyConnection;

use super::agents::announce;
use super::agents::{self, AgentTask};
use super::alerts::{self, NewAlert};
use crate::domain::agents::{AgentStatus, AgentTaskStatus};
use crate::error::AppResult;

const COLUMNS: &str = "id, run_id, agent_id, task_id, title, priority, status, result, sleep_until, created_at, updated_at";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Workflow {
    pub id: String,
    pub run_id: String,
    pub agent_id: String,
    pub task_id: String,
    pub title: String,
    pub priority: String,
    pub status: String,
    pub result: Option<String>,
    pub sleep_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub fn id_of(agent_id: &str, task_id: &str) -> String {
    format!("agent-task-{agent_id}-{task_id}")
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<Workflow>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {COLUMNS} FROM workflows WHERE id = $1")).bind(id).fetch_optional(&mut *conn).await
}

/// Workflows still running (no result yet).
pub async fn open_ids(pool: &sqlx::AnyPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM workflows WHERE result IS NULL").fetch_all(pool).await
}

/// Inserts or restarts the row for this (agent, task).
pub async fn put(conn: &mut AnyConnection, w: &Workflow) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM workflows WHERE id = $1").bind(&w.id).execute(&mut *conn).await?;
    sqlx::query(sql!("INSERT INTO workflows ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"))
        .bind(&w.id)
        .bind(&w.run_id)
        .bind(&w.agent_id)
        .bind(&w.task_id)
        .bind(&w.title)
        .bind(&w.priority)
        .bind(&w.status)
        .bind(&w.result)
        .bind(w.sleep_until)
        .bind(w.created_at)
        .bind(w.updated_at)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

pub async fn save(conn: &mut AnyConnection, w: &Workflow) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE workflows SET status = $2, result = $3, sleep_until = $4, updated_at = $5 WHERE id = $1")
        .bind(&w.id)
        .bind(&w.status)
        .bind(&w.result)
        .bind(w.sleep_until)
        .bind(w.updated_at)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

/// How long a workflow waits for `wake` before it gives up (decisions.md#workflow).
pub const SLEEP_TIMEOUT_SECS: i64 = 24 * 3600;

/// "Report": the agent's (and task's) state as the workflow sees it, on the stream.
async fn report(c: &mut AnyConnection, w: &Workflow, task: &AgentTask, now: i64) -> AppResult<()> {
    let payload = json!({"agentId": w.agent_id, "status": w.status, "taskId": w.task_id, "taskStatus": task.status});
    announce(c, task.project_id.as_deref(), payload, now).await?;
    Ok(())
}

/// Ends the workflow: agent offline, task cancelled, result `cancelled` (decisions.md#workflow step 4).
pub async fn finish_cancelled(c: &mut AnyConnection, w: &mut Workflow, status: &str, now: i64) -> AppResult<()> {
    if let Some(mut task) = agents::get_task(c, &w.task_id).await? {
        if task.status != AgentTaskStatus::Completed.as_str() {
            task.status = AgentTaskStatus::Cancelled.as_str().into();
            task.completed_at = Some(now);
            task.updated_at = now;
            agents::save_task(c, &task).await?;
        }
        alerts::cancel_pending(c, &w.agent_id, &w.task_id).await?;
        if let Some(mut agent) = agents::get(c, &w.agent_id).await? {
            agent.status = AgentStatus::Offline.as_str().into();
            agent.current_task_id = None;
            agents::save(c, &agent).await?;
        }
        w.status = status.into();
        w.result = Some("cancelled".into());
        w.updated_at = now;
        save(c, w).await?;
        report(c, w, &task, now).await?;
    }
    Ok(())
}

/// One poll of the workflow loop: derives its status from the task and agent, ends it when
/// the task finished, and gives up a sleep that was never woken.
pub async fn advance(c: &mut AnyConnection, w: &mut Workflow, now: i64) -> AppResult<()> {
    if w.result.is_some() {
        return Ok(());
    }
    let agent = agents::get(c, &w.agent_id).await?;
    let task = agents::get_task(c, &w.task_id).await?;
    let (Some(mut agent), Some(task)) = (agent, task) else {
        w.status = "error".into();
        w.result = Some("error".into());
        w.updated_at = now;
        return Ok(save(c, w).await?);
    };
    let asleep = agent.status == AgentStatus::Sleeping.as_str();
    if asleep && w.sleep_until.is_some_and(|until| until <= now) {
        return finish_cancelled(c, w, "idle", now).await;
    }
    let (status, result) = match AgentTaskStatus::parse(&task.status) {
        Some(AgentTaskStatus::Completed) => ("completed", Some("completed")),
        Some(AgentTaskStatus::Cancelled) => ("error", Some("error")),
        Some(AgentTaskStatus::Blocked) => ("blocked", None),
        _ if asleep => ("sleeping", None),
        _ => ("working", None),
    };
    if result == Some("error") {
        // Cancelled outside the workflow: the agent stops working on it and an error alert is raised.
        if agent.current_task_id.as_deref() == Some(task.id.as_str()) {
            agent.status = AgentStatus::Idle.as_str().into();
            agent.current_task_id = None;
            agents::save(c, &agent).await?;
        }
        let alert = NewAlert {
            kind: "error",
            agent_id: w.agent_id.clone(),
            task_id: Some(w.task_id.clone()),
            title: Some(w.title.clone()),
            priority: w.priority.clone(),
            reason: Some("Task cancelled externally".into()),
            project: task.project_id.clone(),
        };
        alerts::raise(c, &alert, &format!("workflow-error:{}:{}", w.id, w.run_id), now).await?;
    }
    if w.status != status || result.is_some() {
        w.status = status.into();
        w.result = result.map(String::from);
        if status != "sleeping" {
            w.sleep_until = None;
        }
        w.updated_at = now;
        save(c, w).await?;
        report(c, w, &task, now).await?;
    }
    Ok(())
}

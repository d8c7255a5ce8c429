//! Raised alerts (docs/decisions.md#alerting): lifecycle rules record a candidate in
//! `alert_events` (deduplicated by key, so a retried rule never raises twice), announce it as
//! `alert:raised`, and in the same unit schedule one pending alert per matching rule.

use serde::Serialize;
use serde_json::json;

use super::events::{self, NewEvent};
use super::{alert_queue, alert_rules};
use crate::db::WriteConn;
use crate::domain::Priority;
use crate::domain::alerts::Trigger;

#[derive(Debug, Clone, Serialize)]
pub struct NewAlert {
    pub trigger: Trigger,
    pub agent_id: String,
    pub task_id: Option<String>,
    pub title: Option<String>,
    pub priority: Priority,
    pub reason: Option<String>,
    pub project: Option<String>,
    /// When the condition began (seconds): a block's start, the last report before a silence
    /// or a stall. It counts toward the rule's delay and must still hold when the alert fires.
    #[serde(skip)]
    pub since: Option<i64>,
    /// The approval an `approval_needed` alert is about.
    #[serde(rename = "approvalId", skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
}

/// Records the alert unless one with `dedupe_key` exists and schedules it for every matching
/// rule; returns whether it was new.
pub async fn raise(conn: &mut WriteConn, alert: &NewAlert, dedupe_key: &str, now: i64) -> Result<bool, sqlx::Error> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO alert_events (kind, agent_id, task_id, title, priority, reason, project, dedupe_key, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
    )
    .bind(alert.trigger)
    .bind(&alert.agent_id)
    .bind(&alert.task_id)
    .bind(&alert.title)
    .bind(alert.priority)
    .bind(&alert.reason)
    .bind(&alert.project)
    .bind(dedupe_key)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(id) = id else { return Ok(false) };
    let rules = alert_rules::list(&mut *conn).await?;
    for rule in rules.iter().filter(|r| r.matches(alert.trigger, alert.priority)) {
        alert_queue::schedule(conn, rule, alert, now * 1000).await?;
    }
    events::append(conn, now, NewEvent::new("alert:raised", alert.project.as_deref(), &json!({"alert": alert, "id": id}))).await?;
    Ok(true)
}

/// Cancels the task's alerts that were not delivered yet (unblock or completion, fixes D22).
pub async fn cancel_pending(conn: &mut WriteConn, agent_id: &str, task_id: &str) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("UPDATE alert_events SET status = 'cancelled' WHERE agent_id = $1 AND task_id = $2 AND status = 'pending'")
        .bind(agent_id)
        .bind(task_id)
        .execute(&mut *conn)
        .await?;
    alert_queue::cancel(conn, agent_id, task_id).await?;
    Ok(done.rows_affected())
}

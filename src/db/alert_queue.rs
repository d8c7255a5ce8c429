//! The `alerts` table: alerts scheduled by rules, waiting for their due time (durable timers,
//! docs/decisions.md#alerting), and the record of each one that fired.

use crate::db::WriteConn;
use crate::domain::Priority;
use crate::domain::alerts::{self, AlertChannel, AlertFacts, AlertRule, BATCH_RULE, HOUR_MS, Resolved};

use super::alerts::NewAlert;

/// A scheduled alert as the engine reads it when it comes due.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueAlert {
    pub id: i64,
    pub rule_id: String,
    #[sqlx(flatten)]
    pub facts: AlertFacts,
    pub since: Option<i64>,
    pub batched: i64,
    pub wanted_channel: AlertChannel,
    /// The approval an `approval_needed` alert is about.
    pub approval_id: Option<String>,
}

const DUE_COLUMNS: &str =
    "id, rule_id, trigger, agent_id, task_id, title, priority, reason, project AS project_id, since, batched, wanted_channel, approval_id";

/// Schedules `alert` for `rule` (api-compat §17 step 2): a pending alert with the same key is
/// superseded; high completions skip the batch rule; batched completions share the due time of
/// the batch that is already waiting.
pub async fn schedule(conn: &mut WriteConn, rule: &AlertRule, alert: &NewAlert, now_ms: i64) -> Result<(), sqlx::Error> {
    let batched = rule.id == BATCH_RULE;
    if batched && alert.priority == Priority::High {
        return Ok(());
    }
    // One pending alert per rule and subject: the task, or the approval.
    let subject = alert.task_id.as_deref().or(alert.approval_id.as_deref()).unwrap_or("");
    let key = format!("{}:{}:{subject}", rule.id, alert.agent_id);
    let due = if batched {
        let waiting: Option<i64> = sqlx::query_scalar("SELECT MIN(due_ms) FROM alerts WHERE rule_id = $1 AND status = 'pending'")
            .bind(BATCH_RULE)
            .fetch_one(&mut *conn)
            .await?;
        waiting.unwrap_or(now_ms + rule.delay_ms)
    } else {
        sqlx::query("UPDATE alerts SET status = 'superseded' WHERE pending_key = $1 AND status = 'pending'")
            .bind(&key)
            .execute(&mut *conn)
            .await?;
        alerts::due_ms(alert.trigger, now_ms, alert.since, rule.delay_ms)
    };
    sqlx::query(
        "INSERT INTO alerts (rule_id, trigger, agent_id, task_id, title, priority, reason, project, since, pending_key, batched, \
         due_ms, status, wanted_channel, created_at, approval_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', $13, $14, $15)",
    )
    .bind(&rule.id)
    .bind(alert.trigger)
    .bind(&alert.agent_id)
    .bind(&alert.task_id)
    .bind(&alert.title)
    .bind(alert.priority)
    .bind(&alert.reason)
    .bind(&alert.project)
    .bind(alert.since)
    .bind(&key)
    .bind(i64::from(batched))
    .bind(due)
    .bind(rule.channel)
    .bind(now_ms / 1000)
    .bind(&alert.approval_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Cancels the pending alerts of a task whose condition cleared (unblocked, completed, cancelled).
pub async fn cancel(conn: &mut WriteConn, agent_id: &str, task_id: &str) -> Result<u64, sqlx::Error> {
    let done =
        sqlx::query("UPDATE alerts SET status = 'cancelled' WHERE agent_id = $1 AND task_id = $2 AND status = 'pending' AND batched = 0")
            .bind(agent_id)
            .bind(task_id)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected())
}

/// The id of the pending alert due first at `now_ms` (read without the writer; the writer's
/// unit checks it is still pending before firing it).
pub async fn next_due_id(pool: &sqlx::AnyPool, now_ms: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM alerts WHERE status = 'pending' AND due_ms <= $1 ORDER BY due_ms, id LIMIT 1")
        .bind(now_ms)
        .fetch_optional(pool)
        .await
}

/// Alert `id` if it is pending and due. Read inside the writer's unit: the writer (and on
/// PostgreSQL the events lock every writer takes) makes this the only reader that can fire
/// it, so each alert fires once across replicas.
pub async fn pending_due(conn: &mut WriteConn, id: i64, now_ms: i64) -> Result<Option<DueAlert>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {DUE_COLUMNS} FROM alerts WHERE id = $1 AND status = 'pending' AND due_ms <= $2"))
        .bind(id)
        .bind(now_ms)
        .fetch_optional(&mut *conn)
        .await
}

/// Every batched completion that is due (they leave together, however many).
pub async fn due_batch(conn: &mut WriteConn, now_ms: i64) -> Result<Vec<DueAlert>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {DUE_COLUMNS} FROM alerts WHERE status = 'pending' AND batched = 1 AND due_ms <= $1 ORDER BY id"))
        .bind(now_ms)
        .fetch_all(&mut *conn)
        .await
}

/// An alert whose firing failed: kept as `failed` (and logged) instead of blocking the queue.
pub async fn set_aside(conn: &mut WriteConn, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE alerts SET status = 'failed' WHERE id = $1 AND status = 'pending'").bind(id).execute(&mut *conn).await.map(|_| ())
}

/// The earliest due time of a pending alert (the engine sleeps until then).
pub async fn next_due(pool: &sqlx::AnyPool) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT MIN(due_ms) FROM alerts WHERE status = 'pending'").fetch_one(pool).await
}

/// A due alert whose condition no longer holds: it never fires.
pub async fn drop_cleared(conn: &mut WriteConn, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE alerts SET status = 'cancelled' WHERE id = $1").bind(id).execute(&mut *conn).await.map(|_| ())
}

/// Marks an alert fired, with the channel it went to and its feed message.
pub async fn mark_fired(conn: &mut WriteConn, id: i64, resolved: Resolved, message_id: i64, now_ms: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE alerts SET status = 'fired', channel = $1, held = $2, message_id = $3, fired_ms = $4 WHERE id = $5")
        .bind(resolved.channel)
        .bind(resolved.held.map(|h| h.as_str()))
        .bind(message_id)
        .bind(now_ms)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

/// What the channel resolution needs: alerts fired in the trailing minute, and pushes of the
/// trailing hour, overall and for `agent_id` (a batch counts once: it is one message).
pub async fn recent_counts(conn: &mut WriteConn, agent_id: &str, now_ms: i64) -> Result<(i64, i64, i64), sqlx::Error> {
    let recent: i64 = sqlx::query_scalar(
        "SELECT COUNT(DISTINCT CASE WHEN batched = 1 THEN -message_id ELSE id END) FROM alerts WHERE status = 'fired' AND fired_ms > $1 \
         AND trigger <> 'approval_needed'",
    )
    .bind(now_ms - alerts::DIGEST_WINDOW_MS)
    .fetch_one(&mut *conn)
    .await?;
    let (overall, for_agent): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(DISTINCT CASE WHEN batched = 1 THEN -message_id ELSE id END), \
         COUNT(DISTINCT CASE WHEN agent_id = $1 THEN (CASE WHEN batched = 1 THEN -message_id ELSE id END) END) FROM alerts \
         WHERE status = 'fired' AND fired_ms > $2 AND channel IN ('push', 'both') AND trigger <> 'approval_needed'",
    )
    .bind(agent_id)
    .bind(now_ms - HOUR_MS)
    .fetch_one(&mut *conn)
    .await?;
    Ok((recent, overall, for_agent))
}

/// Alerts held for the digest whose window (a minute from the first of them) has ended,
/// marked sent; empty while the window is still open.
pub async fn take_digest(conn: &mut WriteConn, now_ms: i64) -> Result<Vec<DueAlert>, sqlx::Error> {
    match digest_due(&mut *conn).await? {
        Some(due) if due <= now_ms => {}
        _ => return Ok(Vec::new()),
    }
    let rows = sqlx::query_as(sql!("SELECT {DUE_COLUMNS} FROM alerts WHERE held = 'digest' AND digest_sent = 0 ORDER BY fired_ms, id"))
        .fetch_all(&mut *conn)
        .await?;
    sqlx::query("UPDATE alerts SET digest_sent = 1 WHERE held = 'digest' AND digest_sent = 0").execute(&mut *conn).await?;
    Ok(rows)
}

/// When the open digest window ends (a minute after its first held alert), if one is open.
pub async fn digest_due(conn: impl sqlx::Executor<'_, Database = sqlx::Any>) -> Result<Option<i64>, sqlx::Error> {
    let first: Option<i64> =
        sqlx::query_scalar("SELECT MIN(fired_ms) FROM alerts WHERE held = 'digest' AND digest_sent = 0").fetch_one(conn).await?;
    Ok(first.map(|f| f + alerts::DIGEST_WINDOW_MS))
}

/// Deletes up to `limit` settled alerts created before `cutoff` (seconds): fired, cancelled or
/// superseded ones whose digest, if any, went out. Pending alerts always stay.
pub async fn delete_older_than(conn: &mut WriteConn, cutoff: i64, limit: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts WHERE created_at < $1 AND status <> 'pending' \
         AND (COALESCE(held, '') <> 'digest' OR digest_sent = 1) ORDER BY id LIMIT $2)",
    )
    .bind(cutoff)
    .bind(limit)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

//! The alert rules table (api-compat §14 and §17).

use crate::db::WriteConn;
use crate::domain::alerts::{AlertChannel, AlertRule, DEFAULT_RULES};

const COLUMNS: &str = "id, trigger, priority_filter, delay_ms, channel, enabled, created_at, updated_at";

/// Every rule, in the original's order: trigger, delay, id.
pub async fn list(conn: impl sqlx::Executor<'_, Database = sqlx::Any>) -> Result<Vec<AlertRule>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {COLUMNS} FROM alert_rules ORDER BY trigger, delay_ms, id")).fetch_all(conn).await
}

pub async fn get(conn: impl sqlx::Executor<'_, Database = sqlx::Any>, id: &str) -> Result<Option<AlertRule>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {COLUMNS} FROM alert_rules WHERE id = $1")).bind(id).fetch_optional(conn).await
}

/// The fields a person may change; `None` keeps the stored value.
#[derive(Debug, Default, Clone)]
pub struct RuleChange {
    pub delay_ms: Option<i64>,
    pub channel: Option<AlertChannel>,
    pub enabled: Option<i64>,
}

pub async fn update(conn: &mut WriteConn, id: &str, change: &RuleChange, now: i64) -> Result<Option<AlertRule>, sqlx::Error> {
    sqlx::query_as(sql!(
        "UPDATE alert_rules SET delay_ms = COALESCE($1, delay_ms), channel = COALESCE($2, channel), \
         enabled = COALESCE($3, enabled), updated_at = $4 WHERE id = $5 RETURNING {COLUMNS}"
    ))
    .bind(change.delay_ms)
    .bind(change.channel)
    .bind(change.enabled)
    .bind(now)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
}

/// Removes a rule; returns whether it existed.
pub async fn delete(conn: &mut WriteConn, id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM alert_rules WHERE id = $1").bind(id).execute(&mut *conn).await?;
    Ok(done.rows_affected() > 0)
}

/// Writes the default rules with their default values; other rules are left alone.
pub async fn put_defaults(conn: &mut WriteConn, now: i64) -> Result<(), sqlx::Error> {
    for (id, trigger, filter, delay_ms, channel) in DEFAULT_RULES {
        sqlx::query(
            "INSERT INTO alert_rules (id, trigger, priority_filter, delay_ms, channel, enabled, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 1, $6, $7) ON CONFLICT (id) DO UPDATE SET trigger = $8, priority_filter = $9, \
             delay_ms = $10, channel = $11, enabled = 1, updated_at = $12",
        )
        .bind(*id)
        .bind(*trigger)
        .bind(*filter)
        .bind(*delay_ms)
        .bind(*channel)
        .bind(now)
        .bind(now)
        .bind(*trigger)
        .bind(*filter)
        .bind(*delay_ms)
        .bind(*channel)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Seeds the defaults when there is no rule at all (the original's start-up rule): deleted
/// defaults come back only through a reset or an empty table.
pub async fn seed_if_empty(conn: &mut WriteConn, now: i64) -> Result<(), sqlx::Error> {
    let any: Option<String> = sqlx::query_scalar("SELECT id FROM alert_rules LIMIT 1").fetch_optional(&mut *conn).await?;
    if any.is_none() {
        put_defaults(conn, now).await?;
    }
    Ok(())
}

//! Steering commands (decisions.md#commands): queued → delivered → acknowledged | failed, or expired. Every
//! state change is an `agent:command` event, so people watch a command reach the agent.

use crate::db::WriteConn;
use serde::Serialize;
use serde_json::json;
use sqlx::AnyPool;

use super::events::{self, NewEvent};
use crate::domain::agents::{CommandKind, CommandStatus};

const COLUMNS: &str = "id, agent_id, kind, text, status, created_at, delivered_at, acked_at, detail, expires_at";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Command {
    pub id: String,
    pub agent_id: String,
    pub kind: CommandKind,
    pub text: Option<String>,
    pub status: CommandStatus,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
    pub acked_at: Option<i64>,
    pub detail: Option<String>,
    pub expires_at: i64,
}

/// An `agent:command` event in the agent's project (a project-filtered stream sees it).
async fn announce(conn: &mut WriteConn, c: &Command, now: i64) -> Result<(), sqlx::Error> {
    let project: Option<String> =
        sqlx::query_scalar("SELECT project_id FROM agents WHERE id = $1").bind(&c.agent_id).fetch_optional(&mut *conn).await?.flatten();
    events::append(conn, now, NewEvent::new("agent:command", project.as_deref(), &json!({ "command": c }))).await.map(|_| ())
}

pub async fn create(conn: &mut WriteConn, c: &Command) -> Result<(), sqlx::Error> {
    sqlx::query(sql!("INSERT INTO commands ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"))
        .bind(&c.id)
        .bind(&c.agent_id)
        .bind(c.kind)
        .bind(&c.text)
        .bind(c.status)
        .bind(c.created_at)
        .bind(c.delivered_at)
        .bind(c.acked_at)
        .bind(&c.detail)
        .bind(c.expires_at)
        .execute(&mut *conn)
        .await?;
    announce(conn, c, c.created_at).await
}

pub async fn get(conn: &mut WriteConn, id: &str) -> Result<Option<Command>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {COLUMNS} FROM commands WHERE id = $1")).bind(id).fetch_optional(&mut *conn).await
}

/// Commands of an agent, oldest first, optionally in one status.
pub async fn list(pool: &AnyPool, agent_id: &str, status: Option<&str>) -> Result<Vec<Command>, sqlx::Error> {
    match status {
        Some(s) => {
            sqlx::query_as(sql!("SELECT {COLUMNS} FROM commands WHERE agent_id = $1 AND status = $2 ORDER BY created_at, id"))
                .bind(agent_id)
                .bind(s)
                .fetch_all(pool)
                .await
        }
        None => {
            sqlx::query_as(sql!("SELECT {COLUMNS} FROM commands WHERE agent_id = $1 ORDER BY created_at, id"))
                .bind(agent_id)
                .fetch_all(pool)
                .await
        }
    }
}

/// Hands the agent its queued commands, and delivered ones not acknowledged within
/// `redeliver_after` seconds again; expired ones are expired instead. Returns what to send.
pub async fn deliver(conn: &mut WriteConn, agent_id: &str, now: i64, redeliver_after: i64) -> Result<Vec<Command>, sqlx::Error> {
    let due: Vec<Command> = sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM commands WHERE agent_id = $1 AND (status = 'queued' OR (status = 'delivered' AND delivered_at <= $2)) \
         ORDER BY created_at, id"
    ))
    .bind(agent_id)
    .bind(now - redeliver_after)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(due.len());
    for mut c in due {
        if c.expires_at <= now {
            c.status = CommandStatus::Expired;
            set_status(conn, &c, now).await?;
            continue;
        }
        c.status = CommandStatus::Delivered;
        c.delivered_at = Some(now);
        sqlx::query("UPDATE commands SET status = 'delivered', delivered_at = $2, deliveries = deliveries + 1 WHERE id = $1")
            .bind(&c.id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        announce(conn, &c, now).await?;
        out.push(c);
    }
    Ok(out)
}

async fn set_status(conn: &mut WriteConn, c: &Command, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE commands SET status = $2, acked_at = $3, detail = $4 WHERE id = $1")
        .bind(&c.id)
        .bind(c.status)
        .bind(c.acked_at)
        .bind(&c.detail)
        .execute(&mut *conn)
        .await?;
    announce(conn, c, now).await
}

/// Records the agent's answer to a command.
pub async fn acknowledge(
    conn: &mut WriteConn,
    c: &mut Command,
    status: CommandStatus,
    detail: Option<String>,
    now: i64,
) -> Result<(), sqlx::Error> {
    c.status = status;
    c.acked_at = Some(now);
    c.detail = detail;
    set_status(conn, c, now).await
}

/// Expires every command past its time that nobody answered.
pub async fn expire_due(conn: &mut WriteConn, now: i64) -> Result<usize, sqlx::Error> {
    let due: Vec<Command> =
        sqlx::query_as(sql!("SELECT {COLUMNS} FROM commands WHERE status IN ('queued', 'delivered') AND expires_at <= $1"))
            .bind(now)
            .fetch_all(&mut *conn)
            .await?;
    for mut c in due.clone() {
        c.status = CommandStatus::Expired;
        set_status(conn, &c, now).await?;
    }
    Ok(due.len())
}

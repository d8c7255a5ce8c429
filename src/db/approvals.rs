//! The `approvals` table (K28) and its decision links. An approval leaves `pending` once: every
//! change below is conditional on it still being pending, so the first decision wins even
//! when two replicas race.

use sqlx::AnyPool;

use crate::db::WriteConn;
use crate::domain::approvals::{Approval, ApprovalStatus, Decision};

const COLUMNS: &str = "id, agent_id, session_id, tool, request_id, summary, detail, project, status, decision, message, decided_by, \
                       decided_at, created_at, expires_at";

/// Stores a new approval unless one with its `source_key` exists (a replayed report); returns
/// the stored one and whether it is new.
pub async fn insert(conn: &mut WriteConn, a: &Approval, source_key: &str) -> Result<(Approval, bool), sqlx::Error> {
    let done = sqlx::query(sql!(
        "INSERT INTO approvals (source_key, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         ON CONFLICT (source_key) DO NOTHING"
    ))
    .bind(source_key)
    .bind(&a.id)
    .bind(&a.agent_id)
    .bind(&a.session_id)
    .bind(&a.tool)
    .bind(&a.request_id)
    .bind(&a.summary)
    .bind(&a.detail)
    .bind(&a.project)
    .bind(a.status)
    .bind(a.decision)
    .bind(&a.message)
    .bind(&a.decided_by)
    .bind(a.decided_at)
    .bind(a.created_at)
    .bind(a.expires_at)
    .execute(&mut *conn)
    .await?;
    let stored = by_source(conn, source_key).await?.ok_or(sqlx::Error::RowNotFound)?;
    Ok((stored, done.rows_affected() == 1))
}

pub async fn by_source(conn: &mut WriteConn, source_key: &str) -> Result<Option<Approval>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {COLUMNS} FROM approvals WHERE source_key = $1")).bind(source_key).fetch_optional(&mut *conn).await
}

pub async fn get(conn: impl sqlx::Executor<'_, Database = sqlx::Any>, id: &str) -> Result<Option<Approval>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {COLUMNS} FROM approvals WHERE id = $1")).bind(id).fetch_optional(conn).await
}

/// Which approvals a list shows; `None` is any.
#[derive(Debug, Clone, Copy, Default)]
pub struct Which<'a> {
    pub status: Option<ApprovalStatus>,
    pub agent: Option<&'a str>,
    pub project: Option<&'a str>,
}

/// Approvals newest first.
pub async fn list(pool: &AnyPool, which: Which<'_>, limit: i64) -> Result<Vec<Approval>, sqlx::Error> {
    sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM approvals WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR agent_id = $2) \
         AND ($3 IS NULL OR project = $3) ORDER BY created_at DESC, id DESC LIMIT $4"
    ))
    .bind(which.status)
    .bind(which.agent)
    .bind(which.project)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn pending_count(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM approvals WHERE status = 'pending'").fetch_one(pool).await
}

/// Ends a pending approval: a decision (with who made it and their message), or an outcome
/// without one (expired, answered elsewhere). False when it was no longer pending.
pub async fn close(
    conn: &mut WriteConn,
    id: &str,
    status: ApprovalStatus,
    decision: Option<Decision>,
    message: Option<&str>,
    decided_by: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE approvals SET status = $2, decision = $3, message = $4, decided_by = $5, decided_at = $6 \
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(status)
    .bind(decision)
    .bind(message)
    .bind(decided_by)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The pending approvals of an agent (its session went idle or ended: they expire).
pub async fn pending_of_agent(conn: &mut WriteConn, agent_id: &str) -> Result<Vec<Approval>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {COLUMNS} FROM approvals WHERE agent_id = $1 AND status = 'pending'"))
        .bind(agent_id)
        .fetch_all(&mut *conn)
        .await
}

/// Pending approvals past their time.
pub async fn pending_past(conn: &mut WriteConn, now: i64) -> Result<Vec<Approval>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {COLUMNS} FROM approvals WHERE status = 'pending' AND expires_at <= $1"))
        .bind(now)
        .fetch_all(&mut *conn)
        .await
}

/// A decision link as stored: its approval, the channel it was sent to, and whether it was used.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Link {
    pub approval_id: String,
    pub channel_id: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub async fn insert_link(
    conn: &mut WriteConn,
    token_hash: &str,
    approval_id: &str,
    channel_id: &str,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO approval_links (token_hash, approval_id, channel_id, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash)
        .bind(approval_id)
        .bind(channel_id)
        .bind(expires_at)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

pub async fn link(conn: impl sqlx::Executor<'_, Database = sqlx::Any>, token_hash: &str) -> Result<Option<Link>, sqlx::Error> {
    sqlx::query_as("SELECT approval_id, channel_id, expires_at, used_at FROM approval_links WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_optional(conn)
        .await
}

/// Marks the link used; false when it already was.
pub async fn use_link(conn: &mut WriteConn, token_hash: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE approval_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL")
        .bind(token_hash)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

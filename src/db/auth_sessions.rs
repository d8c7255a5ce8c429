//! Browser sessions: the token is given to the browser once; only its SHA-256 is stored.

use crate::db::WriteConn;
use crate::domain::roles::Role;
use serde::Serialize;
use sqlx::AnyPool;

/// The user a live session token belongs to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionUser {
    pub session_id: String,
    pub user_id: i64,
    pub role: Role,
    pub expires_at: i64,
}

/// A session as its owner sees it in "signed-in devices"; `current` marks the one asking.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SessionInfo {
    pub id: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub user_agent: Option<String>,
    #[sqlx(skip)]
    pub current: bool,
}

pub struct NewSession<'a> {
    pub id: &'a str,
    pub user_id: i64,
    pub token_hash: &'a str,
    pub expires_at: i64,
    pub user_agent: Option<&'a str>,
}

pub async fn insert(conn: &mut WriteConn, s: &NewSession<'_>, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO auth_sessions (id, user_id, token_hash, expires_at, created_at, last_seen_at, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $5, $6)",
    )
    .bind(s.id)
    .bind(s.user_id)
    .bind(s.token_hash)
    .bind(s.expires_at)
    .bind(now)
    .bind(s.user_agent)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

/// The unexpired session with this token hash, and its user.
pub async fn find(
    conn: impl sqlx::Executor<'_, Database = sqlx::Any>,
    token_hash: &str,
    now: i64,
) -> Result<Option<SessionUser>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.id AS session_id, u.id AS user_id, u.role, s.expires_at FROM auth_sessions s \
         JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(conn)
    .await
}

/// Slides the expiry forward (the caller decides how often).
pub async fn extend(conn: &mut WriteConn, id: &str, expires_at: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE auth_sessions SET expires_at = $2, last_seen_at = $3 WHERE id = $1")
        .bind(id)
        .bind(expires_at)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

/// The user's live sessions; `current` marks the one with that id.
pub async fn list_for_user(pool: &AnyPool, user_id: i64, current: Option<&str>, now: i64) -> Result<Vec<SessionInfo>, sqlx::Error> {
    let mut sessions: Vec<SessionInfo> = sqlx::query_as(
        "SELECT id, created_at, last_seen_at, expires_at, user_agent FROM auth_sessions \
         WHERE user_id = $1 AND expires_at > $2 ORDER BY last_seen_at DESC, id",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(pool)
    .await?;
    for s in &mut sessions {
        s.current = current == Some(s.id.as_str());
    }
    Ok(sessions)
}

/// Ends one of the user's sessions; false when it is not theirs or does not exist.
pub async fn delete_for_user(conn: &mut WriteConn, id: &str, user_id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM auth_sessions WHERE id = $1 AND user_id = $2").bind(id).bind(user_id).execute(&mut *conn).await?;
    Ok(done.rows_affected() > 0)
}

pub async fn delete_by_hash(conn: &mut WriteConn, token_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM auth_sessions WHERE token_hash = $1").bind(token_hash).execute(&mut *conn).await.map(|_| ())
}

/// Removes expired sessions (the purge job); returns how many.
pub async fn purge_expired(conn: &mut WriteConn, now: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM auth_sessions WHERE expires_at <= $1").bind(now).execute(&mut *conn).await?.rows_affected())
}

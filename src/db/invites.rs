//! Invite links (decisions.md#invites-and-team) and one-time sign-in links (decisions.md#setup-link, decisions.md#login-links). Both are consumed atomically: the
//! UPDATE that marks one used succeeds for exactly one caller.

use crate::db::WriteConn;
use crate::domain::roles::Role;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Invite {
    pub id: String,
    pub created_by: Option<i64>,
    pub role: Role,
    pub expires_at: i64,
    pub used_by: Option<i64>,
    pub used_at: Option<i64>,
    pub created_at: i64,
}

impl Invite {
    pub fn used(&self) -> bool {
        self.used_at.is_some()
    }

    pub fn expired(&self, now: i64) -> bool {
        self.expires_at < now
    }
}

const INVITE_COLUMNS: &str = "id, created_by, role, expires_at, used_by, used_at, created_at";

pub async fn insert(conn: &mut WriteConn, i: &Invite) -> Result<(), sqlx::Error> {
    sqlx::query(sql!("INSERT INTO invite_links ({INVITE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"))
        .bind(&i.id)
        .bind(i.created_by)
        .bind(i.role)
        .bind(i.expires_at)
        .bind(i.used_by)
        .bind(i.used_at)
        .bind(i.created_at)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

/// Takes the writer's connection or a reader.
pub async fn get(conn: impl sqlx::Executor<'_, Database = sqlx::Any>, id: &str) -> Result<Option<Invite>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {INVITE_COLUMNS} FROM invite_links WHERE id = $1")).bind(id).fetch_optional(conn).await
}

/// Marks the invite used by `user_id` if it is still unused and unexpired; returns its role.
pub async fn consume(conn: &mut WriteConn, id: &str, user_id: i64, now: i64) -> Result<Option<Role>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE invite_links SET used_by = $2, used_at = $3 WHERE id = $1 AND used_by IS NULL AND used_at IS NULL AND expires_at > $3 \
         RETURNING role",
    )
    .bind(id)
    .bind(user_id)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await
}

/// A one-time sign-in link: a new local user with `role`, or an existing `user_id`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoginLink {
    pub role: Role,
    pub user_id: Option<i64>,
}

pub async fn insert_login_link(
    conn: &mut WriteConn,
    token_hash: &str,
    role: Role,
    user_id: Option<i64>,
    expires_at: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO login_links (token_hash, role, user_id, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(token_hash)
        .bind(role)
        .bind(user_id)
        .bind(expires_at)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

/// Uses the link if it is unused and unexpired.
pub async fn consume_login_link(conn: &mut WriteConn, token_hash: &str, now: i64) -> Result<Option<LoginLink>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE login_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING role, user_id",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await
}

/// Whether the link exists and can still be used (the confirmation page, which must not use it).
pub async fn login_link_usable(
    conn: impl sqlx::Executor<'_, Database = sqlx::Any>,
    token_hash: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_links WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2")
        .bind(token_hash)
        .bind(now)
        .fetch_one(conn)
        .await?;
    Ok(n > 0)
}

/// Removes sign-in links that were used or have expired.
pub async fn purge_login_links(conn: &mut WriteConn, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_links WHERE used_at IS NOT NULL OR expires_at <= $1").bind(now).execute(&mut *conn).await.map(|_| ())
}

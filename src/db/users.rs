//! People who sign in (decisions.md#sessions): GitHub accounts and local users made by a sign-in link.

use crate::db::WriteConn;
use crate::domain::roles::Role;
use serde::Serialize;
use sqlx::AnyPool;

const COLUMNS: &str = "id, github_id, username, display_name, avatar_url, role, created_at, updated_at";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub github_id: Option<i64>,
    pub username: String,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub role: Role,
    pub created_at: i64,
    pub updated_at: i64,
}

impl User {
    /// The name pages show: the display name, else the username.
    pub fn shown_name(&self) -> &str {
        self.display_name.as_deref().filter(|n| !n.is_empty()).unwrap_or(&self.username)
    }
}

/// What GitHub says about an account (`GET /user`, `GET /users/{name}`).
#[derive(Debug, Clone)]
pub struct GithubProfile {
    pub id: i64,
    pub login: String,
    pub name: Option<String>,
    pub avatar_url: Option<String>,
}

/// Takes the writer's connection or a reader.
pub async fn count(conn: impl sqlx::Executor<'_, Database = sqlx::Any>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(conn).await
}

pub async fn list(pool: &AnyPool) -> Result<Vec<User>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {COLUMNS} FROM users ORDER BY created_at DESC, id DESC")).fetch_all(pool).await
}

/// Takes the writer's connection or a reader.
pub async fn get(conn: impl sqlx::Executor<'_, Database = sqlx::Any>, id: i64) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {COLUMNS} FROM users WHERE id = $1")).bind(id).fetch_optional(conn).await
}

pub async fn by_github_id(conn: &mut WriteConn, github_id: i64) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {COLUMNS} FROM users WHERE github_id = $1")).bind(github_id).fetch_optional(&mut *conn).await
}

/// A user by name for `ocd login-link --user`: a local user's name, or a GitHub login (so an
/// owner whose account is bound to GitHub can still get in while GitHub is unreachable).
pub async fn by_name(conn: &mut WriteConn, username: &str) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM users WHERE username = $1 ORDER BY CASE WHEN github_id IS NULL THEN 0 ELSE 1 END, id LIMIT 1"
    ))
    .bind(username)
    .fetch_optional(&mut *conn)
    .await
}

pub async fn insert_github(conn: &mut WriteConn, p: &GithubProfile, role: Role, now: i64) -> Result<User, sqlx::Error> {
    sqlx::query_as(sql!(
        "INSERT INTO users (github_id, username, display_name, avatar_url, role, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {COLUMNS}"
    ))
    .bind(p.id)
    .bind(&p.login)
    .bind(p.name.as_deref().unwrap_or(&p.login))
    .bind(&p.avatar_url)
    .bind(role)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
}

pub async fn insert_local(conn: &mut WriteConn, username: &str, role: Role, now: i64) -> Result<User, sqlx::Error> {
    sqlx::query_as(sql!(
        "INSERT INTO users (username, display_name, role, created_at, updated_at) VALUES ($1, $1, $2, $3, $3) RETURNING {COLUMNS}"
    ))
    .bind(username)
    .bind(role)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
}

/// Binds or refreshes the GitHub account of a user.
pub async fn set_github(conn: &mut WriteConn, id: i64, p: &GithubProfile, now: i64) -> Result<User, sqlx::Error> {
    sqlx::query_as(sql!(
        "UPDATE users SET github_id = $2, username = $3, display_name = $4, avatar_url = $5, updated_at = $6 WHERE id = $1 \
         RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(p.id)
    .bind(&p.login)
    .bind(p.name.as_deref().unwrap_or(&p.login))
    .bind(&p.avatar_url)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
}

pub async fn set_role(conn: &mut WriteConn, id: i64, role: Role, now: i64) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(sql!("UPDATE users SET role = $2, updated_at = $3 WHERE id = $1 RETURNING {COLUMNS}"))
        .bind(id)
        .bind(role)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await
}

/// Deletes the user; the foreign keys end their sessions and sign-in links and keep the
/// invites and keys they made (with the maker cleared).
pub async fn delete(conn: &mut WriteConn, id: i64) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(&mut *conn).await?.rows_affected() > 0)
}

pub async fn owner_count(conn: &mut WriteConn) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'owner'").fetch_one(&mut *conn).await
}

//! Named API keys (decisions.md#api-keys): created by an owner, shown once, stored as a SHA-256 hash.

use crate::db::WriteConn;
use crate::domain::roles::Role;
use serde::Serialize;
use sqlx::AnyPool;

const COLUMNS: &str = "id, name, role, project_id, expires_at, last_used_at, created_by, created_at";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub project_id: Option<String>,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub created_by: Option<i64>,
    pub created_at: i64,
}

pub async fn insert(conn: &mut WriteConn, key: &ApiKey, key_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query(sql!("INSERT INTO api_keys ({COLUMNS}, key_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"))
        .bind(&key.id)
        .bind(&key.name)
        .bind(key.role)
        .bind(&key.project_id)
        .bind(key.expires_at)
        .bind(key.last_used_at)
        .bind(key.created_by)
        .bind(key.created_at)
        .bind(key_hash)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

/// The live (unexpired) key with this hash.
pub async fn find(pool: &AnyPool, key_hash: &str, now: i64) -> Result<Option<ApiKey>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {COLUMNS} FROM api_keys WHERE key_hash = $1 AND (expires_at IS NULL OR expires_at > $2)"))
        .bind(key_hash)
        .bind(now)
        .fetch_optional(pool)
        .await
}

pub async fn list(pool: &AnyPool) -> Result<Vec<ApiKey>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {COLUMNS} FROM api_keys ORDER BY created_at DESC, id DESC")).fetch_all(pool).await
}

pub async fn touch(conn: &mut WriteConn, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1").bind(id).bind(now).execute(&mut *conn).await.map(|_| ())
}

/// Revokes a key at once: the row goes, so the next request with it is refused.
pub async fn delete(conn: &mut WriteConn, id: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM api_keys WHERE id = $1").bind(id).execute(&mut *conn).await?.rows_affected() > 0)
}

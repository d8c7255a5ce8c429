//! Notification channels (K27): configuration sealed at rest, filters as JSON text.

use sqlx::Row;

use crate::db::WriteConn;
use crate::domain::channels::ChannelType;

/// A stored channel; `config` is still sealed.
#[derive(Debug, Clone)]
pub struct StoredChannel {
    pub id: String,
    pub kind: ChannelType,
    pub name: String,
    pub config: Vec<u8>,
    pub filters: String,
    pub enabled: bool,
    pub user_id: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, type, name, config, filters, enabled, user_id, created_at, updated_at";

fn decode(row: &sqlx::any::AnyRow) -> Result<StoredChannel, sqlx::Error> {
    Ok(StoredChannel {
        id: row.try_get("id")?,
        kind: row.try_get("type")?,
        name: row.try_get("name")?,
        config: row.try_get("config")?,
        filters: row.try_get("filters")?,
        enabled: row.try_get::<i64, _>("enabled")? == 1,
        user_id: row.try_get("user_id")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub async fn list(conn: impl sqlx::Executor<'_, Database = sqlx::Any>) -> Result<Vec<StoredChannel>, sqlx::Error> {
    let rows = sqlx::query(sql!("SELECT {COLUMNS} FROM channels ORDER BY created_at, id")).fetch_all(conn).await?;
    rows.iter().map(decode).collect()
}

/// The enabled channels (where pushed alerts go).
pub async fn enabled(conn: &mut WriteConn) -> Result<Vec<StoredChannel>, sqlx::Error> {
    let rows = sqlx::query(sql!("SELECT {COLUMNS} FROM channels WHERE enabled = 1 ORDER BY id")).fetch_all(&mut *conn).await?;
    rows.iter().map(decode).collect()
}

pub async fn get(conn: impl sqlx::Executor<'_, Database = sqlx::Any>, id: &str) -> Result<Option<StoredChannel>, sqlx::Error> {
    let row = sqlx::query(sql!("SELECT {COLUMNS} FROM channels WHERE id = $1")).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(decode).transpose()
}

pub async fn insert(conn: &mut WriteConn, c: &StoredChannel, endpoint_hash: Option<&str>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO channels (id, type, name, config, filters, enabled, user_id, endpoint_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&c.id)
    .bind(c.kind)
    .bind(&c.name)
    .bind(&c.config)
    .bind(&c.filters)
    .bind(i64::from(c.enabled))
    .bind(c.user_id)
    .bind(endpoint_hash)
    .bind(c.created_at)
    .bind(c.updated_at)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

pub async fn save(conn: &mut WriteConn, c: &StoredChannel) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE channels SET name = $1, config = $2, filters = $3, enabled = $4, user_id = $5, updated_at = $6 WHERE id = $7")
        .bind(&c.name)
        .bind(&c.config)
        .bind(&c.filters)
        .bind(i64::from(c.enabled))
        .bind(c.user_id)
        .bind(c.updated_at)
        .bind(&c.id)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

/// The web_push channel of a browser subscription, by the hash of its endpoint.
pub async fn by_endpoint(conn: &mut WriteConn, endpoint_hash: &str) -> Result<Option<StoredChannel>, sqlx::Error> {
    let row =
        sqlx::query(sql!("SELECT {COLUMNS} FROM channels WHERE endpoint_hash = $1")).bind(endpoint_hash).fetch_optional(&mut *conn).await?;
    row.as_ref().map(decode).transpose()
}

pub async fn delete(conn: &mut WriteConn, id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM channels WHERE id = $1").bind(id).execute(&mut *conn).await?;
    Ok(done.rows_affected() > 0)
}

/// How many browser subscriptions `user_id` has.
pub async fn count_of_user(conn: &mut WriteConn, user_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM channels WHERE user_id = $1").bind(user_id).fetch_one(&mut *conn).await
}

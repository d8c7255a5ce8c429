//! Small key/value settings kept in the database (schedule, watermarks, edge states).

use crate::db::WriteConn;

/// Takes the writer's connection or a reader.
pub async fn get(conn: impl sqlx::Executor<'_, Database = sqlx::Any>, key: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(conn).await
}

pub async fn put(conn: &mut WriteConn, key: &str, value: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET value = $4, updated_at = $5",
    )
    .bind(key)
    .bind(value)
    .bind(now)
    .bind(value)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

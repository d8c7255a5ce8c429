//! Small key/value settings kept in the database (schedule, watermarks, edge states).

use sqlx::AnyConnection;

pub async fn get(conn: &mut AnyConnection, key: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(&mut *conn).await
}

pub async fn put(conn: &mut AnyConnection, key: &str, value: &str, now: i64) -> Result<(), sqlx::Error> {
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

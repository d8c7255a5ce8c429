//! Linear's webhooks: the deliveries received (kept for idempotency and processed after the
//! answer) and the webhooks ocd registered, with their sealed signing secrets.

use serde::Serialize;
use sqlx::AnyPool;

use crate::db::WriteConn;

/// A delivery as received: its `Linear-Delivery` id, what it is about and its raw body.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredDelivery {
    pub id: String,
    /// The SHA-256 of the signed body: the same body under another delivery id is a replay.
    pub body_hash: String,
    pub webhook_id: Option<String>,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub action: String,
    pub body: String,
    pub received_at: i64,
}

/// Stores a delivery; false when one with its id or its body was already received (a retry
/// or a replay).
pub async fn receive(conn: &mut WriteConn, d: &StoredDelivery) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO linear_deliveries (id, body_hash, webhook_id, type, action, body, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT DO NOTHING",
    )
    .bind(&d.id)
    .bind(&d.body_hash)
    .bind(&d.webhook_id)
    .bind(&d.kind)
    .bind(&d.action)
    .bind(&d.body)
    .bind(d.received_at)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks the delivery processed, inside the write that applies it: true for the one caller
/// that gets to apply it (the answer's follow-up, or the retry timer after a crash).
pub async fn claim(conn: &mut WriteConn, id: &str, now: i64) -> Result<Option<StoredDelivery>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE linear_deliveries SET processed_at = $2 WHERE id = $1 AND processed_at IS NULL \
         RETURNING id, body_hash, webhook_id, type, action, body, received_at",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await
}

/// Records why a delivery could not be applied (it stays processed: a retry would fail alike).
pub async fn failed(conn: &mut WriteConn, id: &str, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE linear_deliveries SET error = $2 WHERE id = $1").bind(id).bind(error).execute(&mut *conn).await.map(|_| ())
}

/// Sets aside a delivery that failed to apply: processed, with the reason, never tried again.
pub async fn give_up(conn: &mut WriteConn, id: &str, error: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE linear_deliveries SET processed_at = $3, error = $2 WHERE id = $1 AND processed_at IS NULL")
        .bind(id)
        .bind(error)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

/// Deliveries received before `before` and never processed (the server stopped in between).
pub async fn unprocessed(conn: &mut WriteConn, before: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM linear_deliveries WHERE processed_at IS NULL AND received_at < $1 ORDER BY received_at LIMIT 100")
        .bind(before)
        .fetch_all(&mut *conn)
        .await
}

/// Forgets processed deliveries received before `before` (past Linear's last retry).
pub async fn prune(conn: &mut WriteConn, before: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM linear_deliveries WHERE processed_at IS NOT NULL AND received_at < $1")
        .bind(before)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// A webhook ocd registered in Linear (its secret is never shown).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub enabled: i64,
    pub resource_types: String,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub last_delivery_at: Option<i64>,
}

const WEBHOOK_COLUMNS: &str = "id, url, enabled, resource_types, created_by, created_at, last_delivery_at";

pub async fn register(conn: &mut WriteConn, w: &Webhook, sealed_secret: Vec<u8>) -> Result<(), sqlx::Error> {
    sqlx::query(sql!("INSERT INTO linear_webhooks ({WEBHOOK_COLUMNS}, secret) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
        .bind(&w.id)
        .bind(&w.url)
        .bind(w.enabled)
        .bind(&w.resource_types)
        .bind(&w.created_by)
        .bind(w.created_at)
        .bind(w.last_delivery_at)
        .bind(sealed_secret)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

pub async fn webhooks(pool: &AnyPool) -> Result<Vec<Webhook>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {WEBHOOK_COLUMNS} FROM linear_webhooks ORDER BY created_at, id")).fetch_all(pool).await
}

pub async fn webhook(conn: impl sqlx::Executor<'_, Database = sqlx::Any>, id: &str) -> Result<Option<Webhook>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {WEBHOOK_COLUMNS} FROM linear_webhooks WHERE id = $1")).bind(id).fetch_optional(conn).await
}

/// The sealed signing secret of a registered webhook.
pub async fn secret(pool: &AnyPool, id: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar("SELECT secret FROM linear_webhooks WHERE id = $1").bind(id).fetch_optional(pool).await
}

pub async fn delivered(conn: &mut WriteConn, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE linear_webhooks SET last_delivery_at = $2 WHERE id = $1").bind(id).bind(now).execute(&mut *conn).await.map(|_| ())
}

pub async fn unregister(conn: &mut WriteConn, id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM linear_webhooks WHERE id = $1").bind(id).execute(&mut *conn).await?;
    Ok(done.rows_affected() == 1)
}

//! The delivery log: one row per notification sent to one channel, with its attempts. The
//! row's id is the delivery id a receiver deduplicates on; `payload` is sealed.

use sqlx::Row;

use crate::db::{Backend, WriteConn};

/// A delivery as the log shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Delivery {
    pub id: String,
    pub channel_id: String,
    pub channel_name: Option<String>,
    pub channel_type: Option<String>,
    pub alert_id: Option<i64>,
    pub kind: String,
    pub status: String,
    pub attempts: i64,
    pub http_status: Option<i64>,
    pub error: Option<String>,
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Every attempt, oldest first.
    pub history: Vec<AttemptRow>,
}

/// One attempt as the log shows it.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct AttemptRow {
    #[serde(skip)]
    pub delivery_id: String,
    pub attempt: i64,
    pub http_status: Option<i64>,
    pub error: Option<String>,
    pub at_ms: i64,
}

pub struct NewDelivery<'a> {
    pub id: &'a str,
    pub channel_id: &'a str,
    pub alert_id: Option<i64>,
    pub kind: &'a str,
    pub payload: Vec<u8>,
}

pub async fn insert(conn: &mut WriteConn, d: &NewDelivery<'_>, now_ms: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO deliveries (id, channel_id, alert_id, kind, payload, status, attempts, next_attempt_ms, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7, $8)",
    )
    .bind(d.id)
    .bind(d.channel_id)
    .bind(d.alert_id)
    .bind(d.kind)
    .bind(&d.payload)
    .bind(now_ms)
    .bind(now_ms / 1000)
    .bind(now_ms / 1000)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

/// A claimed delivery: what the sender needs.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub channel_id: String,
    pub payload: Vec<u8>,
    pub attempts: i64,
}

/// Claims up to `limit` due deliveries until `lease_until_ms`: a replica that dies mid-send
/// leaves a lease that runs out, and the delivery is sent again (at least once).
pub async fn claim_due(
    conn: &mut WriteConn,
    backend: Backend,
    now_ms: i64,
    lease_until_ms: i64,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let rows = sqlx::query(sql!(
        "UPDATE deliveries SET claimed_until_ms = $1 WHERE id IN (SELECT id FROM deliveries WHERE status = 'pending' \
         AND next_attempt_ms <= $2 AND (claimed_until_ms IS NULL OR claimed_until_ms < $3) ORDER BY next_attempt_ms LIMIT $4{lock}) \
         RETURNING id, channel_id, payload, attempts"
    ))
    .bind(lease_until_ms)
    .bind(now_ms)
    .bind(now_ms)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Claimed {
                id: r.try_get("id")?,
                channel_id: r.try_get("channel_id")?,
                payload: r.try_get("payload")?,
                attempts: r.try_get("attempts")?,
            })
        })
        .collect()
}

/// Claims delivery `id` if it is pending and nobody holds it (the "send test" button sends its
/// own delivery at once).
pub async fn claim_one(conn: &mut WriteConn, id: &str, now_ms: i64, lease_until_ms: i64) -> Result<Option<Claimed>, sqlx::Error> {
    let row = sqlx::query(
        "UPDATE deliveries SET claimed_until_ms = $1 WHERE id = $2 AND status = 'pending' \
         AND (claimed_until_ms IS NULL OR claimed_until_ms < $3) RETURNING id, channel_id, payload, attempts",
    )
    .bind(lease_until_ms)
    .bind(id)
    .bind(now_ms)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(claimed).transpose()
}

fn claimed(r: &sqlx::any::AnyRow) -> Result<Claimed, sqlx::Error> {
    Ok(Claimed {
        id: r.try_get("id")?,
        channel_id: r.try_get("channel_id")?,
        payload: r.try_get("payload")?,
        attempts: r.try_get("attempts")?,
    })
}

/// The earliest time a pending delivery may be tried (the worker sleeps until then).
pub async fn next_due(pool: &sqlx::AnyPool) -> Result<Option<i64>, sqlx::Error> {
    // A claimed delivery is due again when its lease runs out, not before its own time.
    sqlx::query_scalar(
        "SELECT MIN(CASE WHEN claimed_until_ms > next_attempt_ms THEN claimed_until_ms ELSE next_attempt_ms END) \
         FROM deliveries WHERE status = 'pending'",
    )
    .fetch_one(pool)
    .await
}

/// The result of attempt number `attempt`: `next_attempt_ms` set means it stays pending.
pub struct Attempt<'a> {
    pub attempt: i64,
    pub status: &'a str,
    pub http_status: Option<i64>,
    pub error: Option<&'a str>,
    pub next_attempt_ms: Option<i64>,
}

pub async fn record(conn: &mut WriteConn, id: &str, attempt: &Attempt<'_>, now_ms: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE deliveries SET status = $1, attempts = attempts + 1, http_status = $2, error = $3, next_attempt_ms = $4, \
         claimed_until_ms = NULL, updated_at = $5 WHERE id = $6",
    )
    .bind(attempt.status)
    .bind(attempt.http_status)
    .bind(attempt.error)
    .bind(attempt.next_attempt_ms)
    .bind(now_ms / 1000)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("INSERT INTO delivery_attempts (delivery_id, attempt, http_status, error, at_ms) VALUES ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(attempt.attempt)
        .bind(attempt.http_status)
        .bind(attempt.error)
        .bind(now_ms)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

const LIST_COLUMNS: &str = "d.id, d.channel_id, c.name AS channel_name, c.type AS channel_type, d.alert_id, d.kind, d.status, d.attempts, \
     d.http_status, d.error, d.next_attempt_ms, d.created_at, d.updated_at";

fn decode(r: &sqlx::any::AnyRow) -> Result<Delivery, sqlx::Error> {
    let status: String = r.try_get("status")?;
    let next: Option<i64> = r.try_get("next_attempt_ms")?;
    Ok(Delivery {
        id: r.try_get("id")?,
        channel_id: r.try_get("channel_id")?,
        channel_name: r.try_get("channel_name")?,
        channel_type: r.try_get("channel_type")?,
        alert_id: r.try_get("alert_id")?,
        kind: r.try_get("kind")?,
        next_attempt_at: next.filter(|_| status == "pending").map(|ms| ms / 1000),
        status,
        attempts: r.try_get("attempts")?,
        http_status: r.try_get("http_status")?,
        error: r.try_get("error")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        history: Vec::new(),
    })
}

/// Fills in each delivery's attempts (one query for the whole page).
async fn with_history(pool: &sqlx::AnyPool, mut list: Vec<Delivery>) -> Result<Vec<Delivery>, sqlx::Error> {
    if list.is_empty() {
        return Ok(list);
    }
    let sql = format!(
        "SELECT delivery_id, attempt, http_status, error, at_ms FROM delivery_attempts WHERE delivery_id IN ({}) ORDER BY attempt",
        super::placeholders(1, list.len())
    );
    let mut query = sqlx::query_as::<_, AttemptRow>(sqlx::AssertSqlSafe(sql));
    for d in &list {
        query = query.bind(d.id.clone());
    }
    let attempts = query.fetch_all(pool).await?;
    for d in &mut list {
        d.history = attempts.iter().filter(|a| a.delivery_id == d.id).cloned().collect();
    }
    Ok(list)
}

/// The newest deliveries first, optionally of one channel or one status.
pub async fn list(pool: &sqlx::AnyPool, channel: Option<&str>, status: Option<&str>, limit: i64) -> Result<Vec<Delivery>, sqlx::Error> {
    let rows = sqlx::query(sql!(
        "SELECT {LIST_COLUMNS} FROM deliveries d LEFT JOIN channels c ON c.id = d.channel_id \
         WHERE ($1 IS NULL OR d.channel_id = $1) AND ($2 IS NULL OR d.status = $2) ORDER BY d.created_at DESC, d.id DESC LIMIT $3"
    ))
    .bind(channel)
    .bind(status)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let list = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
    with_history(pool, list).await
}

pub async fn get(pool: &sqlx::AnyPool, id: &str) -> Result<Option<Delivery>, sqlx::Error> {
    let row = sqlx::query(sql!("SELECT {LIST_COLUMNS} FROM deliveries d LEFT JOIN channels c ON c.id = d.channel_id WHERE d.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    let Some(one) = row.as_ref().map(decode).transpose()? else { return Ok(None) };
    Ok(with_history(pool, vec![one]).await?.pop())
}

/// Deletes up to `limit` finished deliveries created before `cutoff` (seconds); pending ones stay.
pub async fn delete_older_than(conn: &mut WriteConn, cutoff: i64, limit: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE created_at < $1 AND status <> 'pending' ORDER BY created_at LIMIT $2)",
    )
    .bind(cutoff)
    .bind(limit)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

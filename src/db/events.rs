//! The append-only event log: every change commits its event row in the same transaction
//! (decisions.md#event-log). Payloads of events that carry message content are sealed (decisions.md#encryption-at-rest).

use serde_json::Value;

use crate::db::WriteConn;
use sqlx::Row;

use crate::crypto::Sealer;

/// The PostgreSQL notification channel a commit signals, so every replica's hub reads the
/// new events at once.
pub const NOTIFY_CHANNEL: &str = "ocd_events";

#[derive(Debug, Clone)]
pub struct NewEvent {
    pub name: &'static str,
    pub project: Option<String>,
    payload: Vec<u8>,
    sealed: bool,
}

impl NewEvent {
    pub fn new(name: &'static str, project: Option<&str>, payload: &Value) -> NewEvent {
        NewEvent { name, project: project.map(String::from), payload: payload.to_string().into_bytes(), sealed: false }
    }

    /// An event whose payload is encrypted at rest (it carries message content).
    pub fn sealed(name: &'static str, project: Option<&str>, payload: &Value, sealer: &Sealer) -> NewEvent {
        NewEvent { name, project: project.map(String::from), payload: sealer.seal(payload.to_string().as_bytes()), sealed: true }
    }
}

/// Appends the event inside the caller's transaction and returns its id.
pub async fn append(conn: &mut WriteConn, now: i64, event: NewEvent) -> Result<i64, sqlx::Error> {
    let row = sqlx::query("INSERT INTO events (name, project, payload, sealed, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
        .bind(event.name)
        .bind(event.project)
        .bind(event.payload)
        .bind(i64::from(event.sealed))
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
    row.try_get(0)
}

/// Appends several events in one statement (ids not returned).
pub async fn append_many(conn: &mut WriteConn, now: i64, batch: Vec<NewEvent>) -> Result<(), sqlx::Error> {
    if batch.is_empty() {
        return Ok(());
    }
    let rows: Vec<String> =
        (0..batch.len()).map(|i| format!("(${}, ${}, ${}, ${}, ${})", 5 * i + 1, 5 * i + 2, 5 * i + 3, 5 * i + 4, 5 * i + 5)).collect();
    let sql = format!("INSERT INTO events (name, project, payload, sealed, created_at) VALUES {}", rows.join(", "));
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for event in batch {
        query = query.bind(event.name).bind(event.project).bind(event.payload).bind(i64::from(event.sealed)).bind(now);
    }
    query.execute(&mut *conn).await.map(|_| ())
}

/// A stored event, with its payload decrypted.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub id: i64,
    pub name: String,
    pub project: Option<String>,
    pub payload: Value,
    pub created_at: i64,
}

/// Events with `id > after`, oldest first. A payload that cannot be opened or parsed is
/// returned as `null` rather than failing the whole read.
pub async fn after(pool: &sqlx::AnyPool, sealer: &Sealer, after: i64, limit: i64) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let rows = sqlx::query("SELECT id, name, project, payload, sealed, created_at FROM events WHERE id > $1 ORDER BY id LIMIT $2")
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            let raw: Vec<u8> = row.try_get("payload")?;
            let sealed: i64 = row.try_get("sealed")?;
            let bytes = if sealed == 1 { sealer.open(&raw).unwrap_or_default() } else { raw };
            Ok(StoredEvent {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                project: row.try_get("project")?,
                payload: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}

/// Id of the newest event (0 when the log is empty).
pub async fn latest_id(pool: &sqlx::AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM events").fetch_one(pool).await
}

const PRUNED_KEY: &str = "events_pruned_through";

/// Every event with an id up to this one has been pruned (0: none yet). A client resuming
/// from an older id has missed events and must reload (decisions.md#event-ordering).
pub async fn pruned_through(pool: &sqlx::AnyPool) -> Result<i64, sqlx::Error> {
    let value: Option<String> =
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1").bind(PRUNED_KEY).fetch_optional(pool).await?;
    Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// Deletes up to `limit` events with `id <= through` and raises the pruned watermark.
/// Returns how many rows went.
pub async fn delete_through(conn: &mut WriteConn, through: i64, limit: i64, now: i64) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query("DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id <= $1 ORDER BY id LIMIT $2)")
        .bind(through)
        .bind(limit)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let current = super::settings::get(&mut *conn, PRUNED_KEY).await?.and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    if through > current {
        super::settings::put(conn, PRUNED_KEY, &through.to_string(), now).await?;
    }
    Ok(deleted)
}

/// The id up to which events fall outside the retention: older than `max_age_secs` or
/// beyond the newest `max_rows`. 0 when nothing is due.
pub async fn prune_point(pool: &sqlx::AnyPool, now: i64, max_age_secs: i64, max_rows: i64) -> Result<i64, sqlx::Error> {
    // The newest event older than the cutoff, found at the end of the created_at index (MAX(id)
    // over the range read every old row: seconds on a large log). Event ids follow time, so this
    // is the highest id past the cutoff; were the clock ever to step back, the answer is only
    // lower — less is pruned, never more.
    let by_age: Option<i64> = sqlx::query_scalar("SELECT id FROM events WHERE created_at < $1 ORDER BY created_at DESC, id DESC LIMIT 1")
        .bind(now - max_age_secs)
        .fetch_optional(pool)
        .await?;
    let by_count: Option<i64> =
        sqlx::query_scalar("SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET $1").bind(max_rows).fetch_optional(pool).await?;
    Ok(by_age.unwrap_or(0).max(by_count.unwrap_or(0)))
}

//! The append-only event log: every change commits its event row in the same transaction
//! (design.md, K13). Payloads of events that carry message content are sealed (K15).

use serde_json::Value;
use sqlx::AnyConnection;
use sqlx::Row;

use crate::crypto::Sealer;

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
pub async fn append(conn: &mut AnyConnection, now: i64, event: NewEvent) -> Result<i64, sqlx::Error> {
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

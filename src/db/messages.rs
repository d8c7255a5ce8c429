//! Messages: the feed of work logs, errors and state changes. Content is sealed at rest.

use crate::db::WriteConn;
use serde::Serialize;
use sqlx::{AnyPool, Row};

use super::todos::Filter;
use crate::crypto::Sealer;
use crate::domain::MessageType;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Message {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: MessageType,
    pub content: String,
    pub todo_id: Option<String>,
    pub session_id: Option<String>,
    pub project_id: Option<String>,
    pub read: i64,
    pub created_at: i64,
    /// What an alert's message is about (alert id, trigger, agent, task, link); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
}

/// A message to store; `summary_id` makes a work log idempotent.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub kind: MessageType,
    pub content: String,
    pub todo_id: Option<String>,
    pub session_id: Option<String>,
    pub project_id: Option<String>,
    pub summary_id: Option<String>,
    pub metadata: Option<serde_json::Value>,
}

const COLUMNS: &str = "id, type, content, todo_id, session_id, project_id, read, created_at, metadata";

/// Shown in place of content that cannot be decrypted (wrong key, corrupt row), so one bad
/// row never breaks the list (fixes decisions.md#encryption-at-rest).
pub const UNREADABLE: &str = "[message content could not be decrypted]";

fn decode(row: &sqlx::any::AnyRow, sealer: &Sealer) -> Result<Message, sqlx::Error> {
    let id: i64 = row.try_get("id")?;
    let sealed: Vec<u8> = row.try_get("content")?;
    let content = sealer.open_str(&sealed).unwrap_or_else(|_| {
        tracing::warn!(message_id = id, "message content could not be decrypted");
        UNREADABLE.to_string()
    });
    Ok(Message {
        id,
        kind: row.try_get("type")?,
        content,
        todo_id: row.try_get("todo_id")?,
        session_id: row.try_get("session_id")?,
        project_id: row.try_get("project_id")?,
        read: row.try_get("read")?,
        created_at: row.try_get("created_at")?,
        metadata: row.try_get::<Option<String>, _>("metadata")?.and_then(|text| serde_json::from_str(&text).ok()),
    })
}

pub async fn insert(conn: &mut WriteConn, sealer: &Sealer, m: &NewMessage, now: i64) -> Result<Message, sqlx::Error> {
    let row = sqlx::query(sql!(
        "INSERT INTO messages (type, content, todo_id, session_id, project_id, summary_id, read, created_at, metadata) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8) RETURNING {COLUMNS}"
    ))
    .bind(m.kind)
    .bind(sealer.seal_str(&m.content))
    .bind(&m.todo_id)
    .bind(&m.session_id)
    .bind(&m.project_id)
    .bind(&m.summary_id)
    .bind(now)
    .bind(m.metadata.as_ref().map(|v| v.to_string()))
    .fetch_one(&mut *conn)
    .await?;
    decode(&row, sealer)
}

pub async fn by_summary_id(conn: &mut WriteConn, sealer: &Sealer, summary_id: &str) -> Result<Option<Message>, sqlx::Error> {
    let row = sqlx::query(sql!("SELECT {COLUMNS} FROM messages WHERE summary_id = $1")).bind(summary_id).fetch_optional(&mut *conn).await?;
    row.map(|r| decode(&r, sealer)).transpose()
}

pub async fn list(pool: &AnyPool, sealer: &Sealer, filter: &Filter, limit: Option<i64>) -> Result<Vec<Message>, sqlx::Error> {
    let limit = limit.map(|l| format!(" LIMIT {l}")).unwrap_or_default();
    let rows = sqlx::query_with(
        sql!("SELECT {COLUMNS} FROM messages WHERE {} ORDER BY created_at DESC, id DESC{limit}", filter.sql()),
        filter.arguments(),
    )
    .fetch_all(pool)
    .await?;
    rows.iter().map(|r| decode(r, sealer)).collect()
}

/// Which unread messages "mark all read" means: those a person saw in the list.
#[derive(Debug, Default)]
pub struct Unread<'a> {
    pub project: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub session: Option<&'a str>,
    /// The newest message the list showed; later ones stay unread.
    pub up_to: Option<i64>,
}

/// The ids of unread messages matching `which`.
pub async fn unread_ids(pool: &AnyPool, which: &Unread<'_>) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM messages WHERE read = 0 AND ($1 IS NULL OR project_id = $1) AND ($2 IS NULL OR type = $2) \
         AND ($3 IS NULL OR session_id = $3) AND id <= $4 ORDER BY id",
    )
    .bind(which.project)
    .bind(which.kind)
    .bind(which.session)
    .bind(which.up_to.unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await
}

/// Marks the listed messages read (at most `IN_CHUNK` ids) and returns the existing ones with
/// their project.
pub async fn mark_read(conn: &mut WriteConn, ids: &[i64]) -> Result<Vec<(i64, Option<String>)>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = super::placeholders(1, ids.len());
    let mut update = sqlx::query(sql!("UPDATE messages SET read = 1 WHERE read = 0 AND id IN ({list})"));
    let mut select = sqlx::query_as(sql!("SELECT id, project_id FROM messages WHERE id IN ({list})"));
    for id in ids {
        update = update.bind(*id);
        select = select.bind(*id);
    }
    update.execute(&mut *conn).await?;
    select.fetch_all(&mut *conn).await
}

//! `/api/messages` (decisions.md#work-items): the feed, mark-as-read, and idempotent work logs (fixes decisions.md#work-items).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::db::messages::{self, NewMessage};
use crate::db::todos::Filter;
use crate::domain::{Field, MessageType};
use crate::error::{AppError, AppResult};
use crate::http::json::{Body, Checks, Params, leading_int, non_null};
use crate::service::messages as service;
use crate::state::App;

const MAX_CONTENT: usize = 10_000;

pub async fn list(State(app): State<App>, params: Params) -> AppResult<Json<Value>> {
    let mut filter = Filter::default();
    if params.get("unread_only") == Some("true") {
        filter.raw("read = 0");
    }
    if let Some(since) = params.get("since").and_then(leading_int) {
        filter.int("created_at >= ?", since);
    }
    if let Some(project) = params.non_empty("project") {
        filter.text("project_id = ?", project);
    }
    if let Some(session) = params.non_empty("session_id") {
        filter.text("session_id = ?", session);
    }
    let limit = match params.get("limit") {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .ok()
                .filter(|l| (1..=10_000).contains(l))
                .ok_or_else(|| AppError::BadRequest("limit must be 1–10000".into()))?,
        ),
    };
    let list = messages::list(&app.db.read, &app.sealer, &filter, limit).await?;
    Ok(Json(json!({ "messages": list })))
}

#[derive(Debug, Deserialize)]
pub struct MarkReadBody {
    ids: Vec<String>,
}

/// Marks up to 10,000 ids read (the bound is in limits.rs).
pub async fn mark_read(State(app): State<App>, Body(body): Body<MarkReadBody>) -> AppResult<Json<Value>> {
    let total = body.ids.len();
    let marked = service::mark_read(&app, body.ids.iter().filter_map(|s| leading_int(s)).collect()).await?;
    Ok(Json(json!({"success": true, "marked": marked, "total": total})))
}

#[derive(Debug, Default, Deserialize)]
pub struct Metadata {
    #[serde(default, deserialize_with = "non_null")]
    author: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "non_null")]
    summary_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CreateBody {
    #[serde(rename = "type")]
    kind: MessageType,
    content: String,
    #[serde(default)]
    session_id: Field<String>,
    #[serde(default)]
    todo_id: Field<String>,
    #[serde(default)]
    project: Field<String>,
    #[serde(default)]
    project_id: Field<String>,
    #[serde(default, deserialize_with = "non_null")]
    metadata: Option<Metadata>,
}

/// The stored text: content plus `\n[author:… | tags:… | summary_id:…]` when metadata is given.
fn with_metadata(content: &str, meta: &Metadata) -> String {
    let mut parts = Vec::new();
    if let Some(author) = meta.author.as_deref().filter(|a| !a.is_empty()) {
        parts.push(format!("author:{author}"));
    }
    if let Some(tags) = meta.tags.as_ref().filter(|t| !t.is_empty()) {
        parts.push(format!("tags:{}", tags.join(",")));
    }
    if let Some(id) = meta.summary_id.as_deref().filter(|s| !s.is_empty()) {
        parts.push(format!("summary_id:{id}"));
    }
    if parts.is_empty() { content.to_string() } else { format!("{content}\n[{}]", parts.join(" | ")) }
}

pub async fn create(State(app): State<App>, Body(body): Body<CreateBody>) -> AppResult<(StatusCode, Json<Value>)> {
    let length = body.content.encode_utf16().count();
    Checks::new()
        .min1("content", &body.content)
        .require(length <= MAX_CONTENT, "too_big", "content", "must contain at most 10000 characters")
        .finish()?;
    let meta = body.metadata.unwrap_or_default();
    let summary_id = meta.summary_id.clone().filter(|s| !s.is_empty());
    let project = if body.project_id.is_present() { body.project_id } else { body.project }.empty_as_null().into_option();
    let new = NewMessage {
        kind: body.kind,
        content: with_metadata(&body.content, &meta),
        todo_id: body.todo_id.into_option(),
        session_id: body.session_id.into_option(),
        project_id: project,
        summary_id,
        metadata: None,
    };
    let (message, deduplicated) = service::create(&app, new).await?;
    if deduplicated {
        return Ok((StatusCode::OK, Json(json!({"success": true, "message": message, "deduplicated": true}))));
    }
    Ok((StatusCode::CREATED, Json(json!({"success": true, "message": message}))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_suffix_matches_the_original() {
        let meta = Metadata { author: Some("bot".into()), tags: Some(vec!["a".into(), "b".into()]), summary_id: Some("s1".into()) };
        assert_eq!(with_metadata("Shipped X", &meta), "Shipped X\n[author:bot | tags:a,b | summary_id:s1]");
        assert_eq!(with_metadata("x", &Metadata::default()), "x");
        let empty_parts = Metadata { author: Some("".into()), tags: Some(vec![]), summary_id: None };
        assert_eq!(with_metadata("x", &empty_parts), "x");
    }
}

//! `/api/agents/{id}/commands`: steering that reaches the agent (decisions.md#commands, decisions.md#commands). Agents get their
//! queued commands in the heartbeat reply or by long-polling here, and acknowledge them.

use std::time::Duration;

use crate::events::hub::{Woken, wait_for};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::db::agents;
use crate::db::commands;
use crate::domain::agents::CommandKind;
use crate::error::{AppError, AppResult};
use crate::http::json::{Params, non_null, parse};
use crate::service::commands::{self as service, AckStatus};
use crate::state::App;

/// Longest long-poll, in seconds.
pub const MAX_WAIT_SECS: u64 = 60;

#[derive(Debug, Deserialize)]
pub struct CreateBody {
    kind: CommandKind,
    #[serde(default, deserialize_with = "non_null")]
    text: Option<String>,
}

pub async fn create(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> AppResult<(StatusCode, Json<Value>)> {
    agents::find(&app.db.read, &id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
    let body: CreateBody = parse(&body)?;
    if body.kind == CommandKind::Permission {
        return Err(AppError::field(
            "invalid_value",
            "kind",
            "kind: permission commands come from approval decisions (POST /api/approvals/{id}/decision)",
        ));
    }
    let command = service::queue(&app, &id, body.kind, body.text).await?;
    Ok((StatusCode::CREATED, Json(json!({ "command": command }))))
}

/// `?status=` lists without delivering; otherwise the due commands are delivered, waiting up
/// to `?wait=` seconds (≤ 60) for one to be queued.
pub async fn poll(State(app): State<App>, Path(id): Path<String>, params: Params) -> AppResult<Json<Value>> {
    agents::find(&app.db.read, &id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
    if let Some(status) = params.non_empty("status") {
        let list = commands::list(&app.db.read, &id, Some(status)).await?;
        return Ok(Json(json!({ "commands": list })));
    }
    let wait = match params.get("wait") {
        None => 0,
        Some(v) => {
            v.parse::<u64>().ok().filter(|w| *w <= MAX_WAIT_SECS).ok_or_else(|| AppError::BadRequest("wait must be 0–60 seconds".into()))?
        }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    // Subscribed before looking, so a command queued in between still wakes us.
    let mut live = app.hub.subscribe();
    let marker = format!("\"agent_id\":{}", serde_json::to_string(&id).unwrap_or_default());
    loop {
        let delivered = service::deliver_due(&app, &id).await?;
        if !delivered.is_empty() || tokio::time::Instant::now() >= deadline {
            return Ok(Json(json!({ "commands": delivered })));
        }
        let for_me = |text: &str| text.contains("event: agent:command") && text.contains(&marker);
        if wait_for(&mut live, deadline, for_me).await != Woken::LookAgain {
            return Ok(Json(json!({ "commands": [] })));
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct AckBody {
    status: AckStatus,
    #[serde(default, deserialize_with = "non_null")]
    detail: Option<String>,
}

pub async fn ack(State(app): State<App>, Path((id, command_id)): Path<(String, String)>, body: Bytes) -> AppResult<Json<Value>> {
    let body: AckBody = parse(&body)?;
    let command = service::acknowledge(&app, id, command_id, body.status, body.detail).await?;
    Ok(Json(json!({ "command": command })))
}

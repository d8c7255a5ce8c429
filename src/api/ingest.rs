//! `/api/ingest/*` (K29): agent integrations post their tools' raw events; ingest/ maps them.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::principal::Principal;
use crate::error::{AppError, AppResult};
use crate::http::json::{Body, Params};
use crate::ingest::Sender;
use crate::ingest::claude_code::Outcome;
use crate::state::App;

/// The largest batch one request may carry.
const MAX_EVENTS: usize = 1000;

/// A batch from the OpenCode plugin: the bare array of events, or `{project?, events}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OpenCodeBatch {
    Events(Vec<Value>),
    Envelope {
        #[serde(default)]
        project: Option<String>,
        events: Vec<Value>,
    },
}

pub async fn opencode(State(app): State<App>, principal: Principal, Body(batch): Body<OpenCodeBatch>) -> AppResult<Json<Value>> {
    let (project, events) = match batch {
        OpenCodeBatch::Events(events) => (None, events),
        OpenCodeBatch::Envelope { project, events } => (project, events),
    };
    if events.len() > MAX_EVENTS {
        return Err(AppError::field("too_big", "events", format!("events: at most {MAX_EVENTS} per request")));
    }
    let sender = Sender::of(&principal, project.as_deref())?;
    let applied = crate::ingest::opencode::apply(&app, &sender, &events).await?;
    Ok(Json(json!({ "success": true, "events": applied.events, "applied": applied.applied, "failed": applied.failed })))
}

/// One Claude Code hook payload, as Claude Code sends it. The answer is `{}` (no decision: Claude
/// Code goes on as it would without ocd), except for a `PermissionRequest`, which is held open
/// until a person decides or `APPROVAL_WAIT_SECONDS` pass (docs/decisions.md#approvals).
pub async fn claude_code(
    State(app): State<App>,
    principal: Principal,
    params: Params,
    Body(payload): Body<Value>,
) -> AppResult<Json<Value>> {
    let sender = Sender::of(&principal, params.non_empty("project"))?;
    let outcome = crate::ingest::claude_code::apply(&app, crate::ingest::claude_code::TOOL, &sender, &payload).await?;
    answer(&app, outcome).await
}

/// One Codex payload: its `notify` program's, or one of its hooks' (held like Claude Code's).
pub async fn codex(State(app): State<App>, principal: Principal, params: Params, Body(payload): Body<Value>) -> AppResult<Json<Value>> {
    let sender = Sender::of(&principal, params.non_empty("project"))?;
    let outcome = crate::ingest::codex::apply(&app, &sender, &payload).await?;
    answer(&app, outcome).await
}

/// A hook's answer: a held permission request's decision, else nothing.
async fn answer(app: &App, outcome: Outcome) -> AppResult<Json<Value>> {
    match outcome {
        Outcome::Asked(approval) => {
            let standing = crate::service::approvals::hold(app, *approval).await?;
            Ok(Json(crate::domain::approvals::claude_code_answer(&standing)))
        }
        Outcome::Applied | Outcome::Ignored => Ok(Json(json!({}))),
    }
}

/// OTLP/HTTP JSON metrics (Claude Code's and Codex's telemetry export). The answer is OTLP's
/// success (an empty `partialSuccess`).
pub async fn otlp_metrics(State(app): State<App>, principal: Principal, Body(body): Body<Value>) -> AppResult<Json<Value>> {
    crate::ingest::otlp::metrics(&app, &Sender::of(&principal, None)?, &body).await?;
    Ok(Json(json!({ "partialSuccess": {} })))
}

pub async fn otlp_logs(State(app): State<App>, principal: Principal, Body(body): Body<Value>) -> AppResult<Json<Value>> {
    crate::ingest::otlp::logs(&app, &Sender::of(&principal, None)?, &body).await?;
    Ok(Json(json!({ "partialSuccess": {} })))
}

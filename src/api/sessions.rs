//! `/api/sessions` (decisions.md#upserts; registration is idempotent, decisions.md#upserts).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::db::sessions;
use crate::error::AppResult;
use crate::http::json::{Body, Params};
use crate::service::sessions::{self as service, Registration};
use crate::state::App;

pub async fn list(State(app): State<App>, params: Params) -> AppResult<Json<Value>> {
    let sessions = sessions::list(&app.db.read, params.non_empty("project")).await?;
    Ok(Json(json!({ "sessions": sessions })))
}

/// Creates the session (201) or, for a known id, updates the name/project sent (200).
pub async fn upsert(State(app): State<App>, Body(body): Body<Registration>) -> AppResult<(StatusCode, Json<Value>)> {
    let (session, created) = service::register(&app, body).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(json!({ "session": session }))))
}

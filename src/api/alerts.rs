//! `/api/settings/alerts` (api-compat §14, K2): admins read the rules; the owner changes,
//! deletes and resets them.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::AppResult;
use crate::http::json::Body;
use crate::service::alert_rules::{self as service, RuleUpdates};
use crate::state::App;

pub async fn list(State(app): State<App>) -> AppResult<Json<Value>> {
    Ok(Json(json!({ "rules": service::list(&app).await? })))
}

#[derive(Debug, Deserialize)]
pub struct RulePut {
    id: String,
    updates: RuleUpdates,
}

pub async fn put(State(app): State<App>, Body(body): Body<RulePut>) -> AppResult<Json<Value>> {
    crate::http::json::Checks::new().min1("id", &body.id).finish()?;
    Ok(Json(json!({ "rule": service::update(&app, body.id, body.updates).await? })))
}

pub async fn get(State(app): State<App>, Path(id): Path<String>) -> AppResult<Json<Value>> {
    Ok(Json(json!({ "rule": service::get(&app, &id).await? })))
}

pub async fn patch(State(app): State<App>, Path(id): Path<String>, Body(updates): Body<RuleUpdates>) -> AppResult<Json<Value>> {
    Ok(Json(json!({ "rule": service::update(&app, id, updates).await? })))
}

pub async fn delete(State(app): State<App>, Path(id): Path<String>) -> AppResult<Json<Value>> {
    let warning = service::delete(&app, id).await?;
    Ok(Json(json!({ "success": true, "warning": warning })))
}

pub async fn reset_defaults(State(app): State<App>) -> AppResult<Json<Value>> {
    Ok(Json(json!({ "rules": service::reset_defaults(&app).await? })))
}

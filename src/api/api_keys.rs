//! `/api/settings/api-keys` (decisions.md#api-keys): named keys an owner makes for each agent or project — with
//! a role, an optional project scope (decisions.md#project-scoped-keys) and an optional expiry. The key is shown once, in
//! the answer that creates it; only its hash is kept. Revoking deletes it, effective at once.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::auth::principal::Principal;
use crate::db::api_keys;
use crate::error::AppResult;
use crate::http::json::Body;
use crate::service::keys::{self, NewKey};
use crate::state::App;

pub async fn list(State(app): State<App>) -> AppResult<Json<Value>> {
    Ok(Json(json!({ "keys": api_keys::list(&app.db.read).await? })))
}

pub async fn create(State(app): State<App>, principal: Principal, Body(body): Body<NewKey>) -> AppResult<(StatusCode, Json<Value>)> {
    let (key, token) = keys::create(&app, principal.user_id(), body).await?;
    Ok((StatusCode::CREATED, Json(json!({ "key": key, "token": token }))))
}

pub async fn revoke(State(app): State<App>, principal: Principal, Path(id): Path<String>) -> AppResult<Json<Value>> {
    keys::revoke(&app, principal.user_id(), id).await?;
    Ok(Json(json!({"success": true})))
}

//! `/api/linear/*` and `/api/settings/linear` (api-compat.md §13, K30): the cache's reads,
//! the sync, a board move, Linear's webhook, webhook registration and the owner's settings.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::principal::Principal;
use crate::domain::linear::LinearSettings;
use crate::error::{AppResult, Checks};
use crate::http::json::{Body, Params, non_null, parse_optional};
use crate::service::linear::{self as service, board, hooks, sync, webhook};
use crate::state::App;

pub async fn projects(State(app): State<App>) -> AppResult<Json<Value>> {
    Ok(Json(json!({ "projects": board::projects(&app).await? })))
}

/// `?project_id=` limits the issues to one project; the workflow states are always all.
pub async fn issues(State(app): State<App>, params: Params) -> AppResult<Json<Value>> {
    let board = board::board(&app, params.non_empty("project_id")).await?;
    Ok(Json(board::board_json(&board)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncBody {
    #[serde(default, deserialize_with = "non_null")]
    project_id: Option<String>,
}

/// The body is optional: empty, or `{project_id}` to sync one project's issues.
pub async fn sync(State(app): State<App>, body: Bytes) -> AppResult<Json<Value>> {
    let project = parse_optional::<SyncBody>(&body)?.project_id;
    Checks::new().min1_opt("project_id", project.as_deref()).finish()?;
    let synced = sync::run(&app, project, "manual").await?;
    Ok(Json(json!({ "synced": synced })))
}

#[derive(Debug, Deserialize)]
pub struct MoveBody {
    #[serde(rename = "issueId")]
    issue_id: String,
    #[serde(rename = "stateId")]
    state_id: String,
}

pub async fn move_issue(State(app): State<App>, Body(body): Body<MoveBody>) -> AppResult<Json<Value>> {
    Checks::new().min1("issueId", &body.issue_id).min1("stateId", &body.state_id).finish()?;
    let issue = board::move_issue(&app, body.issue_id, body.state_id).await?;
    Ok(Json(json!({ "issue": issue })))
}

/// Linear's deliveries: checked and stored, answered at once, applied right after.
pub async fn webhook(State(app): State<App>, headers: HeaderMap, body: Bytes) -> AppResult<Json<Value>> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(String::from);
    let incoming = webhook::Incoming { signature: header("linear-signature"), delivery_id: header("linear-delivery"), body };
    match webhook::receive(&app, incoming).await? {
        webhook::Received::New(id) => {
            webhook::apply_soon(&app, id);
            Ok(Json(json!({ "success": true })))
        }
        webhook::Received::Repeated => Ok(Json(json!({ "success": true, "duplicate": true }))),
    }
}

pub async fn list_webhooks(State(app): State<App>) -> AppResult<Json<Value>> {
    let webhooks = hooks::list(&app).await?;
    Ok(Json(json!({ "webhooks": webhooks, "secret_configured": app.config.linear_webhook_secret().is_some() })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    #[serde(default, deserialize_with = "non_null")]
    url: Option<String>,
}

pub async fn register_webhook(State(app): State<App>, principal: Principal, body: Bytes) -> AppResult<(StatusCode, Json<Value>)> {
    let body: RegisterBody = parse_optional(&body)?;
    let by = crate::service::approvals::name_of(&app, &principal).await?;
    let webhook = hooks::register(&app, body.url, by).await?;
    Ok((StatusCode::CREATED, Json(json!({ "webhook": webhook }))))
}

pub async fn delete_webhook(State(app): State<App>, Path(id): Path<String>) -> AppResult<Json<Value>> {
    hooks::remove(&app, id).await?;
    Ok(Json(json!({ "success": true })))
}

/// The owner's settings, with what the server is configured with and how the last sync went.
pub async fn get_settings(State(app): State<App>) -> AppResult<Json<Value>> {
    let settings = service::settings(&app.db.read).await?;
    let last_sync = service::last_sync(&app.db.read).await?;
    Ok(Json(json!({
        "settings": settings,
        "api_key_configured": app.linear.is_configured(),
        "webhook_secret_configured": app.config.linear_webhook_secret().is_some(),
        "sync_interval_seconds": app.config.linear_sync_interval_seconds,
        "last_sync": last_sync,
    })))
}

/// At most this many user-map entries (a workspace's people).
const USER_MAP_LIMIT: usize = 500;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    #[serde(default, deserialize_with = "non_null")]
    user_map: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "non_null")]
    complete_on_done: Option<bool>,
}

/// Changes what the body names; the rest stays.
pub async fn put_settings(State(app): State<App>, Body(body): Body<SettingsBody>) -> AppResult<Json<Value>> {
    let mut settings = service::settings(&app.db.read).await?;
    if let Some(map) = body.user_map {
        let mut checks = Checks::new();
        checks.require(map.len() <= USER_MAP_LIMIT, "too_big", "user_map", "has more than 500 entries");
        for (user, agent) in &map {
            checks.require(
                !user.trim().is_empty() && !agent.trim().is_empty(),
                "too_small",
                "user_map",
                "keys and agent ids must not be empty",
            );
        }
        checks.finish()?;
        settings.user_map = map.into_iter().map(|(u, a)| (u.trim().to_string(), a.trim().to_string())).collect();
    }
    if let Some(on) = body.complete_on_done {
        settings.complete_on_done = on;
    }
    let saved: LinearSettings = service::save_settings(&app, settings).await?;
    Ok(Json(json!({ "settings": saved })))
}

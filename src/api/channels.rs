//! Notification channels, browser push subscriptions and the delivery log (K27, K30).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::auth::principal::Principal;
use crate::db::deliveries;
use crate::error::{AppError, AppResult};
use crate::http::json::{Body, Params};
use crate::service::channels::{self as service, ChannelChange, NewChannel, Subscription};
use crate::state::App;

pub async fn list(State(app): State<App>) -> AppResult<Json<Value>> {
    Ok(Json(json!({ "channels": service::list(&app).await? })))
}

pub async fn create(State(app): State<App>, Body(body): Body<NewChannel>) -> AppResult<(StatusCode, Json<Value>)> {
    let channel = service::create(&app, body).await?;
    Ok((StatusCode::CREATED, Json(json!({ "channel": channel }))))
}

pub async fn update(State(app): State<App>, Path(id): Path<String>, Body(body): Body<ChannelChange>) -> AppResult<Json<Value>> {
    Ok(Json(json!({ "channel": service::update(&app, id, body).await? })))
}

pub async fn delete(State(app): State<App>, Path(id): Path<String>) -> AppResult<Json<Value>> {
    service::delete(&app, id).await?;
    Ok(Json(json!({ "success": true })))
}

/// Sends a test message now and answers with its delivery (delivered, or why not).
pub async fn test(State(app): State<App>, Path(id): Path<String>) -> AppResult<Json<Value>> {
    let delivery_id = service::queue_test(&app, id).await?;
    crate::notify::deliver_one(&app, delivery_id.clone()).await?;
    let delivery = deliveries::get(&app.db.read, &delivery_id).await?.ok_or_else(|| AppError::internal("test delivery vanished"))?;
    Ok(Json(json!({ "ok": delivery.status == "delivered", "delivery": delivery })))
}

/// The key browsers subscribe with; the same on every replica and after restarts.
pub async fn vapid_public_key(State(app): State<App>) -> AppResult<Json<Value>> {
    let vapid = crate::notify::vapid(&app).await?;
    Ok(Json(json!({ "publicKey": vapid.public_key() })))
}

fn user_of(principal: &Principal) -> AppResult<i64> {
    principal.user_id().ok_or_else(|| AppError::ForbiddenBecause("User context required".into()))
}

pub async fn subscribe(
    State(app): State<App>,
    principal: Principal,
    Body(body): Body<Subscription>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let (channel, created) = service::subscribe(&app, user_of(&principal)?, body).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(json!({ "subscription": channel }))))
}

pub async fn unsubscribe(State(app): State<App>, principal: Principal, Path(id): Path<String>) -> AppResult<Json<Value>> {
    service::unsubscribe(&app, user_of(&principal)?, id).await?;
    Ok(Json(json!({ "success": true })))
}

/// The delivery log, newest first: `?channel=`, `?status=`, `?limit=` (default 100, at most 500).
pub async fn deliveries(State(app): State<App>, params: Params) -> AppResult<Json<Value>> {
    let limit = params.limit(100)?;
    let status = params.non_empty("status");
    if let Some(s) = status
        && !["pending", "delivered", "failed", "gone"].contains(&s)
    {
        return Err(AppError::BadRequest("status must be one of pending, delivered, failed, gone".into()));
    }
    let list = deliveries::list(&app.db.read, params.non_empty("channel"), status, limit).await?;
    Ok(Json(json!({ "deliveries": list })))
}

//! `/api/settings/api-keys` (decisions.md#api-keys): named keys an owner makes for each agent or project — with
//! a role, an optional project scope (decisions.md#project-scoped-keys) and an optional expiry. The key is shown once, in
//! the answer that creates it; only its hash is kept. Revoking deletes it, effective at once.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::principal::{Principal, Role};
use crate::auth::tokens::Secret;
use crate::crypto::random_hex;
use crate::db::api_keys::{self, ApiKey};
use crate::db::projects;
use crate::error::{AppError, AppResult};
use crate::http::json::{Body, Checks, Int, non_null};
use crate::state::App;

pub async fn list(State(app): State<App>) -> AppResult<Json<Value>> {
    Ok(Json(json!({ "keys": api_keys::list(&app.db.read).await? })))
}

#[derive(Debug, Deserialize)]
pub struct CreateBody {
    name: String,
    role: Role,
    #[serde(default, deserialize_with = "non_null")]
    project: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    expires_in_days: Option<Int>,
}

pub async fn create(State(app): State<App>, principal: Principal, Body(body): Body<CreateBody>) -> AppResult<(StatusCode, Json<Value>)> {
    let name = body.name.trim().to_string();
    Checks::new()
        .min1("name", &name)
        .require(name.chars().count() <= 100, "too_big", "name", "name must be at most 100 characters")
        .finish()?;
    let now = app.clock.now();
    let expires_at = match body.expires_in_days {
        None => None,
        Some(Int(days)) if (1..=3650).contains(&days) => Some(now + days * 86_400),
        Some(_) => return Err(AppError::field("too_big", "expires_in_days", "expires_in_days must be from 1 to 3650")),
    };
    let role = body.role.as_str();
    let secret = Secret::api_key();
    let key = ApiKey {
        id: random_hex(8),
        name,
        role: role.into(),
        project_id: body.project.filter(|p| !p.is_empty()),
        expires_at,
        last_used_at: None,
        created_by: principal.user_id(),
        created_at: now,
    };
    let stored = key.clone();
    let hash = secret.hash;
    app.db
        .write(move |c| {
            Box::pin(async move {
                if let Some(project) = &stored.project_id
                    && projects::get(c, project).await?.is_none()
                {
                    return Err(AppError::field("invalid_value", "project", format!("project: there is no project `{project}`")));
                }
                Ok(api_keys::insert(c, &stored, &hash).await?)
            })
        })
        .await?;
    tracing::info!(by = ?principal.user_id(), key_id = %key.id, role, project = ?key.project_id, "API key created");
    Ok((StatusCode::CREATED, Json(json!({ "key": key, "token": secret.token }))))
}

pub async fn revoke(State(app): State<App>, principal: Principal, Path(id): Path<String>) -> AppResult<Json<Value>> {
    let key_id = id.clone();
    let deleted = app.db.write(move |c| Box::pin(async move { Ok(api_keys::delete(c, &key_id).await?) })).await?;
    if !deleted {
        return Err(AppError::not_found("API key"));
    }
    tracing::info!(by = ?principal.user_id(), key_id = %id, "API key revoked");
    Ok(Json(json!({"success": true})))
}

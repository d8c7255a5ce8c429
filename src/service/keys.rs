//! API keys (docs/decisions.md#api-keys): named keys an owner makes for each agent or project,
//! with a role, an optional project scope (docs/decisions.md#project-scoped-keys) and an
//! optional expiry. The secret is returned once, by `create`; only its hash is kept. Revoking
//! deletes the key, effective at once.

use serde::Deserialize;

use crate::auth::tokens::Secret;
use crate::crypto::random_hex;
use crate::db::api_keys::{self, ApiKey};
use crate::db::{Db, projects};
use crate::domain::roles::Role;
use crate::domain::{Int, non_null};
use crate::error::{AppError, AppResult, Checks};
use crate::state::App;

#[derive(Debug, Deserialize)]
pub struct NewKey {
    pub name: String,
    pub role: Role,
    #[serde(default, deserialize_with = "non_null")]
    pub project: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    pub expires_in_days: Option<Int>,
}

/// Creates a key for an existing project (or none); returns it with its one-time token.
pub async fn create(app: &App, by: Option<i64>, new: NewKey) -> AppResult<(ApiKey, String)> {
    create_on(&app.db, app.clock.now(), by, new).await
}

/// `create` on a database without a running server (`ocd install`).
pub async fn create_on(db: &Db, now: i64, by: Option<i64>, new: NewKey) -> AppResult<(ApiKey, String)> {
    let name = new.name.trim().to_string();
    Checks::new()
        .min1("name", &name)
        .require(name.chars().count() <= 100, "too_big", "name", "name must be at most 100 characters")
        .finish()?;
    let expires_at = match new.expires_in_days {
        None => None,
        Some(Int(days)) if (1..=3650).contains(&days) => Some(now + days * 86_400),
        Some(_) => return Err(AppError::field("too_big", "expires_in_days", "expires_in_days must be from 1 to 3650")),
    };
    let role = new.role.as_str();
    let secret = Secret::api_key();
    let key = ApiKey {
        id: random_hex(8),
        name,
        role: new.role,
        project_id: new.project.filter(|p| !p.is_empty()),
        expires_at,
        last_used_at: None,
        created_by: by,
        created_at: now,
    };
    let stored = key.clone();
    let hash = secret.hash;
    db.write(move |c| {
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
    tracing::info!(by = ?by, key_id = %key.id, role, project = ?key.project_id, "API key created");
    Ok((key, secret.token))
}

pub async fn revoke(app: &App, by: Option<i64>, id: String) -> AppResult<()> {
    let key_id = id.clone();
    let deleted = app.db.write(move |c| Box::pin(async move { Ok(api_keys::delete(c, &key_id).await?) })).await?;
    if !deleted {
        return Err(AppError::not_found("API key"));
    }
    tracing::info!(by = ?by, key_id = %id, "API key revoked");
    Ok(())
}

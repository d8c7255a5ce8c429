//! People (decisions.md#invites-and-team, decisions.md#sleep-window): the team list, adding a member by GitHub username, invite
//! links, removing a member and changing a role. Only an owner in person gets here (decisions.md#roles).
//! The last owner can be neither removed nor demoted.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::principal::{Principal, Role};
use crate::db::{invites, users};
use crate::error::{AppError, AppResult};
use crate::http::json::{Body, Int, leading_int, non_null};
use crate::service::people::{self, InviteRole};
use crate::state::App;

pub async fn list(State(app): State<App>) -> AppResult<Json<Value>> {
    Ok(Json(json!({ "users": users::list(&app.db.read).await? })))
}

#[derive(Debug, Deserialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum InviteBody {
    Direct {
        github_username: String,
        role: InviteRole,
    },
    Link {
        role: InviteRole,
        #[serde(default, deserialize_with = "non_null")]
        expires_in_hours: Option<Int>,
    },
}

pub async fn invite(State(app): State<App>, principal: Principal, Body(body): Body<InviteBody>) -> AppResult<(StatusCode, Json<Value>)> {
    match body {
        InviteBody::Direct { github_username, role } => {
            let user = people::add_member(&app, principal.user_id(), &github_username, role).await?;
            Ok((StatusCode::CREATED, Json(json!({ "user": user }))))
        }
        InviteBody::Link { role, expires_in_hours } => {
            let invite = people::create_invite(&app, principal.user_id(), role, expires_in_hours.map(|h| h.0)).await?;
            let body = json!({"invite": {
                "id": invite.id, "url": format!("/invite/{}", invite.id), "expires_at": invite.expires_at, "role": invite.role
            }});
            Ok((StatusCode::CREATED, Json(body)))
        }
    }
}

fn user_id(raw: &str) -> AppResult<i64> {
    leading_int(raw).filter(|id| *id > 0).ok_or_else(|| AppError::BadRequest("Invalid userId".into()))
}

pub async fn remove(State(app): State<App>, principal: Principal, Path(raw): Path<String>) -> AppResult<Json<Value>> {
    people::remove(&app, principal.user_id(), user_id(&raw)?).await?;
    Ok(Json(json!({"success": true})))
}

#[derive(Debug, Deserialize)]
pub struct RoleBody {
    role: Role,
}

pub async fn change_role(
    State(app): State<App>,
    principal: Principal,
    Path(raw): Path<String>,
    body: axum::body::Bytes,
) -> AppResult<Json<Value>> {
    let id = user_id(&raw)?;
    if principal.user_id() == Some(id) {
        return Err(AppError::BadRequest("Cannot change your own role".into()));
    }
    let body: RoleBody = crate::http::json::parse(&body)?;
    let user = people::change_role(&app, principal.user_id(), id, body.role).await?;
    Ok(Json(json!({ "user": user })))
}

/// `GET /api/settings/invite/{id}` (public): what an invite link offers.
pub async fn show_invite(State(app): State<App>, Path(id): Path<String>) -> AppResult<Json<Value>> {
    let invite = invites::get(&app.db.read, &id).await?.ok_or_else(|| AppError::not_found("Invite"))?;
    Ok(Json(json!({"invite": {
        "id": invite.id, "role": invite.role, "expires_at": invite.expires_at, "used": invite.used(), "expired": invite.expired(app.clock.now())
    }})))
}

/// `POST /api/settings/invite/{id}/accept`: a signed-in person takes the invite's role —
/// unless they already have a stronger one (decisions.md#setup-link, fixes decisions.md#invites-and-team).
pub async fn accept_invite(State(app): State<App>, principal: Principal, Path(id): Path<String>) -> AppResult<Json<Value>> {
    let user_id = principal.user_id().ok_or(AppError::Unauthorized)?;
    crate::service::people::accept_invite(&app, user_id, id).await?;
    Ok(Json(json!({"success": true})))
}

//! People (decisions.md#invites-and-team, decisions.md#sleep-window): the team list, adding a member by GitHub username, invite
//! links, removing a member and changing a role. Only an owner in person gets here (decisions.md#roles).
//! The last owner can be neither removed nor demoted.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::principal::{Principal, Role};
use crate::crypto::random_hex;
use crate::db::invites::{self, Invite};
use crate::db::users;
use crate::error::{AppError, AppResult};
use crate::http::json::{Body, Int, leading_int, non_null};
use crate::state::App;

pub async fn list(State(app): State<App>) -> AppResult<Json<Value>> {
    Ok(Json(json!({ "users": users::list(&app.db.read).await? })))
}

/// Invites grant admin or viewer; ownership is given only by an owner changing a role.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InviteRole {
    Admin,
    Viewer,
}

impl InviteRole {
    fn as_str(self) -> &'static str {
        match self {
            InviteRole::Admin => "admin",
            InviteRole::Viewer => "viewer",
        }
    }
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
    let now = app.clock.now();
    match body {
        InviteBody::Direct { github_username, role } => {
            let name = github_username.trim().to_string();
            if name.is_empty() {
                return Err(AppError::field("too_small", "github_username", "github_username must not be empty"));
            }
            let profile = app.github.user_by_login(&name).await?.ok_or_else(|| AppError::BadRequest("GitHub user not found".into()))?;
            let user = app
                .db
                .write(move |c| {
                    Box::pin(async move {
                        if users::by_github_id(c, profile.id).await?.is_some() {
                            return Err(AppError::BadRequest("User already exists".into()));
                        }
                        Ok(users::insert_github(c, &profile, role.as_str(), now).await?)
                    })
                })
                .await?;
            tracing::info!(by = ?principal.user_id(), user_id = user.id, role = %user.role, "team member added");
            Ok((StatusCode::CREATED, Json(json!({ "user": user }))))
        }
        InviteBody::Link { role, expires_in_hours } => {
            let hours = match expires_in_hours {
                None => 24,
                Some(Int(h)) if (1..=720).contains(&h) => h,
                Some(_) => return Err(AppError::field("too_big", "expires_in_hours", "expires_in_hours must be from 1 to 720")),
            };
            let invite = Invite {
                id: random_hex(16),
                created_by: principal.user_id(),
                role: role.as_str().into(),
                expires_at: now + hours * 3600,
                used_by: None,
                used_at: None,
                created_at: now,
            };
            let stored = invite.clone();
            app.db.write(move |c| Box::pin(async move { Ok(invites::insert(c, &stored).await?) })).await?;
            tracing::info!(by = ?principal.user_id(), role = %invite.role, hours, "invite link created");
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

/// Refuses a change that would leave ocd without an owner.
async fn keep_an_owner(c: &mut sqlx::AnyConnection, target: &users::User) -> AppResult<()> {
    if Role::stored(&target.role) == Role::Owner && users::owner_count(c).await? <= 1 {
        return Err(AppError::BadRequest("ocd must keep at least one owner".into()));
    }
    Ok(())
}

pub async fn remove(State(app): State<App>, principal: Principal, Path(raw): Path<String>) -> AppResult<Json<Value>> {
    let id = user_id(&raw)?;
    if principal.user_id() == Some(id) {
        return Err(AppError::BadRequest("Cannot remove your own account".into()));
    }
    app.db
        .write(move |c| {
            Box::pin(async move {
                let target = users::get(c, id).await?.ok_or_else(|| AppError::not_found("User"))?;
                keep_an_owner(c, &target).await?;
                users::delete(c, id).await?;
                Ok(())
            })
        })
        .await?;
    tracing::info!(by = ?principal.user_id(), user_id = id, "team member removed");
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
    let role = body.role;
    let now = app.clock.now();
    let user = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let target = users::get(c, id).await?.ok_or_else(|| AppError::not_found("User"))?;
                if role != Role::Owner {
                    keep_an_owner(c, &target).await?;
                }
                Ok(users::set_role(c, id, role.as_str(), now).await?)
            })
        })
        .await?;
    tracing::info!(by = ?principal.user_id(), user_id = id, role = role.as_str(), "role changed");
    Ok(Json(json!({ "user": user })))
}

/// `GET /api/settings/invite/{id}` (public): what an invite link offers.
pub async fn show_invite(State(app): State<App>, Path(id): Path<String>) -> AppResult<Json<Value>> {
    let mut conn = app.db.read.acquire().await?;
    let invite = invites::get(&mut conn, &id).await?.ok_or_else(|| AppError::not_found("Invite"))?;
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

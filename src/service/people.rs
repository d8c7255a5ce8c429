//! People: what changes who may do what, whichever door it comes through (the team API, the
//! invite page, GitHub sign-in).

use serde::Deserialize;

use crate::crypto::random_hex;
use crate::db::invites::{self, Invite};
use crate::db::users::{self, User};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::state::App;

/// Invites grant admin or viewer; ownership is given only by an owner changing a role.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InviteRole {
    Admin,
    Viewer,
}

impl From<InviteRole> for Role {
    fn from(role: InviteRole) -> Role {
        match role {
            InviteRole::Admin => Role::Admin,
            InviteRole::Viewer => Role::Viewer,
        }
    }
}

/// Adds a GitHub user as a member with `role`, before they ever sign in. `by` is who did it
/// (for the audit log line).
pub async fn add_member(app: &App, by: Option<i64>, github_username: &str, role: InviteRole) -> AppResult<User> {
    let name = github_username.trim();
    if name.is_empty() {
        return Err(AppError::field("too_small", "github_username", "github_username must not be empty"));
    }
    let profile = app.github.user_by_login(name).await?.ok_or_else(|| AppError::BadRequest("GitHub user not found".into()))?;
    let now = app.clock.now();
    let user = app
        .db
        .write(move |c| {
            Box::pin(async move {
                if users::by_github_id(c, profile.id).await?.is_some() {
                    return Err(AppError::BadRequest("User already exists".into()));
                }
                Ok(users::insert_github(c, &profile, role.into(), now).await?)
            })
        })
        .await?;
    tracing::info!(by = ?by, user_id = user.id, role = %user.role, "team member added");
    Ok(user)
}

/// An invite link granting `role`, valid for 1–720 hours (default 24).
pub async fn create_invite(app: &App, by: Option<i64>, role: InviteRole, expires_in_hours: Option<i64>) -> AppResult<Invite> {
    let hours = match expires_in_hours {
        None => 24,
        Some(h) if (1..=720).contains(&h) => h,
        Some(_) => return Err(AppError::field("too_big", "expires_in_hours", "expires_in_hours must be from 1 to 720")),
    };
    let now = app.clock.now();
    let invite = Invite {
        id: random_hex(16),
        created_by: by,
        role: role.into(),
        expires_at: now + hours * 3600,
        used_by: None,
        used_at: None,
        created_at: now,
    };
    let stored = invite.clone();
    app.db.write(move |c| Box::pin(async move { Ok(invites::insert(c, &stored).await?) })).await?;
    tracing::info!(by = ?by, role = %invite.role, hours, "invite link created");
    Ok(invite)
}

/// Refuses a change that would leave ocd without an owner.
async fn keep_an_owner(c: &mut crate::db::WriteConn, target: &User) -> AppResult<()> {
    if target.role == Role::Owner && users::owner_count(c).await? <= 1 {
        return Err(AppError::BadRequest("ocd must keep at least one owner".into()));
    }
    Ok(())
}

/// Removes member `id` (not oneself, not the last owner).
pub async fn remove(app: &App, by: Option<i64>, id: i64) -> AppResult<()> {
    if by == Some(id) {
        return Err(AppError::BadRequest("Cannot remove your own account".into()));
    }
    app.db
        .write(move |c| {
            Box::pin(async move {
                let target = users::get(&mut *c, id).await?.ok_or_else(|| AppError::not_found("User"))?;
                keep_an_owner(c, &target).await?;
                users::delete(c, id).await?;
                Ok(())
            })
        })
        .await?;
    tracing::info!(by = ?by, user_id = id, "team member removed");
    Ok(())
}

/// Changes member `id`'s role (not one's own; the last owner cannot be demoted).
pub async fn change_role(app: &App, by: Option<i64>, id: i64, role: Role) -> AppResult<Option<User>> {
    let now = app.clock.now();
    let user = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let target = users::get(&mut *c, id).await?.ok_or_else(|| AppError::not_found("User"))?;
                if role != Role::Owner {
                    keep_an_owner(c, &target).await?;
                }
                Ok(users::set_role(c, id, role, now).await?)
            })
        })
        .await?;
    tracing::info!(by = ?by, user_id = id, role = role.as_str(), "role changed");
    Ok(user)
}

/// Uses invite `id` for `user_id` (atomically: one person per invite).
pub async fn accept_invite(app: &App, user_id: i64, id: String) -> AppResult<()> {
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                invites::get(&mut *c, &id).await?.ok_or_else(|| AppError::not_found("Invite"))?;
                let role = invites::consume(c, &id, user_id, now)
                    .await?
                    .ok_or_else(|| AppError::BadRequest("This invite link has expired or already been used".into()))?;
                let user = users::get(&mut *c, user_id).await?.ok_or(AppError::Unauthorized)?;
                raise_role(c, user, role, now).await?;
                Ok(())
            })
        })
        .await
}

/// Applies an invite's role to an existing user, never lowering it (decisions.md#setup-link, fixes decisions.md#invites-and-team).
pub async fn raise_role(c: &mut crate::db::WriteConn, user: User, role: Role, now: i64) -> AppResult<User> {
    if role <= user.role {
        return Ok(user);
    }
    users::set_role(c, user.id, role, now).await?.ok_or_else(|| AppError::not_found("User"))
}

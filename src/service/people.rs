//! People: what changes who may do what, whichever door it comes through (the team API, the
//! invite page, GitHub sign-in).

use crate::db::users::User;
use crate::db::{invites, users};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::state::App;

/// Uses invite `id` for `user_id` (atomically: one person per invite).
pub async fn accept_invite(app: &App, user_id: i64, id: String) -> AppResult<()> {
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                invites::get(c, &id).await?.ok_or_else(|| AppError::not_found("Invite"))?;
                let role = invites::consume(c, &id, user_id, now)
                    .await?
                    .ok_or_else(|| AppError::BadRequest("This invite link has expired or already been used".into()))?;
                let user = users::get(c, user_id).await?.ok_or(AppError::Unauthorized)?;
                raise_role(c, user, &role, now).await?;
                Ok(())
            })
        })
        .await
}

/// Applies an invite's role to an existing user, never lowering it (decisions.md#setup-link, fixes decisions.md#invites-and-team).
pub async fn raise_role(c: &mut sqlx::AnyConnection, user: User, role: &str, now: i64) -> AppResult<User> {
    if Role::stored(role) <= Role::stored(&user.role) {
        return Ok(user);
    }
    users::set_role(c, user.id, role, now).await?.ok_or_else(|| AppError::not_found("User"))
}

//! One-time sign-in links (decisions.md#setup-link, decisions.md#login-links): printed by the first start (the owner's setup link) and by
//! `ocd login-link`. Single use, valid for 15 minutes, stored as a hash.

use super::principal::Role;
use super::tokens::Secret;
use crate::db::{Db, invites, users};
use crate::error::AppError;

pub const LINK_TTL_SECS: i64 = 15 * 60;

/// Whom a new link signs in.
pub enum LinkFor<'a> {
    /// A new local user with this role.
    NewUser(Role),
    /// The existing user with this name (a local name or a GitHub login).
    Existing(&'a str),
}

/// Creates a link and returns its path (below the base path), e.g. `/api/auth/link/<token>`.
pub async fn create(db: &Db, whom: LinkFor<'_>, now: i64) -> Result<String, String> {
    let secret = Secret::random();
    let hash = secret.hash.clone();
    let (role, name) = match whom {
        LinkFor::NewUser(role) => (role, None),
        LinkFor::Existing(name) => (Role::Viewer, Some(name.to_string())),
    };
    db.write(move |c| {
        Box::pin(async move {
            let user_id = match name {
                Some(name) => {
                    let user = users::by_name(c, &name).await?;
                    Some(user.ok_or_else(|| AppError::BadRequest(format!("there is no user named `{name}`")))?.id)
                }
                None => None,
            };
            invites::insert_login_link(c, &hash, role, user_id, now + LINK_TTL_SECS, now).await?;
            Ok(())
        })
    })
    .await
    // For the command line: the message alone for a wrong name, the cause for anything else.
    .map_err(|e| match e {
        AppError::BadRequest(m) => m,
        other => other.to_string(),
    })?;
    Ok(format!("/api/auth/link/{}", secret.token))
}

/// The setup link for a database without users (decisions.md#setup-link): `None` once someone has signed in.
pub async fn setup_link(db: &Db, now: i64) -> Result<Option<String>, String> {
    if users::count(&db.read).await.map_err(|e| e.to_string())? > 0 {
        return Ok(None);
    }
    create(db, LinkFor::NewUser(Role::Owner), now).await.map(Some)
}

//! `/api/auth/link/{token}`: the one-time sign-in link (decisions.md#setup-link, decisions.md#login-links). GET shows a confirmation
//! page (so a link previewer fetching it does not use it up); POST uses it and signs in.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::sessions::Starting;
use crate::crypto::sha256_hex;
use crate::db::{invites, users};
use crate::error::{AppError, AppResult};
use crate::state::App;

const SPENT: &str = "This sign-in link has expired or was already used. Run `ocd login-link` on the server for a new one.";

/// A name for a new local user, so `ocd login-link --user NAME` can find them again: "owner"
/// for the first, else the role, numbered when taken ("admin", "admin-3").
use crate::domain::roles::Role;

async fn local_name(c: &mut crate::db::WriteConn, role: Role) -> Result<String, sqlx::Error> {
    let count = users::count(&mut *c).await?;
    let base = if count == 0 { "owner" } else { role.as_str() };
    if users::by_name(c, base).await?.is_none() {
        return Ok(base.to_string());
    }
    Ok(format!("{base}-{}", count + 1))
}

fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

pub async fn confirm(State(app): State<App>, Path(token): Path<String>) -> AppResult<Response> {
    let usable = well_formed(&token) && invites::login_link_usable(&app.db.read, &sha256_hex(&token), app.clock.now()).await?;
    if !usable {
        return Err(AppError::BadRequest(SPENT.into()));
    }
    Ok(crate::http::html::render(
        StatusCode::OK,
        &crate::web::login::LinkConfirm { title: "Sign in to ocd", css: crate::web::assets::url(&app.base_path, "app.css") },
    ))
}

/// Uses the link: creates the user it stands for (or finds it), starts a session and sends
/// the browser on — into GitHub sign-in to bind an account when GitHub is configured (decisions.md#setup-link).
pub async fn use_link(State(app): State<App>, headers: HeaderMap, Path(token): Path<String>) -> AppResult<Response> {
    if !well_formed(&token) {
        return Err(AppError::BadRequest(SPENT.into()));
    }
    let hash = sha256_hex(&token);
    let now = app.clock.now();
    let starting = Starting::new(app.auth.cookies, &headers);
    let (user, starting) = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let link = invites::consume_login_link(c, &hash, now).await?.ok_or_else(|| AppError::BadRequest(SPENT.into()))?;
                let user = match link.user_id {
                    Some(id) => users::get(&mut *c, id).await?.ok_or_else(|| AppError::BadRequest(SPENT.into()))?,
                    None => {
                        let name = local_name(c, link.role).await?;
                        users::insert_local(c, &name, link.role, now).await?
                    }
                };
                let mut starting = starting;
                starting.store(c, user.id, now).await?;
                Ok((user, starting))
            })
        })
        .await?;
    tracing::info!(user_id = user.id, "signed in with a one-time link");
    let next = if app.github.configured() && user.github_id.is_none() {
        format!("{}/api/auth/login?bind=1", app.base_path)
    } else {
        format!("{}/", app.base_path)
    };
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, next)]).into_response();
    response.headers_mut().append(header::SET_COOKIE, starting.cookie(app.auth.cookies));
    Ok(response)
}

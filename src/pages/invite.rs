//! `/invite/{id}`, the link an owner sends (`url` of a created invite): says what the invite
//! offers and how to take it — GitHub sign-in carrying the invite, or, for someone already
//! signed in, an Accept button.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::{escape, page};
use crate::app::App;
use crate::auth::principal::Principal;
use crate::db::invites;
use crate::error::AppResult;

fn answer(status: StatusCode, title: &str, body: &str) -> Response {
    (status, Html(page(title, body))).into_response()
}

pub async fn show(State(app): State<App>, principal: Principal, Path(id): Path<String>) -> AppResult<Response> {
    let invite = {
        let mut conn = app.db.read.acquire().await?;
        invites::get(&mut conn, &id).await?
    };
    let Some(invite) = invite else {
        return Ok(answer(StatusCode::NOT_FOUND, "Invite not found", "<p>Check the link you were sent.</p>"));
    };
    if invite.used() || invite.expired(app.clock.now()) {
        let body = "<p>This invite link has expired or already been used. Ask for a new one.</p>";
        return Ok(answer(StatusCode::GONE, "Invite no longer valid", body));
    }
    let role = escape(&invite.role);
    let base = escape(&app.base_path);
    let id = escape(&invite.id);
    let action = if principal.user_id().is_some() {
        format!("<form method=\"post\"><button type=\"submit\">Accept and join as {role}</button></form>")
    } else if app.github.configured() {
        format!("<p><a href=\"{base}/api/auth/login?invite={id}\">Sign in with GitHub to accept</a></p>")
    } else {
        "<p>This ocd has no GitHub sign-in. Ask the person who invited you for a one-time sign-in link.</p>".to_string()
    };
    Ok(answer(StatusCode::OK, "You are invited to ocd", &format!("<p>This invite makes you {role}.</p>{action}")))
}

/// The Accept button: uses the invite for the signed-in person, then opens the dashboard.
pub async fn accept(State(app): State<App>, principal: Principal, Path(id): Path<String>) -> AppResult<Response> {
    let user_id = principal.user_id().ok_or(crate::error::AppError::Unauthorized)?;
    crate::api::team::accept(&app, user_id, id).await?;
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, format!("{}/", app.base_path))]).into_response())
}

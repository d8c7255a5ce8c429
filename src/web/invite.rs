//! `/invite/{id}`, the link an owner sends (`url` of a created invite): says what the invite
//! offers and how to take it — GitHub sign-in carrying the invite, or, for someone already
//! signed in, an Accept button.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use askama::Template;

use crate::auth::principal::Principal;
use crate::db::invites;
use crate::error::AppResult;
use crate::http::html::{message, render};
use crate::state::App;

/// What the invited person can do next.
pub enum InviteAction {
    /// Signed in already: accept with one button.
    Accept,
    /// Sign in with GitHub, carrying the invite (the link).
    GitHub(String),
    /// No GitHub sign-in here: ask for a one-time link.
    AskForLink,
}

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage<'a> {
    title: &'a str,
    css: String,
    role: &'a str,
    action: InviteAction,
}

pub async fn show(State(app): State<App>, principal: Principal, Path(id): Path<String>) -> AppResult<Response> {
    let invite = invites::get(&app.db.read, &id).await?;
    let Some(invite) = invite else {
        return Ok(message(&app.base_path, StatusCode::NOT_FOUND, "Invite not found", "Check the link you were sent."));
    };
    if invite.used() || invite.expired(app.clock.now()) {
        let text = "This invite link has expired or already been used. Ask for a new one.";
        return Ok(message(&app.base_path, StatusCode::GONE, "Invite no longer valid", text));
    }
    let action = if principal.user_id().is_some() {
        InviteAction::Accept
    } else if app.github.configured() {
        InviteAction::GitHub(format!("{}/api/auth/login?invite={}", app.base_path, crate::percent::encode(&invite.id)))
    } else {
        InviteAction::AskForLink
    };
    Ok(render(
        StatusCode::OK,
        &InvitePage {
            title: "You are invited to ocd",
            css: crate::web::assets::url(&app.base_path, "app.css"),
            role: invite.role.as_str(),
            action,
        },
    ))
}

/// The Accept button: uses the invite for the signed-in person, then opens the dashboard.
pub async fn accept(State(app): State<App>, principal: Principal, Path(id): Path<String>) -> AppResult<Response> {
    let user_id = principal.user_id().ok_or(crate::error::AppError::Unauthorized)?;
    crate::service::people::accept_invite(&app, user_id, id).await?;
    Ok(super::see_other(format!("{}/", app.base_path)))
}

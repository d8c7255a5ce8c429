//! Signing in and out in a browser: the `/login` page (GitHub button when configured, else how
//! to get a one-time link), the one-time link's confirmation page, and the sign-out form.
//! A page opened without a session is sent here by the gate (`login_redirect`).

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::{assets, see_other};
use crate::api::auth::safe_redirect;
use crate::auth::principal::Principal;
use crate::error::AppResult;
use crate::http::json::Params;
use crate::percent;
use crate::state::App;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    title: &'static str,
    css: String,
    /// Where the GitHub button goes, when GitHub sign-in is configured.
    github: Option<String>,
}

/// `GET /login[?redirect=/path]`: someone already signed in goes on to where they were going.
pub async fn show(State(app): State<App>, principal: Principal, params: Params) -> AppResult<Response> {
    let redirect = safe_redirect(params.get("redirect"), &app.base_path);
    if principal.role().is_some() && params.get("add").is_none() {
        return Ok(see_other(redirect));
    }
    // Adding an account lets GitHub offer its account picker (decisions.md#accounts).
    let add = if params.get("add") == Some("1") { "&add=1" } else { "" };
    let github = app.github.configured().then(|| format!("{}/api/auth/login?redirect={}{add}", app.base_path, percent::encode(&redirect)));
    let page = LoginPage { title: "Sign in to ocd", css: assets::url(&app.base_path, "app.css"), github };
    Ok(crate::http::html::render(StatusCode::OK, &page))
}

/// The confirmation shown before a one-time sign-in link is used (a link previewer fetching
/// it does not use it up).
#[derive(Template)]
#[template(path = "link_confirm.html")]
pub struct LinkConfirm<'a> {
    pub title: &'a str,
    pub css: String,
}

/// Where a page opened without a session is sent: `/login`, carrying the page to return to.
pub fn login_redirect(base_path: &str, path_and_query: &str) -> Response {
    see_other(format!("{base_path}/login?redirect={}", percent::encode(path_and_query)))
}

/// `POST /logout` (the sign-out button): signs the active account out; the next account of
/// this browser becomes active, or, when none is left, the sign-in page shows.
pub async fn logout(State(app): State<App>, headers: HeaderMap) -> AppResult<Response> {
    let cookie = crate::api::auth::end_active_account(&app, &headers).await?;
    let mut response = see_other(format!("{}/login", app.base_path));
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

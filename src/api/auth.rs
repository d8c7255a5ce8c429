//! Browser sign-in with GitHub (decisions.md#github-oauth, decisions.md#github-oauth, decisions.md#setup-link): login, callback, verify, logout,
//! and a person's own sessions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::accounts;
use crate::auth::cookies::{self, MAX_ACCOUNTS, OAUTH_TTL_SECS};
use crate::auth::csrf::site_origin;
use crate::auth::principal::Principal;
use crate::auth::sessions::Starting;
use crate::auth::tokens::Secret;
use crate::crypto::{ct_eq, sha256_hex};
use crate::db::users::{self, GithubProfile, User};
use crate::db::{auth_sessions, invites};
use crate::error::{AppError, AppResult};
use crate::http::errors;
use crate::http::json::{Body, Params};
use crate::percent;
use crate::state::{App, AppState};

const NOT_INVITED: &str = "Not authorized. Ask an admin for an invite.";
const NO_OWNER_YET: &str = "ocd has no owner yet. Open the one-time setup link ocd printed when it first started, \
     or run `ocd login-link --role owner` on the server for a new one.";
const INVITE_SPENT: &str = "This invite link has expired or already been used";

/// Where GitHub sends the browser back: the address registered with the OAuth app.
fn callback_url(app: &AppState) -> String {
    format!("{}{}/api/auth/callback", site_origin(app.config.public_url.as_deref(), &app.listen_origin()), app.base_path)
}

/// A local path to return to after sign-in; anything that could leave the site becomes `/`.
pub fn safe_redirect(raw: Option<&str>, base_path: &str) -> String {
    match raw {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') && !p.chars().any(char::is_control) => p.to_string(),
        _ => format!("{base_path}/"),
    }
}

fn set_cookie(response: &mut Response, value: HeaderValue) {
    response.headers_mut().append(header::SET_COOKIE, value);
}

fn clear_oauth_cookies(app: &AppState, response: &mut Response) {
    for name in [cookies::OAUTH_STATE, cookies::OAUTH_REDIRECT, cookies::OAUTH_INTENT] {
        set_cookie(response, app.auth.cookies.clear(name));
    }
}

/// `GET /api/auth/login[?redirect=/path][&invite=<id>][&bind=1][&add=1]` → 307 to GitHub;
/// `add=1` adds another account to this browser (GitHub offers its account picker).
pub async fn login(State(app): State<App>, params: Params, principal: Principal) -> AppResult<Response> {
    let redirect_uri = callback_url(&app);
    let state = Secret::random().token;
    let location = app
        .github
        .authorize_url(&redirect_uri, &state, params.get("add") == Some("1"))
        .ok_or_else(|| AppError::NotConfigured("Missing GITHUB_CLIENT_ID configuration".into()))?;
    let intent = match (params.non_empty("invite"), params.get("bind"), principal.user_id()) {
        (Some(invite), ..) if invite.len() <= 64 && invite.bytes().all(|b| b.is_ascii_hexdigit()) => Some(format!("invite:{invite}")),
        (None, Some("1"), Some(_)) => Some("bind".to_string()),
        _ => None,
    };
    let redirect = safe_redirect(params.get("redirect"), &app.base_path);
    let mut response = (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, location)]).into_response();
    let jar = app.auth.cookies;
    set_cookie(&mut response, jar.set(cookies::OAUTH_STATE, &state, OAUTH_TTL_SECS));
    set_cookie(&mut response, jar.set(cookies::OAUTH_REDIRECT, &percent::encode(&redirect), OAUTH_TTL_SECS));
    match intent {
        Some(intent) => set_cookie(&mut response, jar.set(cookies::OAUTH_INTENT, &percent::encode(&intent), OAUTH_TTL_SECS)),
        None => set_cookie(&mut response, jar.clear(cookies::OAUTH_INTENT)),
    }
    Ok(response)
}

/// `GET /api/auth/callback?code&state` (or `?error=access_denied`): signs the person in.
pub async fn callback(State(app): State<App>, headers: HeaderMap, params: Params, principal: Principal) -> Response {
    let mut response = match finish_sign_in(&app, &headers, &params, &principal).await {
        Ok(response) => response,
        // A person's browser (it asks for HTML) is shown a page saying what went wrong — not
        // invited, cancelled — with the way back; other clients get the contract's JSON.
        Err(e) if accepts_html(&headers) => errors::in_route_format(e.into_response(), errors::Format::Html, &app.base_path).await,
        Err(e) => e.into_response(),
    };
    clear_oauth_cookies(&app, &mut response);
    response
}

async fn finish_sign_in(app: &App, headers: &HeaderMap, params: &Params, principal: &Principal) -> AppResult<Response> {
    if !app.github.configured() {
        return Err(AppError::NotConfigured("Missing GitHub OAuth configuration".into()));
    }
    let jar = app.auth.cookies;
    let expected = jar.get(headers, cookies::OAUTH_STATE);
    let state_ok = matches!((params.get("state"), &expected), (Some(s), Some(e)) if ct_eq(s, e));
    if let Some(error) = params.non_empty("error") {
        let message =
            if error == "access_denied" { "GitHub sign-in was cancelled".to_string() } else { format!("GitHub sign-in failed: {error}") };
        return Err(AppError::BadRequest(message));
    }
    let code = params.non_empty("code");
    let (Some(code), true) = (code, state_ok) else {
        return Err(AppError::BadRequest("Invalid OAuth state".into()));
    };
    let token = app.github.exchange(code, &callback_url(app)).await?;
    let profile = app.github.current_user(&token).await?;
    let intent = jar.get(headers, cookies::OAUTH_INTENT).map(|v| percent::decode(&v));
    let intent = Intent::parse(intent.as_deref(), principal);
    let starting = Starting::new(jar, headers);
    let now = app.clock.now();
    let (user, starting) = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let user = resolve_user(c, &profile, &intent, now).await?;
                let mut starting = starting;
                starting.store(c, user.id, now).await?;
                Ok((user, starting))
            })
        })
        .await?;
    tracing::info!(user_id = user.id, "signed in with GitHub");
    let redirect = jar.get(headers, cookies::OAUTH_REDIRECT).map(|v| percent::decode(&v));
    let origin = site_origin(app.config.public_url.as_deref(), &app.listen_origin());
    let location = format!("{origin}{}", safe_redirect(redirect.as_deref(), &app.base_path));
    let mut response = (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, location)]).into_response();
    set_cookie(&mut response, starting.cookie(jar));
    Ok(response)
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"))
}

/// What the OAuth round trip was started for.
enum Intent {
    SignIn,
    /// Accept this invite (decisions.md#setup-link: the invited user is created with its role).
    Invite(String),
    /// Bind the GitHub account to the signed-in user (the setup link's continuation).
    Bind(i64),
}

impl Intent {
    fn parse(cookie: Option<&str>, principal: &Principal) -> Intent {
        match (cookie, principal.user_id()) {
            (Some("bind"), Some(id)) => Intent::Bind(id),
            (Some(c), _) if c.starts_with("invite:") => Intent::Invite(c["invite:".len()..].to_string()),
            _ => Intent::SignIn,
        }
    }
}

/// Finds, binds or creates the user for a GitHub profile, inside the sign-in's write.
async fn resolve_user(c: &mut crate::db::WriteConn, profile: &GithubProfile, intent: &Intent, now: i64) -> AppResult<User> {
    if let Some(known) = users::by_github_id(c, profile.id).await? {
        if let Intent::Bind(me) = intent
            && *me != known.id
        {
            return Err(AppError::BadRequest("This GitHub account is already linked to another ocd user".into()));
        }
        let mut user = users::set_github(c, known.id, profile, now).await?;
        if let Intent::Invite(id) = intent
            && let Some(role) = invites::consume(c, id, user.id, now).await?
        {
            user = crate::service::people::raise_role(c, user, role, now).await?;
        }
        return Ok(user);
    }
    match intent {
        Intent::Bind(me) => {
            let me = users::get(&mut *c, *me).await?.ok_or(AppError::Unauthorized)?;
            Ok(users::set_github(c, me.id, profile, now).await?)
        }
        Intent::Invite(id) => {
            let invite = invites::get(&mut *c, id).await?.ok_or_else(|| AppError::BadRequest(INVITE_SPENT.into()))?;
            let user = users::insert_github(c, profile, invite.role, now).await?;
            // The UPDATE admits one caller: a second sign-in racing on this invite fails here.
            invites::consume(c, id, user.id, now).await?.ok_or_else(|| AppError::BadRequest(INVITE_SPENT.into()))?;
            Ok(user)
        }
        Intent::SignIn if users::count(&mut *c).await? == 0 => Err(AppError::ForbiddenBecause(NO_OWNER_YET.into())),
        Intent::SignIn => Err(AppError::ForbiddenBecause(NOT_INVITED.into())),
    }
}

/// A person as the sign-in routes describe them.
pub fn user_json(u: &User) -> Value {
    json!({"id": u.id, "username": u.username, "display_name": u.display_name, "avatar_url": u.avatar_url, "role": u.role})
}

/// `GET /api/auth/verify`: who the browser is signed in as (API keys are not people).
pub async fn verify(State(app): State<App>, principal: Principal) -> AppResult<Json<Value>> {
    match principal {
        Principal::LocalOwner => Ok(Json(json!({"valid": true, "user": {
            "id": 0, "username": "local", "display_name": "Local User", "avatar_url": null, "role": "owner"
        }}))),
        Principal::User { id, .. } => Ok(Json(match users::get(&app.db.read, id).await? {
            Some(u) => json!({"valid": true, "user": user_json(&u)}),
            None => json!({"valid": false}),
        })),
        _ => Ok(Json(json!({"valid": false}))),
    }
}

/// Signs the browser's active account out (decisions.md#accounts): ends its session and
/// answers the Set-Cookie that keeps the other accounts, the next one becoming active.
pub async fn end_active_account(app: &App, headers: &HeaderMap) -> AppResult<HeaderValue> {
    // The cookie keeps the accounts still signed in; the active one is the first of them.
    let mut tokens = accounts::of_browser(&app.db, app.auth.cookies, headers, app.clock.now()).await?.into_iter().map(|a| a.token);
    if let Some(active) = tokens.next() {
        let hash = sha256_hex(&active);
        app.db.write(move |c| Box::pin(async move { Ok(auth_sessions::delete_by_hash(c, &hash).await?) })).await?;
    }
    Ok(app.auth.cookies.session_cookie(&tokens.collect::<Vec<_>>()))
}

/// `POST /api/auth/logout`: ends the browser's active account (its other accounts stay signed
/// in), and a session token sent as `Bearer` (an API key sent there is not a session and stays
/// valid); always succeeds.
pub async fn logout(State(app): State<App>, headers: HeaderMap) -> AppResult<Response> {
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if let Some(token) = bearer {
        let hash = sha256_hex(token);
        app.db.write(move |c| Box::pin(async move { Ok(auth_sessions::delete_by_hash(c, &hash).await?) })).await?;
    }
    let cookie = end_active_account(&app, &headers).await?;
    let mut response = Json(json!({"success": true})).into_response();
    set_cookie(&mut response, cookie);
    Ok(response)
}

/// `GET /api/auth/accounts`: the accounts this browser is signed in to, the active one first.
pub async fn accounts(State(app): State<App>, headers: HeaderMap) -> AppResult<Json<Value>> {
    let accounts = accounts::of_browser(&app.db, app.auth.cookies, &headers, app.clock.now()).await?;
    let list: Vec<Value> =
        accounts.iter().map(|a| json!({"session_id": a.session_id, "active": a.active, "user": user_json(&a.user)})).collect();
    Ok(Json(json!({ "accounts": list, "max_accounts": MAX_ACCOUNTS })))
}

#[derive(Debug, Deserialize)]
pub struct SwitchBody {
    session_id: String,
}

/// Makes the browser's account with `session_id` the active one; the Set-Cookie carries the
/// reordered tokens. 404 when this browser is not signed in to that account.
pub async fn switch_account(app: &App, headers: &HeaderMap, session_id: &str) -> AppResult<(HeaderValue, User)> {
    let accounts = accounts::of_browser(&app.db, app.auth.cookies, headers, app.clock.now()).await?;
    let (tokens, user) = accounts::switch_to(accounts, session_id).ok_or_else(|| AppError::not_found("Account"))?;
    Ok((app.auth.cookies.session_cookie(&tokens), user))
}

/// `POST /api/auth/switch {session_id}`: changes the active account without signing in again.
pub async fn switch(State(app): State<App>, headers: HeaderMap, Body(body): Body<SwitchBody>) -> AppResult<Response> {
    let (cookie, user) = switch_account(&app, &headers, &body.session_id).await?;
    let mut response = Json(json!({"success": true, "user": user_json(&user)})).into_response();
    set_cookie(&mut response, cookie);
    Ok(response)
}

/// `GET /api/auth/sessions`: the caller's signed-in browsers.
pub async fn sessions(State(app): State<App>, principal: Principal) -> AppResult<Json<Value>> {
    let user_id = principal.user_id().ok_or(AppError::Unauthorized)?;
    let sessions = auth_sessions::list_for_user(&app.db.read, user_id, principal.session_id(), app.clock.now()).await?;
    Ok(Json(json!({ "sessions": sessions })))
}

/// `DELETE /api/auth/sessions/{id}`: signs one of the caller's browsers out at once.
pub async fn end_session(State(app): State<App>, principal: Principal, Path(id): Path<String>) -> AppResult<Json<Value>> {
    let user_id = principal.user_id().ok_or(AppError::Unauthorized)?;
    let ended = app.db.write(move |c| Box::pin(async move { Ok(auth_sessions::delete_for_user(c, &id, user_id).await?) })).await?;
    if !ended {
        return Err(AppError::not_found("Session"));
    }
    Ok(Json(json!({"success": true})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_redirect(Some("/agents?x=1"), ""), "/agents?x=1");
        for evil in ["//evil.example", "/\\evil.example", "https://evil.example", "evil", "/ok\nLocation: x"] {
            assert_eq!(safe_redirect(Some(evil), "/ocd"), "/ocd/", "{evil:?}");
        }
        assert_eq!(safe_redirect(None, ""), "/");
    }
}

//! Turning a request's credentials into a principal (decisions.md#principals, decisions.md#principals): the bootstrap key,
//! a named API key, or a session token — as a Bearer header, as the stream's `?token=`, or
//! (without an Authorization header) as the session cookie.

use axum::http::{HeaderMap, header};

use super::cookies::{Cookies, SESSION_TTL_SECS};
use super::principal::{Principal, Role};
use super::tokens::API_KEY_PREFIX;
use crate::crypto::{ct_eq, sha256_hex};
use crate::db::{Db, api_keys, auth_sessions};
use crate::error::AppResult;

/// How often a session's expiry slides forward and a key's last-used time is written: once
/// an hour / a minute is plenty, and it keeps reads from turning into writes.
const SESSION_RENEW_AFTER_SECS: i64 = 3600;
const KEY_TOUCH_AFTER_SECS: i64 = 60;

/// How the principal proved itself: cookie-borne requests are subject to CSRF checks (decisions.md#csrf).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    None,
    Bearer,
    Cookie,
}

#[derive(Clone)]
pub struct Authenticator {
    pub bootstrap_key: String,
    pub disable_auth: bool,
    pub cookies: Cookies,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator").field("disable_auth", &self.disable_auth).finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Resolves the principal of a request; wrong, expired or missing credentials give
    /// `Anonymous` (a 401 on any non-public route).
    pub async fn resolve(&self, db: &Db, headers: &HeaderMap, query_token: Option<&str>, now: i64) -> AppResult<(Principal, Credential)> {
        let authorization = headers.get(header::AUTHORIZATION);
        if self.disable_auth && authorization.is_none() {
            return Ok((Principal::LocalOwner, Credential::None));
        }
        let bearer = authorization.and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        if let Some(token) = bearer.or(query_token) {
            return Ok((self.by_token(db, token, now).await?, Credential::Bearer));
        }
        // The browser's active account is the first of its session tokens whose session is
        // still valid: one ended elsewhere falls back to the next (decisions.md#accounts).
        let tokens = self.cookies.session_tokens(headers);
        if tokens.is_empty() {
            return Ok((Principal::Anonymous, Credential::None));
        }
        for token in &tokens {
            let principal = session_principal(db, token, now).await?;
            if principal != Principal::Anonymous {
                return Ok((principal, Credential::Cookie));
            }
        }
        Ok((Principal::Anonymous, Credential::Cookie))
    }

    async fn by_token(&self, db: &Db, token: &str, now: i64) -> AppResult<Principal> {
        if ct_eq(token, &self.bootstrap_key) {
            return Ok(Principal::ApiKey { id: None, role: Role::Admin, project: None });
        }
        if token.starts_with(API_KEY_PREFIX) {
            return key_principal(db, token, now).await;
        }
        session_principal(db, token, now).await
    }
}

async fn key_principal(db: &Db, token: &str, now: i64) -> AppResult<Principal> {
    let Some(key) = api_keys::find(&db.read, &sha256_hex(token), now).await? else {
        return Ok(Principal::Anonymous);
    };
    if key.last_used_at.is_none_or(|at| now - at >= KEY_TOUCH_AFTER_SECS) {
        let id = key.id.clone();
        db.write(move |c| Box::pin(async move { Ok(api_keys::touch(c, &id, now).await?) })).await?;
    }
    Ok(Principal::ApiKey { id: Some(key.id), role: key.role, project: key.project_id })
}

async fn session_principal(db: &Db, token: &str, now: i64) -> AppResult<Principal> {
    let Some(session) = auth_sessions::find(&db.read, &sha256_hex(token), now).await? else {
        return Ok(Principal::Anonymous);
    };
    if session.expires_at - now < SESSION_TTL_SECS - SESSION_RENEW_AFTER_SECS {
        let id = session.session_id.clone();
        db.write(move |c| Box::pin(async move { Ok(auth_sessions::extend(c, &id, now + SESSION_TTL_SECS, now).await?) })).await?;
    }
    Ok(Principal::User { id: session.user_id, role: session.role, session: session.session_id })
}

//! Starting a browser session: a fresh token every sign-in, added to the accounts the browser
//! already holds (decisions.md#accounts). A session of the same person the browser held before
//! is ended and replaced, so a sign-in never keeps an old token of that account alive; beyond
//! five accounts the one used least recently is signed out.

use crate::db::WriteConn;
use axum::http::{HeaderMap, HeaderValue, header};

use super::cookies::{Cookies, MAX_ACCOUNTS, SESSION_TTL_SECS};
use super::tokens::{Secret, uuid_v4};
use crate::crypto::sha256_hex;
use crate::db::auth_sessions::{self, NewSession};

/// A session about to be stored, prepared outside the write so the unit stays small.
pub struct Starting {
    secret: Secret,
    id: String,
    /// The browser's session tokens before this sign-in, active first.
    previous: Vec<String>,
    /// Those still signed in after it (set by `store`).
    kept: Vec<String>,
    user_agent: Option<String>,
}

impl Starting {
    pub fn new(cookies: Cookies, headers: &HeaderMap) -> Starting {
        let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|v| v.chars().take(200).collect());
        Starting { secret: Secret::random(), id: uuid_v4(), previous: cookies.session_tokens(headers), kept: Vec::new(), user_agent }
    }

    /// Stores the session for `user_id` (inside the caller's write); of the browser's other
    /// sessions, those of the same person and those beyond the limit are ended, expired or
    /// unknown ones dropped.
    pub async fn store(&mut self, conn: &mut WriteConn, user_id: i64, now: i64) -> Result<(), sqlx::Error> {
        self.kept.clear();
        for token in &self.previous {
            let hash = sha256_hex(token);
            let Some(session) = auth_sessions::find(&mut *conn, &hash, now).await? else { continue };
            if session.user_id == user_id || self.kept.len() + 1 >= MAX_ACCOUNTS {
                auth_sessions::delete_by_hash(conn, &hash).await?;
            } else {
                self.kept.push(token.clone());
            }
        }
        let session = NewSession {
            id: &self.id,
            user_id,
            token_hash: &self.secret.hash,
            expires_at: now + SESSION_TTL_SECS,
            user_agent: self.user_agent.as_deref(),
        };
        auth_sessions::insert(conn, &session, now).await
    }

    /// The Set-Cookie that hands the token to the browser: the new account active, the others kept.
    pub fn cookie(&self, cookies: Cookies) -> HeaderValue {
        let tokens: Vec<String> = std::iter::once(self.secret.token.clone()).chain(self.kept.iter().cloned()).collect();
        cookies.session_cookie(&tokens)
    }
}

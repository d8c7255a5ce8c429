//! Starting a browser session: a fresh token every sign-in (the one the browser had before is
//! ended, so a planted cookie cannot be carried across a sign-in).

use crate::db::WriteConn;
use axum::http::{HeaderMap, HeaderValue, header};

use super::cookies::{self, Cookies, SESSION_TTL_SECS};
use super::tokens::{Secret, uuid_v4};
use crate::crypto::sha256_hex;
use crate::db::auth_sessions::{self, NewSession};

/// A session about to be stored, prepared outside the write so the unit stays small.
pub struct Starting {
    secret: Secret,
    id: String,
    previous_hash: Option<String>,
    user_agent: Option<String>,
}

impl Starting {
    pub fn new(cookies: Cookies, headers: &HeaderMap) -> Starting {
        let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|v| v.chars().take(200).collect());
        Starting {
            secret: Secret::random(),
            id: uuid_v4(),
            previous_hash: cookies.get(headers, cookies::SESSION).map(|t| sha256_hex(&t)),
            user_agent,
        }
    }

    /// Stores the session for `user_id` (inside the caller's write) and ends the previous one.
    pub async fn store(&self, conn: &mut WriteConn, user_id: i64, now: i64) -> Result<(), sqlx::Error> {
        if let Some(previous) = &self.previous_hash {
            auth_sessions::delete_by_hash(conn, previous).await?;
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

    /// The Set-Cookie that hands the token to the browser.
    pub fn cookie(&self, cookies: Cookies) -> HeaderValue {
        cookies.set(cookies::SESSION, &self.secret.token, SESSION_TTL_SECS)
    }
}

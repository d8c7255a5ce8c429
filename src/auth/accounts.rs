//! The accounts one browser is signed in to (decisions.md#accounts): the session cookie holds
//! up to five session tokens, the active account's first. Switching moves a token to the front;
//! signing out ends the first and the next one becomes active.

use axum::http::HeaderMap;

use super::cookies::Cookies;
use crate::crypto::sha256_hex;
use crate::db::users::{self, User};
use crate::db::{Db, auth_sessions};

/// One signed-in account of this browser.
pub struct Account {
    pub session_id: String,
    /// Its session token (never shown; kept to rewrite the cookie).
    pub(crate) token: String,
    pub active: bool,
    pub user: User,
}

/// The browser's accounts whose sessions are still valid, the active one first (an account
/// whose session ended elsewhere is left out, and the next one is active).
pub async fn of_browser(db: &Db, cookies: Cookies, headers: &HeaderMap, now: i64) -> Result<Vec<Account>, sqlx::Error> {
    let mut accounts = Vec::new();
    for token in cookies.session_tokens(headers) {
        let Some(session) = auth_sessions::find(&db.read, &sha256_hex(&token), now).await? else { continue };
        let Some(user) = users::get(&db.read, session.user_id).await? else { continue };
        accounts.push(Account { session_id: session.session_id, token, active: accounts.is_empty(), user });
    }
    Ok(accounts)
}

/// The session tokens with the account of `session_id` made active, and that account; `None`
/// when this browser holds no such account.
pub fn switch_to(accounts: Vec<Account>, session_id: &str) -> Option<(Vec<String>, User)> {
    let chosen = accounts.iter().position(|a| a.session_id == session_id)?;
    let mut tokens: Vec<String> = Vec::with_capacity(accounts.len());
    let mut user = None;
    for (i, account) in accounts.into_iter().enumerate() {
        if i == chosen {
            tokens.insert(0, account.token);
            user = Some(account.user);
        } else {
            tokens.push(account.token);
        }
    }
    user.map(|u| (tokens, u))
}

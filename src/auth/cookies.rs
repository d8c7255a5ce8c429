//! The cookies ocd sets: the session, and the short-lived OAuth state. All are HttpOnly and
//! SameSite=Lax; when PUBLIC_URL is https they are also Secure and carry the `__Host-` prefix
//! (which the browser accepts only from a secure origin, for Path=/ and no Domain).

use axum::http::{HeaderMap, HeaderValue, header};

pub const SESSION: &str = "ocd_session";
pub const OAUTH_STATE: &str = "ocd_oauth_state";
pub const OAUTH_REDIRECT: &str = "ocd_oauth_redirect";
/// What the OAuth round trip is for: `invite:<id>` or `bind` (decisions.md#setup-link).
pub const OAUTH_INTENT: &str = "ocd_oauth_intent";

/// Accounts one browser can be signed in to at once (decisions.md#accounts).
pub const MAX_ACCOUNTS: usize = 5;

/// Session lifetime, renewed as it is used (sliding).
pub const SESSION_TTL_SECS: i64 = 30 * 24 * 3600;
pub const OAUTH_TTL_SECS: i64 = 600;

#[derive(Debug, Clone, Copy)]
pub struct Cookies {
    pub secure: bool,
}

impl Cookies {
    pub fn name(&self, base: &str) -> String {
        if self.secure { format!("__Host-{base}") } else { base.to_string() }
    }

    /// A Set-Cookie value; `value` must already be cookie-safe (hex or percent-encoded).
    pub fn set(&self, base: &str, value: &str, max_age: i64) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let text = format!("{}={value}; HttpOnly; Path=/; SameSite=Lax; Max-Age={max_age}{secure}", self.name(base));
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("ocd_invalid=; Max-Age=0"))
    }

    pub fn clear(&self, base: &str) -> HeaderValue {
        self.set(base, "", 0)
    }

    /// The session tokens the browser holds, the active account's first (decisions.md#accounts):
    /// the session cookie is their list joined by `.`; anything not shaped like a token is
    /// ignored, and so are repeats and all beyond the fifth.
    pub fn session_tokens(&self, headers: &HeaderMap) -> Vec<String> {
        let mut tokens: Vec<String> = Vec::new();
        for token in self.get(headers, SESSION).unwrap_or_default().split('.') {
            let well_formed = token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit());
            if well_formed && !tokens.iter().any(|t| t == token) && tokens.len() < MAX_ACCOUNTS {
                tokens.push(token.to_string());
            }
        }
        tokens
    }

    /// The Set-Cookie that stores `tokens` (active first), or clears the cookie when none is left.
    pub fn session_cookie(&self, tokens: &[String]) -> HeaderValue {
        if tokens.is_empty() { self.clear(SESSION) } else { self.set(SESSION, &tokens.join("."), SESSION_TTL_SECS) }
    }

    /// The value of cookie `base` sent with the request, if any.
    pub fn get(&self, headers: &HeaderMap, base: &str) -> Option<String> {
        let name = self.name(base);
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_cookies_use_the_host_prefix() {
        let plain = Cookies { secure: false }.set(SESSION, "abc", 60);
        assert_eq!(plain, "ocd_session=abc; HttpOnly; Path=/; SameSite=Lax; Max-Age=60");
        let secure = Cookies { secure: true }.set(SESSION, "abc", 60);
        assert_eq!(secure, "__Host-ocd_session=abc; HttpOnly; Path=/; SameSite=Lax; Max-Age=60; Secure");
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; __Host-ocd_session=tok; ocd_session=plain"));
        assert_eq!(Cookies { secure: true }.get(&headers, SESSION).as_deref(), Some("tok"));
        assert_eq!(Cookies { secure: false }.get(&headers, SESSION).as_deref(), Some("plain"));
    }

    #[test]
    fn the_session_cookie_holds_up_to_five_tokens_active_first() {
        let jar = Cookies { secure: false };
        let token = |c: char| c.to_string().repeat(64);
        let value =
            format!("{}.{}.junk.{}.{}.{}.{}.{}", token('a'), token('b'), token('a'), token('c'), token('d'), token('e'), token('f'));
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(&format!("ocd_session={value}")).unwrap());
        let tokens = jar.session_tokens(&headers);
        assert_eq!(tokens, ['a', 'b', 'c', 'd', 'e'].map(token));
        assert_eq!(jar.session_cookie(&[]), "ocd_session=; HttpOnly; Path=/; SameSite=Lax; Max-Age=0");
        let two = jar.session_cookie(&tokens[..2]);
        assert!(two.to_str().unwrap().starts_with(&format!("ocd_session={}.{};", token('a'), token('b'))));
    }
}

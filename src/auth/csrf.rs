//! decisions.md#csrf: a request authenticated by the session cookie that changes something must come from
//! our own pages (or an allowed origin). Bearer requests are not subject to it: a browser
//! never adds an Authorization header on its own.

use axum::http::{HeaderMap, Method, header};

/// Whether a cookie-authenticated request may proceed.
pub fn allowed(method: &Method, headers: &HeaderMap, public_url: Option<&str>, allowed_origins: &[String]) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) => is_own_origin(origin, headers, public_url) || allowed_origins.iter().any(|a| a == origin),
        None => matches!(headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()), Some("same-origin" | "none")),
    }
}

/// `scheme://host` ocd sends browsers to (OAuth callback, after sign-in): PUBLIC_URL's, else
/// the address it listens on — never a request's `Host`, which a client chooses.
pub fn site_origin(public_url: Option<&str>, listen_origin: &str) -> String {
    match public_url {
        Some(url) => url_origin(url).to_string(),
        None => listen_origin.to_string(),
    }
}

/// Whether `origin` is the one this request was sent to. Without PUBLIC_URL a TLS proxy in
/// front may make it the https form of the Host, which is ours just the same.
fn is_own_origin(origin: &str, headers: &HeaderMap, public_url: Option<&str>) -> bool {
    let own = match (public_url, headers.get(header::HOST).and_then(|v| v.to_str().ok())) {
        (Some(url), _) => url_origin(url).to_string(),
        (None, Some(host)) => format!("http://{host}"),
        (None, None) => return false,
    };
    origin == own || (public_url.is_none() && own.strip_prefix("http://").is_some_and(|host| origin == format!("https://{host}")))
}

/// `scheme://host[:port]` of a URL (its path dropped).
pub fn url_origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn cross_site_writes_are_refused() {
        let post = Method::POST;
        let own = headers(&[("host", "ocd.local:3000"), ("origin", "http://ocd.local:3000")]);
        assert!(allowed(&post, &own, None, &[]));
        let evil = headers(&[("host", "ocd.local:3000"), ("origin", "https://evil.example")]);
        assert!(!allowed(&post, &evil, None, &[]));
        assert!(allowed(&post, &evil, None, &["https://evil.example".into()]));
        assert!(allowed(&Method::GET, &evil, None, &[]));
        assert!(!allowed(&post, &headers(&[("host", "ocd.local:3000")]), None, &[]));
        assert!(allowed(&post, &headers(&[("sec-fetch-site", "same-origin")]), None, &[]));
        assert!(!allowed(&post, &headers(&[("sec-fetch-site", "cross-site")]), None, &[]));
        let behind_proxy = headers(&[("host", "127.0.0.1:3000"), ("origin", "https://ocd.example.com")]);
        assert!(allowed(&post, &behind_proxy, Some("https://ocd.example.com/base"), &[]));
        assert_eq!(url_origin("https://a.b:8443/x/y"), "https://a.b:8443");
    }
}

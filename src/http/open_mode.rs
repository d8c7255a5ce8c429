//! DISABLE_AUTH opens the dashboard to whoever reaches the port, as its owner. Two checks keep
//! other web pages out even then:
//!
//! - **Host.** Only requests naming this server are served — a loopback name, the bind
//!   address, or PUBLIC_URL's host — so a DNS-rebinding page (its own name resolving to
//!   127.0.0.1) reads nothing. Bound to a wildcard address without PUBLIC_URL, ocd cannot
//!   know its names: any Host is served and the start-up log warns.
//! - **Cross-site requests.** A request other than GET/HEAD/OPTIONS is refused when its
//!   `Origin` is present and foreign, or its `Sec-Fetch-Site` is `cross-site` or `same-site`:
//!   a browser sends those on another page's form posts and fetches. A cross-site GET is
//!   refused too unless it is a person following a link to a page (`Sec-Fetch-Mode: navigate`
//!   outside `/api/`): some GETs change state (polling commands delivers them), and an image
//!   tag on another site must not do that. Hooks, curl and plugins send none of these headers
//!   and pass as before.

use std::net::IpAddr;

use axum::http::{HeaderMap, Method, header};

use crate::error::AppError;

/// The host names this server answers to in open mode, or `None` for any.
pub fn own_hosts(bind: IpAddr, public_url: Option<&str>) -> Option<Vec<String>> {
    let public_host = public_url.map(|url| host_of(crate::auth::csrf::url_origin(url).split("://").nth(1).unwrap_or(url)));
    if bind.is_unspecified() && public_host.is_none() {
        return None;
    }
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"].iter().map(|h| h.to_string()).collect();
    hosts.push(bind.to_string());
    hosts.extend(public_host);
    Some(hosts)
}

/// `host` of `host[:port]` or `[v6]:port`, lower-cased.
fn host_of(authority: &str) -> String {
    let host = match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.to_ascii_lowercase()
}

/// Refuses a request open mode must not serve.
pub fn check(
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    own: Option<&[String]>,
    public_origin: Option<&str>,
    allowed_origins: &[String],
) -> Result<(), AppError> {
    let is_own = |authority: &str| own.is_none_or(|hosts| hosts.contains(&host_of(authority)));
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !is_own(host) {
        return Err(AppError::ForbiddenBecause("This server does not answer to that host name".into()));
    }
    let cross_site = matches!(headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()), Some("cross-site" | "same-site"));
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let navigation = headers.get("sec-fetch-mode").and_then(|v| v.to_str().ok()) == Some("navigate");
        if cross_site && (!navigation || path.starts_with("/api/")) {
            return Err(AppError::ForbiddenBecause("Cross-site request refused".into()));
        }
        return Ok(());
    }
    // Our own pages send the origin the Host names (port included); a page of another port
    // on the same machine is another site.
    let foreign_origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).is_some_and(|origin| {
        let authority = origin.split("://").nth(1).unwrap_or("");
        let same_as_host = !host.is_empty() && authority.eq_ignore_ascii_case(host);
        !(same_as_host || allowed_origins.iter().any(|a| a == origin) || public_origin.is_some_and(|p| p == origin))
    });
    if cross_site || foreign_origin {
        return Err(AppError::ForbiddenBecause("Cross-site request refused".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (axum::http::HeaderName::from_static(k), HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn only_our_names_are_served_and_foreign_pages_cannot_write() {
        let own = own_hosts("127.0.0.1".parse().unwrap(), None);
        let own = own.as_deref();
        assert!(check(&Method::GET, "/api/todos", &headers(&[("host", "127.0.0.1:3000")]), own, None, &[]).is_ok());
        assert!(check(&Method::GET, "/api/todos", &headers(&[("host", "localhost:3000")]), own, None, &[]).is_ok());
        assert!(check(&Method::GET, "/api/todos", &headers(&[("host", "[::1]:3000")]), own, None, &[]).is_ok());
        assert!(check(&Method::GET, "/api/todos", &headers(&[("host", "rebind.evil.example:3000")]), own, None, &[]).is_err());
        let hook = headers(&[("host", "127.0.0.1:3000")]);
        assert!(check(&Method::POST, "/api/todos", &hook, own, None, &[]).is_ok());
        let evil = headers(&[("host", "127.0.0.1:3000"), ("origin", "https://evil.example")]);
        assert!(check(&Method::POST, "/api/todos", &evil, own, None, &[]).is_err());
        let form = headers(&[("host", "127.0.0.1:3000"), ("sec-fetch-site", "cross-site")]);
        assert!(check(&Method::POST, "/api/todos", &form, own, None, &[]).is_err());
        let ours = headers(&[("host", "127.0.0.1:3000"), ("origin", "http://127.0.0.1:3000")]);
        assert!(check(&Method::POST, "/api/todos", &ours, own, None, &[]).is_ok());
        let other_port = headers(&[("host", "127.0.0.1:3000"), ("origin", "http://127.0.0.1:8080")]);
        assert!(check(&Method::POST, "/api/todos", &other_port, own, None, &[]).is_err());
        // A cross-site image on another page cannot poll commands; a person following a link can
        // open a page.
        let img = headers(&[("host", "127.0.0.1:3000"), ("sec-fetch-site", "cross-site"), ("sec-fetch-mode", "no-cors")]);
        assert!(check(&Method::GET, "/api/agents/a/commands", &img, own, None, &[]).is_err());
        let link = headers(&[("host", "127.0.0.1:3000"), ("sec-fetch-site", "cross-site"), ("sec-fetch-mode", "navigate")]);
        assert!(check(&Method::GET, "/agents", &link, own, None, &[]).is_ok());
        assert!(check(&Method::GET, "/api/agents/a/commands", &link, own, None, &[]).is_err());
        // A wildcard bind without PUBLIC_URL serves any name; a public URL adds its host.
        assert!(own_hosts("0.0.0.0".parse().unwrap(), None).is_none());
        let public = own_hosts("0.0.0.0".parse().unwrap(), Some("https://ocd.example.com/base")).unwrap();
        assert!(public.contains(&"ocd.example.com".to_string()));
    }
}

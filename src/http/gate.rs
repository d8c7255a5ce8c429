//! The gate: one middleware in front of every route. It matches the request against the
//! route table, answers OPTIONS and unknown routes, resolves the principal, checks its role,
//! rate-limits writes and failed authentication, applies a scoped key's project, reads the
//! body, and adds CORS, the request id and metrics (docs/decisions.md#principals, #roles,
//! #rate-limits, #project-scoped-keys). Security headers are set by `headers.rs`.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::access::{self, Access, Rule};
use super::scope;
use super::{errors, open_mode};
use crate::auth::authenticate::Credential;
use crate::auth::csrf;
use crate::auth::principal::Principal;
use crate::config::IpNet;
use crate::error::AppError;
use crate::state::App;

pub async fn gate(State(app): State<App>, ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let path_and_query = req.uri().path_and_query().map_or_else(|| path.clone(), |p| p.as_str().to_string());
    let origin = req.headers().get(header::ORIGIN).cloned();
    // Below the base path; the base path itself is the root ("/ocd" as "/ocd/").
    let route_path = match path.strip_prefix(app.base_path.as_str()) {
        Some("") if !app.base_path.is_empty() => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => &path,
    };
    let rules = access::matching(&app.routes, route_path);
    let allow = if rules.is_empty() { "GET, POST, OPTIONS".to_string() } else { access::allow_methods(&rules) };
    let pattern = rules.first().map_or("unmatched", |r| r.path);
    let request_id = request_id(req.headers());
    // Every log line of this request carries its method, route pattern (never the path: paths
    // carry sign-in tokens) and request id.
    let span = tracing::info_span!("request", method = %method, route = pattern, request_id = %request_id);
    let answer = async {
        // Every body is read to its end first (up to the limit), whatever the answer: a client
        // still writing its body while the server answers and closes would see a broken pipe,
        // and a connection left with unread bytes cannot serve the client's next request.
        let req = match read_body(&app, req).await {
            Ok(req) => req,
            Err(e) => return e.into_response(),
        };
        if rules.is_empty() {
            AppError::NotFound("Not found".into()).into_response()
        } else if method == Method::OPTIONS {
            StatusCode::OK.into_response()
        } else if let Some(rule) = rules.iter().find(|r| r.method == method || (method == Method::HEAD && r.method == Method::GET)) {
            let ip = client_ip(peer.ip(), req.headers(), &app.trusted_proxies);
            match admit(&app, rule, route_path, ip, req).await {
                Ok(req) => {
                    let response = next.run(req).await;
                    // A bad signature is a failed authentication like a wrong key: too many
                    // from one address and it is refused for a while.
                    if SIGNED.contains(&rule.path) && response.status() == StatusCode::UNAUTHORIZED {
                        tracing::info!(route = rule.path, %ip, "refused: signature not valid");
                        let _ = app.auth_failures.check(&ip.to_string(), app.clock.now_ms());
                    }
                    response
                }
                Err(e) => e.into_response(),
            }
        } else {
            AppError::MethodNotAllowed.into_response()
        }
    };
    let mut response = answer.instrument(span).await;

    // A page opened without a session goes to the sign-in page, which returns here after.
    let navigation = method == Method::GET || method == Method::HEAD;
    if response.status() == StatusCode::UNAUTHORIZED && navigation && errors::Format::of(route_path) == errors::Format::Html {
        response = crate::web::login::login_redirect(&app.base_path, &path_and_query);
    }

    // Rejections produced below the handlers (axum's extractors, body limits) are plain
    // text: every error leaves in the format of its route.
    if response.status().is_client_error() || response.status().is_server_error() {
        response = errors::in_route_format(response, errors::Format::of(route_path), &app.base_path).await;
    }
    let headers = response.headers_mut();
    // The OAuth callback is a browser navigation from GitHub, never a cross-origin fetch.
    if pattern != "/api/auth/callback" {
        add_cors(headers, origin.as_ref(), &app.allowed_origins, &allow);
    }
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        headers.insert(REQUEST_ID, id);
    }
    app.metrics.record(pattern, method.as_str(), response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

/// Public routes that authenticate by a signature over the body (Linear's deliveries): their
/// failures count toward AUTH_FAILURE_LIMIT_PER_MINUTE like wrong keys.
const SIGNED: &[&str] = &["/api/linear/webhook"];

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The caller's `X-Request-Id` when it is a sane token (1–64 visible ASCII characters, no
/// spaces), else a new random one; echoed on the answer and carried by every log line.
fn request_id(headers: &HeaderMap) -> String {
    let given = headers.get(REQUEST_ID).and_then(|v| v.to_str().ok());
    match given {
        Some(id) if (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic()) => id.to_string(),
        _ => crate::crypto::random_hex(8),
    }
}

/// What the checks read of a request (a request itself cannot be shared across an await:
/// its body is not `Sync`).
struct RequestHead<'r> {
    method: &'r Method,
    uri: &'r axum::http::Uri,
    headers: &'r HeaderMap,
}

impl RequestHead<'_> {
    fn of(req: &Request) -> RequestHead<'_> {
        RequestHead { method: req.method(), uri: req.uri(), headers: req.headers() }
    }
}

/// The request with its body read here, whole (up to the body limit), so a stalled or
/// oversized body is refused in one place.
async fn read_body(app: &App, req: Request) -> Result<Request, AppError> {
    let (mut parts, body) = req.into_parts();
    let limited = http_body_util::Limited::new(body, app.config.body_limit_bytes);
    let bytes = match http_body_util::BodyExt::collect(limited).await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(AppError::PayloadTooLarge),
        Err(_) => return Err(AppError::BadRequest("The request body could not be read".into())),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Ok(Request::from_parts(parts, axum::body::Body::from(bytes)))
}

/// Who is calling and whether they may call `rule`: open-mode checks, the principal (decisions.md#principals),
/// CSRF for cookie sessions (decisions.md#csrf), failed-authentication and write rate limits (decisions.md#rate-limits), the role
/// (decisions.md#roles).
async fn check_caller(app: &App, rule: &Rule, ip: IpAddr, head: &RequestHead<'_>) -> Result<Principal, AppError> {
    if app.auth.disable_auth {
        let public_origin = app.config.public_url.as_deref().map(csrf::url_origin);
        let path = head.uri.path().strip_prefix(app.base_path.as_str()).unwrap_or(head.uri.path());
        open_mode::check(head.method, path, head.headers, app.open_mode_hosts.as_deref(), public_origin, &app.allowed_origins)?;
    }
    let query_token = query_token(head.uri.query(), rule.path);
    let now = app.clock.now();
    // On routes that check credentials, an address that failed authentication too often is
    // refused before its credentials are even looked at; each failure of a key or token sent
    // as `Bearer` or `?token=` counts (a browser's expired cookie is not a guess). Other
    // public routes stay open.
    let address = ip.to_string();
    let guarded = rule.access != Access::Public || rule.path == "/api/auth/verify" || SIGNED.contains(&rule.path);
    if guarded && let Err(retry_after_secs) = app.auth_failures.peek(&address, app.clock.now_ms()) {
        return Err(AppError::RateLimited { retry_after_secs });
    }
    let (principal, credential) = app.auth.resolve(&app.db, head.headers, query_token.as_deref(), now).await?;
    if guarded && credential == Credential::Bearer && principal == Principal::Anonymous {
        tracing::info!(route = rule.path, %ip, "refused: credentials not valid");
        if let Err(retry_after_secs) = app.auth_failures.check(&address, app.clock.now_ms()) {
            return Err(AppError::RateLimited { retry_after_secs });
        }
    }
    // Logs name the route pattern, never the path: paths carry sign-in link tokens and invite ids.
    if credential == Credential::Cookie && !csrf::allowed(head.method, head.headers, app.config.public_url.as_deref(), &app.allowed_origins)
    {
        tracing::info!(route = rule.path, %ip, "refused: cross-site request with a session cookie");
        return Err(AppError::ForbiddenBecause("Cross-site request refused".into()));
    }
    // The pages and their forms are for people (and the local owner): an API key gets the
    // JSON API, whose routes carry the project-scope rules a key is held to.
    let page = errors::Format::of(rule.path) == errors::Format::Html;
    if page && rule.access != Access::Public && matches!(principal, Principal::ApiKey { .. }) {
        return Err(AppError::ForbiddenBecause("Pages are for people; API keys use the /api/ routes".into()));
    }
    if let Err(e) = principal.authorize(rule.access) {
        if rule.access != Access::Public {
            tracing::info!(route = rule.path, %ip, "refused: {e}");
        }
        return Err(e);
    }
    if rule.rate_limited
        && let Err(retry_after_secs) = app.limiter.check(&principal.rate_key(ip), app.clock.now_ms())
    {
        tracing::warn!(route = rule.path, %ip, "rate limit hit");
        return Err(AppError::RateLimited { retry_after_secs });
    }
    Ok(principal)
}

/// Whether the request may reach its handler (its path parameters, the caller, a scoped key's
/// project); the admitted request carries its `Principal`, and possibly a body with the
/// project filled in.
async fn admit(app: &App, rule: &Rule, route_path: &str, ip: IpAddr, req: Request) -> Result<Request, AppError> {
    access::check_params(rule.path, route_path).map_err(AppError::BadRequest)?;
    let principal = check_caller(app, rule, ip, &RequestHead::of(&req)).await?;
    let mut req = match principal.scope() {
        Some(project) => within_project(app, rule, route_path, project, req).await?,
        None => req,
    };
    req.extensions_mut().insert(principal);
    Ok(req)
}

/// Applies decisions.md#project-scoped-keys for a key scoped to `project`: reads are narrowed, writes checked and filled in.
async fn within_project(app: &App, rule: &Rule, route_path: &str, project: &str, req: Request) -> Result<Request, AppError> {
    let params = access::params(rule.path, route_path);
    let (mut parts, body) = req.into_parts();
    if parts.method == Method::GET || parts.method == Method::HEAD {
        scope::check_read(&rule.scope, &app.db.read, project, &params).await?;
        let query = scope::narrow_query(parts.uri.query(), project)?;
        let uri = format!("{}?{query}", parts.uri.path());
        parts.uri = uri.parse().map_err(|_| AppError::BadRequest("Invalid query string".into()))?;
        return Ok(Request::from_parts(parts, body));
    }
    let bytes = axum::body::to_bytes(body, usize::MAX).await.map_err(AppError::internal)?;
    let checked = scope::check_write(&rule.scope, &app.db.read, project, &params, &bytes).await?;
    let body = checked.map_or_else(|| axum::body::Body::from(bytes), axum::body::Body::from);
    parts.headers.remove(header::CONTENT_LENGTH);
    Ok(Request::from_parts(parts, body))
}

/// `?token=` is accepted only by the stream (the original's EventSource clients).
fn query_token(query: Option<&str>, pattern: &str) -> Option<String> {
    if pattern != "/api/stream" {
        return None;
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query?).ok()?;
    pairs.into_iter().find(|(k, _)| k == "token").map(|(_, v)| v)
}

/// CORS is answered here rather than by tower-http's `CorsLayer`: the original's contract gives
/// each path its own `Access-Control-Allow-Methods` (its methods plus OPTIONS), which the gate
/// knows from the route table, while `CorsLayer` sends one list for every route.
fn add_cors(headers: &mut HeaderMap, origin: Option<&HeaderValue>, allowed: &[String], allow_methods: &str) {
    if let Ok(methods) = HeaderValue::from_str(allow_methods) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, methods);
    }
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("Content-Type, Authorization, Last-Event-ID"));
    if let Some(origin) = origin
        && allowed.iter().any(|a| a.as_bytes() == origin.as_bytes())
    {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// The caller's address: the peer, or — only when the peer is a trusted proxy — the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let chain: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    chain.into_iter().rev().find(|ip| !is_trusted(*ip)).unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_trusted_only_from_proxies() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6, 203.0.113.9, 10.0.0.2"));
        let proxies = vec![IpNet::parse("10.0.0.0/8").unwrap()];
        let direct: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(client_ip(direct, &headers, &proxies), direct);
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(client_ip(proxy, &headers, &proxies), "203.0.113.9".parse::<IpAddr>().unwrap());
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &proxies), proxy);
    }
}

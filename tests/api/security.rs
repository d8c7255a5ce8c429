//! The gate: authentication, the route table, CORS, limits and headers.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Backend, TestApp};

crate::on_both_backends!(every_protected_route_refuses_missing_or_wrong_keys, every_route_in_the_table_is_served);

fn concrete(path: &str) -> String {
    path.replace("{id}", "1").replace("{task_id}", "1").replace("{command_id}", "1").replace("{user_id}", "1").replace("{token}", "1")
}

async fn every_protected_route_refuses_missing_or_wrong_keys(app: TestApp) {
    let routes = ocd::routes::rules();
    for rule in routes.iter().filter(|r| r.access != ocd::http::access::Access::Public) {
        for auth in [None, Some("wrong-key"), Some("")] {
            let r = app.request(rule.method.clone(), &concrete(rule.path), Some(&json!({"content": "x"})), auth).await;
            if !crate::harness::is_page(rule.path) {
                assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{} {} with {auth:?}", rule.method, rule.path);
                assert_eq!(r.body, json!({"error": "Unauthorized"}));
            } else if rule.method == Method::GET {
                // a page opened without a session goes to the sign-in page
                assert_eq!(r.status, StatusCode::SEE_OTHER, "{} {} with {auth:?}", rule.method, rule.path);
                assert!(r.header("location").is_some_and(|l| l.starts_with("/login?redirect=")), "{}", rule.path);
            } else {
                // a page's form answers with an HTML page
                assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{} {} with {auth:?}", rule.method, rule.path);
                assert!(r.header("content-type").is_some_and(|t| t.starts_with("text/html")), "{}", rule.path);
            }
        }
    }
    // a refused call writes nothing
    assert_eq!(app.count("events").await, 0);
    assert_eq!(app.count("todos").await, 0);
    // a key with different case or extra spaces is a different key
    let upper = app.key.to_uppercase();
    assert_eq!(app.request(Method::GET, "/api/todos", None, Some(&upper)).await.status, StatusCode::UNAUTHORIZED);
    let spaced = app.send(app.raw(Method::GET, "/api/todos").header("authorization", format!("Bearer  {}", app.key))).await;
    assert_eq!(spaced.status, StatusCode::UNAUTHORIZED);
    let basic = app.send(app.raw(Method::GET, "/api/todos").header("authorization", format!("Basic {}", app.key))).await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED);
}

async fn every_route_in_the_table_is_served(app: TestApp) {
    // Routes listed in the access table must exist in the router: the gate lets the call
    // through and the handler answers (never the router's own 404/405). Each answer also
    // carries CORS headers for an allowed origin.
    for rule in ocd::routes::rules() {
        let req =
            app.raw(rule.method.clone(), &concrete(rule.path)).bearer_auth(&app.key).header("origin", "http://localhost:3000").body("{}");
        let r = if rule.path == "/api/stream" { app.send_head(req).await } else { app.send(req).await };
        let cors = if rule.path == "/api/auth/callback" { None } else { Some("http://localhost:3000") };
        assert_eq!(r.header("access-control-allow-origin"), cors, "{} {}", rule.method, rule.path);
        assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{} {}", rule.method, rule.path);
        assert_ne!(r.body, json!({"error": "Not found"}), "{} {} is not routed", rule.method, rule.path);
        // Without a GitHub app, sign-in says what is missing (decisions.md#github-oauth).
        // Without Linear, its routes say which setting is missing.
        let linear_unconfigured = r.body["error"]
            .as_str()
            .is_some_and(|e| e == "LINEAR_API_KEY is not set" || e.starts_with("LINEAR_WEBHOOK_SECRET environment variable is required"));
        let unconfigured =
            [json!({"error": "Missing GITHUB_CLIENT_ID configuration"}), json!({"error": "Missing GitHub OAuth configuration"})]
                .contains(&r.body)
                || linear_unconfigured;
        assert!(r.status.as_u16() < 500 || unconfigured, "{} {} failed: {}", rule.method, rule.path, r.body);
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let r = app.get("/api/nothing-here").await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::NOT_FOUND, json!({"error": "Not found"})));
    let r = app.request(Method::PATCH, "/api/todos", Some(&json!({})), Some(&app.key.clone())).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::METHOD_NOT_ALLOWED, json!({"error": "Method not allowed"})));
}

#[tokio::test]
async fn cors_reflects_only_allowed_origins() {
    let app =
        TestApp::spawn_with(Backend::Sqlite, |c| c.allowed_origins = "https://dash.example, http://localhost:3000".into()).await.unwrap();
    let allowed = app.send(app.raw(Method::GET, "/api/todos").bearer_auth(&app.key).header("origin", "https://dash.example")).await;
    assert_eq!(allowed.header("access-control-allow-origin"), Some("https://dash.example"));
    assert_eq!(allowed.header("vary"), Some("Origin"));
    let denied = app.send(app.raw(Method::GET, "/api/todos").bearer_auth(&app.key).header("origin", "https://evil.example")).await;
    assert_eq!(denied.status, StatusCode::OK, "the request is served; the browser withholds it");
    assert_eq!(denied.header("access-control-allow-origin"), None);
    // never a wildcard, also on errors
    let refused = app.send(app.raw(Method::GET, "/api/todos").header("origin", "https://dash.example")).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.header("access-control-allow-origin"), Some("https://dash.example"));
    // OPTIONS needs no credentials and lists the path's methods
    let pre = app
        .send(
            app.raw(Method::OPTIONS, "/api/todos").header("origin", "https://dash.example").header("access-control-request-method", "PUT"),
        )
        .await;
    assert_eq!(pre.status, StatusCode::OK);
    assert_eq!(pre.header("access-control-allow-methods"), Some("GET, POST, PUT, OPTIONS"));
    assert!(pre.header("access-control-allow-headers").unwrap().contains("Authorization"));
    let pre = app.send(app.raw(Method::OPTIONS, "/api/sprints/x")).await;
    assert_eq!(pre.header("access-control-allow-methods"), Some("GET, PATCH, OPTIONS"));
}

#[tokio::test]
async fn security_headers_are_set() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    for r in [app.get("/api/todos").await, app.get("/nope").await, app.request(Method::GET, "/api/todos", None, None).await] {
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
        assert!(r.header("content-security-policy").is_some());
        // Pages send their referrer to their own origin only (their form posts need the Origin).
        let page = r.header("content-type").is_some_and(|t| t.starts_with("text/html"));
        assert_eq!(r.header("referrer-policy"), Some(if page { "same-origin" } else { "no-referrer" }));
    }
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.body_limit_bytes = 1024).await.unwrap();
    let big = json!({"content": "x".repeat(2048)});
    let r = app.post("/api/todos", big).await;
    assert_eq!((r.status, r.body["error"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("Request body too large")));
    assert_eq!(app.count("todos").await, 0);
    assert_eq!(app.post("/api/todos", json!({"content": "small"})).await.status, StatusCode::OK);
}

#[tokio::test]
async fn writes_are_rate_limited_per_principal() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.rate_limit_max_requests = 3;
        c.rate_limit_window_ms = 60_000;
    })
    .await
    .unwrap();
    for i in 0..3 {
        assert_eq!(app.post("/api/todos", json!({"content": format!("{i}")})).await.status, StatusCode::OK);
    }
    let r = app.post("/api/todos", json!({"content": "one too many"})).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::TOO_MANY_REQUESTS, json!({"error": "Too many requests"})));
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(app.count("todos").await, 3, "the refused write was not stored");
    // reads are never limited; the limit covers every write route together
    assert_eq!(app.get("/api/todos").await.status, StatusCode::OK);
    assert_eq!(app.post("/api/sessions", json!({"id": "s"})).await.status, StatusCode::TOO_MANY_REQUESTS);
    // two windows later the budget is back
    app.clock.advance_secs(120);
    assert_eq!(app.post("/api/todos", json!({"content": "again"})).await.status, StatusCode::OK);
}

#[tokio::test]
async fn forwarded_for_counts_only_behind_trusted_proxies() {
    let limited = |trusted: &'static str| {
        move |c: &mut ocd::config::Config| {
            c.disable_auth = true;
            c.rate_limit_max_requests = 1;
            c.trusted_proxies = trusted.into();
        }
    };
    let behind_proxy = TestApp::spawn_with(Backend::Sqlite, limited("127.0.0.1")).await.unwrap();
    for ip in ["203.0.113.1", "203.0.113.2"] {
        let r =
            behind_proxy.send(behind_proxy.raw(Method::POST, "/api/todos").header("x-forwarded-for", ip).body(r#"{"content":"x"}"#)).await;
        assert_eq!(r.status, StatusCode::OK, "{ip} has its own bucket");
    }
    let r = behind_proxy
        .send(behind_proxy.raw(Method::POST, "/api/todos").header("x-forwarded-for", "203.0.113.1").body(r#"{"content":"x"}"#))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);

    let direct = TestApp::spawn_with(Backend::Sqlite, limited("")).await.unwrap();
    direct.send(direct.raw(Method::POST, "/api/todos").header("x-forwarded-for", "203.0.113.1").body(r#"{"content":"x"}"#)).await;
    let r = direct.send(direct.raw(Method::POST, "/api/todos").header("x-forwarded-for", "203.0.113.2").body(r#"{"content":"x"}"#)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "a spoofed X-Forwarded-For does not buy a new bucket");
}

#[tokio::test]
async fn disable_auth_opens_header_less_requests_only() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.disable_auth = true).await.unwrap();
    assert_eq!(app.request(Method::POST, "/api/todos", Some(&json!({"content": "x"})), None).await.status, StatusCode::OK);
    assert_eq!(app.request(Method::GET, "/api/todos", None, Some("wrong")).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn base_path_prefixes_every_route() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.base_path = "/opencode".into()).await.unwrap();
    assert!(app.base.ends_with("/opencode"));
    assert_eq!(app.post("/api/todos", json!({"content": "x"})).await.status, StatusCode::OK);
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
    let unprefixed = app.base.trim_end_matches("/opencode").to_string();
    let r = crate::harness::client().get(format!("{unprefixed}/api/todos")).bearer_auth(&app.key).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_write_route_is_rate_limited() {
    // The local owner (DISABLE_AUTH) passes every role check but "a signed-in person", so each
    // of those writes reaches the limiter.
    let writes: Vec<_> =
        ocd::routes::rules().into_iter().filter(|r| r.rate_limited && r.access != ocd::http::access::Access::User).collect();
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.rate_limit_max_requests = writes.len() as u64;
        c.disable_auth = true;
    })
    .await
    .unwrap();
    for rule in &writes {
        let r = app.request(rule.method.clone(), &concrete(rule.path), Some(&json!({})), None).await;
        assert_ne!(r.status, StatusCode::TOO_MANY_REQUESTS, "{} {}", rule.method, rule.path);
    }
    for rule in &writes {
        let r = app.request(rule.method.clone(), &concrete(rule.path), Some(&json!({})), None).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{} {} is not limited", rule.method, rule.path);
        assert!(r.header("retry-after").is_some());
    }
    let reads = ocd::routes::rules().into_iter().filter(|r| !r.rate_limited);
    for rule in reads {
        let r = app.send_head(app.raw(rule.method.clone(), &concrete(rule.path))).await;
        assert_ne!(r.status, StatusCode::TOO_MANY_REQUESTS, "{} {} must not be limited", rule.method, rule.path);
    }
}

#[tokio::test]
async fn owner_routes_refuse_the_admin_key() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let r = app.put("/api/settings/sleep-schedule", json!({"enabled": true})).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::FORBIDDEN, json!({"error": "Forbidden"})));
    assert_eq!(app.get("/api/settings/sleep-schedule").await.body["schedule"]["enabled"], false, "nothing was written");
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let r = app.get("/api/todos").await;
    let id = r.header("x-request-id").unwrap().to_string();
    assert_eq!(id.len(), 16);
    assert_ne!(app.get("/api/todos").await.header("x-request-id"), Some(id.as_str()));
    // A caller's own id is echoed (so its logs and ours can be joined); a strange one is replaced.
    let r = app.send(app.raw(Method::GET, "/healthz").header("x-request-id", "trace-42")).await;
    assert_eq!(r.header("x-request-id"), Some("trace-42"));
    let r = app.send(app.raw(Method::GET, "/healthz").header("x-request-id", "has space")).await;
    assert_ne!(r.header("x-request-id"), Some("has space"));
}

//! A property test over the whole route table: for every route, random and boundary values
//! for every field of its body, its query parameters and its path parameters, sent with a
//! caller allowed to use it. Whatever comes in, the server must never answer 5xx, every 4xx
//! must say what is wrong in the route's format (JSON `{"error": …}`, or HTML on the pages),
//! and the server must still answer and write afterwards.
//!
//! The seed is printed; `OCD_FUZZ_SEED=<seed>` replays a run, `OCD_FUZZ_CASES` changes the
//! number of cases per route (default 200).

use ocd::auth::principal::Role;
use ocd::http::access::{Access, Rule};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::auth_helpers::signed_in;
use crate::fake_linear::FakeLinear;
use crate::harness::{Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    let linear = FakeLinear::start().await;
    let (app, _github) = crate::auth_helpers::github_app_with(Backend::Sqlite, |c| relaxed(c, &linear)).await.expect("sqlite app");
    no_input_breaks_the_server(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    let linear = FakeLinear::start().await;
    if let Some((app, _github)) = crate::auth_helpers::github_app_with(Backend::Postgres, |c| relaxed(c, &linear)).await {
        no_input_breaks_the_server(app).await;
    }
}

/// Thousands of calls from one address: the write limit is lifted (the harness lifts the
/// failed-authentication limit for every test). Linear is the fake, with a webhook secret.
fn relaxed(c: &mut ocd::config::Config, linear: &FakeLinear) {
    c.rate_limit_max_requests = 10_000_000;
    c.linear_api_url = linear.url.clone();
    c.linear_api_key = Some(crate::fake_linear::KEY.into());
    c.linear_webhook_secret = Some("fuzz-secret".into());
}

/// The body fields each route reads (its request types' keys).
fn body_fields(method: &Method, path: &str) -> &'static [&'static str] {
    const TODO: &[&str] = &["id", "name", "content", "status", "priority", "agent", "project", "parent_id", "session_id", "sprint_id"];
    const V2: &[&str] = &[
        "id",
        "original_id",
        "title",
        "description",
        "status",
        "priority",
        "dependencies",
        "details",
        "test_strategy",
        "tag",
        "complexity_score",
        "assigned_agent_id",
        "linear_issue_id",
    ];
    const USAGE: &[&str] = &["tokens_in", "tokens_out", "cost_usd"];
    match (method.as_str(), path) {
        (_, "/api/events") => &["type", "payload", "sessionId", "project"],
        ("POST", "/api/todos") => TODO,
        ("POST", "/todos") => &["name", "content", "priority", "status", "project", "back"],
        ("POST", "/todos/{id}") => {
            &["name", "content", "priority", "status", "was_name", "was_content", "was_priority", "was_status", "back"]
        }
        ("POST", "/todos/{id}/move") => &["status", "back"],
        ("POST", "/todos/{id}/comments") => &["body", "back"],
        ("POST", "/todos/{id}/sprints") => &["sprint_id", "remove", "back"],
        ("POST", "/sprints" | "/sprints/{id}") => &["name", "start", "end", "goal", "status", "project", "back"],
        ("POST", "/messages/read") => &["id", "all", "project", "type", "session", "up_to", "back"],
        ("POST", "/agents/{id}/action") => &["action", "text", "back"],
        ("POST", "/account" | "/api/auth/switch") => &["session_id", "back"],
        ("POST", "/theme") => &["theme", "back"],
        ("PUT", "/api/todos") => &["todos"],
        ("POST", "/api/todos/{id}/subtasks") => &["content", "status", "priority", "agent", "project"],
        ("POST", "/api/todos/{id}/comments") => &["body", "author"],
        ("POST" | "DELETE", "/api/todos/{id}/sprints") => &["sprint_id"],
        ("POST", "/api/sessions") => &["id", "name", "project", "project_id"],
        ("POST", "/api/messages") => &["ids"],
        ("POST", "/api/messages/create") => &["type", "content", "session_id", "todo_id", "project", "project_id", "metadata"],
        ("POST", "/api/sprints") | ("PATCH", "/api/sprints/{id}") => &["name", "start_date", "end_date", "goal", "status", "project_id"],
        (_, "/api/v2/tasks" | "/api/v2/tasks/{id}/subtasks") => V2,
        (_, "/api/v2/tasks/validate-deps") => &["tag"],
        ("POST", "/api/settings/projects") => &["id", "name", "description", "color"],
        ("PATCH", "/api/settings/projects/{id}") => &["name", "description", "color"],
        ("PUT", "/api/settings/sleep-schedule") => &["startHour", "endHour", "timezone", "enabled"],
        ("PUT", "/api/settings/alerts") => &["id", "updates"],
        ("PATCH", "/api/settings/alerts/{id}") => &["delay_ms", "channel", "enabled"],
        ("POST", "/api/settings/channels") => &["type", "name", "config", "filters", "enabled"],
        ("PATCH", "/api/settings/channels/{id}") => &["name", "config", "filters", "enabled"],
        ("POST", "/api/push/subscriptions") => &["endpoint", "keys", "expirationTime"],
        ("POST", "/api/approvals/{id}/decision") => &["decision", "message"],
        ("POST", "/api/linear/sync") => &["project_id"],
        ("PATCH", "/api/linear/sync") => &["issueId", "stateId"],
        ("POST", "/api/linear/webhook") => &["type", "action", "data", "webhookId", "webhookTimestamp"],
        ("POST", "/api/linear/webhooks") => &["url"],
        ("PUT", "/api/settings/linear") => &["user_map", "complete_on_done"],
        ("POST", "/linear/sync") => &["back"],
        ("POST", "/linear/issues/{id}/move") => &["status", "back"],
        ("POST", "/approvals/{id}") => &["decision", "message", "back"],
        ("POST", "/approvals/decide/{token}") => &["decision", "message", "approval_id"],
        ("POST", "/api/ingest/opencode") => &["project", "events"],
        ("POST", "/api/ingest/otlp/v1/metrics") => &["resourceMetrics"],
        ("POST", "/api/ingest/codex") => &["type", "thread-id", "turn-id", "cwd", "input-messages", "last-assistant-message", "session_id"],
        ("POST", "/api/ingest/otlp/v1/logs") => &["resourceLogs"],
        ("POST", "/api/ingest/claude-code") => &["session_id", "hook_event_name", "cwd", "tool_name", "tool_input", "agent_id", "prompt"],
        ("POST", "/api/settings/team/invite") => &["mode", "role", "github_username", "expires_in_hours"],
        ("PATCH", "/api/settings/team/{user_id}") => &["role"],
        ("POST", "/api/settings/api-keys") => &["name", "role", "project", "expires_in_days"],
        ("POST", "/api/agents") => &["id", "name", "type", "parent_agent_id", "status", "soul_md", "skills", "config", "project"],
        ("PATCH", "/api/agents/{id}") => {
            &["name", "type", "parent_agent_id", "status", "soul_md", "skills", "current_task_id", "last_heartbeat", "config"]
        }
        ("POST", "/api/agents/{id}/actions") => &["action"],
        ("POST", "/api/agents/{id}/assign" | "/api/agents/{id}/workflow") => &["taskId", "title", "priority", "linearIssueId", "projectId"],
        ("POST", "/api/agents/{id}/block") => &["taskId", "source", "reason"],
        ("POST", "/api/agents/{id}/complete") => &["taskId"],
        ("POST", "/api/agents/{id}/error") => &["taskId", "message"],
        ("POST", "/api/agents/{id}/heartbeat") => USAGE,
        ("POST", "/api/agents/{id}/activity") => &["kind", "summary", "taskId", "tokens_in", "tokens_out", "cost_usd"],
        ("POST", "/api/agents/{id}/tasks") => {
            &["id", "title", "linear_issue_id", "project_id", "priority", "status", "tokens_in", "tokens_out", "cost_usd"]
        }
        ("PATCH", "/api/agents/{id}/tasks/{task_id}") => &[
            "linear_issue_id",
            "project_id",
            "title",
            "status",
            "priority",
            "blocked_reason",
            "blocked_at",
            "started_at",
            "completed_at",
            "tokens_in",
            "tokens_out",
            "cost_usd",
        ],
        ("POST", "/api/agents/{id}/workflow/signal") => &["signal", "reason", "taskId"],
        ("POST", "/api/agents/{id}/commands") => &["kind", "text"],
        ("POST", "/api/agents/{id}/commands/{command_id}/ack") => &["status", "detail"],
        _ => &[],
    }
}

/// Query parameters any route may read (each case sends a few of them).
const QUERY_KEYS: &[&str] = &[
    "id",
    "project",
    "status",
    "session_id",
    "sprint_id",
    "parent_id",
    "top_level",
    "since",
    "unread_only",
    "limit",
    "start",
    "end",
    "agent",
    "tag",
    "type",
    "taskId",
    "redirect",
    "invite",
    "bind",
    "code",
    "state",
    "error",
    "last_event_id",
];

/// Values a client could plausibly send: real ids, enum words, and the edges of every bound.
fn plausible_strings(known: &[String]) -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        "x",
        "pending",
        "in_progress",
        "completed",
        "blocked",
        "high",
        "low",
        "medium",
        "todo_update",
        "error",
        "state_change",
        "custom",
        "sub-agent",
        "working",
        "sleep",
        "wake",
        "stop",
        "unblock",
        "restart",
        "message",
        "acknowledged",
        "failed",
        "question",
        "admin",
        "viewer",
        "owner",
        "link",
        "github",
        "Europe/Paris",
        "Mars/Olympus",
        "#ff00aa",
        "review",
        "done",
        "main",
        "all",
        "' OR 1=1 --",
        "../../etc/passwd",
        "%00",
        "a\u{0}b",
        "\u{1F600}\u{200D}",
        "<script>alert(1)</script>",
        "-1",
        "9223372036854775808",
        "1e308",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for n in [255, 256, 257, 1_000, 1_001] {
        v.push("é".repeat(n / 2 + 1));
        v.push("i".repeat(n));
    }
    v.push("c".repeat(100_001));
    v.extend(known.iter().cloned());
    v
}

fn number(rng: &mut StdRng) -> Value {
    let edges: [Value; 18] = [
        json!(0),
        json!(1),
        json!(-1),
        json!(3),
        json!(23),
        json!(24),
        json!(0.5),
        json!(2.5),
        json!(1_771_200_000),
        json!(253_402_300_799_i64),
        json!(253_402_300_800_i64),
        json!(9_007_199_254_740_991_i64),
        json!(-9_007_199_254_740_991_i64),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(1e308),
        json!(-1e308),
    ];
    if rng.gen_bool(0.8) { edges[rng.gen_range(0..edges.len())].clone() } else { json!(rng.gen_range(-1_000_000i64..1_000_000)) }
}

struct Gen<'a> {
    rng: StdRng,
    strings: Vec<String>,
    known: &'a [String],
}

impl Gen<'_> {
    fn string(&mut self) -> String {
        let i = self.rng.gen_range(0..self.strings.len());
        self.strings[i].clone()
    }

    /// Any JSON value, `depth` levels deep at most.
    fn value(&mut self, depth: u32) -> Value {
        match self.rng.gen_range(0..10) {
            0 => Value::Null,
            1 => Value::Bool(self.rng.gen_bool(0.5)),
            2 | 3 => number(&mut self.rng),
            4 if depth > 0 => {
                let n = if self.rng.gen_bool(0.05) { 1_001 } else { self.rng.gen_range(0..4) };
                Value::Array((0..n).map(|_| if n > 10 { json!("1") } else { self.value(depth - 1) }).collect())
            }
            5 if depth > 0 => {
                let mut map = Map::new();
                for _ in 0..self.rng.gen_range(0..4) {
                    let key = if self.rng.gen_bool(0.5) { "id".to_string() } else { self.string() };
                    map.insert(key, self.value(depth - 1));
                }
                Value::Object(map)
            }
            _ => Value::String(self.string()),
        }
    }

    /// A body: mostly objects with the route's fields (sometimes all of them, with known ids),
    /// sometimes something else entirely.
    fn body(&mut self, fields: &[&str]) -> String {
        match self.rng.gen_range(0..20) {
            0 => String::new(),
            1 => "{not json".to_string(),
            2 => self.value(2).to_string(),
            _ => {
                let mut map = Map::new();
                for field in fields {
                    if self.rng.gen_bool(0.6) {
                        let value = if self.rng.gen_bool(0.4) { json!(self.known_id()) } else { self.value(2) };
                        let value = match *field {
                            "todos" => json!([self.item(), self.item()]),
                            "ids" if self.rng.gen_bool(0.5) => json!([self.known_id(), "1", self.string()]),
                            "payload" => self.item(),
                            _ => value,
                        };
                        map.insert(field.to_string(), value);
                    }
                }
                if self.rng.gen_bool(0.1) {
                    map.insert(self.string(), self.value(1));
                }
                Value::Object(map).to_string()
            }
        }
    }

    /// A todo-like object, as batch items and event payloads carry.
    fn item(&mut self) -> Value {
        let mut map = Map::new();
        for field in ["id", "content", "status", "priority", "parent_id", "project"] {
            if self.rng.gen_bool(0.6) {
                let value = if self.rng.gen_bool(0.5) { json!(self.known_id()) } else { self.value(1) };
                map.insert(field.into(), value);
            }
        }
        Value::Object(map)
    }

    fn known_id(&mut self) -> String {
        let i = self.rng.gen_range(0..self.known.len());
        self.known[i].clone()
    }

    /// A path segment: a real id, or anything, percent-encoded or raw bytes.
    fn segment(&mut self) -> String {
        match self.rng.gen_range(0..10) {
            0 => "%FF%FE".into(),
            1 => "a%00b".into(),
            2 => "x".repeat(300),
            3 => "-5".into(),
            4..=6 => encode(&self.known_id()),
            _ => encode(&self.string().chars().take(2_000).collect::<String>()),
        }
    }

    fn query(&mut self) -> String {
        let mut pairs = Vec::new();
        for _ in 0..self.rng.gen_range(0..4) {
            let key = QUERY_KEYS[self.rng.gen_range(0..QUERY_KEYS.len())];
            let value = if self.rng.gen_bool(0.3) { number(&mut self.rng).to_string() } else { self.string() };
            // A URL longer than 64 KiB is not sent by any client (the HTTP library refuses it).
            let value: String = value.chars().take(2_000).collect();
            pairs.push(format!("{key}={}", encode(&value)));
        }
        if self.rng.gen_bool(0.05) {
            pairs.push("a=%FF&&=&%".into());
        }
        pairs.join("&")
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// The credential that may call `rule`: the owner's session for owner and people routes,
/// the bootstrap key (admin) for the rest.
fn caller_for<'a>(rule: &Rule, key: &'a str, owner: &'a str) -> &'a str {
    match rule.access {
        Access::Owner | Access::People | Access::User => owner,
        _ => key,
    }
}

async fn no_input_breaks_the_server(app: TestApp) {
    let seed: u64 = std::env::var("OCD_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    let cases: usize = std::env::var("OCD_FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(200);
    eprintln!("fuzz seed: {seed} (replay with OCD_FUZZ_SEED={seed}), {cases} cases per route");

    // Real objects, so part of the calls reach deep into the handlers.
    app.post("/api/settings/projects", json!({"id": "p1", "name": "P1"})).await;
    app.post("/api/todos", json!({"id": "t1", "content": "seed", "project": "p1"})).await;
    app.post("/api/todos", json!({"id": "t2", "content": "child", "parent_id": "t1"})).await;
    app.post("/api/sessions", json!({"id": "s1", "name": "run"})).await;
    app.post("/api/agents", json!({"id": "a1", "name": "agent"})).await;
    app.post("/api/agents", json!({"id": "a2", "name": "sub", "parent_agent_id": "a1"})).await;
    app.post("/api/agents/a1/tasks", json!({"id": "k1", "title": "work", "status": "in_progress"})).await;
    let sprint = app.post("/api/sprints", json!({"name": "S", "start_date": 1_771_200_000, "end_date": 1_771_900_000})).await;
    let command = app.post("/api/agents/a1/commands", json!({"kind": "message", "text": "hi"})).await;
    let v2 = app.post("/api/v2/tasks", json!({"title": "plan"})).await;
    let mut owner_browser = signed_in(&app, Role::Owner).await;
    let owner = owner_browser.session().unwrap().to_string();
    let invite = owner_browser.go(Method::POST, "/api/settings/team/invite", Some(&json!({"mode": "link", "role": "viewer"}))).await;
    let scoped =
        owner_browser.go(Method::POST, "/api/settings/api-keys", Some(&json!({"name": "p1", "role": "admin", "project": "p1"}))).await;
    let scoped = scoped.body["token"].as_str().unwrap_or_default().to_string();
    let known: Vec<String> = [
        "t1".to_string(),
        "t2".into(),
        "s1".into(),
        "a1".into(),
        "a2".into(),
        "k1".into(),
        "p1".into(),
        "1".into(),
        sprint.body["sprint"]["id"].as_str().unwrap_or("s").into(),
        command.body["command"]["id"].as_str().unwrap_or("c").into(),
        v2.body["task"]["id"].to_string(),
        invite.body["invite"]["id"].as_str().unwrap_or("i").into(),
    ]
    .into();
    let mut generator = Gen { rng: StdRng::seed_from_u64(seed), strings: plausible_strings(&known), known: &known };

    let routes = ocd::routes::rules();
    let mut sent = 0;
    for rule in &routes {
        let fields = body_fields(&rule.method, rule.path);
        let has_body = rule.method != Method::GET;
        for case in 0..cases {
            let mut path = String::new();
            for part in rule.path.split('/').skip(1) {
                path.push('/');
                if part.starts_with('{') {
                    path.push_str(&generator.segment());
                } else {
                    path.push_str(part);
                }
            }
            // Long-polls are bounded by `wait`, which stays 0 here.
            let query = if rule.path.ends_with("/commands") && rule.method == Method::GET { String::new() } else { generator.query() };
            let target = if query.is_empty() { path.clone() } else { format!("{path}?{query}") };
            let body = if has_body { generator.body(fields) } else { String::new() };
            // Sometimes nobody, the wrong key or a key scoped to p1: refusals must be
            // well-formed too.
            let credential = match case % 25 {
                0 => None,
                1 => Some("ocdk_not-a-key"),
                2..=4 => Some(scoped.as_str()),
                _ => Some(caller_for(rule, &app.key, &owner)),
            };
            let mut req = app.raw(rule.method.clone(), &target);
            if let Some(token) = credential {
                req = req.bearer_auth(token);
            }
            if has_body && crate::harness::is_page(rule.path) {
                // A page's form: the same fields, form-encoded (and now and then as JSON).
                let form = serde_json::from_str(&body).map(|v| crate::harness::form_body(&v)).unwrap_or_else(|_| body.clone());
                let (kind, text) =
                    if case % 7 == 0 { ("application/json", body.clone()) } else { ("application/x-www-form-urlencoded", form) };
                req = req.header("content-type", kind).body(text);
            } else if has_body {
                req = req.header("content-type", "application/json").body(body.clone());
            }
            let what = || {
                let short = |text: &str| text.chars().take(300).collect::<String>();
                format!("seed {seed}: {} {} {}", rule.method, short(&target), short(&body))
            };
            let reply = if rule.path == "/api/stream" { app.send_head(req).await } else { app.send(req).await };
            sent += 1;
            assert!(reply.status.as_u16() < 500, "{} answered {}: {}", what(), reply.status, reply.body);
            if reply.status.is_client_error() {
                let html = !path.starts_with("/api/") && !matches!(path.as_str(), "/healthz" | "/metrics");
                let content_type = reply.header("content-type").unwrap_or_default();
                if html {
                    assert!(content_type.starts_with("text/html"), "{}: {content_type}", what());
                } else {
                    assert!(reply.body["error"].is_string(), "{} answered {} without a JSON error: {}", what(), reply.status, reply.body);
                }
            }
        }
    }
    eprintln!("fuzz: {sent} requests over {} routes", routes.len());
    // Still serving, still writing, still reading what it wrote.
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK, "seed {seed}");
    let r = app.post("/api/todos", json!({"id": "after-fuzz", "content": "still here"})).await;
    assert_eq!(r.status, StatusCode::OK, "seed {seed}: {}", r.body);
    assert_eq!(app.get("/api/todos?id=after-fuzz").await.body["content"], "still here", "seed {seed}");
}

/// Routes whose handlers read no body (signing out, links, deletes by path).
const WITHOUT_BODY: &[&str] = &[
    "/api/auth/logout",
    "/logout",
    "/api/auth/link/{token}",
    "/invite/{id}",
    "/api/settings/invite/{id}/accept",
    "/api/settings/alerts/reset-defaults",
    "/api/settings/channels/{id}/test",
];

#[test]
fn every_route_with_a_body_has_its_fields_listed() {
    for rule in ocd::routes::rules() {
        let deletes_by_path = rule.method == Method::DELETE && !rule.path.contains("sprints") && !rule.path.contains("/v2/");
        let reads_body = rule.method != Method::GET && !WITHOUT_BODY.contains(&rule.path) && !deletes_by_path;
        if reads_body {
            assert!(!body_fields(&rule.method, rule.path).is_empty(), "{} {} has no fields to fuzz", rule.method, rule.path);
        }
    }
}

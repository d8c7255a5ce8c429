//! Regression tests for the hardening findings F1–F14: each input that once crashed, stalled,
//! corrupted or escaped its project now gets a clear 4xx and changes nothing.

use ocd::auth::principal::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth_helpers::signed_in;
use crate::harness::{Backend, Reply, T0, TestApp};

crate::on_both_backends!(
    dates_are_bounded_and_burndowns_stay_small,
    usage_deltas_are_bounded_and_totals_saturate,
    strings_are_bounded_and_free_of_nul_characters,
    path_parameters_are_checked_with_json_errors,
    mark_read_takes_at_most_ten_thousand_ids,
    an_agent_that_never_beat_is_silent_since_it_registered,
    planner_tasks_keep_fractional_complexity_scores,
    agent_parents_never_loop,
    a_scoped_key_cannot_reach_another_project_through_any_reference,
);

fn field_of(reply: &Reply) -> Value {
    reply.body["details"][0]["path"].clone()
}

async fn dates_are_bounded_and_burndowns_stay_small(app: TestApp) {
    // F1: a date far before 1970 used to make velocity allocate one entry per day until the
    // process died.
    let r = app.post("/api/sprints", json!({"name": "x", "start_date": -9_007_199_254_740_991_i64, "end_date": 1_700_000_000})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(field_of(&r), json!(["start_date"]));
    let r = app.post("/api/sprints", json!({"name": "x", "start_date": 0, "end_date": 253_402_300_800_i64})).await;
    assert_eq!(field_of(&r), json!(["end_date"]));
    // The widest range allowed still gives a bounded burndown (the latest year).
    let r = app.post("/api/sprints", json!({"name": "x", "start_date": 0, "end_date": 253_402_300_799_i64})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["sprint"]["id"].as_str().unwrap().to_string();
    let v = app.get(&format!("/api/sprints/{id}/velocity")).await;
    assert_eq!(v.status, StatusCode::OK);
    assert_eq!(v.body["velocity"]["daily_progress"].as_array().unwrap().len(), 366);
    let r = app.patch(&format!("/api/sprints/{id}"), json!({"start_date": -1})).await;
    assert_eq!(field_of(&r), json!(["start_date"]));
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
}

async fn usage_deltas_are_bounded_and_totals_saturate(app: TestApp) {
    app.post("/api/agents", json!({"id": "ovf", "name": "ovf"})).await;
    app.post("/api/agents/ovf/tasks", json!({"id": "t", "title": "t", "status": "in_progress"})).await;
    // F2: deltas past the bound are refused, naming the field…
    for (field, value) in [("tokens_in", json!(9_223_372_036_854_775_807_i64)), ("cost_usd", json!(1e308)), ("tokens_out", json!(-1))] {
        let r = app.post("/api/agents/ovf/activity", json!({"kind": "k", field: value})).await;
        assert_eq!((r.status, field_of(&r)), (StatusCode::BAD_REQUEST, json!([field])), "{}", r.body);
        let r = app.post("/api/agents/ovf/heartbeat", json!({field: value})).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
    }
    // …and totals near their ceiling stop there instead of overflowing.
    let max = ocd::domain::agents::MAX_TOKENS_TOTAL;
    app.app
        .db
        .write(move |c| {
            Box::pin(async move {
                sqlx::query("UPDATE agents SET tokens_in = $1, cost_usd = 999999999999999.0").bind(max - 5).execute(&mut *c).await?;
                sqlx::query("UPDATE agent_tasks SET tokens_in = $1").bind(max - 5).execute(&mut *c).await?;
                Ok(())
            })
        })
        .await
        .unwrap();
    for _ in 0..2 {
        let r = app.post("/api/agents/ovf/activity", json!({"kind": "k", "tokens_in": 1_000_000_000, "cost_usd": 1_000_000})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    for path in ["/api/agents", "/api/agents/ovf", "/api/agents/ovf/tasks"] {
        let r = app.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    }
    let agent = app.get("/api/agents/ovf").await.body["agent"].clone();
    assert_eq!(agent["tokens_in"], json!(max));
    assert_eq!(agent["cost_usd"], json!(1e15));
    assert_eq!(app.get("/api/agents/ovf/tasks").await.body["tasks"][0]["tokens_in"], json!(max));
}

async fn strings_are_bounded_and_free_of_nul_characters(app: TestApp) {
    // F9: a NUL character is refused on both databases alike, wherever it is.
    let r = app.post("/api/todos", json!({"id": "n", "content": "a\u{0}b"})).await;
    assert_eq!((r.status, field_of(&r)), (StatusCode::BAD_REQUEST, json!(["content"])), "{}", r.body);
    let r = app.post("/api/events", json!({"type": "error", "payload": {"message": "\u{0}"}})).await;
    assert_eq!(field_of(&r), json!(["payload", "message"]));
    let r = app.get("/api/todos?project=a%00b").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // F10: ids, names and text have bounds.
    let r = app.post("/api/todos", json!({"id": "x".repeat(257), "content": "c"})).await;
    assert_eq!(field_of(&r), json!(["id"]));
    let r = app.post("/api/todos", json!({"id": "x".repeat(256), "content": "c".repeat(100_000)})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.post("/api/agents", json!({"id": "a", "name": "n".repeat(1_001)})).await;
    assert_eq!(field_of(&r), json!(["name"]));
    let r = app.post("/api/agents", json!({"id": "a", "name": "a", "config": {"blob": "x".repeat(70_000)}})).await;
    assert_eq!(field_of(&r), json!(["config"]));
    // A batch takes at most 1,000 items, and stays all-or-nothing.
    let items: Vec<Value> = (0..1_001).map(|i| json!({"id": format!("b{i}"), "content": "c"})).collect();
    let r = app.put("/api/todos", json!({ "todos": items })).await;
    assert_eq!(field_of(&r), json!(["todos"]));
    assert_eq!(app.count("todos").await, 1);
    let body = app.get("/api/todos").await.body;
    assert_eq!(body["todos"].as_array().unwrap().len(), 1);
}

async fn path_parameters_are_checked_with_json_errors(app: TestApp) {
    // F9, F10, F12: every path id is UTF-8, NUL-free and at most 256 bytes, with a JSON 400.
    for path in ["/api/todos/%FF/comments", "/api/todos/a%00b/comments", "/api/agents/%C3%28"] {
        let r = app.get(path).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(r.header("content-type"), Some("application/json"), "{path}");
        assert!(r.body["error"].as_str().unwrap().starts_with("id: "), "{path}: {}", r.body);
    }
    let long = "x".repeat(300);
    let r = app.get(&format!("/api/agents/{long}")).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::BAD_REQUEST, json!({"error": "id: must be at most 256 bytes"})));
    // F12: a raw body over the limit is a JSON 413 too.
    app.post("/api/agents", json!({"id": "a", "name": "a"})).await;
    let big = format!("{{\"kind\":\"k\",\"summary\":\"{}\"}}", "x".repeat(1_100_000));
    let r = app.send(app.raw(Method::POST, "/api/agents/a/activity").bearer_auth(&app.key).body(big)).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::PAYLOAD_TOO_LARGE, json!({"error": "Request body too large"})));
    // The pages answer with HTML.
    let r = app.send(app.raw(Method::GET, "/invite/%FF")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
}

async fn mark_read_takes_at_most_ten_thousand_ids(app: TestApp) {
    // F6: a huge id list no longer holds the writer.
    let m = app.post("/api/messages/create", json!({"type": "custom", "content": "hello"})).await;
    let id = m.body["message"]["id"].to_string();
    let too_many: Vec<String> = (0..10_001).map(|i| i.to_string()).collect();
    let r = app.post("/api/messages", json!({ "ids": too_many })).await;
    assert_eq!(field_of(&r), json!(["ids"]));
    let mut ids: Vec<String> = (1_000_000..1_009_998).map(|i| i.to_string()).collect();
    ids.push(id.clone());
    ids.push(id);
    let r = app.post("/api/messages", json!({ "ids": ids })).await;
    assert_eq!(r.body, json!({"success": true, "marked": 2, "total": 10_000}));
    assert_eq!(app.get("/api/messages?unread_only=true").await.body["messages"], json!([]));
}

async fn an_agent_that_never_beat_is_silent_since_it_registered(app: TestApp) {
    // F7: registration starts the silence count; "never beat" is not "silent forever".
    app.post("/api/agents", json!({"id": "new", "name": "new"})).await;
    app.post("/api/agents/new/tasks", json!({"id": "t", "title": "t", "status": "in_progress"})).await;
    app.clock.advance_secs(60);
    app.tick().await;
    assert_eq!(app.get("/api/agents/new").await.body["agent"]["status"], "working");
    assert_eq!(app.count("alert_events").await, 0);
    app.clock.advance_secs(250);
    app.tick().await;
    let agent = app.get("/api/agents/new").await.body;
    assert_eq!(agent["agent"]["status"], "blocked");
    assert_eq!(agent["task_history"][0]["blocked_reason"], "[idle] Agent idle for 5 minutes with in_progress task");
    // A task started later counts from its start.
    app.post("/api/agents", json!({"id": "late", "name": "late"})).await;
    app.clock.advance_secs(1_000);
    app.post("/api/agents/late/tasks", json!({"id": "lt", "title": "t", "status": "in_progress"})).await;
    app.clock.advance_secs(200);
    app.tick().await;
    assert_eq!(app.get("/api/agents/late").await.body["agent"]["status"], "working");
}

async fn planner_tasks_keep_fractional_complexity_scores(app: TestApp) {
    // F8: the second create with a fractional score failed on PostgreSQL, and every later one.
    for score in [json!(null), json!(2.5), json!(3), json!(2.5), json!(0.1), json!(null)] {
        let r = app.post("/api/v2/tasks", json!({"title": "t", "complexity_score": score})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{score}: {}", r.body);
        assert_eq!(r.body["task"]["complexity_score"].as_f64(), score.as_f64());
        let id = r.body["task"]["id"].clone();
        let r = app.put("/api/v2/tasks", json!({"id": id, "complexity_score": score})).await;
        assert_eq!(r.status, StatusCode::OK, "{score}: {}", r.body);
    }
}

async fn agent_parents_never_loop(app: TestApp) {
    // F13: a parent link that closes a loop is refused, so both agents stay deletable.
    app.post("/api/agents", json!({"id": "a", "name": "a"})).await;
    app.post("/api/agents", json!({"id": "b", "name": "b", "parent_agent_id": "a"})).await;
    app.post("/api/agents", json!({"id": "c", "name": "c", "parent_agent_id": "b"})).await;
    let r = app.patch("/api/agents/a", json!({"parent_agent_id": "c"})).await;
    assert_eq!((r.status, field_of(&r)), (StatusCode::BAD_REQUEST, json!(["parent_agent_id"])), "{}", r.body);
    let r = app.post("/api/agents", json!({"id": "a", "name": "a", "parent_agent_id": "b"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    for id in ["c", "b", "a"] {
        assert_eq!(app.delete(&format!("/api/agents/{id}"), json!({})).await.status, StatusCode::OK);
    }
}

async fn a_scoped_key_cannot_reach_another_project_through_any_reference(app: TestApp) {
    for id in ["p", "q"] {
        app.post("/api/settings/projects", json!({"id": id, "name": id})).await;
    }
    app.post("/api/todos", json!({"id": "tq", "content": "theirs", "project": "q"})).await;
    let sprint_q = app.post("/api/sprints", json!({"name": "q", "start_date": T0, "end_date": T0 + 86_400, "project_id": "q"})).await;
    let sprint_q = sprint_q.body["sprint"]["id"].as_str().unwrap().to_string();
    app.post("/api/todos/tq/sprints", json!({"sprint_id": sprint_q})).await;
    app.post("/api/agents", json!({"id": "shared", "name": "shared"})).await;
    app.post("/api/agents", json!({"id": "mixed", "name": "mixed"})).await;
    app.post("/api/agents/mixed/tasks", json!({"id": "mp", "title": "p work", "project_id": "p"})).await;
    app.post("/api/agents/mixed/tasks", json!({"id": "mq", "title": "q work", "project_id": "q", "status": "in_progress"})).await;
    assert_eq!(app.get("/api/agents/mixed").await.body["agent"]["current_task_id"], "mq");

    let mut owner = signed_in(&app, Role::Owner).await;
    let r = owner.go(Method::POST, "/api/settings/api-keys", Some(&json!({"name": "p", "role": "admin", "project": "p"}))).await;
    let key = r.body["token"].as_str().unwrap().to_string();
    let call = |method: Method, path: &str, body: Option<Value>| {
        let app = &app;
        let key = key.clone();
        let path = path.to_string();
        async move { app.request(method, &path, body.as_ref(), Some(&key)).await }
    };
    let events_before = app.count("events").await;

    // F3: an event's payload names a todo of another project.
    let r = call(Method::POST, "/api/events", Some(json!({"type": "todo_update", "payload": {"id": "tq", "status": "completed"}}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(app.get("/api/todos?id=tq").await.body["status"], "pending");
    // F4: another project's sprint, its velocity, the analytics trend.
    assert_eq!(call(Method::GET, &format!("/api/sprints/{sprint_q}"), None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(call(Method::GET, &format!("/api/sprints/{sprint_q}/velocity"), None).await.status, StatusCode::FORBIDDEN);
    let analytics = call(Method::GET, &format!("/api/analytics?start={T0}&end={}", T0 + 86_400), None).await;
    assert_eq!(analytics.status, StatusCode::OK, "{}", analytics.body);
    assert!(!analytics.body.to_string().contains(&sprint_q), "{}", analytics.body);
    // A parent or a sprint of another project cannot be linked to.
    let r = call(Method::POST, "/api/todos", Some(json!({"id": "pchild", "content": "x", "parent_id": "tq"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    call(Method::POST, "/api/todos", Some(json!({"id": "mine", "content": "x"}))).await;
    let r = call(Method::POST, "/api/todos/mine/sprints", Some(json!({"sprint_id": sprint_q}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Agents: the shared one cannot be deleted or steered; a mixed one shows no foreign task.
    assert_eq!(call(Method::DELETE, "/api/agents/shared", None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(call(Method::POST, "/api/agents/shared/actions", Some(json!({"action": "stop"}))).await.status, StatusCode::FORBIDDEN);
    let agents = call(Method::GET, "/api/agents", None).await.body;
    let mixed = agents["agents"].as_array().unwrap().iter().find(|a| a["id"] == "mixed").cloned().unwrap();
    assert_eq!(mixed["current_task"], Value::Null, "{mixed}");
    assert!(!agents.to_string().contains("q work"));
    // An agent it registers is its project's, and its own to steer.
    let r = call(Method::POST, "/api/agents", Some(json!({"id": "mine", "name": "mine"}))).await;
    assert_eq!((r.status, r.body["agent"]["project_id"].clone()), (StatusCode::CREATED, json!("p")));
    assert_eq!(call(Method::POST, "/api/agents/mine/actions", Some(json!({"action": "sleep"}))).await.status, StatusCode::OK);
    let r = call(Method::POST, "/api/agents", Some(json!({"id": "child", "name": "c", "parent_agent_id": "mixed"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // More references: the sprint or session a todo joins, a message's todo, a summary id
    // used by another project, the task a report is about.
    app.post("/api/sessions", json!({"id": "sq", "name": "q run", "project_id": "q"})).await;
    let r = call(Method::POST, "/api/todos", Some(json!({"id": "m2", "content": "x", "sprint_id": sprint_q}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(Method::PUT, "/api/todos", Some(json!({"todos": [{"id": "m3", "content": "x", "session_id": "sq"}]}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(Method::POST, "/api/messages/create", Some(json!({"type": "custom", "content": "x", "todo_id": "tq"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let q_log = json!({"type": "worklog", "content": "q secret", "project": "q", "metadata": {"summary_id": "sum-1"}});
    app.post("/api/messages/create", q_log).await;
    let r =
        call(Method::POST, "/api/messages/create", Some(json!({"type": "worklog", "content": "x", "metadata": {"summary_id": "sum-1"}})))
            .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(!r.body.to_string().contains("q secret"));
    app.post("/api/agents", json!({"id": "pa", "name": "p agent", "project": "p"})).await;
    app.post("/api/agents/pa/tasks", json!({"id": "pa-q", "title": "q's", "project_id": "q", "status": "in_progress"})).await;
    let r = call(Method::POST, "/api/agents/pa/complete", Some(json!({"taskId": "pa-q"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(Method::PATCH, "/api/agents/pa/tasks/pa-q", Some(json!({"status": "blocked"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let detail = call(Method::GET, "/api/agents/pa", None).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(!detail.body.to_string().contains("q's"), "{}", detail.body);
    assert_eq!(call(Method::GET, "/api/agents/pa/tasks", None).await.body["tasks"], json!([]));
    // A new todo joins the active sprint of its project or a shared one, never another's.
    app.patch(&format!("/api/sprints/{sprint_q}"), json!({"status": "active"})).await;
    let r = call(Method::POST, "/api/todos", Some(json!({"id": "fresh", "content": "x"}))).await;
    assert_eq!(r.body["auto_sprint_id"], Value::Null, "{}", r.body);
    // A shared agent whose work is all in P is claimed by registering it with P's key (the
    // upgrade path: agents had no project before).
    app.post("/api/agents", json!({"id": "legacy", "name": "legacy"})).await;
    app.post("/api/agents/legacy/tasks", json!({"id": "lt", "title": "t", "project_id": "p"})).await;
    assert_eq!(call(Method::POST, "/api/agents/legacy/heartbeat", Some(json!({}))).await.status, StatusCode::FORBIDDEN);
    let r = call(Method::POST, "/api/agents", Some(json!({"id": "legacy", "name": "legacy"}))).await;
    assert_eq!((r.status, r.body["agent"]["project_id"].clone()), (StatusCode::OK, json!("p")), "{}", r.body);
    assert_eq!(call(Method::POST, "/api/agents/legacy/heartbeat", Some(json!({}))).await.status, StatusCode::OK);
    let r = call(Method::POST, "/api/agents", Some(json!({"id": "mixed", "name": "mixed"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "an agent with other projects' work is not claimed");

    assert_eq!(app.get("/api/todos?id=tq").await.body["status"], "pending");
    assert!(app.count("events").await > events_before, "the allowed writes were recorded");
}

/// F11 (SQLite's 32,766-variable limit): moving a todo with more children than one
/// statement can bind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_todo_with_forty_thousand_children_can_move() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.rate_limit_max_requests = 1_000_000).await.unwrap();
    app.post("/api/todos", json!({"id": "root", "content": "root"})).await;
    app.post("/api/todos", json!({"id": "other", "content": "other"})).await;
    for batch in 0..40 {
        let items: Vec<Value> =
            (0..1_000).map(|i| json!({"id": format!("c{batch}-{i}"), "content": "child", "parent_id": "root"})).collect();
        let r = app.put("/api/todos", json!({ "todos": items })).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let r = app.post("/api/todos", json!({"id": "root", "parent_id": "other"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["todo"]["parent_id"], "other");
}

/// Reads from `stream` until the server closes it (or 10 s pass, a failure guard only).
async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&seen).into_owned()),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => return None,
        }
    }
}

fn address(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").split('/').next().unwrap().to_string()
}

/// F5: connections that send nothing, never finish their headers or stall their body are
/// closed; the server keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_stalled_connections_are_closed() {
    use tokio::io::AsyncWriteExt;
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.conn_first_byte_seconds = 1;
        c.conn_header_seconds = 1;
        c.conn_body_stall_seconds = 1;
    })
    .await
    .unwrap();
    let addr = address(&app);
    let mut silent = tokio::net::TcpStream::connect(&addr).await.unwrap();
    assert_eq!(read_until_closed(&mut silent).await.as_deref(), Some(""), "a silent connection is closed");

    let mut half_headers = tokio::net::TcpStream::connect(&addr).await.unwrap();
    half_headers.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    assert!(read_until_closed(&mut half_headers).await.is_some(), "unfinished headers are closed");

    let mut stalled = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!("POST /api/todos HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: 100\r\n\r\n{{\"id\":", app.key);
    stalled.write_all(head.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut stalled).await.expect("a stalled body is closed");
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 4"), "{answer}");
    // A body trickling in a byte now and then is cut off as well.
    let mut trickle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!("POST /api/todos HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: 100\r\n\r\n", app.key);
    trickle.write_all(head.as_bytes()).await.unwrap();
    let (mut reader, mut writer) = trickle.into_split();
    let dripping = tokio::spawn(async move {
        for _ in 0..100 {
            if writer.write_all(b" ").await.is_err() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    });
    let mut seen = Vec::new();
    let closed =
        tokio::time::timeout(std::time::Duration::from_secs(10), tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut seen)).await;
    assert!(closed.is_ok(), "a trickling body is cut off well before it ends");
    dripping.abort();
    assert_eq!(app.count("todos").await, 0);
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
}

/// F5: at most MAX_CONNECTIONS are open (a live stream counts); more are closed at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_closed_at_once() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.max_connections = 3).await.unwrap();
    let addr = address(&app);
    let stream = crate::harness::StreamClient::connect(&app.base, &app.key, "", None).await;
    let idle: Vec<tokio::net::TcpStream> =
        vec![tokio::net::TcpStream::connect(&addr).await.unwrap(), tokio::net::TcpStream::connect(&addr).await.unwrap()];
    let mut refused = tokio::net::TcpStream::connect(&addr).await.unwrap();
    assert_eq!(read_until_closed(&mut refused).await.as_deref(), Some(""), "the fourth connection is closed");
    // Slots come back as connections end.
    drop(idle);
    drop(stream);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let client = crate::harness::client();
        if let Ok(r) = client.get(format!("{}/healthz", app.base)).send().await
            && r.status() == StatusCode::OK
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no slot came back");
        tokio::task::yield_now().await;
    }
}

/// F14: with DISABLE_AUTH, only this server's names are served and other sites cannot write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_mode_refuses_other_hosts_and_cross_site_writes() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.disable_auth = true).await.unwrap();
    let send = |req: reqwest::RequestBuilder| app.send(req);
    let r = send(app.raw(Method::GET, "/api/todos")).await;
    assert_eq!(r.status, StatusCode::OK, "the local owner reads");
    let r = send(app.raw(Method::GET, "/api/todos").header("host", "rebound.evil.example")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "DNS rebinding");
    let body = json!({"id": "t", "content": "x"}).to_string();
    let r = send(app.raw(Method::POST, "/api/todos").header("origin", "https://evil.example").body(body.clone())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(app.raw(Method::POST, "/api/todos").header("sec-fetch-site", "cross-site").body(body.clone())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(
        app.raw(Method::POST, "/api/todos").header("content-type", "text/plain").header("sec-fetch-site", "same-site").body(body.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("todos").await, 0);
    // Hooks, curl and our own pages pass.
    assert_eq!(send(app.raw(Method::POST, "/api/todos").body(body.clone())).await.status, StatusCode::OK);
    let own = app.base.clone();
    let r = send(app.raw(Method::POST, "/api/todos").header("origin", own.trim_end_matches('/')).body(body)).await;
    assert_eq!(r.status, StatusCode::OK);
}

/// Failed authentication is limited per client address; the right key waits too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failed_authentication_is_slowed_down() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.auth_failure_limit_per_minute = 3).await.unwrap();
    for _ in 0..3 {
        assert_eq!(app.request(Method::GET, "/api/todos", None, Some("guess")).await.status, StatusCode::UNAUTHORIZED);
    }
    let r = app.request(Method::GET, "/api/todos", None, Some("guess")).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::TOO_MANY_REQUESTS, json!({"error": "Too many requests"})));
    assert!(r.header("retry-after").is_some());
    assert_eq!(app.get("/api/todos").await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK, "public routes stay open");
    app.clock.advance_secs(120);
    assert_eq!(app.get("/api/todos").await.status, StatusCode::OK);
}

/// Logout ends a session presented as a bearer token too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_ends_a_bearer_session() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let browser = signed_in(&app, Role::Admin).await;
    let token = browser.session().unwrap().to_string();
    assert_eq!(app.request(Method::GET, "/api/todos", None, Some(&token)).await.status, StatusCode::OK);
    let r = app.request(Method::POST, "/api/auth/logout", Some(&json!({})), Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(app.request(Method::GET, "/api/todos", None, Some(&token)).await.status, StatusCode::UNAUTHORIZED);
    // The bootstrap key is not a session: it keeps working.
    app.request(Method::POST, "/api/auth/logout", Some(&json!({})), Some(&app.key.clone())).await;
    assert_eq!(app.get("/api/todos").await.status, StatusCode::OK);
}

/// A non-ASCII Last-Event-ID is as wrong as `abc`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_last_event_id_is_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    for value in [reqwest::header::HeaderValue::from_bytes(b"\xe9").unwrap(), reqwest::header::HeaderValue::from_static("abc")] {
        let r = app.send(app.raw(Method::GET, "/api/stream").bearer_auth(&app.key).header("last-event-id", value)).await;
        assert_eq!((r.status, r.body.clone()), (StatusCode::BAD_REQUEST, json!({"error": "Last-Event-ID must be an event id"})));
    }
}

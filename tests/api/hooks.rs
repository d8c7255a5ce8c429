//! The original `dashboard-hook.ts`, replayed byte for byte (agents-integration.md, last
//! section): every call must answer 2xx and land where the dashboard reads it.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::TestApp;

crate::on_both_backends!(dashboard_hook_replay, dashboard_hook_fallback_post_upserts);

/// Sends `body` exactly as the hook does: bearer key, JSON content type, raw text.
async fn dashboard_hook_replay(app: TestApp) {
    app.hook(Method::POST, "/api/sessions", r#"{"id":"ses_1","name":"Session 11/24/2026, 10:00:00 AM","project":"billing"}"#).await;
    // the hook re-sends its session on every start
    let again =
        app.hook(Method::POST, "/api/sessions", r#"{"id":"ses_1","name":"Session 11/24/2026, 10:00:00 AM","project":"billing"}"#).await;
    assert_eq!(again.status, StatusCode::OK);
    app.hook(Method::PUT,
        "/api/todos",
        r#"{"todos":[{"id":"t1","content":"Inspect repo","status":"in_progress","priority":"high","session_id":"ses_1","agent":"sisyphus","project":"billing"}]}"#,
    )
    .await;
    app.hook(Method::POST, "/api/events", r#"{"type":"todo_update","payload":{"count":3,"statuses":{"pending":1,"in_progress":1,"completed":1}},"sessionId":"ses_1","project":"billing"}"#).await;
    let done = app.hook(Method::POST, "/api/events", r#"{"type":"state_change","payload":{"message":"Task completed: Inspect repo","todoId":"t1"},"sessionId":"ses_1","project":"billing"}"#).await;
    assert_eq!(done.body["success"], true);
    assert_eq!(done.body["event"]["sessionId"], "ses_1");
    app.hook(Method::POST, "/api/events", r#"{"type":"state_change","payload":{"message":"State changed: planning → coding","from":"planning","to":"coding"},"sessionId":"ses_1"}"#).await;
    app.hook(
        Method::POST,
        "/api/events",
        r#"{"type":"error","payload":{"message":"boom","stack":"Error: boom\n    at …"},"sessionId":"ses_1","project":"billing"}"#,
    )
    .await;
    let first = app.hook(Method::POST, "/api/messages/create", r#"{"type":"worklog","content":"Did X","session_id":"ses_1","project":"billing","metadata":{"author":"sisyphus","tags":["infra"],"summary_id":"sum_1"}}"#).await;
    assert_eq!(first.status, StatusCode::CREATED);
    // the same summary again is deduplicated even though it carries an author (fixes decisions.md#work-items)
    let dup = app.hook(Method::POST, "/api/messages/create", r#"{"type":"worklog","content":"Did X","session_id":"ses_1","project":"billing","metadata":{"author":"sisyphus","tags":["infra"],"summary_id":"sum_1"}}"#).await;
    assert_eq!((dup.status, &dup.body["deduplicated"]), (StatusCode::OK, &Value::Bool(true)));
    assert_eq!(dup.body["message"]["id"], first.body["message"]["id"]);

    // What the dashboard reads back.
    let sessions = app.get("/api/sessions").await;
    assert_eq!(
        sessions.body["sessions"],
        json!([{"id": "ses_1", "name": "Session 11/24/2026, 10:00:00 AM", "started_at": crate::harness::T0, "ended_at": null, "project_id": "billing"}])
    );
    let todos = app.get("/api/todos?project=billing").await;
    let t = &todos.body["todos"][0];
    assert_eq!(
        (t["id"].as_str(), t["status"].as_str(), t["priority"].as_str(), t["agent"].as_str(), t["session_id"].as_str()),
        (Some("t1"), Some("in_progress"), Some("high"), Some("sisyphus"), Some("ses_1"))
    );
    let messages = app.get("/api/messages").await.body["messages"].as_array().unwrap().clone();
    let feed: Vec<(&str, &str)> = messages.iter().map(|m| (m["type"].as_str().unwrap(), m["content"].as_str().unwrap())).collect();
    assert_eq!(
        feed,
        [
            ("worklog", "Did X\n[author:sisyphus | tags:infra | summary_id:sum_1]"),
            ("error", "boom"),
            ("state_change", "State changed: planning → coding"),
            ("state_change", "Task completed: Inspect repo"),
        ]
    );
    assert_eq!(messages[0]["project_id"], "billing");
    assert_eq!(messages[1]["session_id"], "ses_1");
    assert_eq!(app.get("/api/settings/projects").await.body["projects"].as_array().unwrap().len(), 1);
    // every change is in the event log, under its project
    let names: Vec<String> = app.events().await.into_iter().filter(|e| e.project.as_deref() == Some("billing")).map(|e| e.name).collect();
    for expected in ["session:created", "session:updated", "todo:created", "todo:updated", "message:created", "project:updated"] {
        assert!(names.iter().any(|n| n == expected), "missing {expected} in {names:?}");
    }
}

async fn dashboard_hook_fallback_post_upserts(app: TestApp) {
    // When the PUT fails the hook re-sends each todo with POST: it must upsert (fixes decisions.md#upserts).
    let body = r#"{"id":"t1","content":"Inspect repo","status":"in_progress","priority":"high","session_id":"ses_1","agent":"sisyphus","project":"billing"}"#;
    app.hook(Method::POST, "/api/todos", body).await;
    app.hook(Method::POST, "/api/todos", &body.replace("in_progress", "completed")).await;
    let todo = app.get("/api/todos?id=t1").await.body;
    assert_eq!(todo["status"], "completed");
    assert_eq!(app.count("todos").await, 1);
}

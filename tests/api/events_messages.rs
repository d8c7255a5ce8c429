//! `/api/events`, `/api/sessions` and `/api/messages`.

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{T0, TestApp};

crate::on_both_backends!(
    todo_update_event_changes_only_valid_sent_keys,
    messages_are_encrypted_at_rest,
    mark_read_counts_matches,
    message_validation,
    sessions_upsert,
);

async fn todo_update_event_changes_only_valid_sent_keys(app: TestApp) {
    app.post("/api/todos", json!({"id": "t", "content": "c", "priority": "high", "agent": "ann"})).await;
    let r = app.post("/api/events", json!({"type": "todo_update", "payload": {"id": "t", "status": "completed"}})).await;
    assert_eq!(r.status, StatusCode::OK);
    let t = app.get("/api/todos?id=t").await.body;
    assert_eq!((t["status"].as_str(), t["priority"].as_str(), t["content"].as_str()), (Some("completed"), Some("high"), Some("c")));
    let bad = app.post("/api/events", json!({"type": "todo_update", "payload": {"id": "t", "status": "weird"}})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["details"][0]["path"], json!(["payload.status"]));
    let missing = app.post("/api/events", json!({"type": "todo_update", "payload": {"id": "nope", "status": "pending"}})).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    for body in [json!({"type": "other", "payload": {}}), json!({"type": "error", "payload": []}), json!({"type": "error"})] {
        assert_eq!(app.post("/api/events", body.clone()).await.status, StatusCode::BAD_REQUEST, "{body}");
    }
    // the event carries the payload verbatim
    let events = app.events().await;
    let last = events.iter().rev().find(|e| e.name == "todo:updated").unwrap();
    assert_eq!(last.payload, json!({"id": "t", "status": "completed"}));
}

async fn messages_are_encrypted_at_rest(app: TestApp) {
    let secret = "deploy token is hunter2";
    app.post("/api/messages/create", json!({"type": "custom", "content": secret})).await;
    app.post("/api/events", json!({"type": "error", "payload": {"message": secret}})).await;
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT content FROM messages").fetch_all(&app.app.db.read).await.unwrap();
    assert_eq!(stored.len(), 2);
    let payloads: Vec<Vec<u8>> = sqlx::query_scalar("SELECT payload FROM events").fetch_all(&app.app.db.read).await.unwrap();
    for bytes in stored.iter().chain(&payloads) {
        assert!(!bytes.windows(7).any(|w| w == b"hunter2"), "plaintext secret stored");
    }
    let listed = app.get("/api/messages").await;
    assert!(listed.body["messages"].as_array().unwrap().iter().all(|m| m["content"] == secret));
    // the sealed event payload still reads back decrypted
    assert!(app.events().await.iter().any(|e| e.payload["message"] == secret));
}

async fn mark_read_counts_matches(app: TestApp) {
    let a = app.post("/api/messages/create", json!({"type": "custom", "content": "a"})).await.body["message"]["id"].as_i64().unwrap();
    app.clock.advance_secs(10);
    app.post("/api/messages/create", json!({"type": "custom", "content": "b"})).await;
    let r = app.post("/api/messages", json!({"ids": [a.to_string(), a.to_string(), "999", "x"]})).await;
    assert_eq!(r.body, json!({"success": true, "marked": 2, "total": 4}));
    let unread = app.get("/api/messages?unread_only=true").await;
    assert_eq!(unread.body["messages"].as_array().unwrap().len(), 1);
    assert_eq!(app.get(&format!("/api/messages?since={}", T0 + 5)).await.body["messages"].as_array().unwrap().len(), 1);
    assert_eq!(app.post("/api/messages", json!({"ids": [1]})).await.status, StatusCode::BAD_REQUEST);
    assert!(app.events().await.iter().any(|e| e.name == "message:updated"));
}

async fn message_validation(app: TestApp) {
    let too_long = "x".repeat(10_001);
    for (body, field) in [
        (json!({"type": "custom", "content": ""}), "content"),
        (json!({"type": "custom", "content": too_long}), "content"),
        (json!({"type": "nope", "content": "x"}), "type"),
        (json!({"type": "custom", "content": "x", "metadata": {"tags": "a"}}), "metadata"),
    ] {
        let r = app.post("/api/messages/create", body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.body["details"][0]["path"][0], field);
    }
    let ok = app
        .post("/api/messages/create", json!({"type": "custom", "content": "x".repeat(10_000), "todo_id": "t", "session_id": null}))
        .await;
    assert_eq!(ok.status, StatusCode::CREATED);
    assert_eq!(ok.body["message"]["todo_id"], "t");
    assert_eq!(app.count("messages").await, 1);
}

async fn sessions_upsert(app: TestApp) {
    let r = app.post("/api/sessions", json!({"id": "s", "name": ""})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["session"]["name"], serde_json::Value::Null);
    app.clock.advance_secs(5);
    let r = app.post("/api/sessions", json!({"id": "s", "name": "Renamed", "project": "p"})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["session"]["started_at"], T0, "a re-registration keeps the start time");
    app.post("/api/sessions", json!({"id": "s2"})).await;
    let list = app.get("/api/sessions").await.body["sessions"].as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    assert_eq!(app.get("/api/sessions?project=p").await.body["sessions"][0]["name"], "Renamed");
    assert_eq!(app.post("/api/sessions", json!({"name": "no id"})).await.status, StatusCode::BAD_REQUEST);
}

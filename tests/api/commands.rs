//! Steering commands (decisions.md#commands): queued → delivered (heartbeat or long-poll) → acknowledged,
//! redelivery, expiry.

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::TestApp;

crate::on_both_backends!(command_lifecycle_through_heartbeats, long_poll_wakes_on_a_new_command, redelivery_and_expiry, command_errors);

async fn agent(app: &TestApp, id: &str) {
    app.post("/api/agents", json!({"id": id, "name": id})).await;
}

async fn command_lifecycle_through_heartbeats(app: TestApp) {
    agent(&app, "a").await;
    let r = app.post("/api/agents/a/commands", json!({"kind": "message", "text": "please rebase"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let id = r.body["command"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        (r.body["command"]["status"].as_str(), r.body["command"]["expires_at"].as_i64()),
        (Some("queued"), Some(crate::harness::T0 + 3600))
    );
    // an action becomes a command too
    app.clock.advance_secs(1);
    app.post("/api/agents/a/actions", json!({"action": "sleep"})).await;
    let beat = app.post("/api/agents/a/heartbeat", json!({})).await.body;
    let delivered: Vec<(&str, &str)> =
        beat["commands"].as_array().unwrap().iter().map(|c| (c["kind"].as_str().unwrap(), c["status"].as_str().unwrap())).collect();
    assert_eq!(delivered, [("message", "delivered"), ("sleep", "delivered")]);
    assert_eq!(beat["success"], true);
    // delivered once: the next heartbeat brings nothing
    assert_eq!(app.post("/api/agents/a/heartbeat", json!({})).await.body["commands"], json!([]));
    let acked = app.post(&format!("/api/agents/a/commands/{id}/ack"), json!({"status": "acknowledged", "detail": "done"})).await;
    assert_eq!((acked.body["command"]["status"].as_str(), acked.body["command"]["detail"].as_str()), (Some("acknowledged"), Some("done")));
    // repeating the answer changes nothing
    let again = app.post(&format!("/api/agents/a/commands/{id}/ack"), json!({"status": "failed"})).await;
    assert_eq!(again.body["command"]["status"], "acknowledged");
    let listed = app.get("/api/agents/a/commands?status=acknowledged").await.body["commands"].as_array().unwrap().len();
    assert_eq!(listed, 1);
    let states: Vec<String> = app
        .events()
        .await
        .into_iter()
        .filter(|e| e.name == "agent:command" && e.payload["command"]["id"] == id.as_str())
        .map(|e| e.payload["command"]["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(states, ["queued", "delivered", "acknowledged"]);
}

async fn long_poll_wakes_on_a_new_command(app: TestApp) {
    agent(&app, "a").await;
    let base = app.base.clone();
    let key = app.key.clone();
    let poller = tokio::spawn(async move {
        let res = crate::harness::client().get(format!("{base}/api/agents/a/commands?wait=30")).bearer_auth(key).send().await.unwrap();
        res.json::<serde_json::Value>().await.unwrap()
    });
    // Queued while the poll is waiting (the poll subscribes before it looks, so no race).
    tokio::task::yield_now().await;
    app.post("/api/agents/a/commands", json!({"kind": "stop"})).await;
    let got = poller.await.unwrap();
    assert_eq!(got["commands"][0]["kind"], "stop");
    assert_eq!(got["commands"][0]["status"], "delivered");
    // nothing queued and no wait: an empty answer at once
    assert_eq!(app.get("/api/agents/a/commands").await.body, json!({"commands": []}));
}

async fn redelivery_and_expiry(app: TestApp) {
    agent(&app, "a").await;
    let id = app.post("/api/agents/a/commands", json!({"kind": "unblock"})).await.body["command"]["id"].as_str().unwrap().to_string();
    assert_eq!(app.post("/api/agents/a/heartbeat", json!({})).await.body["commands"].as_array().unwrap().len(), 1);
    app.clock.advance_secs(59);
    assert_eq!(app.post("/api/agents/a/heartbeat", json!({})).await.body["commands"], json!([]));
    app.clock.advance_secs(2);
    let again = app.post("/api/agents/a/heartbeat", json!({})).await.body;
    assert_eq!(again["commands"][0]["id"], id.as_str(), "not acknowledged within 60 s: delivered again");
    // after the TTL nobody receives it and it shows as expired
    app.clock.advance_secs(3600);
    app.tick().await;
    assert_eq!(app.get("/api/agents/a/commands?status=expired").await.body["commands"][0]["id"], id.as_str());
    assert_eq!(app.post("/api/agents/a/heartbeat", json!({})).await.body["commands"], json!([]));
    let late = app.post(&format!("/api/agents/a/commands/{id}/ack"), json!({"status": "acknowledged"})).await;
    assert_eq!(late.status, StatusCode::CONFLICT);
}

async fn command_errors(app: TestApp) {
    agent(&app, "a").await;
    agent(&app, "b").await;
    let other = app.post("/api/agents/b/commands", json!({"kind": "wake"})).await.body["command"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.post(&format!("/api/agents/a/commands/{other}/ack"), json!({"status": "acknowledged"})).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.post("/api/agents/a/commands/nope/ack", json!({"status": "acknowledged"})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.post("/api/agents/a/commands", json!({"kind": "message"})).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.post("/api/agents/a/commands", json!({"kind": "dance"})).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.post("/api/agents/ghost/commands", json!({"kind": "stop"})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/agents/a/commands?wait=61").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.post(&format!("/api/agents/b/commands/{other}/ack"), json!({"status": "maybe"})).await.status, StatusCode::BAD_REQUEST);
}

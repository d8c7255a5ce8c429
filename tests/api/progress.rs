//! Real progress, token and cost totals, and stall detection (decisions.md#stalls-and-usage).

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{T0, TestApp};

crate::on_both_backends!(
    activity_moves_progress_but_a_bare_heartbeat_does_not,
    usage_adds_up_per_task_agent_and_project,
    stalled_agents_are_flagged_once,
    usage_is_published_coalesced_per_agent,
    agent_commands_and_read_marks_carry_their_project,
);

async fn agent_json(app: &TestApp, id: &str) -> serde_json::Value {
    app.get(&format!("/api/agents/{id}")).await.body
}

async fn activity_moves_progress_but_a_bare_heartbeat_does_not(app: TestApp) {
    app.post("/api/agents", json!({"id": "a", "name": "a"})).await;
    app.post("/api/agents/a/tasks", json!({"id": "t", "title": "t", "status": "in_progress"})).await;
    assert_eq!(agent_json(&app, "a").await["agent"]["last_activity_at"], T0);
    app.clock.advance_secs(100);
    app.post("/api/agents/a/heartbeat", json!({})).await;
    let a = agent_json(&app, "a").await;
    assert_eq!(
        (a["agent"]["last_activity_at"].as_i64(), a["agent"]["last_heartbeat"].as_i64()),
        (Some(T0), Some(T0 + 100)),
        "a bare heartbeat is not progress"
    );
    app.clock.advance_secs(100);
    let r = app.post("/api/agents/a/activity", json!({"kind": "tool", "summary": "ran tests"})).await;
    assert_eq!(r.status, StatusCode::OK);
    let a = agent_json(&app, "a").await;
    assert_eq!(a["agent"]["last_activity_at"], T0 + 200);
    assert_eq!(a["task_history"][0]["last_activity_at"], T0 + 200, "the current task moved too");
    app.clock.advance_secs(100);
    app.post("/api/agents/a/heartbeat", json!({"tokens_in": 10})).await;
    assert_eq!(agent_json(&app, "a").await["agent"]["last_activity_at"], T0 + 300, "a heartbeat with usage is progress");
    assert!(app.events().await.iter().any(|e| e.payload["action"] == "activity" && e.payload["summary"] == "ran tests"));
    for body in [json!({"summary": "no kind"}), json!({"kind": ""}), json!({"kind": "x", "tokens_in": -1})] {
        assert_eq!(app.post("/api/agents/a/activity", body.clone()).await.status, StatusCode::BAD_REQUEST, "{body}");
    }
    assert_eq!(app.post("/api/agents/a/heartbeat", json!({"cost_usd": -0.5})).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.post("/api/agents/ghost/activity", json!({"kind": "x"})).await.status, StatusCode::NOT_FOUND);
}

async fn usage_adds_up_per_task_agent_and_project(app: TestApp) {
    app.post("/api/agents", json!({"id": "main", "name": "main", "type": "primary"})).await;
    app.post("/api/agents", json!({"id": "sub", "name": "sub", "parent_agent_id": "main"})).await;
    app.post("/api/agents", json!({"id": "subsub", "name": "subsub", "parent_agent_id": "sub"})).await;
    app.post("/api/agents/main/tasks", json!({"id": "m1", "title": "m1", "status": "in_progress", "project_id": "p", "tokens_in": 100, "tokens_out": 50, "cost_usd": 0.25})).await;
    app.post("/api/agents/sub/tasks", json!({"id": "s1", "title": "s1", "status": "in_progress", "project_id": "p"})).await;
    // deltas add up
    app.post("/api/agents/sub/activity", json!({"kind": "llm", "tokens_in": 10, "tokens_out": 5, "cost_usd": 0.5})).await;
    app.post("/api/agents/sub/heartbeat", json!({"tokens_in": 1, "cost_usd": 0.25})).await;
    app.patch("/api/agents/sub/tasks/s1", json!({"tokens_out": 4})).await;
    app.post("/api/agents/subsub/activity", json!({"kind": "llm", "tokens_in": 1000})).await;

    let sub = agent_json(&app, "sub").await;
    assert_eq!(sub["task_history"][0]["tokens_in"], 11);
    assert_eq!(sub["task_history"][0]["tokens_out"], 9);
    assert_eq!(sub["task_history"][0]["cost_usd"], 0.75);
    assert_eq!(sub["agent"]["tokens_in"], 11, "its own");
    assert_eq!(sub["agent"]["totals"], json!({"tokens_in": 1011, "tokens_out": 9, "cost_usd": 0.75}), "with its sub-agents");
    let list = app.get("/api/agents").await.body["agents"].as_array().unwrap().clone();
    let main = list.iter().find(|a| a["id"] == "main").unwrap();
    assert_eq!(main["totals"], json!({"tokens_in": 1111, "tokens_out": 59, "cost_usd": 1.0}));
    let projects = app.get("/api/settings/projects").await.body;
    assert_eq!(projects["projects"][0]["usage"], json!({"tokens_in": 111, "tokens_out": 59, "cost_usd": 1.0}));
}

async fn stalled_agents_are_flagged_once(app: TestApp) {
    app.post("/api/agents", json!({"id": "a", "name": "a"})).await;
    app.post("/api/agents/a/tasks", json!({"id": "t", "title": "t", "status": "in_progress"})).await;
    // it keeps heartbeating, but makes no progress
    for _ in 0..11 {
        app.clock.advance_secs(60);
        app.post("/api/agents/a/heartbeat", json!({})).await;
        app.tick().await;
    }
    let a = agent_json(&app, "a").await;
    assert_eq!((a["agent"]["status"].as_str(), a["agent"]["stalled"].as_bool()), (Some("working"), Some(true)));
    assert_eq!(app.get("/api/agents").await.body["agents"][0]["stalled"], true);
    app.clock.advance_secs(60);
    app.tick().await;
    assert_eq!(app.count("alert_events WHERE kind = 'stalled'").await, 1, "once per stall");
    app.post("/api/agents/a/activity", json!({"kind": "tool"})).await;
    assert_eq!(agent_json(&app, "a").await["agent"]["stalled"], false);
}

async fn usage_is_published_coalesced_per_agent(app: TestApp) {
    app.post("/api/agents", json!({"id": "u1", "name": "u1", "project": "billing"})).await;
    app.post("/api/agents", json!({"id": "u2", "name": "u2"})).await;
    app.post("/api/agents/u1/tasks", json!({"id": "t", "title": "t", "status": "in_progress"})).await;
    let usage_events =
        |events: Vec<ocd::db::events::StoredEvent>| events.into_iter().filter(|e| e.name == "agent:usage").collect::<Vec<_>>();
    ocd::service::usage::flush(&app.app).await.unwrap();
    let before = usage_events(app.events().await).len();
    // Many beats and reports: one event per agent per flush, with the figures after the last.
    for _ in 0..20 {
        app.post("/api/agents/u1/heartbeat", json!({"tokens_in": 10, "cost_usd": 0.5})).await;
    }
    app.post("/api/agents/u2/heartbeat", json!({})).await;
    assert_eq!(ocd::service::usage::flush(&app.app).await.unwrap(), 2);
    let published = usage_events(app.events().await);
    assert_eq!(published.len(), before + 2);
    let u1 = published.iter().rev().find(|e| e.payload["agentId"] == "u1").unwrap();
    assert_eq!(u1.project.as_deref(), Some("billing"));
    assert_eq!(u1.payload["project"], "billing");
    assert_eq!(u1.payload["tokens_in"], 200);
    assert_eq!(u1.payload["cost_usd"], 10.0);
    assert_eq!(u1.payload["last_heartbeat"], T0);
    // Nothing new: nothing published.
    assert_eq!(ocd::service::usage::flush(&app.app).await.unwrap(), 0);
    assert_eq!(usage_events(app.events().await).len(), before + 2);
    // A flood of agents is published in several write units, every one of them once.
    for i in 0..250 {
        app.post("/api/agents", json!({"id": format!("f{i}"), "name": "f"})).await;
        app.post(&format!("/api/agents/f{i}/heartbeat"), json!({})).await;
    }
    assert_eq!(ocd::service::usage::flush(&app.app).await.unwrap(), 250);
    let flood: std::collections::HashSet<String> = usage_events(app.events().await)
        .iter()
        .filter_map(|e| e.payload["agentId"].as_str().filter(|id| id.starts_with('f')).map(String::from))
        .collect();
    assert_eq!(flood.len(), 250);
}

async fn agent_commands_and_read_marks_carry_their_project(app: TestApp) {
    app.post("/api/agents", json!({"id": "p-agent", "name": "a", "project": "billing"})).await;
    app.post("/api/agents/p-agent/commands", json!({"kind": "message", "text": "rebase"})).await;
    let events = app.events().await;
    let command = events.iter().find(|e| e.name == "agent:command").unwrap();
    assert_eq!(command.project.as_deref(), Some("billing"));
    let status = events.iter().find(|e| e.name == "agent:status").unwrap();
    assert_eq!(status.project.as_deref(), Some("billing"));
    let a = app.post("/api/messages/create", json!({"type": "custom", "content": "a", "project": "billing"})).await;
    let b = app.post("/api/messages/create", json!({"type": "custom", "content": "b", "project": "web"})).await;
    let ids = json!([a.body["message"]["id"].to_string(), b.body["message"]["id"].to_string()]);
    app.post("/api/messages", json!({ "ids": ids })).await;
    let marks: Vec<Option<String>> = app.events().await.into_iter().filter(|e| e.name == "message:updated").map(|e| e.project).collect();
    assert_eq!(marks, vec![Some("billing".to_string()), Some("web".to_string())]);
}

//! The agent API: registry, reports, actions and the lifecycle rules they run.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{T0, TestApp};

crate::on_both_backends!(
    agent_hook_replay,
    registry_crud_and_enrichment,
    repeated_errors_block_then_sleep,
    block_alert_is_cancelled_by_unblock,
    completion_follows_k10_and_is_idempotent,
    actions_stop_restart_wake,
    task_creation_and_patch_rules,
    agent_validation_and_404s,
    the_timeline_records_what_happened_and_pages,
);

async fn agent_hook_replay(app: TestApp) {
    // The original agent-hook.ts, request for request (agents-integration.md).
    app.hook(Method::POST, "/api/agents", r#"{"id":"main","name":"sisyphus","type":"primary"}"#).await;
    let spawn = r#"{"id":"explore-abc","name":"explore","type":"sub-agent","parent_agent_id":"main","soul_md":"…","skills":["git-master"],"config":{"model":"x"}}"#;
    assert_eq!(app.hook(Method::POST, "/api/agents", spawn).await.status, StatusCode::CREATED);
    assert_eq!(
        app.hook(Method::POST, "/api/agents", spawn).await.status,
        StatusCode::OK,
        "re-registration answers 2xx (decisions.md#upserts)"
    );
    let start = r#"{"id":"task-1","title":"Find callers","project_id":"billing","priority":"medium","status":"in_progress"}"#;
    assert_eq!(app.hook(Method::POST, "/api/agents/explore-abc/tasks", start).await.status, StatusCode::CREATED);
    app.hook(Method::POST, "/api/agents/explore-abc/heartbeat", "{}").await;
    let err = app.hook(Method::POST, "/api/agents/explore-abc/error", r#"{"taskId":"task-1"}"#).await;
    assert_eq!(err.body, json!({"triggered": false}));
    app.hook(Method::POST, "/api/agents/explore-abc/block", r#"{"taskId":"task-1","source":"explicit","reason":"needs credentials"}"#)
        .await;
    app.hook(Method::POST, "/api/agents/explore-abc/actions", r#"{"action":"unblock"}"#).await;
    app.hook(Method::POST, "/api/agents/explore-abc/complete", r#"{"taskId":"task-1"}"#).await;
    app.hook(Method::POST, "/api/agents/explore-abc/tasks", r#"{"id":"task-2","title":"Second","status":"in_progress"}"#).await;
    app.hook(Method::PATCH, "/api/agents/explore-abc/tasks/task-2", r#"{"status":"cancelled","blocked_reason":"user stopped"}"#).await;
    app.hook(Method::POST, "/api/agents/explore-abc/actions", r#"{"action":"sleep"}"#).await;
    app.hook(Method::POST, "/api/agents/explore-abc/actions", r#"{"action":"stop"}"#).await;

    let detail = app.get("/api/agents/explore-abc").await.body;
    assert_eq!(detail["agent"]["status"], "offline");
    assert_eq!(detail["agent"]["skills"], json!(["git-master"]), "decoded in the detail");
    assert_eq!(detail["agent"]["config"], json!({"model": "x"}));
    assert_eq!(detail["agent"]["last_heartbeat"], T0);
    let statuses: Vec<(&str, &str)> =
        detail["task_history"].as_array().unwrap().iter().map(|t| (t["id"].as_str().unwrap(), t["status"].as_str().unwrap())).collect();
    assert_eq!(statuses, [("task-2", "cancelled"), ("task-1", "completed")]);
    let list = app.get("/api/agents").await.body;
    let main = list["agents"].as_array().unwrap().iter().find(|a| a["id"] == "main").unwrap().clone();
    assert_eq!(main["sub_agent_count"], 1);
    // alerts: error and blocked (both cancelled when the task was unblocked, decisions.md#alerts), completed
    let kinds: Vec<(String, String)> =
        sqlx::query_as("SELECT kind, status FROM alert_events ORDER BY id").fetch_all(&app.app.db.read).await.unwrap();
    assert_eq!(
        kinds,
        [("error".into(), "cancelled".into()), ("blocked".into(), "cancelled".into()), ("completed".into(), "pending".into())],
    );
    let events: Vec<String> = app.events().await.into_iter().map(|e| e.name).collect();
    assert!(events.iter().filter(|n| *n == "agent:status").count() >= 8);
    assert_eq!(events.iter().filter(|n| *n == "alert:raised").count(), 3);
}

async fn registry_crud_and_enrichment(app: TestApp) {
    app.post("/api/agents", json!({"id": "p", "name": "parent", "type": "primary"})).await;
    let r = app.post("/api/agents", json!({"id": "c", "name": "child", "parent_agent_id": "p", "skills": "raw text"})).await;
    assert_eq!(
        (r.status, r.body["agent"]["type"].as_str(), r.body["agent"]["skills"].as_str()),
        (StatusCode::CREATED, Some("sub-agent"), Some("raw text"))
    );
    app.post("/api/agents/c/assign", json!({"taskId": "t1", "title": "Do it", "priority": "high"})).await;
    app.clock.advance_secs(90);
    let list = app.get("/api/agents?type=sub-agent").await.body["agents"].as_array().unwrap().clone();
    assert_eq!(list.len(), 1);
    assert_eq!((list[0]["current_task"]["id"].as_str(), list[0]["status"].as_str()), (Some("t1"), Some("working")));
    assert_eq!(list[0]["age_seconds"], 90);
    assert_eq!(list[0]["skills"], "raw text", "stored text in the list");
    assert_eq!(app.get("/api/agents?parent_agent_id=p").await.body["agents"].as_array().unwrap().len(), 1);
    let r = app.patch("/api/agents/c", json!({"name": "renamed", "config": {"a": 1}, "last_heartbeat": 5})).await;
    assert_eq!((r.body["agent"]["name"].as_str(), r.body["agent"]["config"].as_str()), (Some("renamed"), Some(r#"{"a":1}"#)));
    assert_eq!(app.patch("/api/agents/c", json!({"bogus": 1})).await.status, StatusCode::BAD_REQUEST, "strict body");
    assert_eq!(app.patch("/api/agents/c", json!({"parent_agent_id": "c"})).await.status, StatusCode::BAD_REQUEST);
    // the parent cannot go while a child points at it; nothing is deleted
    let refused = app.request(Method::DELETE, "/api/agents/p", None, Some(&app.key.clone())).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(app.count("agents").await, 2);
    assert_eq!(app.request(Method::DELETE, "/api/agents/c", None, Some(&app.key.clone())).await.body, json!({"success": true}));
    assert_eq!(app.count("agent_tasks").await, 0);
    assert_eq!(app.get("/api/agents/c").await.status, StatusCode::NOT_FOUND);
    assert!(app.events().await.iter().any(|e| e.payload["action"] == "deleted"));
}

async fn setup_working(app: &TestApp, priority: &str) {
    app.post("/api/agents", json!({"id": "a", "name": "agent"})).await;
    app.post("/api/agents/a/assign", json!({"taskId": "t", "title": "Task", "priority": priority, "projectId": "p"})).await;
}

async fn repeated_errors_block_then_sleep(app: TestApp) {
    setup_working(&app, "medium").await;
    let mut triggered = Vec::new();
    for _ in 0..5 {
        app.clock.advance_secs(60);
        triggered.push(app.post("/api/agents/a/error", json!({"taskId": "t"})).await.body["triggered"].as_bool().unwrap());
    }
    assert_eq!(triggered, [false, false, true, true, true]);
    let agent = app.get("/api/agents/a").await.body;
    assert_eq!(agent["agent"]["status"], "sleeping");
    let task = &agent["task_history"][0];
    assert_eq!(
        (task["status"].as_str(), task["blocked_reason"].as_str()),
        (Some("blocked"), Some("[repeated_errors] 5 consecutive errors in 240s"))
    );
    let sleep = app.events().await.into_iter().find(|e| e.payload["action"] == "sleep").unwrap();
    assert_eq!(sleep.payload["reason"], "error_threshold");
    // the window is anchored at the first error: 11 minutes later counting starts over
    app.post("/api/agents/a/actions", json!({"action": "wake"})).await;
    app.clock.advance_secs(11 * 60);
    assert_eq!(app.post("/api/agents/a/error", json!({"taskId": "t"})).await.body["triggered"], false);
    // every error raised an error alert (fixes decisions.md#agent-errors)
    assert_eq!(app.count("alert_events WHERE kind = 'error'").await, 6);
}

async fn block_alert_is_cancelled_by_unblock(app: TestApp) {
    setup_working(&app, "medium").await;
    app.post("/api/agents/a/block", json!({"taskId": "t", "source": "question", "reason": "which DB?"})).await;
    // the same episode blocked again raises no second alert
    app.post("/api/agents/a/block", json!({"taskId": "t", "source": "question", "reason": "which DB?"})).await;
    assert_eq!(app.count("alert_events WHERE kind = 'blocked' AND status = 'pending'").await, 1);
    let r = app.post("/api/agents/a/actions", json!({"action": "unblock"})).await;
    assert_eq!((r.body["agent"]["status"].as_str(), r.body["action"].as_str()), (Some("working"), Some("unblock")));
    assert_eq!(app.count("alert_events WHERE kind = 'blocked' AND status = 'cancelled'").await, 1);
    let again = app.post("/api/agents/a/actions", json!({"action": "unblock"})).await;
    assert_eq!((again.status, again.body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("No blocked task found for agent")));
    let raised = app.events().await.into_iter().find(|e| e.name == "alert:raised").unwrap();
    assert_eq!((raised.project.as_deref(), raised.payload["alert"]["trigger"].as_str()), (Some("p"), Some("blocked")));
}

async fn completion_follows_k10_and_is_idempotent(app: TestApp) {
    setup_working(&app, "low").await;
    app.clock.advance_secs(1);
    app.post("/api/agents/a/tasks", json!({"id": "next", "title": "Next", "status": "pending"})).await;
    app.post("/api/agents/a/actions", json!({"action": "restart"})).await;
    // completing with a pending task left: current task cleared, status unchanged
    app.post("/api/agents/a/complete", json!({"taskId": "next"})).await;
    let a = app.get("/api/agents/a").await.body["agent"].clone();
    assert_eq!((a["status"].as_str(), &a["current_task_id"]), (Some("working"), &Value::Null));
    // …and with none left the agent goes idle
    app.post("/api/agents/a/complete", json!({"taskId": "t"})).await;
    assert_eq!(app.get("/api/agents/a").await.body["agent"]["status"], "idle");
    let completed_alerts = app.count("alert_events WHERE kind = 'completed'").await;
    let events_before = app.count("events").await;
    // re-completing changes nothing and raises nothing (fixes decisions.md#completion)
    assert_eq!(app.post("/api/agents/a/complete", json!({"taskId": "t"})).await.body, json!({"success": true}));
    assert_eq!(app.count("alert_events WHERE kind = 'completed'").await, completed_alerts);
    assert_eq!(app.count("events").await, events_before);
    // inside the sleep window an agent with nothing pending goes to sleep (reason schedule)
    let local_now = (crate::harness::T0 / 3600) % 24; // the test clock's UTC hour
    app.app
        .db
        .write(move |c| {
            Box::pin(async move {
                let schedule = ocd::domain::agents::SleepSchedule {
                    start_hour: local_now as u8,
                    end_hour: ((local_now + 1) % 24) as u8,
                    timezone: "UTC".into(),
                    enabled: true,
                };
                Ok(ocd::service::lifecycle::save_sleep_schedule(c, &schedule, 0).await?)
            })
        })
        .await
        .unwrap();
    app.post("/api/agents/a/assign", json!({"taskId": "night", "title": "Night"})).await;
    // PATCH to completed runs the same rule (fixes decisions.md#agent-tasks)
    app.patch("/api/agents/a/tasks/night", json!({"status": "completed"})).await;
    assert_eq!(app.get("/api/agents/a").await.body["agent"]["status"], "sleeping");
}

async fn actions_stop_restart_wake(app: TestApp) {
    setup_working(&app, "medium").await;
    app.post("/api/agents/a/tasks", json!({"id": "t2", "title": "Two", "status": "in_progress"})).await;
    let stop = app.post("/api/agents/a/actions", json!({"action": "stop"})).await.body;
    assert_eq!((stop["agent"]["status"].as_str(), &stop["agent"]["current_task_id"]), (Some("offline"), &Value::Null));
    let tasks = app.get("/api/agents/a/tasks").await.body["tasks"].as_array().unwrap().clone();
    let by_id = |id: &str| tasks.iter().find(|t| t["id"] == id).unwrap()["status"].as_str().unwrap().to_string();
    assert_eq!((by_id("t2"), by_id("t")), ("cancelled".to_string(), "pending".to_string()), "only in-progress tasks are cancelled");
    // restart takes the newest unfinished task up again (fixes decisions.md#stop-and-restart)
    let restart = app.post("/api/agents/a/actions", json!({"action": "restart"})).await.body;
    assert_eq!((restart["agent"]["status"].as_str(), restart["agent"]["current_task_id"].as_str()), (Some("working"), Some("t")));
    app.post("/api/agents/a/actions", json!({"action": "sleep"})).await;
    // a normal assignment does not wake a sleeping agent; a high-priority one does (decisions.md#sleep-window)
    app.post("/api/agents/a/assign", json!({"taskId": "low", "title": "Low", "priority": "low"})).await;
    assert_eq!(app.get("/api/agents/a").await.body["agent"]["status"], "sleeping");
    app.post("/api/agents/a/assign", json!({"taskId": "urgent", "title": "Urgent", "priority": "high"})).await;
    let a = app.get("/api/agents/a").await.body["agent"].clone();
    assert_eq!((a["status"].as_str(), a["current_task_id"].as_str()), (Some("working"), Some("urgent")));
    app.post("/api/agents/a/actions", json!({"action": "sleep"})).await;
    assert_eq!(app.post("/api/agents/a/actions", json!({"action": "wake"})).await.body["agent"]["status"], "idle");
    assert_eq!(app.post("/api/agents/a/actions", json!({"action": "dance"})).await.status, StatusCode::BAD_REQUEST);
}

async fn task_creation_and_patch_rules(app: TestApp) {
    app.post("/api/agents", json!({"id": "a", "name": "agent"})).await;
    // a task created already finished leaves the agent idle (fixes decisions.md#agent-tasks)
    let done = app.post("/api/agents/a/tasks", json!({"title": "Old", "status": "completed"})).await;
    assert_eq!(done.status, StatusCode::CREATED);
    assert!(done.body["task"]["id"].as_str().unwrap().starts_with("task_"));
    assert_eq!(done.body["task"]["completed_at"], T0);
    assert_eq!(app.get("/api/agents/a").await.body["agent"]["status"], "idle");
    app.post("/api/agents/a/tasks", json!({"id": "w", "title": "Work", "status": "in_progress", "project_id": "p"})).await;
    assert_eq!(app.get("/api/agents/a").await.body["agent"]["status"], "working");
    let r = app.patch("/api/agents/a/tasks/w", json!({"status": "blocked", "blocked_reason": "waiting"})).await;
    assert_eq!((r.body["task"]["status"].as_str(), r.body["task"]["blocked_reason"].as_str()), (Some("blocked"), Some("waiting")));
    assert_eq!(app.get("/api/agents/a").await.body["agent"]["status"], "blocked");
    let r = app.patch("/api/agents/a/tasks/w", json!({"status": "in_progress"})).await;
    assert_eq!((r.body["task"]["blocked_reason"].clone(), r.body["task"]["started_at"].clone()), (Value::Null, json!(T0)));
    assert_eq!(app.count("alert_events WHERE status = 'cancelled'").await, 1);
    assert_eq!(app.patch("/api/agents/a/tasks/w", json!({"unknown": 1})).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.patch("/api/agents/a/tasks/nope", json!({})).await.status, StatusCode::NOT_FOUND);
    // re-sending a task updates it (decisions.md#upserts)
    let again = app.post("/api/agents/a/tasks", json!({"id": "w", "title": "Work, renamed"})).await;
    assert_eq!((again.status, again.body["task"]["status"].as_str()), (StatusCode::OK, Some("in_progress")));
}

async fn agent_validation_and_404s(app: TestApp) {
    for (body, field) in [
        (json!({"id": "", "name": "x"}), "id"),
        (json!({"id": "x", "name": "x", "type": "boss"}), "type"),
        (json!({"id": "x", "name": "x", "skills": [1]}), "skills"),
        (json!({"id": "x", "name": "x", "parent_agent_id": "ghost"}), "parent_agent_id"),
    ] {
        let r = app.post("/api/agents", body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.body["details"][0]["path"][0], field, "{body}: {}", r.body);
    }
    assert_eq!(app.count("agents").await, 0);
    for path in ["/api/agents/ghost/heartbeat", "/api/agents/ghost/complete", "/api/agents/ghost/assign", "/api/agents/ghost/tasks"] {
        assert_eq!(app.post(path, json!({"taskId": "t", "title": "x"})).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    app.post("/api/agents", json!({"id": "a", "name": "agent"})).await;
    app.post("/api/agents", json!({"id": "b", "name": "other"})).await;
    app.post("/api/agents/b/tasks", json!({"id": "bt", "title": "B's"})).await;
    let foreign = app.post("/api/agents/a/complete", json!({"taskId": "bt"})).await;
    assert_eq!((foreign.status, foreign.body["error"].as_str()), (StatusCode::NOT_FOUND, Some("Task not found")));
    assert_eq!(
        app.post("/api/agents/a/block", json!({"taskId": "bt", "source": "nope", "reason": "x"})).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(app.post("/api/agents/a/assign", json!({"taskId": "bt", "title": "dup"})).await.status, StatusCode::CONFLICT);
}

async fn the_timeline_records_what_happened_and_pages(app: TestApp) {
    app.post("/api/agents", json!({"id": "tl", "name": "builder"})).await;
    app.post("/api/agents/tl/assign", json!({"taskId": "t1", "title": "Ship the board"})).await;
    app.post("/api/agents/tl/activity", json!({"kind": "tool", "summary": "bash: cargo test"})).await;
    let blocked = app.post("/api/agents/tl/block", json!({"taskId": "t1", "source": "question", "reason": "which database?"})).await;
    assert_eq!(blocked.status, StatusCode::OK, "{}", blocked.body);
    app.post("/api/agents/tl/commands", json!({"kind": "message", "text": "use PostgreSQL"})).await;
    app.post("/api/agents/tl/actions", json!({"action": "unblock"})).await;
    app.post("/api/agents/tl/complete", json!({"taskId": "t1"})).await;

    let all = app.get("/api/agents/tl/activity").await.body;
    let kinds: Vec<(&str, &str)> =
        all["activity"].as_array().unwrap().iter().map(|r| (r["kind"].as_str().unwrap(), r["summary"].as_str().unwrap_or(""))).collect();
    assert_eq!(
        kinds,
        [
            ("completed", "Ship the board"),
            ("action", "unblock"),
            ("command", "use PostgreSQL"),
            ("blocked", "which database?"),
            ("tool", "bash: cargo test"),
            ("assigned", "Ship the board"),
        ],
        "newest first"
    );
    assert_eq!(all["next_before"], Value::Null);

    let first = app.get("/api/agents/tl/activity?limit=3").await.body;
    assert_eq!(first["activity"].as_array().unwrap().len(), 3);
    let next = first["next_before"].as_i64().expect("a next page");
    let rest = app.get(&format!("/api/agents/tl/activity?limit=10&before={next}")).await.body;
    assert_eq!(rest["activity"].as_array().unwrap().len(), 3);
    assert_eq!(rest["activity"][0]["kind"], "blocked");
    for bad in ["limit=0", "limit=501", "limit=x", "before=x"] {
        assert_eq!(app.get(&format!("/api/agents/tl/activity?{bad}")).await.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    assert_eq!(app.get("/api/agents/nobody/activity").await.status, StatusCode::NOT_FOUND);
    let elsewhere = app.get("/api/agents/tl/activity?project=other").await.body;
    assert_eq!(elsewhere["activity"], json!([]), "a project's view shows only its own rows");

    // Kept as long as the events, then pruned with them.
    let retention = i64::try_from(app.app.config.event_retention_hours).unwrap() * 3600;
    app.clock.advance_secs(retention + 1);
    app.post("/api/agents/tl/activity", json!({"kind": "tool", "summary": "still here"})).await;
    ocd::events::prune::prune(&app.app).await.unwrap();
    let left = app.get("/api/agents/tl/activity").await.body;
    assert_eq!(left["activity"].as_array().unwrap().len(), 1, "{left}");
    assert_eq!(left["activity"][0]["summary"], "still here");
    // Deleting the agent deletes its timeline.
    app.delete("/api/agents/tl", json!({})).await;
    assert_eq!(app.count("agent_activity").await, 0);
}

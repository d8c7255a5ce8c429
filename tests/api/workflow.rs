//! The task workflow (decisions.md#workflow) without a workflow engine: started, queried, signalled, and timed
//! out by the scheduler.

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::TestApp;

crate::on_both_backends!(workflow_follows_the_task, workflow_signals_and_sleep_timeout, workflow_errors);

async fn status(app: &TestApp) -> serde_json::Value {
    app.get("/api/agents/a/workflow?taskId=t").await.body
}

async fn workflow_follows_the_task(app: TestApp) {
    app.post("/api/agents", json!({"id": "a", "name": "agent"})).await;
    let r = app.post("/api/agents/a/workflow", json!({"taskId": "t", "title": "Ship it", "priority": "high", "projectId": "p"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["workflowId"], "agent-task-a-t");
    assert!(r.body["runId"].as_str().is_some());
    let again = app.post("/api/agents/a/workflow", json!({"taskId": "t", "title": "Ship it"})).await;
    assert_eq!((again.status, again.body["error"].as_str()), (StatusCode::CONFLICT, Some("Workflow already running for this task")));
    assert_eq!(status(&app).await, json!({"status": "working", "progress": {"status": "working", "taskTitle": "Ship it"}}));
    // the agent's current task is the default
    assert_eq!(app.get("/api/agents/a/workflow").await.body["status"], "working");
    let task = app.get("/api/agents/a/tasks").await.body["tasks"][0].clone();
    assert_eq!((task["status"].as_str(), task["started_at"].as_i64()), (Some("in_progress"), Some(crate::harness::T0)));

    app.post("/api/agents/a/block", json!({"taskId": "t", "source": "question", "reason": "which region?"})).await;
    let blocked = status(&app).await;
    assert_eq!(blocked["status"], "blocked");
    assert_eq!(blocked["progress"]["blockedReason"], "[question] which region?");
    assert_eq!(app.post("/api/agents/a/workflow/signal", json!({"signal": "unblock", "reason": "answered"})).await.status, StatusCode::OK);
    assert_eq!(status(&app).await["status"], "working");
    app.post("/api/agents/a/complete", json!({"taskId": "t"})).await;
    assert_eq!(status(&app).await["status"], "completed");
    // a finished workflow can be started again for the same task
    assert_eq!(app.post("/api/agents/a/workflow", json!({"taskId": "t", "title": "Again"})).await.status, StatusCode::CREATED);
    let reports = app.events().await.into_iter().filter(|e| e.payload.get("taskStatus").is_some()).count();
    assert!(reports >= 3, "status reports on the stream");
}

async fn workflow_signals_and_sleep_timeout(app: TestApp) {
    app.post("/api/agents", json!({"id": "a", "name": "agent"})).await;
    app.post("/api/agents/a/workflow", json!({"taskId": "t", "title": "Long"})).await;
    app.post("/api/agents/a/workflow/signal", json!({"signal": "sleep"})).await;
    assert_eq!(status(&app).await["status"], "sleeping");
    app.post("/api/agents/a/workflow/signal", json!({"signal": "wake"})).await;
    assert_eq!(status(&app).await["status"], "working");
    app.post("/api/agents/a/workflow/signal", json!({"signal": "sleep"})).await;
    // not woken within 24 hours: the workflow gives up (agent offline, task cancelled)
    app.clock.advance_secs(23 * 3600);
    app.tick().await;
    assert_eq!(status(&app).await["status"], "sleeping");
    app.clock.advance_secs(2 * 3600);
    app.tick().await;
    let done = status(&app).await;
    assert_eq!((done["status"].as_str(), done["progress"]["result"].as_str()), (Some("idle"), Some("cancelled")));
    let agent = app.get("/api/agents/a").await.body;
    assert_eq!((agent["agent"]["status"].as_str(), agent["task_history"][0]["status"].as_str()), (Some("offline"), Some("cancelled")));
    let late = app.post("/api/agents/a/workflow/signal", json!({"signal": "wake", "taskId": "t"})).await;
    assert_eq!(late.status, StatusCode::CONFLICT);

    app.post("/api/agents/a/workflow", json!({"taskId": "c", "title": "Cancel me"})).await;
    app.post("/api/agents/a/workflow/signal", json!({"signal": "cancel", "taskId": "c"})).await;
    let cancelled = app.get("/api/agents/a/workflow?taskId=c").await.body;
    assert_eq!(cancelled["progress"]["result"], "cancelled");
}

async fn workflow_errors(app: TestApp) {
    assert_eq!(app.post("/api/agents/ghost/workflow", json!({"taskId": "t", "title": "x"})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.post("/api/agents/ghost/workflow", json!({"title": "x"})).await.status, StatusCode::BAD_REQUEST, "body first");
    app.post("/api/agents", json!({"id": "a", "name": "agent"})).await;
    let none = app.get("/api/agents/a/workflow").await;
    assert_eq!(
        (none.status, none.body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("No taskId provided and agent has no current task"))
    );
    let missing = app.get("/api/agents/a/workflow?taskId=zz").await;
    assert_eq!((missing.status, missing.body["error"].as_str()), (StatusCode::NOT_FOUND, Some("Workflow not found")));
    assert_eq!(app.post("/api/agents/a/workflow/signal", json!({"signal": "dance", "taskId": "zz"})).await.status, StatusCode::BAD_REQUEST);
    // a task cancelled outside the workflow ends it with an error alert
    app.post("/api/agents/a/workflow", json!({"taskId": "t", "title": "Fragile"})).await;
    app.patch("/api/agents/a/tasks/t", json!({"status": "cancelled"})).await;
    assert_eq!(status(&app).await["status"], "error");
    assert_eq!(app.count("alert_events WHERE kind = 'error'").await, 1);
}

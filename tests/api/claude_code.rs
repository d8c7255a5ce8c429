//! Claude Code hooks (K29): payloads shaped exactly as Claude Code 2.1.197 sends them (the
//! `http` hook body equals a command hook's stdin), posted one per request.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::TestApp;

crate::on_both_backends!(a_claude_code_session_shows_its_agents_activity_and_tasks, replayed_hooks_change_nothing);

const SESSION: &str = "4f0309db-b45b-429d-9ef9-a9d6391fea08";

fn hook(event: &str, extra: Value) -> Value {
    let mut body = json!({
        "session_id": SESSION,
        "transcript_path": "/home/me/.claude/projects/-src-billing/4f0309db.jsonl",
        "cwd": "/home/me/src/billing",
        "prompt_id": "473dbdbf-2cf7-4a84-a096-43d1c497c8f2",
        "permission_mode": "bypassPermissions",
        "hook_event_name": event,
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

fn session() -> Vec<Value> {
    let sub = json!({"agent_id": "a10e1ad3f0da4acad", "agent_type": "general-purpose"});
    let with_sub = |event: &str, extra: Value| {
        let mut body = hook(event, extra);
        body["agent_id"] = sub["agent_id"].clone();
        body["agent_type"] = sub["agent_type"].clone();
        body
    };
    vec![
        hook("SessionStart", json!({"source": "startup"})),
        hook("UserPromptSubmit", json!({"prompt": "please fix the billing export"})),
        hook(
            "PreToolUse",
            json!({"tool_name": "Bash", "tool_input": {"command": "cargo test", "description": "Run the tests"}, "tool_use_id": "toolu_1"}),
        ),
        hook(
            "PostToolUse",
            json!({"tool_name": "Bash", "tool_input": {"command": "cargo test", "description": "Run the tests"}, "tool_response": {"stdout": "ok"}, "tool_use_id": "toolu_1", "duration_ms": 70}),
        ),
        hook(
            "PostToolUse",
            json!({"tool_name": "TodoWrite", "tool_use_id": "toolu_2", "tool_input": {"todos": [
            {"content": "Find the bug", "status": "completed", "activeForm": "Finding the bug"},
            {"content": "Fix the export", "status": "in_progress", "activeForm": "Fixing the export"},
            {"content": "Add a test", "status": "pending", "activeForm": "Adding a test"}]}}),
        ),
        hook(
            "PostToolUse",
            json!({"tool_name": "TaskCreate", "tool_use_id": "toolu_3", "tool_input": {"subject": "Ship it", "description": "release"}, "tool_response": {"task": {"id": "1", "subject": "Ship it"}}}),
        ),
        hook(
            "PostToolUse",
            json!({"tool_name": "TaskUpdate", "tool_use_id": "toolu_4", "tool_input": {"taskId": "1", "status": "completed"}}),
        ),
        hook(
            "PreToolUse",
            json!({"tool_name": "Agent", "tool_input": {"description": "Check callers", "prompt": "look", "subagent_type": "general-purpose"}, "tool_use_id": "toolu_5"}),
        ),
        hook("SubagentStart", sub.clone()),
        with_sub("PostToolUse", json!({"tool_name": "Grep", "tool_input": {"pattern": "export_csv"}, "tool_use_id": "toolu_6"})),
        with_sub(
            "PostToolUseFailure",
            json!({"tool_name": "Bash", "tool_input": {"command": "ls /nope"}, "tool_use_id": "toolu_7",
            "error": "Exit code 2\nls: cannot access '/nope': No such file or directory", "is_interrupt": false}),
        ),
        with_sub("SubagentStop", json!({"stop_hook_active": false, "last_assistant_message": "Two callers found."})),
        hook("Notification", json!({"message": "Claude needs your permission", "notification_type": "permission_prompt"})),
        hook("Stop", json!({"stop_hook_active": false, "last_assistant_message": "Fixed."})),
    ]
}

async fn send(app: &TestApp, payloads: &[Value]) {
    for p in payloads {
        let r = app.post("/api/ingest/claude-code", p.clone()).await;
        assert_eq!((r.status, r.body.clone()), (StatusCode::OK, json!({})), "{p}");
    }
}

async fn a_claude_code_session_shows_its_agents_activity_and_tasks(app: TestApp) {
    let all = session();
    send(&app, &all[..all.len() - 1]).await;
    // The session's last word was a permission prompt: it waits for a person, until its next report.
    let waiting = app.get(&format!("/api/agents/claude-code-{SESSION}")).await.body;
    assert_eq!(waiting["agent"]["waiting_for_person"], "Claude needs your permission");
    let list = app.get("/api/agents").await.body;
    let listed = list["agents"].as_array().unwrap().iter().find(|a| a["id"] == format!("claude-code-{SESSION}")).cloned().unwrap();
    assert_eq!(listed["waiting_for_person"], "Claude needs your permission");
    let mut person = crate::auth_helpers::signed_in(&app, ocd::domain::roles::Role::Viewer).await;
    let page = person.get("/agents").await;
    assert!(page.body.as_str().unwrap_or_default().contains("waiting for a person"), "the agents page shows it");
    send(&app, &all[all.len() - 1..]).await;
    let main = app.get(&format!("/api/agents/claude-code-{SESSION}")).await.body;
    assert_eq!(main["agent"]["type"], "primary");
    assert_eq!(main["agent"]["project_id"], "billing");
    assert_eq!(main["agent"]["status"], "idle", "Stop: idle");
    let sub = app.get(&format!("/api/agents/claude-code-{SESSION}-a10e1ad3f0da4acad")).await.body;
    assert_eq!(sub["agent"]["parent_agent_id"], format!("claude-code-{SESSION}"));
    assert_eq!(sub["agent"]["name"], "general-purpose sub-agent");
    assert_eq!(sub["agent"]["status"], "idle");

    assert_eq!(main["agent"]["waiting_for_person"], Value::Null, "it answered after the prompt");
    let timeline = app.get(&format!("/api/agents/claude-code-{SESSION}/activity")).await.body.to_string();
    for expected in ["please fix the billing export", "Bash: Run the tests", "waiting for a person: Claude needs your permission", "Fixed."]
    {
        assert!(timeline.contains(expected), "{expected} in {timeline}");
    }
    let sub_timeline = app.get(&format!("/api/agents/claude-code-{SESSION}-a10e1ad3f0da4acad/activity")).await.body.to_string();
    assert!(sub_timeline.contains("Grep: export_csv"));
    assert!(sub_timeline.contains("Bash failed: Exit code 2 ls: cannot access '/nope'"), "{sub_timeline}");

    assert_eq!(
        app.session_todos(SESSION).await,
        ["Add a test: pending", "Find the bug: completed", "Fix the export: in_progress", "Ship it: completed"],
        "TodoWrite's list and the numbered task"
    );

    send(&app, &[hook("SessionEnd", json!({"reason": "other"}))]).await;
    assert_eq!(app.get(&format!("/api/agents/claude-code-{SESSION}")).await.body["agent"]["status"], "offline");
    assert_eq!(app.get(&format!("/api/agents/claude-code-{SESSION}-a10e1ad3f0da4acad")).await.body["agent"]["status"], "offline");

    // Without the required keys: a 400 naming the field.
    let r = app.post("/api/ingest/claude-code", json!({"session_id": "x"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.to_string().contains("hook_event_name"));
    // An event ocd does not know (a newer Claude Code) is accepted and ignored.
    let r = app.post("/api/ingest/claude-code", hook("PreCompact", json!({"trigger": "auto"}))).await;
    assert_eq!(r.status, StatusCode::OK);
}

async fn replayed_hooks_change_nothing(app: TestApp) {
    send(&app, &session()).await;
    let before = (app.count("agent_activity").await, app.count("todos").await);
    send(&app, &session()).await;
    assert_eq!(before, (app.count("agent_activity").await, app.count("todos").await));
}

crate::on_both_backends!(silent_integration_agents_go_offline_and_are_removed_later);

async fn silent_integration_agents_go_offline_and_are_removed_later(app: TestApp) {
    send(&app, &session()[..10]).await;
    app.post("/api/agents", json!({"id": "hand-made", "name": "registered by a hook"})).await;
    let status = |id: String| {
        let app = &app;
        async move { app.get(&format!("/api/agents/{id}")).await }
    };
    app.clock.advance_secs(29 * 60);
    app.tick().await;
    assert_eq!(status(format!("claude-code-{SESSION}")).await.body["agent"]["status"], "working");
    app.clock.advance_secs(2 * 60);
    app.tick().await;
    assert_eq!(
        status(format!("claude-code-{SESSION}")).await.body["agent"]["status"],
        "offline",
        "silent past AGENT_OFFLINE_AFTER_SECONDS"
    );
    assert_eq!(status(format!("claude-code-{SESSION}-a10e1ad3f0da4acad")).await.body["agent"]["status"], "offline");
    assert_ne!(status("hand-made".into()).await.body["agent"]["status"], "offline", "other agents follow their own rules");
    app.clock.advance_secs(31 * 86_400);
    app.tick().await;
    assert_eq!(status(format!("claude-code-{SESSION}-a10e1ad3f0da4acad")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(status(format!("claude-code-{SESSION}")).await.status, StatusCode::NOT_FOUND, "removed with its sub-agent");
    assert_eq!(status("hand-made".into()).await.status, StatusCode::OK);
    let todos = app.get(&format!("/api/todos?session_id={SESSION}")).await.body;
    assert_eq!(todos["todos"].as_array().unwrap().len(), 4, "the board keeps the session's todos");
}

crate::on_both_backends!(sub_agent_lists_and_replayed_tasks_stay_put);

async fn sub_agent_lists_and_replayed_tasks_stay_put(app: TestApp) {
    let created = hook("TaskCreated", json!({"task_id": "7", "task_subject": "Write docs"}));
    send(&app, &[created.clone(), hook("TaskCompleted", json!({"task_id": "7", "task_subject": "Write docs"}))]).await;
    send(&app, &[created]).await;
    let todos = app.get(&format!("/api/todos?session_id={SESSION}")).await.body;
    assert_eq!(todos["todos"][0]["status"], "completed", "a replayed TaskCreated never resets the task: {todos}");
    // A sub-agent's TodoWrite is its own list: the session's items stay.
    let main_list = hook(
        "PostToolUse",
        json!({"tool_name": "TodoWrite", "tool_use_id": "toolu_m", "tool_input": {"todos": [{"content": "Main item", "status": "pending"}]}}),
    );
    let mut sub_list = hook(
        "PostToolUse",
        json!({"tool_name": "TodoWrite", "tool_use_id": "toolu_s", "tool_input": {"todos": [{"content": "Sub item", "status": "pending"}]}}),
    );
    sub_list["agent_id"] = json!("sub-1");
    send(&app, &[main_list, sub_list]).await;
    let main = app.get(&format!("/api/todos?session_id={SESSION}")).await.body.to_string();
    assert!(main.contains("Main item") && !main.contains("\"cancelled\""), "{main}");
    let sub = app.get(&format!("/api/agents/claude-code-{SESSION}-sub-1")).await.body;
    assert_eq!(sub["agent"]["parent_agent_id"], format!("claude-code-{SESSION}"), "an early sub-agent event still lands under the session");
}

//! Agent integrations (K29): events recorded from the real opencode 1.18.33 (driven offline by
//! a scripted model, tests/fixtures/opencode/) posted as the plugin posts them.

use ocd::auth::principal::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth_helpers::signed_in;
use crate::harness::TestApp;

crate::on_both_backends!(
    an_opencode_run_shows_its_agents_todos_and_usage,
    an_opencode_error_reaches_the_timeline_and_alerts,
    todo_lists_update_in_place,
    a_project_scoped_key_reports_only_into_its_project
);

fn fixture(name: &str) -> Vec<Value> {
    let path = format!("{}/tests/fixtures/opencode/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON")
}

/// Posts `events` in batches of `size`, as the plugin does.
async fn post(app: &TestApp, events: &[Value], size: usize) {
    for batch in events.chunks(size) {
        let r = app.post("/api/ingest/opencode", json!(batch)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
}

/// The sessions of a run: the root first, then its children.
fn sessions(events: &[Value]) -> (String, Vec<String>) {
    let mut root = None;
    let mut children = Vec::new();
    for e in events.iter().filter(|e| e["type"] == "session.created") {
        let id = e["properties"]["info"]["id"].as_str().unwrap().to_string();
        match e["properties"]["info"]["parentID"].as_str() {
            Some(_) => children.push(id),
            None => root = Some(id),
        }
    }
    (root.expect("a root session"), children)
}

async fn snapshot(app: &TestApp) -> (i64, i64, i64, Value) {
    let agents = app.get("/api/agents").await.body;
    (app.count("agent_activity").await, app.count("todos").await, app.count("alert_events").await, agents)
}

async fn an_opencode_run_shows_its_agents_todos_and_usage(app: TestApp) {
    let events = fixture("run1");
    let (root, children) = sessions(&events);
    assert_eq!(children.len(), 1, "the run spawned one sub-agent");
    post(&app, &events, 20).await;

    let main = app.get(&format!("/api/agents/opencode-{root}")).await.body;
    assert_eq!(main["agent"]["type"], "primary");
    assert_eq!(main["agent"]["name"], "Probe session title");
    assert_eq!(main["agent"]["project_id"], "proj", "the project is the working directory's name");
    assert_eq!(main["agent"]["status"], "idle", "idle at the end of the run");
    let child = app.get(&format!("/api/agents/opencode-{}", children[0])).await.body;
    assert_eq!(child["agent"]["type"], "sub-agent");
    assert_eq!(child["agent"]["parent_agent_id"], format!("opencode-{root}"));
    assert_eq!(child["agent"]["status"], "idle");
    assert!(main["agent"]["tokens_in"].as_i64().unwrap() > 0, "{main}");
    assert!(main["agent"]["cost_usd"].as_f64().unwrap() > 0.0);
    let totals = &main["agent"]["totals"];
    assert!(
        totals["tokens_in"].as_i64().unwrap() > main["agent"]["tokens_in"].as_i64().unwrap(),
        "the totals include the sub-agent: {totals}"
    );

    let todos = app.get(&format!("/api/todos?session_id={root}")).await.body;
    let list = todos["todos"].as_array().unwrap();
    assert_eq!(
        app.session_todos(&root).await,
        ["Delegate to sub-agent: completed", "Inspect repo: completed", "Summarize: completed"],
        "no duplicates"
    );
    assert!(list.iter().all(|t| t["project"] == "proj" && t["agent"] == format!("opencode-{root}")));
    let session = app.get("/api/sessions").await.body;
    assert!(session.to_string().contains(&root));

    let timeline = app.get(&format!("/api/agents/opencode-{root}/activity")).await.body;
    let kinds: Vec<&str> = timeline["activity"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"tool") && kinds.contains(&"model"), "{kinds:?}");
    assert!(timeline.to_string().contains("task: Probe subagent"), "the task tool's call: {timeline}");

    // A session reporting itself again unchanged (opencode sends session.updated often) writes nothing.
    let sessions_events = |events: Vec<ocd::db::events::StoredEvent>| events.iter().filter(|e| e.name.starts_with("session:")).count();
    let announced = sessions_events(app.events().await);
    let last_update = events.iter().rev().find(|e| e["type"] == "session.updated").cloned().unwrap();
    post(&app, &[last_update], 1).await;
    assert_eq!(sessions_events(app.events().await), announced, "an unchanged session is not written again");

    // Replaying the whole run (a plugin retry) changes nothing.
    let before = snapshot(&app).await;
    post(&app, &events, 50).await;
    let after = snapshot(&app).await;
    assert_eq!(before.0, after.0, "timeline rows");
    assert_eq!(before.1, after.1, "todos");
    assert_eq!(before.2, after.2, "alerts");
    let tokens = |v: &Value| v["agents"].as_array().map(|a| a.iter().map(|x| x["tokens_in"].as_i64().unwrap_or(0)).sum::<i64>());
    assert_eq!(tokens(&before.3), tokens(&after.3), "usage is counted once");
}

async fn an_opencode_error_reaches_the_timeline_and_alerts(app: TestApp) {
    let events = fixture("run2");
    let (root, _) = sessions(&events);
    post(&app, &events, 10).await;
    let timeline = app.get(&format!("/api/agents/opencode-{root}/activity")).await.body;
    let error = timeline["activity"].as_array().unwrap().iter().find(|a| a["kind"] == "error").cloned().expect("an error row");
    assert_eq!(error["summary"], "scripted failure");
    app.alerts().await;
    let messages = app.get("/api/messages").await.body;
    let alert = messages["messages"].as_array().unwrap().iter().find(|m| m["type"] == "error").cloned().expect("an error alert");
    assert!(alert["content"].as_str().unwrap().ends_with(": scripted failure"), "{alert}");
    assert_eq!(app.get(&format!("/api/agents/opencode-{root}")).await.body["agent"]["status"], "idle");
}

fn todo_event(id: &str, session: &str, todos: Value) -> Value {
    json!({"id": id, "type": "todo.updated", "properties": {"sessionID": session, "todos": todos}})
}

async fn todo_lists_update_in_place(app: TestApp) {
    let first = json!([
        {"content": "Write tests", "status": "in_progress", "priority": "high"},
        {"content": "Write tests", "status": "pending", "priority": "low"},
        {"content": "Refactor", "status": "pending", "priority": "medium"},
    ]);
    let r = app.post("/api/ingest/opencode", json!({"project": "billing", "events": [todo_event("evt_1", "ses_x", first)]})).await;
    assert_eq!((r.status, r.body["applied"].as_i64()), (StatusCode::OK, Some(1)), "{}", r.body);
    let second = json!([
        {"content": "Write tests", "status": "completed", "priority": "high"},
        {"content": "Write tests", "status": "in_progress", "priority": "low"},
    ]);
    app.post("/api/ingest/opencode", json!({"project": "billing", "events": [todo_event("evt_2", "ses_x", second)]})).await;
    assert_eq!(
        app.session_todos("ses_x").await,
        ["Refactor: cancelled", "Write tests: completed", "Write tests: in_progress"],
        "same items update in place; one that left the list is cancelled"
    );
    assert_eq!(app.get("/api/agents/opencode-ses_x").await.body["agent"]["project_id"], "billing");
    // Noise and unknown events are accepted and ignored; a batch too large is refused.
    let r = app.post("/api/ingest/opencode", json!([{"type": "catalog.updated", "properties": {}}, {"nonsense": true}, 3])).await;
    assert_eq!((r.status, r.body["applied"].as_i64()), (StatusCode::OK, Some(0)));
    let many: Vec<Value> = (0..1001).map(|_| json!({})).collect();
    assert_eq!(app.post("/api/ingest/opencode", json!(many)).await.status, StatusCode::BAD_REQUEST);
}

crate::on_both_backends!(stops_deletions_and_commands_behave);

async fn stops_deletions_and_commands_behave(app: TestApp) {
    let created = |id: &str, parent: Option<&str>| {
        json!({"id": format!("evt_c_{id}"), "type": "session.created", "properties": {"sessionID": id,
            "info": {"id": id, "parentID": parent, "title": format!("Session {id}"), "directory": "/src/web"}}})
    };
    post(&app, &[created("root", None), created("kid", Some("root"))], 10).await;
    // A queued command stays for the plugin's own poll: status events are not heartbeats.
    let r = app.post("/api/agents/opencode-root/commands", json!({"kind": "message", "text": "rebase"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let busy = json!({"id": "evt_busy", "type": "session.status", "properties": {"sessionID": "root", "status": {"type": "busy"}}});
    post(&app, &[busy], 10).await;
    let queued = app.get("/api/agents/opencode-root/commands?status=queued").await.body;
    assert_eq!(queued["commands"].as_array().map(Vec::len), Some(1), "{queued}");
    // Stopping a session is not an error.
    let aborted = json!({"id": "evt_abort", "type": "session.error", "properties": {"sessionID": "root",
        "error": {"name": "MessageAbortedError", "data": {"message": "The operation was aborted."}}}});
    post(&app, &[aborted], 10).await;
    assert_eq!(app.count("alert_events").await, 0);
    // A deleted session takes its sub-agents offline too.
    let deleted = json!({"id": "evt_del", "type": "session.deleted", "properties": {"sessionID": "root", "info": {"id": "root"}}});
    post(&app, &[deleted], 10).await;
    for id in ["opencode-root", "opencode-kid"] {
        assert_eq!(app.get(&format!("/api/agents/{id}")).await.body["agent"]["status"], "offline", "{id}");
    }
}

/// decisions.md#ingest: a key scoped to p1 (what `ocd install --project p1` makes) puts every
/// session it reports into p1 whatever the working directory, may not name another project,
/// and may not report for an agent of another project.
async fn a_project_scoped_key_reports_only_into_its_project(app: TestApp) {
    for id in ["p1", "p2"] {
        app.post("/api/settings/projects", json!({"id": id, "name": id})).await;
    }
    app.post("/api/agents", json!({"id": "opencode-theirs", "name": "theirs", "project": "p2", "status": "idle"})).await;
    app.post("/api/agents", json!({"id": "claude-code-theirs", "name": "theirs", "project": "p2", "status": "idle"})).await;
    let mut owner = signed_in(&app, Role::Owner).await;
    let r = owner.go(Method::POST, "/api/settings/api-keys", Some(&json!({"name": "p1 agents", "role": "admin", "project": "p1"}))).await;
    let key = r.body["token"].as_str().unwrap().to_string();
    let send = |path: &'static str, body: Value| {
        let key = key.clone();
        let app = &app;
        async move { app.request(Method::POST, path, Some(&body), Some(&key)).await }
    };

    let events = fixture("run1");
    let (root, _) = sessions(&events);
    let r = send("/api/ingest/opencode", json!(events)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["failed"], 0);
    let main = app.get(&format!("/api/agents/opencode-{root}")).await.body;
    assert_eq!(main["agent"]["project_id"], "p1", "the key's project, not the directory's (proj)");
    let todos = app.get(&format!("/api/todos?session_id={root}")).await.body["todos"].clone();
    let todos = todos.as_array().unwrap();
    assert!(!todos.is_empty() && todos.iter().all(|t| t["project"] == "p1"), "{todos:?}");

    let before = (app.count("agents").await, app.count("agent_activity").await, app.count("events").await);
    let r = send("/api/ingest/opencode", json!({"project": "p2", "events": events})).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::FORBIDDEN, json!({"error": "This API key is limited to project p1"})));
    let r = send("/api/ingest/claude-code?project=p2", json!({"session_id": "s9", "cwd": "/x", "hook_event_name": "Stop"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(
        "/api/ingest/claude-code",
        json!({"session_id": "theirs", "cwd": "/src/p2", "hook_event_name": "UserPromptSubmit", "prompt": "hi"}),
    )
    .await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::FORBIDDEN, json!({"error": "This API key is limited to project p1"})));
    let busy = json!([{"id": "evt_theirs", "type": "session.status", "properties": {"sessionID": "theirs", "status": {"type": "busy"}}}]);
    let r = send("/api/ingest/opencode", busy).await;
    assert_eq!((r.status, r.body["failed"].clone()), (StatusCode::OK, json!(1)), "{}", r.body);
    assert_eq!(before, (app.count("agents").await, app.count("agent_activity").await, app.count("events").await), "nothing written");
    assert_eq!(app.get("/api/agents/opencode-theirs").await.body["agent"]["status"], "idle");

    // Another tool's session with the same bare id (an OpenCode session of p2, its todos in
    // p2) is out of reach too: a Codex hook naming it writes nothing.
    let theirs = "ses_theirs";
    let their_run = json!({"project": "p2", "events": [
        {"id": "e1", "type": "session.created", "properties": {"sessionID": theirs, "info": {"id": theirs, "title": "theirs", "directory": "/src/p2"}}},
        {"id": "e2", "type": "todo.updated", "properties": {"sessionID": theirs, "todos": [{"content": "their plan", "status": "pending", "priority": "high"}]}}
    ]});
    assert_eq!(app.post("/api/ingest/opencode", their_run).await.body["failed"], 0);
    let todos_before = app.session_todos(theirs).await;
    let their_todo = todos_before[0].split(": ").next().unwrap().to_string();
    // An empty list cancels only the reporting agent's own items (none): theirs stay.
    let empty_list = json!({"session_id": theirs, "cwd": "/x", "hook_event_name": "PostToolUse", "tool_name": "TodoWrite",
        "tool_use_id": "tu-1", "tool_input": {"todos": []}});
    assert_eq!(send("/api/ingest/codex", empty_list).await.status, StatusCode::OK);
    assert_eq!(app.session_todos(theirs).await, todos_before, "their todos are not cancelled");
    // Listing one of their items (same text, so the same derived id) or renaming their
    // session is refused.
    let same_text = json!({"session_id": theirs, "cwd": "/x", "hook_event_name": "PostToolUse", "tool_name": "TodoWrite",
        "tool_use_id": "tu-2", "tool_input": {"todos": [{"content": their_todo, "status": "cancelled"}]}});
    let r = send("/api/ingest/codex", same_text).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // (The hook's own timeline row, on the key's own agent in p1, may be written first.)
    assert_eq!(app.session_todos(theirs).await, todos_before, "their todos are unchanged");
    // Their session row (same bare id) is not renamed into p1 either.
    let prompt = json!({"session_id": theirs, "cwd": "/x", "hook_event_name": "SessionStart", "source": "startup"});
    send("/api/ingest/claude-code", prompt).await;
    let owner = ocd::db::projects::project_of(&app.app.db.read, ocd::db::projects::Owned::Session, theirs).await.unwrap();
    assert_eq!(owner, Some(Some("p2".to_string())), "their session row stays theirs");
}

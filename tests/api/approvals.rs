//! Approvals (K28, K30, docs/decisions.md#approvals): permission requests from OpenCode's
//! plugin and Claude Code's hook wait in ocd; the first decision wins and reaches the agent
//! (a `permission` command, the held hook's answer); decision links in notifications decide
//! once; an unanswered request falls back to the terminal.

use std::time::Duration;

use ocd::domain::roles::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth_helpers::signed_in;
use crate::fake_receiver::FakeReceiver;
use crate::harness::TestApp;

crate::on_both_backends!(
    opencode_requests_become_permission_commands,
    answered_in_the_terminal_first,
    scoped_keys_see_their_project_only,
    claude_code_hook_is_held_until_a_decision,
    decision_links_decide_once,
    notifications_carry_the_answers,
);

/// OpenCode's `permission.asked` event as the plugin forwards it (recorded from opencode 1.18.33).
fn asked(request: &str, session: &str) -> Value {
    json!({"id": format!("evt_{request}"), "type": "permission.asked", "properties": {
        "id": request, "sessionID": session, "permission": "bash", "patterns": ["rm -rf build"],
        "metadata": {"command": "rm -rf build"}, "always": ["rm *"],
        "tool": {"messageID": "msg_1", "callID": "call_bash1"}}})
}

fn replied(request: &str, session: &str, reply: &str) -> Value {
    json!({"id": format!("evt_r_{request}"), "type": "permission.replied", "properties": {"sessionID": session, "requestID": request, "reply": reply}})
}

/// Status and body text of a request (pages are HTML).
async fn fetch(req: reqwest::RequestBuilder) -> (StatusCode, String) {
    let r = req.send().await.expect("request");
    let status = r.status();
    (status, r.text().await.expect("body"))
}

async fn pending(app: &TestApp) -> Vec<Value> {
    let r = app.get("/api/approvals?status=pending").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["approvals"].as_array().cloned().unwrap_or_default()
}

async fn opencode_requests_become_permission_commands(app: TestApp) {
    let r = app.post("/api/ingest/opencode", json!([asked("per_1", "ses_a")])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // A replayed batch finds the same approval.
    app.post("/api/ingest/opencode", json!([asked("per_1", "ses_a")])).await;
    let waiting = pending(&app).await;
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    let approval = &waiting[0];
    assert_eq!(approval["agent_id"], "opencode-ses_a");
    assert_eq!(approval["tool"], "opencode");
    assert_eq!(approval["summary"], "bash: rm -rf build");
    assert_eq!(approval["detail"]["metadata"]["command"], "rm -rf build");
    let id = approval["id"].as_str().unwrap().to_string();
    assert!(app.events().await.iter().any(|e| e.name == "approval:requested"));

    // Viewers see, admins decide.
    let mut viewer = signed_in(&app, Role::Viewer).await;
    assert_eq!(viewer.go(Method::GET, &format!("/api/approvals/{id}"), None).await.status, StatusCode::OK);
    let refused = viewer.go(Method::POST, &format!("/api/approvals/{id}/decision"), Some(&json!({"decision": "once"}))).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let bad = app.post(&format!("/api/approvals/{id}/decision"), json!({"decision": "maybe"})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.to_string().contains("decision"), "{}", bad.body);

    let mut admin = signed_in(&app, Role::Admin).await;
    let decided = admin.go(Method::POST, &format!("/api/approvals/{id}/decision"), Some(&json!({"decision": "always"}))).await;
    assert_eq!(decided.status, StatusCode::OK, "{}", decided.body);
    assert_eq!(decided.body["approval"]["status"], "approved");
    assert_eq!(decided.body["approval"]["decision"], "always");
    assert!(decided.body["approval"]["decided_by"].as_str().is_some_and(|b| !b.is_empty()));
    // The first decision wins.
    let late = app.post(&format!("/api/approvals/{id}/decision"), json!({"decision": "reject"})).await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_eq!(late.body["approval"]["decision"], "always", "the standing decision: {}", late.body);

    // The plugin's poll gets the permission command with opencode's own words.
    let polled = app.get("/api/agents/opencode-ses_a/commands").await.body;
    let commands = polled["commands"].as_array().unwrap();
    assert_eq!(commands.len(), 1, "{polled}");
    assert_eq!(commands[0]["kind"], "permission");
    let text: Value = serde_json::from_str(commands[0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(text, json!({"requestID": "per_1", "reply": "always"}));
    // opencode then reports the reply ocd sent: the decision stands.
    app.post("/api/ingest/opencode", json!([replied("per_1", "ses_a", "always")])).await;
    assert_eq!(app.get(&format!("/api/approvals/{id}")).await.body["approval"]["status"], "approved");
    // Nobody else makes permission commands.
    let forged = app.post("/api/agents/opencode-ses_a/commands", json!({"kind": "permission", "text": "{}"})).await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
}

/// A project-scoped key (what `ocd install --project` makes) sees only its project's
/// approvals and decides none.
async fn scoped_keys_see_their_project_only(app: TestApp) {
    for p in ["payments", "web"] {
        app.post("/api/settings/projects", json!({"id": p, "name": p})).await;
    }
    let key = app.scoped_key("payments").await;
    app.post("/api/ingest/opencode", json!({"project": "web", "events": [asked("per_w", "ses_w")]})).await;
    let other = pending(&app).await[0]["id"].as_str().unwrap().to_string();
    let scoped = app.request(Method::POST, "/api/ingest/opencode", Some(&json!([asked("per_p", "ses_p")])), Some(&key)).await;
    assert_eq!(scoped.status, StatusCode::OK, "{}", scoped.body);
    let seen = app.request(Method::GET, "/api/approvals", None, Some(&key)).await.body;
    let projects: Vec<&str> = seen["approvals"].as_array().unwrap().iter().map(|a| a["project"].as_str().unwrap()).collect();
    assert_eq!(projects, ["payments"], "{seen}");
    assert_eq!(app.request(Method::GET, &format!("/api/approvals/{other}"), None, Some(&key)).await.status, StatusCode::NOT_FOUND);
    // Deciding is for people and unscoped keys: an agent's key never answers requests.
    let r = app.request(Method::POST, &format!("/api/approvals/{other}/decision"), Some(&json!({"decision": "once"})), Some(&key)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&format!("/api/approvals/{other}")).await.body["approval"]["status"], "pending");
}

async fn answered_in_the_terminal_first(app: TestApp) {
    app.post("/api/ingest/opencode", json!([asked("per_2", "ses_b"), replied("per_2", "ses_b", "reject")])).await;
    let all = app.get("/api/approvals").await.body;
    assert_eq!(all["approvals"][0]["status"], "answered_elsewhere", "{all}");
    assert_eq!(all["approvals"][0]["decision"], "reject");
    let id = all["approvals"][0]["id"].as_str().unwrap().to_string();
    let late = app.post(&format!("/api/approvals/{id}/decision"), json!({"decision": "once"})).await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert!(late.body["error"].as_str().unwrap().contains("terminal"), "{}", late.body);
    assert_eq!(app.get("/api/agents/opencode-ses_b/commands?status=queued").await.body["commands"], json!([]));

    // A session that goes idle leaves nothing to answer: its requests expire.
    app.post("/api/ingest/opencode", json!([asked("per_3", "ses_b")])).await;
    assert_eq!(pending(&app).await.len(), 1);
    app.post("/api/ingest/opencode", json!([{"id": "evt_idle", "type": "session.idle", "properties": {"sessionID": "ses_b"}}])).await;
    assert!(pending(&app).await.is_empty());
    assert!(app.events().await.iter().any(|e| e.name == "approval:expired"));
}

/// Claude Code's PermissionRequest payload (recorded from Claude Code 2.1.197 in SDK mode).
fn permission_request(session: &str, command: &str) -> Value {
    json!({
        "session_id": session, "transcript_path": "/tmp/t.jsonl", "cwd": "/tmp/shop", "permission_mode": "default",
        "hook_event_name": "PermissionRequest", "tool_name": "Bash",
        "tool_input": {"command": command, "description": "Run it"},
        "permission_suggestions": [{"type": "addRules", "rules": [{"toolName": "Bash", "ruleContent": command}], "behavior": "allow", "destination": "localSettings"}]
    })
}

/// Posts the hook in the background (it is held) and waits until its approval shows.
async fn held_hook(app: &TestApp, session: &str, command: &str) -> (tokio::task::JoinHandle<Value>, String) {
    let (base, key, body) = (app.base.clone(), app.key.clone(), permission_request(session, command));
    let hook = tokio::spawn(async move {
        let r = crate::harness::client().post(format!("{base}/api/ingest/claude-code")).bearer_auth(key).json(&body).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<Value>().await.unwrap()
    });
    for _ in 0..200 {
        if let Some(a) = pending(app).await.into_iter().find(|a| a["session_id"] == session) {
            return (hook, a["id"].as_str().unwrap().to_string());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the held request never showed up");
}

async fn claude_code_hook_is_held_until_a_decision(app: TestApp) {
    let (hook, id) = held_hook(&app, "s-allow", "touch ran.txt").await;
    assert!(!hook.is_finished(), "the hook waits for a person");
    let r = app.post(&format!("/api/approvals/{id}/decision"), json!({"decision": "always"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let answer = tokio::time::timeout(Duration::from_secs(10), hook).await.expect("answered at once").unwrap();
    assert_eq!(answer["hookSpecificOutput"]["hookEventName"], "PermissionRequest");
    assert_eq!(answer["hookSpecificOutput"]["decision"]["behavior"], "allow");
    assert_eq!(answer["hookSpecificOutput"]["decision"]["updatedPermissions"][0]["rules"][0]["ruleContent"], "touch ran.txt");

    let (hook, id) = held_hook(&app, "s-deny", "rm -rf /").await;
    app.post(&format!("/api/approvals/{id}/decision"), json!({"decision": "reject", "message": "not on my watch"})).await;
    let answer = tokio::time::timeout(Duration::from_secs(10), hook).await.expect("answered at once").unwrap();
    assert_eq!(answer["hookSpecificOutput"]["decision"], json!({"behavior": "deny", "message": "not on my watch"}));
    // The same command asked again is a new request: the earlier answer does not decide it.
    let (hook, again) = held_hook(&app, "s-deny", "rm -rf /").await;
    assert_ne!(again, id, "a new approval");
    assert!(!hook.is_finished(), "it waits for its own answer");
    app.post(&format!("/api/approvals/{again}/decision"), json!({"decision": "once"})).await;
    let answer = tokio::time::timeout(Duration::from_secs(10), hook).await.expect("answered").unwrap();
    assert_eq!(answer["hookSpecificOutput"]["decision"]["behavior"], "allow");
    // Claude Code hangs up (its hook timeout, Ctrl-C): nobody can hear an answer, so it expires.
    let body = permission_request("s-gone", "make deploy");
    let gone = crate::harness::client().post(format!("{}/api/ingest/claude-code", app.base)).bearer_auth(&app.key).json(&body);
    let gone = tokio::spawn(gone.timeout(Duration::from_millis(1500)).send());
    let started = std::time::Instant::now();
    while !gone.is_finished() || !pending(&app).await.iter().all(|a| a["session_id"] != "s-gone") {
        assert!(started.elapsed() < Duration::from_secs(20), "the hung-up request never expired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let list = app.get("/api/approvals?status=expired").await.body;
    assert!(list["approvals"].as_array().unwrap().iter().any(|a| a["session_id"] == "s-gone"), "{list}");
    // Every other hook is answered with no decision, at once.
    let other = app.post("/api/ingest/claude-code", json!({"session_id": "s-deny", "hook_event_name": "Stop", "cwd": "/tmp/shop"})).await;
    assert_eq!(other.body, json!({}));
}

async fn decision_links_decide_once(app: TestApp) {
    let receiver = FakeReceiver::start().await;
    let mut owner = signed_in(&app, Role::Owner).await;
    let r = owner
        .go(
            Method::POST,
            "/api/settings/channels",
            Some(&json!({"type": "webhook", "name": "hook", "config": {"url": format!("{}/hook", receiver.url)}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    app.post("/api/ingest/opencode", json!([asked("per_l1", "ses_l"), asked("per_l2", "ses_l")])).await;
    app.alerts().await;
    let sent: Vec<Value> = receiver.received_at("/hook").iter().map(|r| r.json()).collect();
    assert_eq!(sent.len(), 2, "one notification per request: {sent:?}");
    let first = &sent.iter().find(|s| s["approval"]["summary"] == "bash: rm -rf build").unwrap()["approval"];
    let approve = first["approve_url"].as_str().unwrap().to_string();
    let path = approve.split_once("/approvals/decide/").map(|(_, t)| format!("/approvals/decide/{t}")).unwrap();
    let token_path = path.split('?').next().unwrap().to_string();

    // GET shows the request and never decides (chat apps unfurl links).
    for _ in 0..2 {
        let (status, page) = fetch(app.raw(Method::GET, &path)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("rm -rf build") && page.contains("Approve once"), "{page}");
    }
    let id = first["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/api/approvals/{id}")).await.body["approval"]["status"], "pending");

    // Meant for another approval: refused.
    let other_id = sent.iter().map(|s| s["approval"]["id"].as_str().unwrap()).find(|i| *i != id).unwrap();
    let wrong = fetch(app.raw(Method::POST, &token_path).json(&json!({"decision": "once", "approval_id": other_id}))).await;
    assert_eq!(wrong.0, StatusCode::FORBIDDEN, "{}", wrong.1);
    // The form POST decides, as `link:<channel>` (no session).
    let (status, used) =
        fetch(app.raw(Method::POST, &token_path).header("content-type", "application/x-www-form-urlencoded").body("decision=once")).await;
    assert_eq!(status, StatusCode::OK, "{used}");
    assert!(used.contains("approved once"), "{used}");
    let decided = app.get(&format!("/api/approvals/{id}")).await.body["approval"].clone();
    assert_eq!(decided["status"], "approved");
    assert!(decided["decided_by"].as_str().unwrap().starts_with("link:"), "{decided}");
    // Used twice: refused.
    let again =
        fetch(app.raw(Method::POST, &token_path).header("content-type", "application/x-www-form-urlencoded").body("decision=reject")).await;
    assert_eq!(again.0, StatusCode::GONE, "{}", again.1);
    // Expired with its approval: refused.
    let second = sent.iter().find(|s| s["approval"]["id"] == other_id).unwrap()["approval"]["reject_url"].as_str().unwrap().to_string();
    let second_path = format!("/approvals/decide/{}", second.split_once("/approvals/decide/").unwrap().1.split('?').next().unwrap());
    app.clock.advance_secs(3601); // COMMAND_TTL_SECONDS
    app.tick().await;
    assert_eq!(app.get(&format!("/api/approvals/{other_id}")).await.body["approval"]["status"], "expired");
    let late =
        fetch(app.raw(Method::POST, &second_path).header("content-type", "application/x-www-form-urlencoded").body("decision=reject"))
            .await;
    assert_eq!(late.0, StatusCode::GONE, "{}", late.1);
    let unknown = fetch(
        app.raw(Method::POST, "/approvals/decide/nope").header("content-type", "application/x-www-form-urlencoded").body("decision=reject"),
    )
    .await;
    assert_eq!(unknown.0, StatusCode::NOT_FOUND);
}

async fn notifications_carry_the_answers(app: TestApp) {
    let fake = FakeReceiver::start().await;
    let mut owner = signed_in(&app, Role::Owner).await;
    for body in [
        json!({"type": "ntfy", "name": "phone", "config": {"server": fake.url, "topic": "ocd"}}),
        json!({"type": "slack", "name": "slack", "config": {"url": format!("{}/slack", fake.url)}}),
        json!({"type": "discord", "name": "discord", "config": {"url": format!("{}/discord", fake.url)}}),
    ] {
        assert_eq!(owner.go(Method::POST, "/api/settings/channels", Some(&body)).await.status, StatusCode::CREATED);
    }
    // Approvals are never held back by the push budgets: twelve in a row all go out.
    let batch: Vec<Value> = (0..12).map(|i| asked(&format!("per_n{i}"), "ses_n")).collect();
    app.post("/api/ingest/opencode", json!(batch)).await;
    app.alerts().await;
    let ntfy: Vec<Value> = fake.received_at("/").iter().map(|r| r.json()).collect();
    assert_eq!(ntfy.len(), 12, "every approval is pushed");
    let note = &ntfy[0];
    assert_eq!(note["title"], "OpenCode asks for approval");
    assert!(note["message"].as_str().unwrap().contains("rm -rf build"), "{note}");
    let actions = note["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 2);
    assert_eq!((actions[0]["label"].as_str(), actions[0]["method"].as_str()), (Some("Approve"), Some("POST")));
    assert_eq!(actions[1]["body"], "decision=reject");
    let slack = fake.received_at("/slack")[0].json()["text"].as_str().unwrap().to_string();
    assert!(slack.contains("|Approve>") && slack.contains("|Reject>"), "{slack}");
    assert!(fake.received_at("/discord")[0].json()["content"].as_str().unwrap().contains("Reject: http"));

    // The ntfy action's POST (as ntfy's app sends it) decides.
    let url = actions[1]["url"].as_str().unwrap();
    let path = format!("/approvals/decide/{}", url.split_once("/approvals/decide/").unwrap().1);
    let ntfy_post = app
        .raw(Method::POST, &path)
        .header("content-type", actions[1]["headers"]["Content-Type"].as_str().unwrap())
        .body(actions[1]["body"].as_str().unwrap().to_string());
    let (status, text) = fetch(ntfy_post).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let denied = app.get("/api/approvals?status=denied").await.body;
    assert_eq!(denied["approvals"].as_array().unwrap().len(), 1, "{denied}");
    assert!(denied["approvals"][0]["decided_by"].as_str().unwrap().starts_with("link:"));
    // The decision reaches the agent as its command.
    let commands = app.get("/api/agents/opencode-ses_n/commands").await.body;
    assert!(commands.to_string().contains("\\\"reply\\\":\\\"reject\\\""), "{commands}");
}

/// A number from `/proc/<pid>/status` (`Threads`, `VmRSS` in kB).
fn proc_status(pid: u32, field: &str) -> i64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the server's /proc status");
    let line = status.lines().find(|l| l.starts_with(&format!("{field}:"))).expect("the field");
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("a number")
}

/// Holding requests costs no thread: 100 PermissionRequest hooks held open at once leave the
/// real server's thread count where it was, and its memory grows by less than 20 MB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_held_requests_cost_no_threads() {
    use crate::procs::{OcdProcess, temp_dir};
    let dir = temp_dir();
    let env = [("DASHBOARD_API_KEY", "held-key"), ("APPROVAL_WAIT_SECONDS", "600"), ("RUST_LOG", "warn")];
    let mut ocd = OcdProcess::start(&dir, &env);
    if let Some(mut stderr) = ocd.stderr.take() {
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    }
    let pid = ocd.child.id();
    let client = crate::harness::client();
    let (base, key) = (ocd.base.clone(), "held-key");
    let list = |status: &'static str| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let r = client.get(format!("{base}/api/approvals?status={status}&limit=500")).bearer_auth(key).send().await.unwrap();
            r.json::<Value>().await.unwrap()["approvals"].as_array().cloned().unwrap_or_default()
        }
    };
    // Warm up: the pools open their connections under the same concurrency first.
    let warm: Vec<_> = (0..100).map(|_| list("pending")).collect();
    futures_util::future::join_all(warm).await;
    let (threads_before, rss_before) = (proc_status(pid, "Threads"), proc_status(pid, "VmRSS"));

    let hooks: Vec<_> = (0..100)
        .map(|i| {
            let (client, base) = (client.clone(), base.clone());
            tokio::spawn(async move {
                let body = permission_request(&format!("held-{i}"), &format!("make target-{i}"));
                let r = client.post(format!("{base}/api/ingest/claude-code")).bearer_auth(key).json(&body).send().await.unwrap();
                r.json::<Value>().await.unwrap()
            })
        })
        .collect();
    let started = std::time::Instant::now();
    while list("pending").await.len() < 100 {
        assert!(started.elapsed() < Duration::from_secs(60), "the hundred requests never all arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (threads_held, rss_held) = (proc_status(pid, "Threads"), proc_status(pid, "VmRSS"));
    assert_eq!(threads_held, threads_before, "holding requests takes no thread");
    assert!(rss_held - rss_before < 20 * 1024, "memory grew by {} kB holding 100 requests", rss_held - rss_before);
    assert!(hooks.iter().all(|h| !h.is_finished()), "all held");

    // Each is released by its decision.
    for a in list("pending").await {
        let id = a["id"].as_str().unwrap();
        let r = client
            .post(format!("{base}/api/approvals/{id}/decision"))
            .bearer_auth(key)
            .json(&json!({"decision": "once"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    for hook in hooks {
        let answer = tokio::time::timeout(Duration::from_secs(30), hook).await.expect("released").unwrap();
        assert_eq!(answer["hookSpecificOutput"]["decision"]["behavior"], "allow");
    }
    eprintln!("threads {threads_before} → {threads_held}; RSS {rss_before} kB → {rss_held} kB");
    drop(ocd);
    let _ = std::fs::remove_dir_all(dir);
}

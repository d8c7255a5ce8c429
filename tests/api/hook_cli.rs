//! `ocd hook` as a real process (what Claude Code's command hooks and Codex's `notify` run),
//! and the Codex route.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::TestApp;

crate::on_both_backends!(codex_notify_and_hooks_show_up);

/// Runs `ocd hook <args>` with `stdin`, reporting to `url`, and waits (at most 20 s).
fn hook(url: &str, key: &str, args: &[&str], stdin: &str) -> std::process::Output {
    let home = std::env::temp_dir().join(format!("ocd-hook-{}", ocd::crypto::random_hex(4)));
    let mut child = Command::new(env!("CARGO_BIN_EXE_ocd"))
        .env_clear()
        .env("HOME", &home)
        .env("OCD_URL", url)
        .env("OCD_API_KEY", key)
        .arg("hook")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ocd hook");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    rx.recv_timeout(Duration::from_secs(20)).expect("ocd hook returned").expect("output")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_hook_posts_the_payload_and_never_fails_the_agent() {
    let app = TestApp::spawn(crate::harness::Backend::Sqlite).await.unwrap();
    let (base, key) = (app.base.clone(), app.key.clone());
    let payload = json!({"session_id": "s-1", "cwd": "/src/shop", "hook_event_name": "SessionStart", "source": "startup"}).to_string();
    let out = tokio::task::spawn_blocking(move || hook(&base, &key, &["claude-code"], &payload)).await.unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty(), "no decision on stdout");
    let agent = app.get("/api/agents/claude-code-s-1").await;
    assert_eq!((agent.status, agent.body["agent"]["project_id"].as_str()), (StatusCode::OK, Some("shop")));

    // ocd down (a port that accepts and never answers): still 0, quickly, with a note on stderr.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let started = std::time::Instant::now();
    let out = tokio::task::spawn_blocking(move || hook(&url, "k", &["claude-code"], "{\"session_id\":\"s\",\"hook_event_name\":\"Stop\"}"))
        .await
        .unwrap();
    assert!(out.status.success());
    assert!(started.elapsed() < Duration::from_secs(10), "bounded by its own deadline");
    assert!(String::from_utf8_lossy(&out.stderr).contains("ocd"));
    drop(silent);
    // Not JSON, or no tool: still 0.
    let (base, key) = (app.base.clone(), app.key.clone());
    let out = tokio::task::spawn_blocking(move || hook(&base, &key, &["claude-code"], "not json")).await.unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not JSON"));

    // Codex's notify passes the payload as the last argument.
    let notify = json!({"type": "agent-turn-complete", "thread-id": "th-9", "turn-id": "t1", "cwd": "/src/shop",
        "input-messages": ["rename the module"], "last-assistant-message": "Renamed."})
    .to_string();
    let (base, key) = (app.base.clone(), app.key.clone());
    let out = tokio::task::spawn_blocking(move || hook(&base, &key, &["codex", &notify], "")).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let timeline = app.get("/api/agents/codex-th-9/activity").await.body.to_string();
    assert!(timeline.contains("rename the module") && timeline.contains("Renamed."), "{timeline}");
}

async fn codex_notify_and_hooks_show_up(app: TestApp) {
    let notify = json!({"type": "agent-turn-complete", "thread-id": "th-1", "turn-id": "t1", "cwd": "/src/api",
        "input-messages": ["add pagination"], "last-assistant-message": "Done: pagination added."});
    assert_eq!(app.post("/api/ingest/codex", notify.clone()).await.body, json!({}));
    app.post("/api/ingest/codex", notify).await;
    let agent = app.get("/api/agents/codex-th-1").await.body;
    assert_eq!((agent["agent"]["project_id"].as_str(), agent["agent"]["status"].as_str()), (Some("api"), Some("idle")));
    let rows = app.get("/api/agents/codex-th-1/activity").await.body;
    assert_eq!(rows["activity"].as_array().unwrap().len(), 2, "prompt and reply, once: {rows}");
    // Codex's newer hooks send Claude Code's shapes.
    let hook = json!({"session_id": "cx-2", "cwd": "/src/api", "hook_event_name": "PostToolUse", "tool_name": "shell",
        "tool_input": {"command": "cargo build"}, "tool_use_id": "call_1"});
    app.post("/api/ingest/codex", hook).await;
    assert!(app.get("/api/agents/codex-cx-2/activity").await.body.to_string().contains("shell: cargo build"));
    let r = app.post("/api/ingest/codex", json!({"type": "agent-turn-complete"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
}

/// `ocd install` as a real process, in a throwaway home: a key made in the server's database,
/// the client file (0600), the agent's configuration with a backup, and twice changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_connects_each_agent() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn(crate::harness::Backend::Sqlite).await.unwrap();
    let home = std::env::temp_dir().join(format!("ocd-install-{}", ocd::crypto::random_hex(4)));
    std::fs::create_dir_all(home.join(".claude")).unwrap();
    std::fs::write(
        home.join(".claude/settings.json"),
        r#"{"model": "opus", "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "say done"}]}]}}"#,
    )
    .unwrap();
    let install = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_ocd"))
            .env_clear()
            .env("HOME", &home)
            .env("DATA_DIR", app.data_dir())
            .env("PUBLIC_URL", &app.base)
            .arg("install")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    install(&["claude-code"]);
    let client_file = home.join(".config/ocd/client.json");
    let client: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&client_file).unwrap()).unwrap();
    assert_eq!(std::fs::metadata(&client_file).unwrap().permissions().mode() & 0o777, 0o600);
    let key = client["key"].as_str().unwrap().to_string();
    assert_eq!(client["url"].as_str(), Some(app.base.trim_end_matches('/')));
    let r = app.request(reqwest::Method::GET, "/api/agents", None, Some(&key)).await;
    assert_eq!(r.status, StatusCode::OK, "the new key works");
    let settings: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(home.join(".claude/settings.json")).unwrap()).unwrap();
    assert_eq!(settings["model"], "opus", "the user's settings stay");
    let stop = settings["hooks"]["Stop"].as_array().unwrap();
    assert_eq!(stop[0]["hooks"][0]["command"], "say done");
    assert_eq!(stop[1]["hooks"][0]["headers"]["Authorization"], format!("Bearer {key}"));
    assert!(home.join(".claude/settings.json.bak").exists(), "a backup of what was there");
    assert_eq!(settings["env"]["OTEL_EXPORTER_OTLP_ENDPOINT"], format!("{}/api/ingest/otlp", app.base.trim_end_matches('/')));

    // On another machine: --url and --key, no database.
    let out = install(&["opencode", "--url", "http://ocd.internal:3000/", "--key", "ocdk_given"]);
    assert!(out.contains("ocd.ts"), "{out}");
    let plugin = std::fs::read_to_string(home.join(".config/opencode/plugins/ocd.ts")).unwrap();
    assert_eq!(plugin, include_str!("../../integrations/opencode/ocd.ts"));
    let again = install(&["opencode", "--url", "http://ocd.internal:3000/", "--key", "ocdk_given"]);
    assert!(again.contains("unchanged"), "{again}");
    install(&["codex", "--url", "http://ocd.internal:3000", "--key", "ocdk_given"]);
    let codex = std::fs::read_to_string(home.join(".codex/config.toml")).unwrap();
    assert!(codex.starts_with("notify = [\"") && codex.contains("\"hook\", \"codex\"]"), "{codex}");

    // One repository: a key scoped to its project (created), the repository's client file, its
    // own settings, kept out of git; the hooks of an agent working there use that key.
    let repo = home.join("src/billing-service");
    std::fs::create_dir_all(repo.join(".git/info")).unwrap();
    std::fs::create_dir_all(repo.join("crates/api")).unwrap();
    let dir = repo.display().to_string();
    let out = install(&["claude-code", "--project", "billing", "--dir", &dir]);
    assert!(out.contains("project billing") && out.contains("remove ocd's hooks there"), "warns of the user install too: {out}");
    let client: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(repo.join(".ocd/client.json")).unwrap()).unwrap();
    assert_eq!(client["project"], "billing");
    let scoped = client["key"].as_str().unwrap().to_string();
    assert_ne!(scoped, key);
    let local: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo.join(".claude/settings.local.json")).unwrap()).unwrap();
    assert_eq!(local["hooks"]["Stop"][0]["hooks"][0]["headers"]["Authorization"], format!("Bearer {scoped}"));
    assert_eq!(local["env"]["OTEL_EXPORTER_OTLP_HEADERS"], format!("Authorization=Bearer {scoped}"));
    let exclude = std::fs::read_to_string(repo.join(".git/info/exclude")).unwrap();
    assert!(exclude.lines().any(|l| l == ".ocd/") && exclude.lines().any(|l| l == ".claude/settings.local.json*"), "{exclude}");
    let projects = app.get("/api/settings/projects").await.body;
    assert!(projects["projects"].as_array().unwrap().iter().any(|p| p["id"] == "billing"), "created: {projects}");
    let r = app.request(reqwest::Method::GET, "/api/todos?project=other", None, Some(&scoped)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "the key is limited to billing");
    install(&["opencode", "--project", "billing", "--dir", &dir]);
    assert!(repo.join(".opencode/plugins/ocd.ts").is_file());
    assert_eq!(std::fs::read_to_string(repo.join(".git/info/exclude")).unwrap(), exclude, "excluded once");

    // `ocd hook` of an agent working in a sub-directory finds the repository's settings.
    let payload = json!({"session_id": "repo-1", "cwd": repo.join("crates/api"), "hook_event_name": "SessionStart"}).to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ocd"))
        .env_clear()
        .env("HOME", &home)
        .args(["hook", "claude-code"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(payload.as_bytes()).unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let agent = app.get("/api/agents/claude-code-repo-1").await.body;
    assert_eq!(agent["agent"]["project_id"], "billing", "the repository's project, not the directory's (api)");
    let _ = std::fs::remove_dir_all(&home);
}

/// A command hook's PermissionRequest (Claude Code's command hooks, Codex's hooks) waits for
/// the decision made in ocd and prints it on stdout, as the agent reads a command hook's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_hook_prints_the_decision_made_in_ocd() {
    let app = TestApp::spawn(crate::harness::Backend::Sqlite).await.unwrap();
    for (tool, decision, behavior) in [("claude-code", "once", "allow"), ("codex", "reject", "deny")] {
        let (base, key) = (app.base.clone(), app.key.clone());
        let session = format!("s-hold-{tool}");
        let payload = json!({"session_id": session, "cwd": "/src/shop", "hook_event_name": "PermissionRequest",
            "tool_name": "Bash", "tool_input": {"command": "cargo publish"}})
        .to_string();
        let running = tokio::task::spawn_blocking(move || hook(&base, &key, &[tool], &payload));
        let id = loop {
            let list = app.get("/api/approvals?status=pending").await.body;
            if let Some(a) = list["approvals"].as_array().and_then(|l| l.iter().find(|a| a["session_id"] == session.as_str())) {
                break a["id"].as_str().unwrap().to_string();
            }
            assert!(!running.is_finished(), "the hook gave up before a decision");
            tokio::time::sleep(Duration::from_millis(25)).await;
        };
        assert_eq!(app.post(&format!("/api/approvals/{id}/decision"), json!({"decision": decision})).await.status, StatusCode::OK);
        let out = running.await.unwrap();
        assert!(out.status.success());
        let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the decision on stdout");
        assert_eq!(answer["hookSpecificOutput"]["decision"]["behavior"], behavior, "{tool}");
    }
}

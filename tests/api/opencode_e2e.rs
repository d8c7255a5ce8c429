//! The real opencode (opencode-ai 1.18.33 from npm, `scripts/install-opencode`) with ocd's
//! plugin, run offline against the scripted model (fake_model.rs) and the ocd under test:
//! what a user of the plugin sees in ocd, stopping a session from ocd, and ocd unreachable.
//! Without the binary these tests say so and pass, except under CI=true, where they fail.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fake_model::FakeModel;
use crate::harness::{Backend, TestApp};

fn opencode() -> Option<PathBuf> {
    let bin = std::env::var_os("OCD_E2E_OPENCODE").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        home.join(".cache/ocd-e2e/opencode-1.18.33/node_modules/.bin/opencode")
    });
    if bin.exists() {
        return Some(bin);
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true and no opencode at {}: run scripts/install-opencode", bin.display());
    eprintln!("skipped: no opencode at {} (scripts/install-opencode installs it)", bin.display());
    None
}

/// A home and a project directory named `project`, with the scripted model as provider and
/// ocd's plugin installed in the project.
fn workspace(model: &FakeModel, project: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("ocd-e2e-{}", ocd::crypto::random_hex(6)));
    let dir = root.join(project);
    std::fs::create_dir_all(dir.join(".opencode/plugins")).unwrap();
    std::fs::create_dir_all(root.join("home")).unwrap();
    let config = json!({
        "$schema": "https://opencode.ai/config.json",
        "autoupdate": false,
        "share": "disabled",
        "model": "fake/fake",
        "small_model": "fake/fake",
        "provider": {"fake": {
            "npm": "@ai-sdk/openai-compatible",
            "name": "Scripted",
            "options": {"baseURL": model.base_url, "apiKey": "sk-fake"},
            "models": {"fake": {"name": "fake", "tool_call": true, "cost": {"input": 3, "output": 15}, "limit": {"context": 128000, "output": 8192}}}
        }}
    });
    std::fs::write(dir.join("opencode.json"), serde_json::to_string_pretty(&config).unwrap()).unwrap();
    let plugin = Path::new(env!("CARGO_MANIFEST_DIR")).join("integrations/opencode/ocd.ts");
    std::fs::copy(plugin, dir.join(".opencode/plugins/ocd.ts")).unwrap();
    let git = std::process::Command::new("git").args(["init", "-q"]).current_dir(&dir).status().unwrap();
    assert!(git.success());
    dir
}

/// `opencode` in `dir`, isolated: its own home, no network but 127.0.0.1, reporting to `url`.
fn isolated(bin: &Path, dir: &Path, url: &str, key: &str) -> tokio::process::Command {
    let home = dir.parent().unwrap().join("home");
    let mut cmd = tokio::process::Command::new(bin);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("npm_config_registry", "http://127.0.0.1:9/")
        .env("npm_config_fetch_retries", "0")
        .env("npm_config_fetch_timeout", "2000")
        .env("OPENCODE_DISABLE_AUTOUPDATE", "1")
        .env("OPENCODE_DISABLE_MODELS_FETCH", "1")
        .env("OPENCODE_DISABLE_SHARE", "1")
        .env("OPENCODE_DISABLE_LSP_DOWNLOAD", "1")
        .env("OPENCODE_DISABLE_DEFAULT_PLUGINS", "1")
        .env("OCD_URL", url)
        .env("OCD_API_KEY", key)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// `opencode run` of `prompt` in `dir` (it answers every permission request itself: it rejects them).
fn run(bin: &Path, dir: &Path, url: &str, key: &str, prompt: &str) -> tokio::process::Command {
    let mut cmd = isolated(bin, dir, url, key);
    cmd.args(["run", "--model", "fake/fake", prompt]);
    cmd
}

async fn finish(cmd: &mut tokio::process::Command, limit: Duration) -> std::process::Output {
    tokio::time::timeout(limit, cmd.output()).await.expect("opencode finished in time").expect("opencode ran")
}

async fn agents(app: &TestApp) -> Vec<Value> {
    app.get("/api/agents").await.body["agents"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_opencode_run_shows_up_in_ocd() {
    let Some(bin) = opencode() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let model = FakeModel::start().await;
    let dir = workspace(&model, "billing-e2e");
    let out = finish(&mut run(&bin, &dir, &app.base, &app.key, "Plan the work with todos then delegate"), Duration::from_secs(120)).await;
    let log = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));

    let all = agents(&app).await;
    let main: Vec<&Value> = all.iter().filter(|a| a["type"] == "primary").collect();
    let subs: Vec<&Value> = all.iter().filter(|a| a["type"] == "sub-agent").collect();
    assert_eq!((main.len(), subs.len()), (1, 1), "the session and its sub-agent: {all:?}\n{log}");
    let main_id = main[0]["id"].as_str().unwrap();
    assert_eq!(subs[0]["parent_agent_id"], main_id);
    assert!(all.iter().all(|a| a["status"] == "idle"), "every agent idle at the end: {all:?}");
    assert_eq!(main[0]["project_id"], "billing-e2e");
    let detail = app.get(&format!("/api/agents/{main_id}")).await.body;
    assert!(detail["agent"]["totals"]["tokens_in"].as_i64().unwrap() > 0, "{detail}");
    assert!(detail["agent"]["totals"]["cost_usd"].as_f64().unwrap() > 0.0, "{detail}");

    let session = main_id.strip_prefix("opencode-").unwrap();
    assert_eq!(
        app.session_todos(session).await,
        ["Delegate to sub-agent: completed", "Inspect repo: completed", "Summarize: cancelled"],
        "the final list, no duplicates"
    );

    let timeline = app.get(&format!("/api/agents/{main_id}/activity")).await.body;
    assert!(timeline.to_string().contains("scripted failure"), "the model's error on the timeline: {timeline}");
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_from_ocd_aborts_a_running_opencode() {
    let Some(bin) = opencode() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let model = FakeModel::start().await;
    let dir = workspace(&model, "long-run");
    let mut child = run(&bin, &dir, &app.base, &app.key, "LONGRUN: write a long essay").spawn().expect("start opencode");
    // Wait for the session to be working in ocd (the plugin's first batches), at most 60 s.
    let started = Instant::now();
    let agent = loop {
        let working = agents(&app).await.into_iter().find(|a| a["type"] == "primary" && a["status"] == "working");
        if let Some(a) = working {
            break a["id"].as_str().unwrap().to_string();
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the session never showed up working");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let r = app.post(&format!("/api/agents/{agent}/commands"), json!({"kind": "stop"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let command = r.body["command"]["id"].as_str().unwrap().to_string();
    let status = tokio::time::timeout(Duration::from_secs(40), child.wait()).await.expect("opencode stopped before the answer ended");
    assert!(status.is_ok());
    let acknowledged = app.get(&format!("/api/agents/{agent}/commands?status=acknowledged")).await.body;
    assert!(acknowledged.to_string().contains(&command), "the plugin acknowledged the stop: {acknowledged}");
    assert_eq!(app.count("alert_events WHERE kind = 'error'").await, 0, "a stopped session is not an error");
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opencode_runs_the_same_when_ocd_never_answers() {
    let Some(bin) = opencode() else { return };
    // A port that accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let model = FakeModel::start().await;
    let dir = workspace(&model, "offline");
    let out = finish(&mut run(&bin, &dir, &url, "any-key", "SUBAGENT: say hi"), Duration::from_secs(60)).await;
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("hi from the sub-agent"));
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

/// `ocd install opencode --project P` as it leaves a repository: no settings in the
/// environment, the repository's `.ocd/client.json` with a key scoped to P, and the plugin
/// installed for the user as well as in the repository. The run reports into P. (Measured
/// once: with both copies running, the run made 10–12 ingest requests instead of 5; the
/// plugin's guard keeps it to one copy.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_install_reports_into_its_project() {
    let Some(bin) = opencode() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.post("/api/settings/projects", json!({"id": "payments", "name": "Payments"})).await;
    let key = app.scoped_key("payments").await;
    let model = FakeModel::start().await;
    let dir = workspace(&model, "payments-service");
    let client = json!({"url": app.base, "key": key, "project": "payments"});
    std::fs::create_dir_all(dir.join(".ocd")).unwrap();
    std::fs::write(dir.join(".ocd/client.json"), client.to_string()).unwrap();
    let user_plugins = dir.parent().unwrap().join("home/.config/opencode/plugins");
    std::fs::create_dir_all(&user_plugins).unwrap();
    std::fs::copy(dir.join(".opencode/plugins/ocd.ts"), user_plugins.join("ocd.ts")).unwrap();
    // Empty settings in the environment count as none.
    let out = finish(&mut run(&bin, &dir, "", "", "Plan the work with todos then delegate"), Duration::from_secs(120)).await;
    let log = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let all = agents(&app).await;
    assert!(all.len() >= 2 && all.iter().all(|a| a["project_id"] == "payments"), "in the key's project: {all:?}\n{log}");
    let metrics = app.metrics().await;
    let refused: Vec<&str> = metrics.lines().filter(|l| l.contains("/api/ingest/opencode") && l.contains("status=\"4")).collect();
    assert!(refused.is_empty(), "{refused:?}");
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

/// `opencode serve` (what the TUI and the IDE extensions drive) keeps a permission request
/// waiting for an answer; `opencode run` rejects every one at once. The request shows in ocd as
/// an approval; a decision there reaches opencode through the plugin's `permission` command;
/// an answer given at opencode first marks it answered elsewhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permission_request_is_answered_from_ocd() {
    let Some(bin) = opencode() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let model = FakeModel::start().await;
    let dir = workspace(&model, "approvals-e2e");
    let config_path = dir.join("opencode.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    config["permission"] = json!({"bash": "ask"});
    std::fs::write(&config_path, config.to_string()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut serve = isolated(&bin, &dir, &app.base, &app.key);
    serve.args(["serve", "--hostname", "127.0.0.1", "--port", &port.to_string()]);
    // Nobody reads its output: a full pipe would stall it.
    serve.stdout(Stdio::null()).stderr(Stdio::null());
    let _server = serve.spawn().expect("start opencode serve");
    let opencode_url = format!("http://127.0.0.1:{port}");
    let client = crate::harness::client();
    let directory = crate::harness::form_body(&json!({"directory": dir.to_str().unwrap()}));
    let started = Instant::now();
    // The first request of a directory waits for opencode to set it up: asked again until it answers.
    let ready = format!("{opencode_url}/session?{directory}");
    while client.get(&ready).timeout(Duration::from_secs(5)).send().await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(60), "opencode serve never answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let marker = dir.join("approved-marker.txt");

    // Starts a session that asks to run bash; returns its agent and the approval ocd shows.
    let ask = || async {
        let session: Value = client
            .post(format!("{opencode_url}/session?{directory}"))
            .json(&json!({"title": "approvals"}))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let sid = session["id"].as_str().unwrap().to_string();
        let prompt = json!({"model": {"providerID": "fake", "modelID": "fake"}, "parts": [{"type": "text", "text": "RUNBASH"}]});
        let r = client.post(format!("{opencode_url}/session/{sid}/prompt_async?{directory}")).json(&prompt).send().await.unwrap();
        assert!(r.status().is_success());
        let agent = format!("opencode-{sid}");
        let started = Instant::now();
        loop {
            let list = app.get(&format!("/api/approvals?status=pending&agent={agent}")).await.body;
            if let Some(a) = list["approvals"].as_array().and_then(|l| l.first()) {
                return (agent, a["id"].as_str().unwrap().to_string(), a["request_id"].as_str().unwrap().to_string());
            }
            assert!(started.elapsed() < Duration::from_secs(60), "the permission request never reached ocd");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let until = |agent: String, what: &'static str, check: fn(&Value) -> bool, path: String| {
        let app = &app;
        async move {
            let started = Instant::now();
            loop {
                let body = app.get(&path).await.body;
                if check(&body) {
                    return body;
                }
                assert!(started.elapsed() < Duration::from_secs(60), "{agent}: never {what}: {body}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };

    // Approved from the approvals page (its form, as a signed-in admin): the tool runs.
    let mut admin = crate::auth_helpers::signed_in(&app, ocd::domain::roles::Role::Admin).await;
    let (agent, id, _) = ask().await;
    assert!(!marker.exists(), "nothing ran before the answer");
    let r = admin.form(&format!("/approvals/{id}"), &[("decision", "once"), ("back", "/approvals")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let acked = format!("/api/agents/{agent}/commands?status=acknowledged");
    until(agent.clone(), "acknowledged the permission", |b| b["commands"].as_array().is_some_and(|c| !c.is_empty()), acked).await;
    let started = Instant::now();
    while !marker.exists() {
        assert!(started.elapsed() < Duration::from_secs(30), "the approved command never ran");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    std::fs::remove_file(&marker).unwrap();

    // Approved from a phone: the ntfy notification's Approve button posts its decision link.
    let ntfy = crate::fake_receiver::FakeReceiver::start().await;
    let channel = json!({"type": "ntfy", "name": "phone", "config": {"server": ntfy.url, "topic": "ocd"}});
    let mut owner = crate::auth_helpers::signed_in(&app, ocd::domain::roles::Role::Owner).await;
    assert_eq!(owner.go(reqwest::Method::POST, "/api/settings/channels", Some(&channel)).await.status, StatusCode::CREATED);
    let (_, id, _) = ask().await;
    app.alerts().await;
    let note = ntfy.received_at("/").last().expect("the phone was notified").json();
    let approve = note["actions"].as_array().unwrap().iter().find(|a| a["label"] == "Approve").unwrap().clone();
    let pressed = client
        .post(approve["url"].as_str().unwrap())
        .header("content-type", approve["headers"]["Content-Type"].as_str().unwrap())
        .body(approve["body"].as_str().unwrap().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(pressed.status(), StatusCode::OK);
    assert_eq!(app.get(&format!("/api/approvals/{id}")).await.body["approval"]["status"], "approved");
    let started = Instant::now();
    while !marker.exists() {
        assert!(started.elapsed() < Duration::from_secs(30), "the command approved from the phone never ran");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    std::fs::remove_file(&marker).unwrap();

    // Rejected in ocd with a message: the tool does not run, opencode hands the model the
    // person's reason, and the session ends its turn.
    let (agent, id, _) = ask().await;
    app.post(&format!("/api/approvals/{id}/decision"), json!({"decision": "reject", "message": "not on staging today"})).await;
    until(agent.clone(), "went idle", |b| b["agent"]["status"] == "idle", format!("/api/agents/{agent}")).await;
    assert!(!marker.exists(), "a rejected command never runs");
    let sid = agent.strip_prefix("opencode-").unwrap();
    let messages = client.get(format!("{opencode_url}/session/{sid}/message?{directory}")).send().await.unwrap().text().await.unwrap();
    assert!(messages.contains("not on staging today"), "the model was told why: {messages}");

    // Answered at opencode first (standing in for its terminal): ocd shows it answered elsewhere.
    let (agent, id, request) = ask().await;
    let r = client
        .post(format!("{opencode_url}/permission/{request}/reply?{directory}"))
        .json(&json!({"reply": "reject"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let path = format!("/api/approvals/{id}");
    let body = until(agent, "answered elsewhere", |b| b["approval"]["status"] == "answered_elsewhere", path).await;
    assert_eq!(body["approval"]["decision"], "reject");
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

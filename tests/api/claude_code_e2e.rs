//! The real Claude Code CLI (@anthropic-ai/claude-code 2.1.197 from npm,
//! `scripts/install-claude-code`) with ocd's ready-made settings (integrations/claude-code/):
//! its `http` hooks, the SessionStart command hook (`ocd hook claude-code`) and its
//! OpenTelemetry export all point at the ocd under test; the model is the scripted fake.
//! Without the binary this test says so and passes, except under CI=true, where it fails.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};

use crate::fake_anthropic::FakeAnthropic;
use crate::harness::{Backend, TestApp};

fn claude() -> Option<PathBuf> {
    let bin = std::env::var_os("OCD_E2E_CLAUDE").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        home.join(".cache/ocd-e2e/claude-code-2.1.197/node_modules/.bin/claude")
    });
    if bin.exists() {
        return Some(bin);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true and no Claude Code at {}: run scripts/install-claude-code",
        bin.display()
    );
    eprintln!("skipped: no Claude Code at {} (scripts/install-claude-code installs it)", bin.display());
    None
}

/// A git repository named `name` whose `.claude/settings.json` is ocd's, pointed at `base`.
fn repository(name: &str, base: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("ocd-cc-e2e-{}", ocd::crypto::random_hex(6)));
    let repo = root.join(name);
    std::fs::create_dir_all(repo.join(".claude")).unwrap();
    std::fs::create_dir_all(root.join("home")).unwrap();
    let ready = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("integrations/claude-code/settings.json")).unwrap();
    let settings = ready
        .replace("http://127.0.0.1:3000", base)
        .replace("\"ocd hook claude-code\"", &format!("\"{} hook claude-code\"", env!("CARGO_BIN_EXE_ocd")));
    std::fs::write(repo.join(".claude/settings.json"), settings).unwrap();
    assert!(std::process::Command::new("git").args(["init", "-q"]).current_dir(&repo).status().unwrap().success());
    repo
}

/// `claude` in `repo`, isolated: its own home, the scripted model, no network but 127.0.0.1,
/// its hooks reporting to `app`.
fn claude_in(bin: &Path, repo: &Path, model: &FakeAnthropic, app: &TestApp) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(bin);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", repo.parent().unwrap().join("home"))
        .env("IS_SANDBOX", "1")
        .env("ANTHROPIC_BASE_URL", &model.url)
        .env("ANTHROPIC_API_KEY", "sk-ant-fake")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("OCD_URL", &app.base)
        .env("OCD_API_KEY", &app.key);
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_claude_code_session_shows_up_in_ocd() {
    let Some(bin) = claude() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let model = FakeAnthropic::start().await;
    let repo = repository("shop-e2e", &app.base);
    let run = claude_in(&bin, &repo, &model, &app)
        .env("CLAUDE_CODE_ENABLE_TELEMETRY", "1")
        .env("OTEL_METRICS_EXPORTER", "otlp")
        .env("OTEL_LOGS_EXPORTER", "otlp")
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("{}/api/ingest/otlp", app.base))
        .env("OTEL_EXPORTER_OTLP_HEADERS", format!("Authorization=Bearer {}", app.key))
        .env("OTEL_METRIC_EXPORT_INTERVAL", "1000")
        .env("OTEL_LOGS_EXPORT_INTERVAL", "1000")
        .args(["-p", "E2E: please check the callers", "--output-format", "stream-json", "--verbose", "--dangerously-skip-permissions"])
        .current_dir(&repo)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), run).await.expect("claude finished in time").expect("claude ran");
    let log = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);

    let agents: Vec<Value> = app.get("/api/agents").await.body["agents"].as_array().cloned().unwrap_or_default();
    let main: Vec<&Value> = agents.iter().filter(|a| a["type"] == "primary").collect();
    let subs: Vec<&Value> = agents.iter().filter(|a| a["type"] == "sub-agent").collect();
    assert_eq!((main.len(), subs.len()), (1, 1), "{agents:?}\n{log}");
    let main_id = main[0]["id"].as_str().unwrap();
    assert!(main_id.starts_with("claude-code-"));
    assert_eq!(subs[0]["parent_agent_id"], main_id);
    assert_eq!(main[0]["project_id"], "shop-e2e");

    let timeline = app.get(&format!("/api/agents/{main_id}/activity?limit=500")).await.body;
    let text = timeline.to_string();
    assert!(text.contains("Bash failed: Exit code 2"), "the failing command: {text}");
    assert!(text.contains("E2E: please check the callers"), "the prompt");
    let sub_id = subs[0]["id"].as_str().unwrap();
    let sub_text = app.get(&format!("/api/agents/{sub_id}/activity")).await.body.to_string();
    assert!(sub_text.contains("Bash: Print sub"), "the sub-agent's tool call: {sub_text}");

    // Tokens and cost come from the telemetry, once: the input tokens are 100 per model call.
    let detail = app.get(&format!("/api/agents/{main_id}")).await.body;
    let calls = timeline["activity"].as_array().unwrap().iter().filter(|a| a["kind"] == "model").count() as i64;
    assert!(calls > 0, "api_request logs on the timeline: {text}");
    assert_eq!(detail["agent"]["tokens_in"].as_i64(), Some(100 * calls), "{detail}");
    assert!(detail["agent"]["cost_usd"].as_f64().unwrap() > 0.0);
    let _ = std::fs::remove_dir_all(repo.parent().unwrap());
}

/// Claude Code in SDK mode (`--permission-prompt-tool stdio`, where it runs PermissionRequest
/// hooks; plain `-p` never does) with ocd's settings and the default permission mode: the Bash
/// call asks. Returns the process, its output lines, and a way to answer its own permission
/// request (standing in for the terminal).
struct SdkRun {
    child: tokio::process::Child,
    stdin: Option<tokio::process::ChildStdin>,
    lines: tokio::sync::mpsc::UnboundedReceiver<Value>,
}

impl SdkRun {
    fn start(bin: &Path, repo: &Path, model: &FakeAnthropic, app: &TestApp) -> SdkRun {
        use tokio::io::AsyncBufReadExt;
        let mut child = claude_in(bin, repo, model, app)
            .args([
                "-p",
                "--input-format",
                "stream-json",
                "--output-format",
                "stream-json",
                "--verbose",
                "--permission-prompt-tool",
                "stdio",
            ])
            .current_dir(repo)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start claude");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = tokio::io::BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        SdkRun { stdin: child.stdin.take(), child, lines }
    }

    async fn say(&mut self, value: Value) {
        use tokio::io::AsyncWriteExt;
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(format!("{value}\n").as_bytes()).await.unwrap();
        stdin.flush().await.unwrap();
    }

    async fn prompt(&mut self, text: &str) {
        self.say(json!({"type": "user", "message": {"role": "user", "content": text}, "parent_tool_use_id": null, "session_id": ""})).await;
    }

    /// The next output line `wanted` picks, within two minutes.
    async fn next(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let found = tokio::time::timeout(Duration::from_secs(120), async {
            while let Some(line) = self.lines.recv().await {
                if wanted(&line) {
                    return Some(line);
                }
            }
            None
        })
        .await;
        found.ok().flatten().unwrap_or_else(|| panic!("claude never printed {what}"))
    }

    /// Waits for the turn's result, then ends the session.
    async fn finish(mut self) -> Value {
        let result = self.next("its result", |l| l["type"] == "result").await;
        self.stdin.take();
        let _ = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await;
        result
    }
}

/// The approval of the run's PermissionRequest once ocd shows it.
async fn asked(app: &TestApp) -> Value {
    let started = std::time::Instant::now();
    loop {
        let list = app.get("/api/approvals?status=pending").await.body;
        if let Some(a) = list["approvals"].as_array().and_then(|l| l.first()) {
            return a.clone();
        }
        assert!(started.elapsed() < Duration::from_secs(90), "the PermissionRequest never reached ocd");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_code_permission_requests_wait_for_ocd() {
    let Some(bin) = claude() else { return };
    let model = FakeAnthropic::start().await;
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();

    // Approved in ocd: the command runs.
    let repo = repository("approve-e2e", &app.base);
    let mut run = SdkRun::start(&bin, &repo, &model, &app);
    run.prompt("E2E PERMISSION: please touch the marker").await;
    let approval = asked(&app).await;
    assert_eq!(approval["tool"], "claude-code");
    assert!(approval["summary"].as_str().unwrap().contains("touch ocd_approved.txt"), "{approval}");
    let id = approval["id"].as_str().unwrap();
    assert_eq!(app.post(&format!("/api/approvals/{id}/decision"), json!({"decision": "once"})).await.status, reqwest::StatusCode::OK);
    let result = run.finish().await;
    assert!(repo.join("ocd_approved.txt").exists(), "the approved command ran: {result}");

    // Rejected in ocd: it does not, and Claude Code is told why.
    let repo = repository("reject-e2e", &app.base);
    let mut run = SdkRun::start(&bin, &repo, &model, &app);
    run.prompt("E2E PERMISSION: please touch the marker").await;
    let id = asked(&app).await["id"].as_str().unwrap().to_string();
    app.post(&format!("/api/approvals/{id}/decision"), json!({"decision": "reject", "message": "not today"})).await;
    let result = run.finish().await;
    assert!(!repo.join("ocd_approved.txt").exists(), "a rejected command never runs: {result}");
    assert!(result["permission_denials"].to_string().contains("touch ocd_approved.txt"), "{result}");

    // Nobody answers in ocd: after APPROVAL_WAIT_SECONDS the hook answers with no decision and
    // Claude Code's own prompt (the SDK host, standing in for the terminal) decides.
    let short = TestApp::spawn_with(Backend::Sqlite, |c| c.approval_wait_seconds = 2).await.unwrap();
    let repo = repository("fallback-e2e", &short.base);
    let mut run = SdkRun::start(&bin, &repo, &model, &short);
    run.prompt("E2E PERMISSION: please touch the marker").await;
    let request = run.next("its own permission request", |l| l["type"] == "control_request").await;
    let id = asked(&short).await["id"].as_str().unwrap().to_string();
    let started = std::time::Instant::now();
    while short.get(&format!("/api/approvals/{id}")).await.body["approval"]["status"] != "expired" {
        assert!(started.elapsed() < Duration::from_secs(30), "the held request never fell back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!repo.join("ocd_approved.txt").exists(), "nothing ran on ocd's silence");
    let input = request["request"]["input"].clone();
    let answer = json!({"type": "control_response", "response": {"subtype": "success", "request_id": request["request_id"],
        "response": {"behavior": "allow", "updatedInput": input}}});
    run.say(answer).await;
    let result = run.finish().await;
    assert!(repo.join("ocd_approved.txt").exists(), "the terminal's answer decided: {result}");
    let _ = std::fs::remove_dir_all(repo.parent().unwrap());
}

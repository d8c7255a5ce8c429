//! The real Claude Code CLI (@anthropic-ai/claude-code 2.1.197 from npm,
//! `scripts/install-claude-code`) with ocd's ready-made settings (integrations/claude-code/):
//! its `http` hooks, the SessionStart command hook (`ocd hook claude-code`) and its
//! OpenTelemetry export all point at the ocd under test; the model is the scripted fake.
//! Without the binary this test says so and passes, except under CI=true, where it fails.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_claude_code_session_shows_up_in_ocd() {
    let Some(bin) = claude() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let model = FakeAnthropic::start().await;
    let repo = repository("shop-e2e", &app.base);
    let home = repo.parent().unwrap().join("home");
    let run = tokio::process::Command::new(&bin)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("IS_SANDBOX", "1")
        .env("ANTHROPIC_BASE_URL", &model.url)
        .env("ANTHROPIC_API_KEY", "sk-ant-fake")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("OCD_URL", &app.base)
        .env("OCD_API_KEY", &app.key)
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

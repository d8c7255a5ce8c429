//! `ocd hook claude-code|codex [PAYLOAD]`: a command hook. Reads the payload (the last
//! argument — Codex's `notify` passes it so — or stdin), posts it to ocd's ingest route and
//! exits 0 within about two seconds whatever happens: a hook must never hold up or break the
//! agent. It prints nothing on stdout (no decision: the agent goes on as without ocd);
//! problems go to stderr. A `PermissionRequest` is the exception: ocd holds it until a person
//! decides (at most `APPROVAL_WAIT_SECONDS`), and the decision ocd answers is printed on stdout
//! for the agent (docs/decisions.md#approvals); no decision prints nothing.

use std::io::Read;
use std::time::Duration;

/// The most a payload may be (a hook's stdin is a JSON object, far smaller).
const PAYLOAD_LIMIT: u64 = 1 << 20;
/// Everything — reading, connecting, sending, the answer — within this.
const DEADLINE: Duration = Duration::from_millis(1800);
/// A permission request waits for a person: ocd answers within its APPROVAL_WAIT_SECONDS; the
/// agent's own hook timeout (330 s in the ready-made settings) bounds it as well.
const PERMISSION_DEADLINE: Duration = Duration::from_secs(3600);

/// The tools `ocd hook` posts for, and their ingest routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HookTool {
    ClaudeCode,
    Codex,
}

impl HookTool {
    fn route(self) -> &'static str {
        match self {
            HookTool::ClaudeCode => "/api/ingest/claude-code",
            HookTool::Codex => "/api/ingest/codex",
        }
    }
}

/// `ocd hook TOOL [PAYLOAD]` from its arguments (after `hook`).
pub async fn run_from_args(args: Vec<String>) {
    let tool = match args.first().map(|a| <HookTool as clap::ValueEnum>::from_str(a, false)) {
        Some(Ok(tool)) => tool,
        other => {
            let _ = other;
            eprintln!("ocd hook: name the agent: `ocd hook claude-code` or `ocd hook codex` (got {:?})", args.first());
            return;
        }
    };
    run(tool, args.get(1).cloned()).await;
}

/// Runs the hook; every failure is reported on stderr and the exit stays 0. A decision ocd
/// answered is printed on stdout.
pub async fn run(tool: HookTool, argument: Option<String>) {
    let started = std::time::Instant::now();
    let payload = match read_payload(argument).await {
        Ok(payload) => payload,
        Err(e) => return eprintln!("ocd hook: {e}"),
    };
    let is_permission = payload.get("hook_event_name").and_then(serde_json::Value::as_str) == Some("PermissionRequest");
    // Reading the payload counts toward the deadline.
    let deadline = if is_permission { PERMISSION_DEADLINE } else { DEADLINE }.saturating_sub(started.elapsed());
    match tokio::time::timeout(deadline, forward(tool, payload)).await {
        Ok(Ok(answer)) => {
            if answer.get("hookSpecificOutput").is_some() {
                println!("{answer}");
            }
        }
        Ok(Err(e)) => eprintln!("ocd hook: {e}"),
        Err(_) => eprintln!("ocd hook: ocd did not answer in time; the event was dropped"),
    }
}

/// The payload: the argument, else stdin (within PAYLOAD_LIMIT), as JSON.
async fn read_payload(argument: Option<String>) -> Result<serde_json::Value, String> {
    let read = async {
        match argument {
            Some(payload) => Ok(payload),
            None => tokio::task::spawn_blocking(|| {
                let mut text = String::new();
                std::io::stdin().take(PAYLOAD_LIMIT).read_to_string(&mut text).map(|_| text)
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("cannot read the payload: {e}")),
        }
    };
    let payload = tokio::time::timeout(DEADLINE, read).await.map_err(|_| "the payload did not arrive in time".to_string())??;
    serde_json::from_str(payload.trim()).map_err(|e| format!("the payload is not JSON: {e}"))
}

/// Posts the payload; returns ocd's answer (`{}` unless it holds a decision).
async fn forward(tool: HookTool, body: serde_json::Value) -> Result<serde_json::Value, String> {
    // The agent's working directory decides which repository's settings apply.
    let dir = body.get("cwd").and_then(serde_json::Value::as_str).map(std::path::PathBuf::from).or_else(|| std::env::current_dir().ok());
    let settings = super::settings(dir.as_deref()).ok_or("not configured: set OCD_URL and OCD_API_KEY, or run `ocd install`")?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder().build().map_err(|e| e.to_string())?;
    let mut url = format!("{}{}", settings.url, tool.route());
    if let Some(project) = &settings.project {
        url = format!("{url}?project={}", crate::percent::encode(project));
    }
    let answer = client
        .post(url)
        .bearer_auth(&settings.key)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("ocd unreachable: {}", e.without_url()))?;
    if !answer.status().is_success() {
        return Err(format!("ocd answered {}", answer.status()));
    }
    answer.json().await.map_err(|e| format!("ocd's answer is not JSON: {}", e.without_url()))
}

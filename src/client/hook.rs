//! `ocd hook claude-code|codex [PAYLOAD]`: a command hook. Reads the payload (the last
//! argument — Codex's `notify` passes it so — or stdin), posts it to ocd's ingest route and
//! exits 0 within about two seconds whatever happens: a hook must never hold up or break the
//! agent. It prints nothing on stdout (no decision: the agent goes on as without ocd);
//! problems go to stderr.

use std::io::Read;
use std::time::Duration;

/// The most a payload may be (a hook's stdin is a JSON object, far smaller).
const PAYLOAD_LIMIT: u64 = 1 << 20;
/// Everything — reading, connecting, sending, the answer — within this.
const DEADLINE: Duration = Duration::from_millis(1800);

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

/// Runs the hook; every failure is reported on stderr and the exit stays 0.
pub async fn run(tool: HookTool, argument: Option<String>) {
    match tokio::time::timeout(DEADLINE, forward(tool, argument)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("ocd hook: {e}"),
        Err(_) => eprintln!("ocd hook: ocd did not answer in time; the event was dropped"),
    }
}

async fn forward(tool: HookTool, argument: Option<String>) -> Result<(), String> {
    let payload = match argument {
        Some(payload) => payload,
        None => tokio::task::spawn_blocking(|| {
            let mut text = String::new();
            std::io::stdin().take(PAYLOAD_LIMIT).read_to_string(&mut text).map(|_| text)
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot read the payload: {e}"))?,
    };
    let body: serde_json::Value = serde_json::from_str(payload.trim()).map_err(|e| format!("the payload is not JSON: {e}"))?;
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
    Ok(())
}

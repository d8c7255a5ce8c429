//! The real `ocd` binary: first start, JSON logs without secrets, graceful shutdown.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `ocd` on a free port with a fresh data dir; returns the child and its first
/// stdout lines (URL and key).
fn start(data_dir: &std::path::Path, extra_env: &[(&str, &str)]) -> (std::process::Child, Vec<String>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ocd"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATA_DIR", data_dir)
        .env("PORT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn ocd");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    // Read up to the API key line (and the key itself when it was just generated).
    let mut lines: Vec<String> = Vec::new();
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let line = line.trim_end().to_string();
        let generated = line.starts_with("API key (generated");
        let done = line.starts_with("API key") && !generated;
        let after_generated = lines.last().is_some_and(|l| l.starts_with("API key (generated"));
        lines.push(line);
        if done || after_generated {
            break;
        }
    }
    (child, lines)
}

fn temp_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("ocd-proc-{}", ocd::crypto::random_hex(6)))
}

#[tokio::test]
async fn first_start_prints_url_and_key_logs_json_and_stops_on_sigterm() {
    let dir = temp_dir();
    let (mut child, lines) = start(&dir, &[("LOG_FORMAT", "json")]);
    let url = lines[0].strip_prefix("ocd is running at ").expect("URL line").trim_end_matches('/').to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{lines:?}");
    let key = lines
        .iter()
        .position(|l| l.starts_with("API key (generated"))
        .map(|i| lines[i + 1].trim().to_string())
        .expect("generated key printed");
    assert_eq!(std::fs::read_to_string(dir.join("api.key")).unwrap().trim(), key);

    let client = reqwest::Client::new();
    let health = client.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let write = client
        .post(format!("{url}/api/messages/create"))
        .bearer_auth(&key)
        .body(r#"{"type":"custom","content":"secret-text-42"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 201);
    let refused = client.get(format!("{url}/api/todos")).bearer_auth("wrong-key-value-9").send().await.unwrap();
    assert_eq!(refused.status(), 401);

    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "ocd did not stop after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "exit status {status}");
    let mut logs = String::new();
    child.stderr.take().unwrap().read_to_string(&mut logs).unwrap();
    assert!(!logs.is_empty());
    for line in logs.lines() {
        let parsed: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(parsed.get("level").is_some());
    }
    for secret in [key.as_str(), "secret-text-42", "wrong-key-value-9"] {
        assert!(!logs.contains(secret), "a secret reached the log");
    }
    // The second start reuses the stored key and does not print it again.
    let (mut again, lines) = start(&dir, &[]);
    assert!(lines.iter().all(|l| !l.contains(&key)), "{lines:?}");
    let _ = again.kill();
    let _ = again.wait();
    let _ = std::fs::remove_dir_all(dir);
}

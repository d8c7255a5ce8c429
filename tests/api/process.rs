//! The real `ocd` binary: first start, JSON logs without secrets, graceful shutdown.

use std::io::Read;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::procs::{OcdProcess, temp_dir};

#[tokio::test]
async fn first_start_prints_url_and_key_logs_json_and_stops_on_sigterm() {
    let dir = temp_dir();
    let mut ocd = OcdProcess::start(&dir, &[("LOG_FORMAT", "json")]);
    let lines = ocd.banner.clone();
    let url = ocd.base.clone();
    assert!(url.starts_with("http://127.0.0.1:"), "{lines:?}");
    let key = lines
        .iter()
        .position(|l| l.starts_with("API key (generated"))
        .map(|i| lines[i + 1].trim().to_string())
        .expect("generated key printed");
    assert_eq!(std::fs::read_to_string(dir.join("api.key")).unwrap().trim(), key);

    let client = crate::harness::client();
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

    let pid = ocd.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = ocd.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "ocd did not stop after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "exit status {status}");
    let mut logs = String::new();
    ocd.stderr.take().unwrap().read_to_string(&mut logs).unwrap();
    assert!(!logs.is_empty());
    for line in logs.lines() {
        let parsed: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(parsed.get("level").is_some());
    }
    for secret in [key.as_str(), "secret-text-42", "wrong-key-value-9"] {
        assert!(!logs.contains(secret), "a secret reached the log");
    }
    // The second start reuses the stored key and does not print it again.
    let again = OcdProcess::start(&dir, &[]);
    assert!(again.banner.iter().all(|l| !l.contains(&key)), "{:?}", again.banner);
    drop(again);
    let _ = std::fs::remove_dir_all(dir);
}

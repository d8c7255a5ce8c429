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
    assert!(ocd.read_line().starts_with("Claim ocd as its owner"));
    let setup_link = ocd.read_line().trim().to_string();
    let setup_token = setup_link.rsplit('/').next().unwrap().to_string();

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
    // Using the setup link signs in; the session token must not reach the log either.
    let signed_in = client.post(&setup_link).send().await.unwrap();
    let cookie = signed_in.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    let session = cookie.split(';').next().unwrap().trim_start_matches("ocd_session=").to_string();
    assert_eq!(session.len(), 64);
    let invite = client.post(format!("{url}/api/settings/invite/{setup_token}/accept")).send().await.unwrap();
    assert_eq!(invite.status(), 401);

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
    for secret in [key.as_str(), "secret-text-42", "wrong-key-value-9", setup_token.as_str(), session.as_str()] {
        assert!(!logs.contains(secret), "a secret reached the log");
    }
    // The second start reuses the stored key and does not print it again.
    let again = OcdProcess::start(&dir, &[]);
    assert!(again.banner.iter().all(|l| !l.contains(&key)), "{:?}", again.banner);
    drop(again);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_first_start_prints_a_setup_link_and_login_link_prints_more() {
    let dir = temp_dir();
    let mut ocd = OcdProcess::start(&dir, &[]);
    assert!(ocd.read_line().starts_with("Claim ocd as its owner"));
    let setup = ocd.read_line().trim().to_string();
    assert!(setup.starts_with(&format!("{}/api/auth/link/", ocd.base)), "{setup}");

    let client = crate::harness::client();
    let session = |r: &reqwest::Response| {
        let cookie = r.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        cookie.split(';').next().unwrap_or_default().to_string()
    };
    let verify = |cookie: String| {
        let client = client.clone();
        let url = format!("{}/api/auth/verify", ocd.base);
        async move { client.get(url).header("cookie", cookie).send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };
    let used = client.post(&setup).send().await.unwrap();
    assert_eq!(used.status(), 303);
    assert_eq!(verify(session(&used)).await["user"]["role"], "owner");

    // `ocd login-link` writes to the same database and prints a link the server accepts.
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_ocd"))
            .env_clear()
            .env("DATA_DIR", &dir)
            .arg("login-link")
            .args(args)
            .output()
            .expect("run ocd login-link");
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (ok, printed, _) = cli(&["--role", "viewer"]);
    assert!(ok);
    let path = printed.lines().next().unwrap().split("/api/auth/link/").nth(1).unwrap().to_string();
    let used = client.post(format!("{}/api/auth/link/{path}", ocd.base)).send().await.unwrap();
    assert_eq!(verify(session(&used)).await["user"]["role"], "viewer");
    let (ok, printed, _) = cli(&["--user", "owner"]);
    assert!(ok);
    let path = printed.lines().next().unwrap().split("/api/auth/link/").nth(1).unwrap().to_string();
    let used = client.post(format!("{}/api/auth/link/{path}", ocd.base)).send().await.unwrap();
    assert_eq!(verify(session(&used)).await["user"]["username"], "owner");
    let (ok, _, error) = cli(&["--user", "nobody"]);
    assert!(!ok);
    assert!(error.contains("no user named `nobody`"), "{error}");
    drop(ocd);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn backup_copies_a_running_database_consistently_and_the_copy_restores() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir();
    let ocd = OcdProcess::start(&dir, &[("DASHBOARD_API_KEY", "backup-test-key")]);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    // The database and its journal files are the owner's alone.
    assert_eq!(mode(&dir.join("ocd.db")), 0o600);
    let client = crate::harness::client();
    let base = ocd.base.clone();
    let write = move |i: usize| {
        let client = crate::harness::client();
        let url = format!("{base}/api/todos");
        async move {
            let body = serde_json::json!({"todos": [{"id": format!("a{i}"), "content": "x"}, {"id": format!("b{i}"), "content": "y"}]});
            client.put(url).bearer_auth("backup-test-key").body(body.to_string()).send().await.unwrap().status()
        }
    };
    for i in 0..20 {
        assert_eq!(write(i).await, 200);
    }
    // Writes keep coming while the copy is taken.
    let writer = tokio::spawn({
        let write = write.clone();
        async move {
            for i in 20..400 {
                assert_eq!(write(i).await, 200);
            }
        }
    });
    let copy = dir.join("copy.db");
    let out = Command::new(env!("CARGO_BIN_EXE_ocd")).env_clear().env("DATA_DIR", &dir).arg("backup").arg(&copy).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    writer.await.unwrap();
    assert_eq!(mode(&copy), 0o600);
    assert_eq!(mode(&dir.join("ocd.db-wal")), 0o600);
    // A second backup never overwrites a file.
    let again = Command::new(env!("CARGO_BIN_EXE_ocd")).env_clear().env("DATA_DIR", &dir).arg("backup").arg(&copy).output().unwrap();
    assert!(!again.status.success());
    drop(ocd);

    // Restored in a fresh data directory, the copy serves a whole, consistent state: every
    // batch is there entirely or not at all, and at least what was written before.
    let restored_dir = temp_dir();
    std::fs::create_dir_all(&restored_dir).unwrap();
    std::fs::copy(&copy, restored_dir.join("ocd.db")).unwrap();
    let restored = OcdProcess::start(&restored_dir, &[("DASHBOARD_API_KEY", "backup-test-key")]);
    let list: serde_json::Value =
        client.get(format!("{}/api/todos", restored.base)).bearer_auth("backup-test-key").send().await.unwrap().json().await.unwrap();
    let ids: std::collections::HashSet<String> =
        list["todos"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect();
    assert!(ids.len() >= 40 && ids.len().is_multiple_of(2), "{} todos", ids.len());
    for i in 0..400 {
        assert_eq!(ids.contains(&format!("a{i}")), ids.contains(&format!("b{i}")), "batch {i} is torn");
    }
    drop(restored);
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(restored_dir);
}

/// The CPU mask of each thread of `pid`, by thread name (Linux `/proc`).
fn thread_masks(pid: u32) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let dir = entry.unwrap().path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default().trim().to_string();
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        let mask = status.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:")).unwrap_or("").trim().to_string();
        out.push((name, mask));
    }
    out
}

/// docs/decisions.md#writer-core: the SQLite writer, which runs its statements itself
/// (decisions.md#writer-connection), has one core; nothing else is pinned; `WRITER_CPU=off` pins nothing.
#[tokio::test]
async fn the_sqlite_writer_runs_on_one_core() {
    let allowed = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:").map(|m| m.trim().to_string()))
        .unwrap();
    let single_core = !allowed.contains(['-', ',']);
    let ocd = OcdProcess::start(&temp_dir(), &[]);
    let masks = thread_masks(ocd.child.id());
    let pinned: Vec<&(String, String)> = masks.iter().filter(|(_, mask)| *mask != allowed).collect();
    if single_core {
        assert!(pinned.is_empty(), "one core: nothing to pin: {masks:?}");
        return;
    }
    let last = allowed.rsplit([',', '-']).next().unwrap().to_string();
    let names: Vec<&str> = pinned.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["ocd-writer"], "{masks:?}");
    assert!(pinned.iter().all(|(_, mask)| *mask == last), "{masks:?}");
    drop(ocd);

    let unpinned = OcdProcess::start(&temp_dir(), &[("WRITER_CPU", "off")]);
    let masks = thread_masks(unpinned.child.id());
    assert!(masks.iter().all(|(_, mask)| *mask == allowed), "{masks:?}");
}

/// `ocd login-link | head -1`: a reader that goes away does not make ocd fail (here the
/// reader is gone before ocd prints anything).
#[tokio::test]
async fn a_closed_stdout_is_not_a_failure() {
    let dir = temp_dir();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ocd"))
        .args(["login-link"])
        .env_clear()
        .env("DATA_DIR", &dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(status.success(), "{status}: {stderr}");
}

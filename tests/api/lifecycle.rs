//! Lifecycle rules over time, driven by the test clock and explicit scheduler ticks (decisions.md#injected-clock).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Backend, PgDatabase, TestApp};
use crate::procs::{OcdProcess, temp_dir};

crate::on_both_backends!(silence_blocks_a_working_agent, idle_too_long_and_stale_alert_once_per_episode);

async fn working_agent(app: &TestApp) {
    app.post("/api/agents", json!({"id": "a", "name": "agent"})).await;
    app.post("/api/agents/a/tasks", json!({"id": "t", "title": "Task", "status": "in_progress", "project_id": "p"})).await;
    app.post("/api/agents/a/heartbeat", json!({})).await;
}

async fn agent(app: &TestApp) -> serde_json::Value {
    app.get("/api/agents/a").await.body
}

async fn silence_blocks_a_working_agent(app: TestApp) {
    working_agent(&app).await;
    app.clock.advance_secs(4 * 60);
    app.tick().await;
    assert_eq!(agent(&app).await["agent"]["status"], "working", "4 minutes of silence is fine");
    // a heartbeat restarts the count
    app.post("/api/agents/a/heartbeat", json!({})).await;
    app.clock.advance_secs(4 * 60);
    app.tick().await;
    assert_eq!(agent(&app).await["agent"]["status"], "working");
    app.clock.advance_secs(2 * 60);
    app.tick().await;
    let a = agent(&app).await;
    assert_eq!(a["agent"]["status"], "blocked");
    assert_eq!(a["task_history"][0]["blocked_reason"], "[idle] Agent idle for 6 minutes with in_progress task");
    assert_eq!(app.count("alert_events WHERE kind = 'blocked'").await, 1);
    // ticking again changes nothing
    app.clock.advance_secs(60);
    app.tick().await;
    assert_eq!(app.count("alert_events").await, 1);
}

async fn idle_too_long_and_stale_alert_once_per_episode(app: TestApp) {
    app.post("/api/agents", json!({"id": "a", "name": "agent"})).await;
    app.post("/api/agents/a/tasks", json!({"id": "waiting", "title": "Waiting", "status": "pending"})).await;
    app.post("/api/agents/a/actions", json!({"action": "stop"})).await;
    app.patch("/api/agents/a", json!({"status": "idle"})).await;
    app.post("/api/agents/a/heartbeat", json!({})).await;
    app.clock.advance_secs(29 * 60);
    app.tick().await;
    assert_eq!(app.count("alert_events WHERE kind = 'idle_too_long'").await, 0);
    app.clock.advance_secs(2 * 60);
    app.tick().await;
    app.clock.advance_secs(10 * 60);
    app.tick().await;
    assert_eq!(app.count("alert_events WHERE kind = 'idle_too_long'").await, 1, "once per silence");

    app.post("/api/agents/a/tasks", json!({"id": "b", "title": "Blocked one", "status": "in_progress"})).await;
    app.post("/api/agents/a/block", json!({"taskId": "b", "source": "question", "reason": "which env?"})).await;
    app.clock.advance_secs(2 * 3600 + 1);
    app.tick().await;
    app.clock.advance_secs(3 * 3600);
    app.tick().await;
    assert_eq!(app.count("alert_events WHERE kind = 'stale_task'").await, 1, "once per blocked episode (decisions.md#silence)");
    // a new episode can go stale again
    app.post("/api/agents/a/actions", json!({"action": "unblock"})).await;
    app.post("/api/agents/a/block", json!({"taskId": "b", "source": "question", "reason": "again"})).await;
    app.clock.advance_secs(2 * 3600 + 1);
    app.tick().await;
    assert_eq!(app.count("alert_events WHERE kind = 'stale_task'").await, 2);
}

/// A call as the local owner (DISABLE_AUTH, no Authorization header).
async fn owner(app: &TestApp, method: Method, path: &str, body: serde_json::Value) -> crate::harness::Reply {
    app.request(method, path, Some(&body), None).await
}

async fn status(app: &TestApp, id: &str) -> serde_json::Value {
    app.request(Method::GET, &format!("/api/agents/{id}"), None, None).await.body["agent"]["status"].clone()
}

/// 2026-01-15 00:00 America/Los_Angeles (08:00 UTC).
const LA_MIDNIGHT: i64 = 1_768_464_000;

#[tokio::test]
async fn sleep_window_edges_across_midnight_and_dst() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.disable_auth = true).await.unwrap();
    let r = owner(&app, Method::PUT, "/api/settings/sleep-schedule", json!({"startHour": 22, "endHour": 6, "enabled": true})).await;
    assert_eq!(r.body["schedule"], json!({"startHour": 22, "endHour": 6, "timezone": "America/Los_Angeles", "enabled": true}));
    assert_eq!(
        owner(&app, Method::PUT, "/api/settings/sleep-schedule", json!({"startHour": 6})).await.status,
        StatusCode::BAD_REQUEST,
        "start = end (decisions.md#sleep-window)"
    );
    assert_eq!(
        owner(&app, Method::PUT, "/api/settings/sleep-schedule", json!({"timezone": "Mars/Base"})).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(owner(&app, Method::PUT, "/api/settings/sleep-schedule", json!({})).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(owner(&app, Method::PUT, "/api/settings/sleep-schedule", json!({"endHour": 24})).await.status, StatusCode::BAD_REQUEST);
    owner(&app, Method::POST, "/api/agents", json!({"id": "idle", "name": "idle"})).await;
    owner(&app, Method::POST, "/api/agents", json!({"id": "busy", "name": "busy"})).await;
    owner(&app, Method::POST, "/api/agents/busy/tasks", json!({"id": "q", "title": "queued", "status": "pending"})).await;

    app.clock.set_secs(LA_MIDNIGHT - 2 * 3600 - 60); // 21:59
    app.tick().await;
    assert_eq!(status(&app, "idle").await, "idle");
    app.clock.set_secs(LA_MIDNIGHT - 2 * 3600); // 22:00
    app.tick().await;
    assert_eq!(status(&app, "idle").await, "sleeping");
    assert_eq!(status(&app, "busy").await, "working", "an agent with pending work stays up");
    // manual sleep is not ended by the window
    owner(&app, Method::POST, "/api/agents", json!({"id": "manual", "name": "manual"})).await;
    owner(&app, Method::POST, "/api/agents/manual/actions", json!({"action": "sleep"})).await;
    app.clock.set_secs(LA_MIDNIGHT + 6 * 3600); // 06:00 the next day
    app.tick().await;
    assert_eq!(status(&app, "idle").await, "idle", "woken at the window's end");
    assert_eq!(status(&app, "manual").await, "sleeping");

    // Across the spring-forward night (2026-03-08, 02:00 PST -> 03:00 PDT) a 01:00–03:00
    // window lasts one real hour.
    owner(&app, Method::PUT, "/api/settings/sleep-schedule", json!({"startHour": 1, "endHour": 3})).await;
    let jump = 1_772_964_000; // 03:00 PDT
    app.clock.set_secs(jump - 3600); // 01:00 PST
    app.tick().await;
    assert_eq!(status(&app, "idle").await, "sleeping");
    app.clock.set_secs(jump);
    app.tick().await;
    assert_eq!(status(&app, "idle").await, "idle");
}

/// A PostgreSQL-only test (named `…::postgres` so `scripts/test` can leave it out without a server).
mod two_replicas_raise_each_alert_once {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    pub async fn postgres() {
        let db = PgDatabase::create().await;
        let url = db.url.clone();
        let first = TestApp::spawn_with(Backend::Sqlite, |c| c.database_url = Some(url.clone())).await.unwrap();
        let second = TestApp::spawn_with(Backend::Sqlite, |c| c.database_url = Some(url.clone())).await.unwrap();
        working_agent(&first).await;
        for app in [&first, &second] {
            app.clock.advance_secs(3 * 3600);
        }
        // Both replicas run their scheduler at the same moment.
        tokio::join!(first.tick(), second.tick(), first.tick(), second.tick());
        assert_eq!(first.count("alert_events WHERE kind = 'blocked'").await, 1);
        assert_eq!(first.count("events WHERE name = 'alert:raised'").await, 1);
        drop((first, second));
        drop(db);
    }
}

async fn post(base: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
    let res =
        crate::harness::client().post(format!("{base}{path}")).bearer_auth("restart-key").body(body.to_string()).send().await.unwrap();
    res.json().await.unwrap()
}

#[tokio::test]
async fn error_counts_survive_a_restart_of_the_binary() {
    let dir = temp_dir();
    let env = [("DASHBOARD_API_KEY", "restart-key")];
    let mut ocd = OcdProcess::start(&dir, &env);
    post(&ocd.base, "/api/agents", json!({"id": "a", "name": "a"})).await;
    post(&ocd.base, "/api/agents/a/tasks", json!({"id": "t", "title": "t", "status": "in_progress"})).await;
    for _ in 0..2 {
        assert_eq!(post(&ocd.base, "/api/agents/a/error", json!({"taskId": "t"})).await["triggered"], false);
    }
    ocd.kill9();
    let again = OcdProcess::start(&dir, &env);
    // The third error within ten minutes blocks, although the process restarted in between.
    assert_eq!(post(&again.base, "/api/agents/a/error", json!({"taskId": "t"})).await["triggered"], true);
    drop(again);
    let _ = std::fs::remove_dir_all(dir);
}

/// Polls `check` (a condition another process brings about) until it holds or 20 s pass.
async fn eventually(mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

async fn count_rows(url: &str, sql: &'static str) -> i64 {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
    pool.close().await;
    n
}

/// A PostgreSQL-only test (named `…::postgres` so `scripts/test` can leave it out without a server).
mod timers_survive_restarts_and_two_processes_alert_once {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    pub async fn postgres() {
        let db = PgDatabase::create().await;
        let dir = temp_dir();
        // Today: an agent works on a task, then blocks another one; then the process dies.
        let mut today =
            OcdProcess::start(&dir, &[("DATABASE_URL", &db.url), ("DASHBOARD_API_KEY", "restart-key"), ("SCHEDULER_TICK_MS", "0")]);
        post(&today.base, "/api/agents", json!({"id": "a", "name": "a"})).await;
        post(&today.base, "/api/agents/a/tasks", json!({"id": "t", "title": "t", "status": "in_progress"})).await;
        post(&today.base, "/api/agents", json!({"id": "b", "name": "b"})).await;
        post(&today.base, "/api/agents/b/tasks", json!({"id": "s", "title": "s", "status": "in_progress"})).await;
        post(&today.base, "/api/agents/b/block", json!({"taskId": "s", "source": "explicit", "reason": "waiting"})).await;
        today.kill9();
        // Three hours later two fresh processes run their schedulers on the same database.
        let later = [
            ("DATABASE_URL", db.url.as_str()),
            ("DASHBOARD_API_KEY", "restart-key"),
            ("SCHEDULER_TICK_MS", "50"),
            ("CLOCK_OFFSET_SECS", "10800"),
        ];
        let first = OcdProcess::start(&dir, &later);
        let second = OcdProcess::start(&dir, &later);
        let url = db.url.clone();
        assert!(eventually(async || count_rows(&url, "SELECT COUNT(*) FROM alert_events WHERE kind = 'stale_task'").await == 1).await);
        assert!(
            eventually(async || count_rows(&url, "SELECT COUNT(*) FROM agents WHERE id = 'a' AND status = 'blocked'").await == 1).await
        );
        // Once the sweep that raised them has finished and been rescheduled (both processes kept
        // trying to claim it every 50 ms meanwhile), there is still exactly one alert of each.
        assert!(
            eventually(async || count_rows(&url, "SELECT COUNT(*) FROM timers WHERE id = 'sweep:lifecycle' AND claimed_until IS NULL")
                .await
                == 1)
            .await
        );
        assert_eq!(count_rows(&url, "SELECT COUNT(*) FROM alert_events WHERE kind = 'stale_task'").await, 1);
        assert_eq!(count_rows(&url, "SELECT COUNT(*) FROM alert_events WHERE kind = 'blocked' AND agent_id = 'a'").await, 1);
        drop((first, second));
        let _ = std::fs::remove_dir_all(dir);
    }
}

//! The alert engine and its rules over time, driven by the test clock
//! (docs/decisions.md#alerting): delays, cancellation, batching, digests, throttles,
//! restarts and replicas.

use ocd::domain::roles::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth_helpers::signed_in;
use crate::browser::Browser;
use crate::fake_receiver::FakeReceiver;
use crate::harness::{Backend, StreamClient, TestApp};

crate::on_both_backends!(
    rules_api_follows_the_original,
    blocked_alerts_wait_their_delay_and_clear_on_unblock,
    completions_are_batched,
    bursts_become_digests_and_pushes_are_throttled,
    lasting_conditions_count_toward_the_delay,
    a_pending_alert_survives_a_restart_and_fires_once,
    two_replicas_fire_an_alert_once,
    low_blocks_stalls_and_stale_tasks_follow_their_rules,
);

/// An agent working on one task of `priority`.
pub async fn agent_on(app: &TestApp, agent: &str, task: &str, priority: &str) {
    app.post("/api/agents", json!({"id": agent, "name": agent})).await;
    let r = app
        .post(
            &format!("/api/agents/{agent}/tasks"),
            json!({"id": task, "title": format!("Task {task}"), "priority": priority, "status": "in_progress", "project_id": "web"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
}

pub async fn block(app: &TestApp, agent: &str, task: &str, reason: &str) {
    let r = app.post(&format!("/api/agents/{agent}/block"), json!({"taskId": task, "source": "question", "reason": reason})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// The feed messages written by alerts, oldest first.
pub async fn alert_messages(app: &TestApp) -> Vec<Value> {
    let r = app.get("/api/messages").await;
    let mut list: Vec<Value> = r.body["messages"].as_array().cloned().unwrap_or_default();
    list.retain(|m| m["metadata"]["alert_id"].is_number());
    list.sort_by_key(|m| m["id"].as_i64());
    list
}

/// A webhook channel to `receiver`'s `/hook`, added by the owner.
pub async fn webhook_channel(owner: &mut Browser, receiver: &FakeReceiver) -> Value {
    let body = json!({"type": "webhook", "name": "team hook", "config": {"url": format!("{}/hook", receiver.url)}});
    let r = owner.go(Method::POST, "/api/settings/channels", Some(&body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["channel"].clone()
}

async fn rules_api_follows_the_original(app: TestApp) {
    let r = app.get("/api/settings/alerts").await;
    assert_eq!(r.status, StatusCode::OK, "admins read the rules");
    let ids: Vec<&str> = r.body["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "approval-needed",
            "blocked-high",
            "blocked-medium",
            "blocked-low",
            "completed-high",
            "completed-batch",
            "error-all",
            "idle-all",
            "stale-all",
            "stalled-all"
        ],
        "the defaults, ordered by trigger, delay, id"
    );
    let stalled = &r.body["rules"][9];
    assert_eq!(
        (
            stalled["trigger"].as_str(),
            stalled["priority_filter"].as_str(),
            stalled["delay_ms"].as_i64(),
            stalled["channel"].as_str(),
            stalled["enabled"].as_i64()
        ),
        (Some("stalled"), Some("all"), Some(0), Some("both"), Some(1))
    );
    let put = json!({"id": "blocked-medium", "updates": {"delay_ms": 60_000}});
    assert_eq!(app.put("/api/settings/alerts", put.clone()).await.status, StatusCode::FORBIDDEN, "an admin key cannot change rules");
    let mut viewer = signed_in(&app, Role::Viewer).await;
    assert_eq!(viewer.get("/api/settings/alerts").await.status, StatusCode::FORBIDDEN);

    let mut owner = signed_in(&app, Role::Owner).await;
    let r = owner
        .go(Method::PUT, "/api/settings/alerts", Some(&json!({"id": "blocked-medium", "updates": {"delay_ms": 60_000, "colour": "red"}})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["rule"]["delay_ms"], 60_000);
    assert_eq!(r.body["rule"]["trigger"], "blocked");
    let r = owner.go(Method::PUT, "/api/settings/alerts", Some(&json!({"id": "blocked-medium", "updates": {}}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["details"][0]["code"], "custom");
    assert_eq!(r.body["details"][0]["message"], "At least one update field is required");
    let r = owner.go(Method::PUT, "/api/settings/alerts", Some(&json!({"id": "blocked-medium", "updates": {"enabled": true}}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "enabled is the number 0 or 1");
    assert!(r.body.to_string().contains("enabled"), "{}", r.body);
    let r = owner.go(Method::PUT, "/api/settings/alerts", Some(&json!({"id": "blocked-medium", "updates": {"delay_ms": -1}}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!((r.body["details"][0]["code"].as_str(), r.body["details"][0]["path"][0].as_str()), (Some("too_small"), Some("delay_ms")));
    let r = owner.go(Method::PUT, "/api/settings/alerts", Some(&json!({"id": "nope", "updates": {"enabled": 0}}))).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::NOT_FOUND, json!({"error": "Alert rule not found"})));
    let r = owner.go(Method::PATCH, "/api/settings/alerts/error-all", Some(&json!({"channel": "in_app", "enabled": 0}))).await;
    assert_eq!((r.body["rule"]["channel"].as_str(), r.body["rule"]["enabled"].as_i64()), (Some("in_app"), Some(0)));
    let r = owner.go(Method::PATCH, "/api/settings/alerts/error-all", Some(&json!({"channel": "sms"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.to_string().contains("channel"), "{}", r.body);
    assert_eq!(app.get("/api/settings/alerts/error-all").await.body["rule"]["channel"], "in_app");
    let r = owner.go(Method::DELETE, "/api/settings/alerts/stale-all", None).await;
    assert_eq!(
        r.body,
        json!({"success": true, "warning": "Deleted default alert rule. Consider recreating it if this was unintentional."})
    );
    assert_eq!(app.get("/api/settings/alerts/stale-all").await.status, StatusCode::NOT_FOUND);
    assert_eq!(owner.go(Method::DELETE, "/api/settings/alerts/stale-all", None).await.status, StatusCode::NOT_FOUND);

    let r = owner.go(Method::POST, "/api/settings/alerts/reset-defaults", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let rules = r.body["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 10);
    let by_id = |id: &str| rules.iter().find(|r| r["id"] == id).cloned().unwrap();
    assert_eq!(by_id("blocked-medium")["delay_ms"], 600_000);
    assert_eq!((by_id("error-all")["channel"].as_str(), by_id("error-all")["enabled"].as_i64()), (Some("both"), Some(1)));
    assert_eq!(by_id("stale-all")["channel"], "push");
}

async fn blocked_alerts_wait_their_delay_and_clear_on_unblock(app: TestApp) {
    agent_on(&app, "a", "h", "high").await;
    block(&app, "a", "h", "Which database should I migrate?").await;
    app.alerts().await;
    let fired = alert_messages(&app).await;
    assert_eq!(fired.len(), 1, "a high block alerts at once");
    assert_eq!(fired[0]["content"], "[HIGH] Agent \"a\" blocked on \"Task h\": Which database should I migrate?");
    assert_eq!(fired[0]["type"], "state_change");
    assert_eq!(fired[0]["project_id"], "web");
    assert!(fired[0]["metadata"]["url"].as_str().unwrap().ends_with("/agents/a"), "{}", fired[0]);
    assert_eq!(fired[0]["metadata"]["trigger"], "blocked");
    let events = app.events().await;
    let announced =
        events.iter().find(|e| e.name == "message:created" && e.payload["alert"]["trigger"] == "blocked").expect("message:created");
    assert_eq!(announced.payload["alert"]["reason"], "Which database should I migrate?");
    assert_eq!(announced.payload["channel"], "both");
    assert_eq!(announced.payload["digestMode"], false);
    let mut person = signed_in(&app, Role::Viewer).await;
    let page = person.get("/messages").await;
    assert!(page.body.as_str().unwrap_or_default().contains("href=\"/agents/a\""), "the feed links the alert to its agent");

    agent_on(&app, "b", "m", "medium").await;
    block(&app, "b", "m", "waiting for review").await;
    app.alerts().await;
    app.clock.advance_secs(9 * 60);
    app.alerts().await;
    assert_eq!(alert_messages(&app).await.len(), 1, "a medium block waits 10 minutes");
    app.post("/api/agents/b/actions", json!({"action": "unblock"})).await;
    app.clock.advance_secs(2 * 60);
    app.alerts().await;
    assert_eq!(alert_messages(&app).await.len(), 1, "unblocked before the delay: nothing is sent (fixes D22)");

    block(&app, "b", "m", "waiting again").await;
    app.clock.advance_secs(10 * 60);
    app.alerts().await;
    let fired = alert_messages(&app).await;
    assert_eq!(fired.len(), 2);
    assert_eq!(fired[1]["content"], "[MEDIUM] Agent \"b\" blocked on \"Task m\": waiting again");
    assert_eq!(app.count("alerts WHERE status = 'fired'").await, 2);
    assert_eq!(app.count("alerts WHERE status = 'cancelled'").await, 1);
    app.alerts().await;
    assert_eq!(alert_messages(&app).await.len(), 2, "a fired alert never fires again");

    // Settled alerts are pruned with the events; a waiting one stays.
    let retention = i64::try_from(app.app.config.event_retention_hours).unwrap() * 3600;
    app.clock.advance_secs(retention + 1);
    app.post("/api/agents/b/actions", json!({"action": "unblock"})).await;
    block(&app, "b", "m", "waiting once more").await;
    ocd::events::prune::prune(&app.app).await.unwrap();
    assert_eq!(app.count("alerts").await, 1);
    assert_eq!(app.count("alerts WHERE status = 'pending'").await, 1);
}

async fn completions_are_batched(app: TestApp) {
    // Pushed batches go to a channel only with the completions its filters want.
    let receiver = FakeReceiver::start().await;
    let mut owner = signed_in(&app, Role::Owner).await;
    owner.go(Method::PATCH, "/api/settings/alerts/completed-batch", Some(&json!({"channel": "both"}))).await;
    let hook = json!({"type": "webhook", "name": "web only", "config": {"url": format!("{}/hook", receiver.url)}, "filters": {"projects": ["web"]}});
    assert_eq!(owner.go(Method::POST, "/api/settings/channels", Some(&hook)).await.status, StatusCode::CREATED);
    agent_on(&app, "a", "t1", "medium").await;
    for (task, priority) in [("t2", "medium"), ("t3", "low"), ("t4", "high")] {
        app.post(
            "/api/agents/a/tasks",
            json!({"id": task, "title": format!("Task {task}"), "priority": priority, "status": "in_progress"}),
        )
        .await;
    }
    for task in ["t1", "t2", "t3"] {
        app.post("/api/agents/a/complete", json!({"taskId": task})).await;
        app.alerts().await;
        app.clock.advance_secs(60);
    }
    assert!(alert_messages(&app).await.is_empty(), "medium and low completions wait for the batch");
    app.post("/api/agents/a/complete", json!({"taskId": "t4"})).await;
    app.alerts().await;
    let fired = alert_messages(&app).await;
    assert_eq!(fired.len(), 1, "a high completion is announced at once and skips the batch");
    assert_eq!(
        (fired[0]["content"].as_str(), fired[0]["type"].as_str()),
        (Some("Agent \"a\" completed \"Task t4\""), Some("task_complete"))
    );
    app.clock.advance_secs(11 * 60);
    app.alerts().await;
    assert_eq!(alert_messages(&app).await.len(), 1, "14 minutes after the first completion");
    app.clock.advance_secs(60);
    app.alerts().await;
    let fired = alert_messages(&app).await;
    assert_eq!(fired.len(), 2);
    assert_eq!(fired[1]["content"], "3 tasks completed in the last 15 minutes: \"Task t1\", \"Task t2\", \"Task t3\"");
    assert_eq!(fired[1]["type"], "task_complete");
    let events = app.events().await;
    assert!(events.iter().any(|e| e.name == "message:created" && e.payload["batch"] == true && e.payload["count"] == 3));
    let sent = receiver.received_at("/hook");
    assert_eq!(sent.len(), 1, "one message for the batch");
    let body = sent[0].json();
    let titles: Vec<&str> = body["alerts"].as_array().unwrap().iter().map(|a| a["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Task t1"], "only the web project's completion");
    assert_eq!(sent[0].json()["batch"], true);
}

async fn bursts_become_digests_and_pushes_are_throttled(app: TestApp) {
    let receiver = FakeReceiver::start().await;
    let mut owner = signed_in(&app, Role::Owner).await;
    webhook_channel(&mut owner, &receiver).await;
    let errors_only = json!({"type": "webhook", "name": "errors", "config": {"url": format!("{}/errors", receiver.url)}, "filters": {"triggers": ["error"]}});
    assert_eq!(owner.go(Method::POST, "/api/settings/channels", Some(&errors_only)).await.status, StatusCode::CREATED);
    for i in 0..8 {
        agent_on(&app, &format!("a{i}"), &format!("t{i}"), "high").await;
        block(&app, &format!("a{i}"), &format!("t{i}"), &format!("question {i}")).await;
        app.alerts().await;
        app.clock.advance_secs(2);
    }
    assert_eq!(alert_messages(&app).await.len(), 8, "every alert reaches the feed");
    let sent = receiver.received_at("/hook");
    assert_eq!(sent.len(), 5, "more than 5 alerts in a minute: digest mode");
    assert!(sent.iter().all(|r| r.json()["digest"] == false));
    let held = alert_messages(&app).await;
    assert_eq!(held[5]["metadata"]["held"], "digest");
    app.clock.advance_secs(45);
    app.alerts().await;
    assert_eq!(receiver.received_at("/hook").len(), 5, "the digest waits for the end of its minute");
    app.clock.advance_secs(10);
    app.alerts().await;
    let sent = receiver.received_at("/hook");
    assert_eq!(sent.len(), 6, "one digest per channel");
    let digest = sent[5].json();
    assert_eq!(digest["digest"], true);
    let reasons: Vec<&str> = digest["alerts"].as_array().unwrap().iter().map(|a| a["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, ["question 5", "question 6", "question 7"]);
    assert!(digest["alerts"][0]["url"].as_str().unwrap().ends_with("/agents/a5"));
    assert!(receiver.received_at("/errors").is_empty(), "a channel's filters apply to digests too");

    // Per agent: 3 pushes an hour (alerts two minutes apart, so no digest).
    app.clock.advance_secs(2 * 3600);
    let before = receiver.received_at("/hook").len();
    for i in 0..4 {
        app.post("/api/agents/a0/tasks", json!({"id": format!("e{i}"), "title": format!("E{i}"), "status": "in_progress"})).await;
        let r = app.post("/api/agents/a0/error", json!({"taskId": format!("e{i}"), "message": format!("build failed {i}")})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        app.alerts().await;
        app.clock.advance_secs(120);
    }
    assert_eq!(receiver.received_at("/hook").len() - before, 3, "the fourth push of one agent in an hour stays in the app");
    let last = alert_messages(&app).await.pop().unwrap();
    assert_eq!(last["content"], "[ERROR] Agent \"a0\" error on \"E3\": build failed 3");
    assert_eq!(last["type"], "error");
    assert_eq!(last["metadata"]["held"], "throttled");

    // Overall: 10 pushes an hour.
    app.clock.advance_secs(2 * 3600);
    let before = receiver.received_at("/hook").len();
    for i in 0..11 {
        agent_on(&app, &format!("g{i}"), &format!("gt{i}"), "high").await;
        block(&app, &format!("g{i}"), &format!("gt{i}"), "stuck").await;
        app.alerts().await;
        app.clock.advance_secs(120);
    }
    assert_eq!(receiver.received_at("/hook").len() - before, 10, "the eleventh push in an hour stays in the app");
}

async fn lasting_conditions_count_toward_the_delay(app: TestApp) {
    app.post("/api/agents", json!({"id": "a", "name": "a"})).await;
    app.post("/api/agents/a/tasks", json!({"id": "w", "title": "Waiting", "status": "pending"})).await;
    app.patch("/api/agents/a", json!({"status": "idle"})).await;
    app.post("/api/agents/a/heartbeat", json!({})).await;
    app.clock.advance_secs(31 * 60);
    app.tick().await;
    app.alerts().await;
    let fired = alert_messages(&app).await;
    assert_eq!(fired.len(), 1, "30 minutes of silence already waited out idle-all's 30 minutes");
    assert_eq!(fired[0]["content"], "Agent \"a\" idle for >30min with pending tasks");

    // A longer delay: the silence ends before it, so nothing is sent.
    let mut owner = signed_in(&app, Role::Owner).await;
    owner.go(Method::PATCH, "/api/settings/alerts/idle-all", Some(&json!({"delay_ms": 3_600_000}))).await;
    app.post("/api/agents/a/heartbeat", json!({})).await;
    app.clock.advance_secs(31 * 60);
    app.tick().await;
    app.alerts().await;
    app.clock.advance_secs(10 * 60);
    app.post("/api/agents/a/heartbeat", json!({})).await;
    app.clock.advance_secs(20 * 60);
    app.alerts().await;
    assert_eq!(alert_messages(&app).await.len(), 1, "the agent reported before the delay ended");

    // A task blocked for two hours goes stale: stale-all's two hours have passed already.
    agent_on(&app, "s", "st", "low").await;
    block(&app, "s", "st", "needs a decision").await;
    app.clock.advance_secs(2 * 3600 + 1);
    app.tick().await;
    app.alerts().await;
    let stale = alert_messages(&app).await.into_iter().filter(|m| m["metadata"]["trigger"] == "stale_task").count();
    assert_eq!(stale, 1);
}

async fn a_pending_alert_survives_a_restart_and_fires_once(app: TestApp) {
    agent_on(&app, "a", "m", "medium").await;
    block(&app, "a", "m", "waiting for CI").await;
    app.alerts().await;
    let app = app.restart().await;
    app.clock.advance_secs(10 * 60);
    app.alerts().await;
    app.alerts().await;
    let app = app.restart().await;
    app.alerts().await;
    let fired = alert_messages(&app).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0]["content"], "[MEDIUM] Agent \"a\" blocked on \"Task m\": waiting for CI");
}

async fn two_replicas_fire_an_alert_once(app: TestApp) {
    let receiver = FakeReceiver::start().await;
    let mut owner = signed_in(&app, Role::Owner).await;
    webhook_channel(&mut owner, &receiver).await;
    agent_on(&app, "a", "m", "medium").await;
    block(&app, "a", "m", "waiting for CI").await;
    let other = app.replica().await;
    app.clock.advance_secs(10 * 60);
    tokio::join!(app.alerts(), other.alerts(), app.alerts(), other.alerts());
    assert_eq!(alert_messages(&app).await.len(), 1);
    assert_eq!(receiver.received_at("/hook").len(), 1, "one send across replicas");
    assert_eq!(app.count("deliveries WHERE status = 'delivered'").await, 1);
}

/// The next alert message the stream announces (the background loop's work), or `None` after 10 s.
async fn next_alert(stream: &mut StreamClient) -> Option<Value> {
    let wait = async {
        loop {
            let e = stream.next_event().await?;
            if e.event == "message:created" && e.data["alert"].is_object() {
                return Some(e.data);
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), wait).await.ok().flatten()
}

/// With the scheduler on, nobody calls the engine: a raised alert fires right after its
/// commit, and a delayed one as soon as the (injected) clock passes its due time.
async fn the_alert_loop_fires_by_itself(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| c.scheduler_tick_ms = 3_600_000).await else { return };
    let mut stream = StreamClient::connect(&app.base, &app.key, "", None).await;
    assert_eq!(stream.next().await.expect("connected").event, "connected");
    agent_on(&app, "a", "h", "high").await;
    block(&app, "a", "h", "now").await;
    let fired = next_alert(&mut stream).await.expect("fired without a call");
    assert_eq!(fired["alert"]["reason"], "now");
    agent_on(&app, "b", "m", "medium").await;
    block(&app, "b", "m", "later").await;
    app.clock.advance_secs(10 * 60);
    let fired = next_alert(&mut stream).await.expect("fired when due");
    assert_eq!(fired["alert"]["reason"], "later");
}

mod the_alert_loop_fires_by_itself {
    use crate::harness::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::the_alert_loop_fires_by_itself(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::the_alert_loop_fires_by_itself(Backend::Postgres).await;
    }
}

async fn low_blocks_stalls_and_stale_tasks_follow_their_rules(app: TestApp) {
    let receiver = FakeReceiver::start().await;
    let mut owner = signed_in(&app, Role::Owner).await;
    webhook_channel(&mut owner, &receiver).await;
    let pushed = |trigger: &str| receiver.received_at("/hook").iter().filter(|r| r.json()["alert"]["trigger"] == trigger).count();

    // blocked-low: an hour later, in the app only.
    agent_on(&app, "low", "l", "low").await;
    block(&app, "low", "l", "no rush").await;
    app.clock.advance_secs(59 * 60);
    app.alerts().await;
    assert!(alert_messages(&app).await.is_empty());
    app.clock.advance_secs(60);
    app.alerts().await;
    let fired = alert_messages(&app).await;
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0]["content"], "[LOW] Agent \"low\" blocked on \"Task l\": no rush");
    assert_eq!(fired[0]["metadata"]["channel"], "in_app");
    assert_eq!(pushed("blocked"), 0, "in_app rules send nothing outside");

    // stale-all: two hours blocked, pushed (and in the feed).
    app.clock.advance_secs(3600 + 1);
    app.tick().await;
    app.alerts().await;
    let stale: Vec<Value> = alert_messages(&app).await.into_iter().filter(|m| m["metadata"]["trigger"] == "stale_task").collect();
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0]["content"], "[STALE] Task \"Task l\" blocked for >2h (agent: low)");
    assert_eq!(pushed("stale_task"), 1);

    // stalled-all: beating but making no progress for STALL_AFTER_SECONDS, at once, pushed.
    agent_on(&app, "busy", "b", "medium").await;
    for _ in 0..11 {
        app.clock.advance_secs(60);
        app.post("/api/agents/busy/heartbeat", json!({})).await;
    }
    app.tick().await;
    app.alerts().await;
    let stalled: Vec<Value> = alert_messages(&app).await.into_iter().filter(|m| m["metadata"]["trigger"] == "stalled").collect();
    assert_eq!(stalled.len(), 1, "{stalled:?}");
    assert!(
        stalled[0]["content"].as_str().unwrap().starts_with("[STALLED] Agent \"busy\" made no progress on \"Task b\""),
        "{}",
        stalled[0]
    );
    assert_eq!(pushed("stalled"), 1);
}

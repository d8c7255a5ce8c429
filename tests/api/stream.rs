//! `/api/stream`: live delivery, resume without loss or repeats, filters, reset, pings and
//! slow clients.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{Backend, StreamClient, TestApp};

crate::on_both_backends!(
    live_events_arrive_in_order,
    resume_while_writing_loses_and_repeats_nothing,
    project_filter,
    pruned_history_resets
);

async fn connect(app: &TestApp, query: &str, last: Option<i64>) -> StreamClient {
    let mut client = StreamClient::connect(&app.base, &app.key, query, last).await;
    let first = client.next().await.expect("connected frame");
    assert_eq!((first.event.as_str(), first.data.clone()), ("connected", json!({"connected": true})));
    client
}

async fn live_events_arrive_in_order(app: TestApp) {
    let mut stream = connect(&app, "", None).await;
    app.post("/api/todos", json!({"id": "t", "content": "x", "project": "p"})).await;
    app.post("/api/todos", json!({"id": "t", "status": "completed"})).await;
    let project = stream.next_event().await.unwrap();
    assert_eq!(project.event, "project:updated");
    let created = stream.next_event().await.unwrap();
    assert_eq!((created.event.as_str(), &created.data["todo"]["id"]), ("todo:created", &json!("t")));
    let updated = stream.next_event().await.unwrap();
    assert_eq!((updated.event.as_str(), &updated.data["todo"]["status"]), ("todo:updated", &json!("completed")));
    assert!(project.id < created.id && created.id < updated.id);
    // sealed message payloads are streamed decrypted
    app.post("/api/messages/create", json!({"type": "custom", "content": "hello"})).await;
    let message = stream.next_event().await.unwrap();
    assert_eq!((message.event.as_str(), &message.data["message"]["content"]), ("message:created", &json!("hello")));
}

async fn resume_while_writing_loses_and_repeats_nothing(app: TestApp) {
    const WRITERS: usize = 4;
    const EACH: usize = 40;
    let mut stream = connect(&app, "", None).await;
    let writers = (0..WRITERS).map(|w| {
        let base = app.base.clone();
        let key = app.key.clone();
        tokio::spawn(async move {
            let client = crate::harness::client();
            for i in 0..EACH {
                let r = client
                    .post(format!("{base}/api/todos"))
                    .bearer_auth(&key)
                    .body(json!({"content": format!("{w}-{i}")}).to_string())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::OK);
            }
        })
    });
    let writers: Vec<_> = writers.collect();
    let mut seen = Vec::new();
    // Read some, drop the connection mid-stream, resume from the last id — three times —
    // while the writers keep going.
    for round in 0..3 {
        for _ in 0..(15 + round * 7) {
            let e = stream.next_event().await.expect("event");
            seen.push(e.id.unwrap());
        }
        drop(stream);
        stream = connect(&app, "", seen.last().copied()).await;
    }
    for w in writers {
        w.await.unwrap();
    }
    let total = WRITERS * EACH;
    while seen.len() < total {
        seen.push(stream.next_event().await.expect("remaining events").id.unwrap());
    }
    let stored: Vec<i64> = app.events().await.iter().map(|e| e.id).collect();
    assert_eq!(seen, stored, "every event exactly once, in id order");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), total);
}

async fn project_filter(app: TestApp) {
    let mut only_p = connect(&app, "?project=p", None).await;
    app.post("/api/todos", json!({"content": "other", "project": "q"})).await;
    app.post("/api/todos", json!({"content": "none"})).await;
    app.post("/api/todos", json!({"content": "mine", "project": "p"})).await;
    let first = only_p.next_event().await.unwrap();
    assert_eq!(first.event, "project:updated");
    assert_eq!(first.data["project"]["id"], "p");
    let second = only_p.next_event().await.unwrap();
    assert_eq!(second.data["todo"]["content"], "mine");
    // resuming a filtered stream from 0 replays only that project's events
    let mut replay = connect(&app, "?project=q", Some(0)).await;
    assert_eq!(replay.next_event().await.unwrap().data["project"]["id"], "q");
    assert_eq!(replay.next_event().await.unwrap().data["todo"]["content"], "other");
}

async fn pruned_history_resets(app: TestApp) {
    for i in 0..5 {
        app.post("/api/todos", json!({"content": format!("{i}")})).await;
    }
    // Five days later, with a 1-hour retention, everything is due.
    app.clock.advance_secs(5 * 86_400);
    app.post("/api/todos", json!({"content": "recent"})).await;
    let deleted = prune_with(&app, 1).await;
    assert_eq!(deleted, 5);
    assert_eq!(app.count("events").await, 1);
    let mut stale = connect(&app, "", Some(2)).await;
    let reset = stale.next().await.unwrap();
    assert_eq!(reset.event, "reset");
    assert_eq!(reset.id, Some(6), "reset carries the id to continue from");
    app.post("/api/todos", json!({"content": "after reset"})).await;
    assert_eq!(stale.next_event().await.unwrap().data["todo"]["content"], "after reset");
    // a client that already had everything up to the pruned point resumes normally
    let mut fresh = connect(&app, "", Some(5)).await;
    assert_eq!(fresh.next_event().await.unwrap().data["todo"]["content"], "recent");
    // an id from another database also resets
    let mut foreign = connect(&app, "", Some(10_000)).await;
    assert_eq!(foreign.next().await.unwrap().event, "reset");
}

/// Prunes events older than `hours` at the app's clock.
async fn prune_with(app: &TestApp, hours: i64) -> u64 {
    let now = ocd::clock::Clock::now(app.clock.as_ref());
    let through = ocd::db::events::prune_point(&app.app.db.read, now, hours * 3600, 1_000_000).await.unwrap();
    app.app.db.write(move |c| Box::pin(async move { Ok(ocd::db::events::delete_through(c, through, 5000, now).await?) })).await.unwrap()
}

#[tokio::test]
async fn stream_auth_and_bad_ids() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let client = crate::harness::client();
    let anonymous = client.get(format!("{}/api/stream", app.base)).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let wrong = client.get(format!("{}/api/stream?token=nope", app.base)).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let by_query = client.get(format!("{}/api/stream?token={}", app.base, app.key)).send().await.unwrap();
    assert_eq!(by_query.status(), StatusCode::OK);
    // ?token= is only for the stream
    let elsewhere = client.get(format!("{}/api/todos?token={}", app.base, app.key)).send().await.unwrap();
    assert_eq!(elsewhere.status(), StatusCode::UNAUTHORIZED);
    let bad = app.get("/api/stream?last_event_id=abc").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn pings_keep_the_stream_alive() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.stream_ping_seconds = 1).await.unwrap();
    let mut stream = connect(&app, "", None).await;
    let ping = stream.next().await.expect("a ping within the guard time");
    assert_eq!((ping.event.as_str(), ping.data.clone(), ping.id), ("ping", json!({}), None));
}

#[tokio::test]
async fn a_slow_client_is_cut_off_and_resumes_while_others_keep_up() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.stream_buffer_events = 64).await.unwrap();
    let mut slow = connect(&app, "", None).await;
    let mut fast = connect(&app, "", None).await;
    // ~20 MB of events: far more than socket buffers plus 64 buffered events.
    let big = "x".repeat(10_000);
    let mut expected = 0;
    // The reading client says how far it got; each batch is written once it has the previous
    // one, so it never falls 64 events behind however busy the machine is.
    let (progress, mut received) = tokio::sync::watch::channel(0usize);
    let reader = tokio::spawn(async move {
        let mut ids = Vec::new();
        while let Some(e) = fast.next_event().await {
            ids.push(e.id.unwrap());
            progress.send_replace(ids.len());
            if ids.len() == 2000 {
                break;
            }
        }
        ids
    });
    for batch in 0..40 {
        received.wait_for(|n| *n >= expected).await.expect("the reading client is still there");
        let todos: Vec<_> = (0..50).map(|i| json!({"id": format!("b{batch}-{i}"), "content": big})).collect();
        assert_eq!(app.put("/api/todos", json!({ "todos": todos })).await.status, StatusCode::OK);
        expected += 50;
    }
    let fast_ids = reader.await.unwrap();
    assert_eq!(fast_ids.len(), expected, "a reading client gets everything");
    // The slow client was disconnected partway: its stream ends before the last event.
    let mut got = Vec::new();
    while let Some(e) = slow.next_event().await {
        got.push(e.id.unwrap());
    }
    assert!(slow.ended, "the server closed the slow stream");
    assert!(got.len() < expected, "the slow client was cut off (got {})", got.len());
    // Resuming from its last id delivers exactly the rest.
    let mut resumed = connect(&app, "", got.last().copied()).await;
    while got.len() < expected {
        got.push(resumed.next_event().await.expect("rest after resume").id.unwrap());
    }
    assert_eq!(got, fast_ids);
}

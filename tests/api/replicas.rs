//! Several real `ocd` processes on one PostgreSQL database, and crashes (decisions.md#real-processes).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;
use tokio::sync::Mutex;

use crate::harness::{PgDatabase, Sse, StreamClient};
use crate::procs::{OcdProcess, temp_dir};

const KEY: &str = "replica-test-key";

async fn post_todo(client: &reqwest::Client, base: &str, content: &str) -> Option<String> {
    let res = client.post(format!("{base}/api/todos")).bearer_auth(KEY).body(json!({"content": content}).to_string()).send().await.ok()?;
    if !res.status().is_success() {
        return None;
    }
    let body: serde_json::Value = res.json().await.ok()?;
    body["todo"]["id"].as_str().map(String::from)
}

/// Reads events until `want` todo events have arrived or the stream ends; returns the ids.
async fn collect(stream: &mut StreamClient, seen: &mut Vec<i64>, want: usize) {
    while seen.len() < want {
        match stream.next_event().await {
            Some(Sse { id: Some(id), .. }) => seen.push(id),
            Some(other) => panic!("unexpected frame {other:?}"),
            None => return,
        }
    }
}

async fn connected(base: &str, last: Option<i64>) -> StreamClient {
    let mut s = StreamClient::connect(base, KEY, "", last).await;
    assert_eq!(s.next().await.expect("connected").event, "connected");
    s
}

async fn write_many(bases: Vec<String>, per_replica: usize, tag: &str) -> usize {
    let tasks: Vec<_> = bases
        .into_iter()
        .enumerate()
        .map(|(r, base)| {
            let tag = tag.to_string();
            tokio::spawn(async move {
                let client = crate::harness::client();
                for i in 0..per_replica {
                    post_todo(&client, &base, &format!("{tag}-{r}-{i}")).await.expect("write accepted");
                }
                per_replica
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("writer");
    }
    total
}

/// A PostgreSQL-only test (named `…::postgres` so `scripts/test` can leave it out without a server).
mod three_replicas_stream_every_event_exactly_once_and_survive_a_kill {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    pub async fn postgres() {
        let db = PgDatabase::create().await;
        let dir = temp_dir();
        let env = [("DATABASE_URL", db.url.as_str()), ("DASHBOARD_API_KEY", KEY)];
        let mut replicas: Vec<OcdProcess> = (0..3).map(|_| OcdProcess::start(&dir, &env)).collect();
        let bases: Vec<String> = replicas.iter().map(|r| r.base.clone()).collect();

        // Two clients on every replica.
        let mut streams = Vec::new();
        for base in bases.iter().chain(bases.iter()) {
            streams.push((connected(base, None).await, Vec::new()));
        }
        let list_len = |base: String| async move {
            let body: serde_json::Value =
                crate::harness::client().get(format!("{base}/api/todos")).bearer_auth(KEY).send().await.unwrap().json().await.unwrap();
            body["todos"].as_array().map_or(0, Vec::len)
        };
        assert_eq!(list_len(bases[1].clone()).await, 0);
        let first = write_many(bases.clone(), 40, "a").await;
        for (stream, seen) in streams.iter_mut() {
            collect(stream, seen, first).await;
            assert_eq!(seen.len(), first);
        }
        // A list rendered (and cached) before the writes reflects writes made on other replicas.
        assert_eq!(list_len(bases[1].clone()).await, first);

        // Kill replica 2 while the others keep writing; its clients resume on replica 0.
        replicas[2].kill9();
        let writers = tokio::spawn(write_many(bases[..2].to_vec(), 40, "b"));
        let second = writers.await.unwrap();
        let total = first + second;
        for (i, (stream, seen)) in streams.iter_mut().enumerate() {
            collect(stream, seen, total).await;
            if seen.len() < total {
                assert_eq!(i % 3, 2, "only clients of the killed replica lose their stream");
                let mut resumed = connected(&bases[0], seen.last().copied()).await;
                collect(&mut resumed, seen, total).await;
            }
        }
        let stored: Vec<i64> = {
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
            let ids = sqlx::query_scalar("SELECT id FROM events ORDER BY id").fetch_all(&pool).await.unwrap();
            pool.close().await;
            ids
        };
        assert_eq!(stored.len(), total);
        for (_, seen) in &streams {
            assert_eq!(seen, &stored, "every client got every event once, in id order");
        }
        drop(replicas);
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Writers hammer the real binary; `kill -9` mid-flight; after a restart every write that
/// was acknowledged with a 2xx is there (decisions.md#acknowledged-writes).
async fn acknowledged_writes_survive_kill9(database_url: Option<&str>) {
    let dir = temp_dir();
    let mut env = vec![("DASHBOARD_API_KEY", KEY)];
    if let Some(url) = database_url {
        env.push(("DATABASE_URL", url));
    }
    let mut ocd = OcdProcess::start(&dir, &env);
    let base = ocd.base.clone();
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let enough = Arc::new(tokio::sync::Notify::new());
    let writers: Vec<_> = (0..6)
        .map(|w| {
            let (base, acked, stop, enough) = (base.clone(), acked.clone(), stop.clone(), enough.clone());
            tokio::spawn(async move {
                let client = crate::harness::client();
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    match post_todo(&client, &base, &format!("w{w}-{i}")).await {
                        Some(id) => {
                            let mut acked = acked.lock().await;
                            acked.push(id);
                            if acked.len() >= 400 {
                                enough.notify_one();
                            }
                        }
                        None => return,
                    }
                    i += 1;
                }
            })
        })
        .collect();
    // Kill once a good number of writes were acknowledged, while writers are still running.
    enough.notified().await;
    ocd.kill9();
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        let _ = w.await;
    }
    let acked: HashSet<String> = acked.lock().await.iter().cloned().collect();
    let restarted = OcdProcess::start(&dir, &env);
    let body: serde_json::Value =
        crate::harness::client().get(format!("{}/api/todos", restarted.base)).bearer_auth(KEY).send().await.unwrap().json().await.unwrap();
    let stored: HashSet<String> = body["todos"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect();
    let lost: Vec<_> = acked.difference(&stored).collect();
    assert!(acked.len() >= 400);
    assert!(lost.is_empty(), "{} acknowledged writes lost, e.g. {:?}", lost.len(), lost.iter().take(3).collect::<Vec<_>>());
    drop(restarted);
    let _ = std::fs::remove_dir_all(dir);
}

mod kill9_loses_no_acknowledged_write {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        acknowledged_writes_survive_kill9(None).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        let db = PgDatabase::create().await;
        acknowledged_writes_survive_kill9(Some(&db.url)).await;
    }
}

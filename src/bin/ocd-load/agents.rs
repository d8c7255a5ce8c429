//! The original's agent flow under load, and a heartbeat flood.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::http::{Conn, Target};
use crate::stats::Latencies;

/// Sends one request and records it; a non-2xx or failure counts as an error.
async fn timed(conn: &mut Conn, method: &str, path: &str, body: Option<&str>, lat: &mut Latencies, errors: &AtomicU64) {
    let sent = Instant::now();
    match conn.request(method, path, body).await {
        Ok(r) if (200..300).contains(&r.status) => lat.record(sent.elapsed()),
        Ok(r) => {
            if errors.fetch_add(1, Ordering::Relaxed) == 0 {
                eprintln!("first error: {method} {path} → {} {}", r.status, String::from_utf8_lossy(&r.body));
            }
        }
        Err(e) => {
            errors.fetch_add(1, Ordering::Relaxed);
            eprintln!("connection error: {e}");
        }
    }
}

/// Each of `count` agents: register, create a task in progress, 5 heartbeats, complete,
/// delete — `connections` agents at a time.
pub async fn flow(target: &Target, count: usize, connections: usize) -> Result<(), String> {
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let run = std::process::id();
    let started = Instant::now();
    let workers: Vec<_> = (0..connections.min(count).max(1))
        .map(|_| {
            let (target, next, errors) = (target.clone(), next.clone(), errors.clone());
            tokio::spawn(async move {
                let mut lat = Latencies::default();
                let Ok(mut conn) = Conn::open(&target).await else {
                    errors.fetch_add(1, Ordering::Relaxed);
                    return lat;
                };
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return lat;
                    }
                    let id = format!("load-{run}-{i}");
                    let base = format!("/api/agents/{id}");
                    let e = errors.as_ref();
                    timed(
                        &mut conn,
                        "POST",
                        "/api/agents",
                        Some(&format!(r#"{{"id":"{id}","name":"load agent {i}","type":"sub-agent"}}"#)),
                        &mut lat,
                        e,
                    )
                    .await;
                    let task = format!(
                        r#"{{"id":"{id}-t","title":"Load task {i}","project_id":"load","priority":"medium","status":"in_progress"}}"#
                    );
                    timed(&mut conn, "POST", &format!("{base}/tasks"), Some(&task), &mut lat, e).await;
                    for _ in 0..5 {
                        timed(&mut conn, "POST", &format!("{base}/heartbeat"), Some("{}"), &mut lat, e).await;
                    }
                    timed(&mut conn, "POST", &format!("{base}/complete"), Some(&format!(r#"{{"taskId":"{id}-t"}}"#)), &mut lat, e).await;
                    timed(&mut conn, "DELETE", &base, None, &mut lat, e).await;
                }
            })
        })
        .collect();
    let mut all = Latencies::default();
    for w in workers {
        all.merge(w.await.map_err(|e| e.to_string())?);
    }
    let secs = started.elapsed().as_secs_f64();
    println!("scenario: agent flow, {count} agents, {} at a time, {secs:.1} s", connections.min(count));
    println!("  requests: {} ok, {} errors (non-2xx or failed)", all.count(), errors.load(Ordering::Relaxed));
    println!("  throughput: {:.0} req/s", all.count() as f64 / secs);
    println!("  latency: {}", all.summary());
    Ok(())
}

/// `agents` agents registered, then heartbeats from all of them as fast as `connections`
/// connections allow for `seconds`.
pub async fn heartbeats(target: &Target, agents: usize, connections: usize, seconds: u64) -> Result<(), String> {
    let run = std::process::id();
    let mut setup = Conn::open(target).await.map_err(|e| e.to_string())?;
    for i in 0..agents {
        let r = setup
            .request("POST", "/api/agents", Some(&format!(r#"{{"id":"beat-{run}-{i}","name":"beat {i}"}}"#)))
            .await
            .map_err(|e| e.to_string())?;
        if !(200..300).contains(&r.status) {
            return Err(format!("registering agents failed: {}", r.status));
        }
    }
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|c| {
            let (target, errors) = (target.clone(), errors.clone());
            tokio::spawn(async move {
                let mut lat = Latencies::default();
                let Ok(mut conn) = Conn::open(&target).await else { return lat };
                let mut i = c;
                while Instant::now() < deadline {
                    let path = format!("/api/agents/beat-{run}-{}/heartbeat", i % agents);
                    timed(&mut conn, "POST", &path, Some("{}"), &mut lat, &errors).await;
                    i += connections;
                }
                lat
            })
        })
        .collect();
    let mut all = Latencies::default();
    for w in workers {
        all.merge(w.await.map_err(|e| e.to_string())?);
    }
    let secs = started.elapsed().as_secs_f64();
    println!("scenario: heartbeat flood, {agents} agents, {connections} connections, {secs:.1} s");
    println!("  requests: {} ok, {} errors (non-2xx or failed)", all.count(), errors.load(Ordering::Relaxed));
    println!("  throughput: {:.0} req/s", all.count() as f64 / secs);
    println!("  latency: {}", all.summary());
    Ok(())
}

//! `ocd-load`: a load generator for a running ocd (any base URL). It prints requests/s,
//! latency percentiles, stream delivery delay and every non-2xx answer as an error.
//! Benchmarks, not tests: see docs/benchmarks.md for the commands and the figures.
#![forbid(unsafe_code)]

mod agents;
mod http;
mod stats;
mod stream;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use http::{Conn, Target};
use stats::Latencies;

#[derive(Debug, Parser)]
#[command(name = "ocd-load", about = "Load generator for ocd")]
struct Cli {
    /// Base URL of the server.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// API key (admin).
    #[arg(long, env = "DASHBOARD_API_KEY", hide_env_values = true)]
    key: Option<String>,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Single-todo upserts (`POST /api/todos`): each connection creates 100 todos, then keeps updating them.
    Upsert {
        #[arg(long, default_value_t = 32)]
        connections: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Batch upserts (`PUT /api/todos`) of `size` todos each.
    Batch {
        #[arg(long, default_value_t = 16)]
        connections: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, default_value_t = 50)]
        size: usize,
    },
    /// Event posts (`POST /api/events`, state changes that become encrypted messages).
    Events {
        #[arg(long, default_value_t = 32)]
        connections: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// `GET /api/todos` after making sure `todos` todos are stored.
    List {
        #[arg(long, default_value_t = 32)]
        connections: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, default_value_t = 1000)]
        todos: usize,
        /// Make every query distinct, so no answer comes from the server's list cache.
        #[arg(long)]
        uncached: bool,
    },
    /// `clients` live streams; a writer posts `writes` todos at `rate`/s; measures delivery.
    Stream {
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        #[arg(long, default_value_t = 1000)]
        writes: usize,
        #[arg(long, default_value_t = 200)]
        rate: u64,
        /// PID of the server, to report its memory per held stream.
        #[arg(long)]
        server_pid: Option<u32>,
    },
    /// The original's agent flow: register, task, 5 heartbeats, complete, delete — per agent.
    Agents {
        #[arg(long, default_value_t = 100)]
        count: usize,
        #[arg(long, default_value_t = 32)]
        connections: usize,
    },
    /// Heartbeats from `agents` registered agents over `connections` connections.
    Heartbeats {
        #[arg(long, default_value_t = 1000)]
        agents: usize,
        #[arg(long, default_value_t = 32)]
        connections: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Starts the given ocd binary `runs` times on a fresh data dir: time to the first 200, idle RSS.
    Start {
        #[arg(long, default_value = "target/release/ocd")]
        binary: String,
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let key = cli.key.clone().unwrap_or_default();
    let target = match Target::parse(&cli.url, &key) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("ocd-load: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.scenario {
        Scenario::Upsert { connections, seconds } => {
            closed_loop("upsert (POST /api/todos)", &target, connections, seconds, |c, i| {
                let id = format!("load-{c}-{}", i % 100);
                (
                    "POST",
                    "/api/todos".to_string(),
                    Some(format!(r#"{{"id":"{id}","content":"load {i}","status":"in_progress","priority":"high","project":"load"}}"#)),
                )
            })
            .await
        }
        Scenario::Batch { connections, seconds, size } => {
            closed_loop("batch (PUT /api/todos)", &target, connections, seconds, move |c, i| {
                let items: Vec<String> = (0..size)
                    .map(|k| format!(r#"{{"id":"batch-{c}-{k}","content":"batch {i}","status":"pending","project":"load"}}"#))
                    .collect();
                ("PUT", "/api/todos".to_string(), Some(format!(r#"{{"todos":[{}]}}"#, items.join(","))))
            })
            .await
        }
        Scenario::Events { connections, seconds } => {
            closed_loop("events (POST /api/events)", &target, connections, seconds, |c, i| {
                (
                    "POST",
                    "/api/events".to_string(),
                    Some(format!(r#"{{"type":"state_change","payload":{{"message":"step {c}-{i}"}},"sessionId":"load"}}"#)),
                )
            })
            .await
        }
        Scenario::List { connections, seconds, todos, uncached } => match seed(&target, todos).await {
            Ok(()) => {
                closed_loop("list (GET /api/todos)", &target, connections, seconds, move |c, i| {
                    let path =
                        if uncached { format!("/api/todos?project=list&nocache={c}-{i}") } else { "/api/todos?project=list".to_string() };
                    ("GET", path, None)
                })
                .await
            }
            Err(e) => Err(e),
        },
        Scenario::Stream { clients, writes, rate, server_pid } => stream::run(&target, clients, writes, rate, server_pid).await,
        Scenario::Start { binary, runs } => stream::startup(&binary, runs).await,
        Scenario::Agents { count, connections } => agents::flow(&target, count, connections).await,
        Scenario::Heartbeats { agents: n, connections, seconds } => agents::heartbeats(&target, n, connections, seconds).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ocd-load: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Makes sure `count` todos of project `list` exist (batches of 200).
async fn seed(target: &Target, count: usize) -> Result<(), String> {
    let mut conn = Conn::open(target).await.map_err(|e| e.to_string())?;
    for start in (0..count).step_by(200) {
        let items: Vec<String> = (start..(start + 200).min(count))
            .map(|i| format!(r#"{{"id":"list-{i}","content":"Seeded todo number {i} with a realistic amount of text","status":"pending","priority":"medium","agent":"seed","project":"list","session_id":"seed"}}"#))
            .collect();
        let reply =
            conn.request("PUT", "/api/todos", Some(&format!(r#"{{"todos":[{}]}}"#, items.join(",")))).await.map_err(|e| e.to_string())?;
        if reply.status != 200 {
            return Err(format!("seeding failed with {}: {}", reply.status, String::from_utf8_lossy(&reply.body)));
        }
    }
    println!("seeded {count} todos in project `list`");
    Ok(())
}

/// Each connection sends requests back to back for `seconds`; prints throughput and latency.
async fn closed_loop<F>(name: &str, target: &Target, connections: usize, seconds: u64, make: F) -> Result<(), String>
where
    F: Fn(usize, u64) -> (&'static str, String, Option<String>) + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|c| {
            let (target, make, errors) = (target.clone(), make.clone(), errors.clone());
            tokio::spawn(async move {
                let mut latencies = Latencies::default();
                let mut conn = match Conn::open(&target).await {
                    Ok(conn) => conn,
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        return latencies;
                    }
                };
                let mut i = 0u64;
                while Instant::now() < deadline {
                    let (method, path, body) = make(c, i);
                    let sent = Instant::now();
                    match conn.request(method, &path, body.as_deref()).await {
                        Ok(reply) if (200..300).contains(&reply.status) => latencies.record(sent.elapsed()),
                        Ok(reply) => {
                            if errors.fetch_add(1, Ordering::Relaxed) == 0 {
                                eprintln!("first error: {} {}", reply.status, String::from_utf8_lossy(&reply.body));
                            }
                        }
                        Err(e) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            eprintln!("connection error: {e}");
                            match Conn::open(&target).await {
                                Ok(fresh) => conn = fresh,
                                Err(_) => return latencies,
                            }
                        }
                    }
                    i += 1;
                }
                latencies
            })
        })
        .collect();
    let mut all = Latencies::default();
    for t in tasks {
        all.merge(t.await.map_err(|e| e.to_string())?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let errors = errors.load(Ordering::Relaxed);
    println!("scenario: {name}, {connections} connections, {elapsed:.1} s");
    println!("  requests: {} ok, {errors} errors (non-2xx or failed)", all.count());
    println!("  throughput: {:.0} req/s", all.count() as f64 / elapsed);
    println!("  latency: {}", all.summary());
    Ok(())
}

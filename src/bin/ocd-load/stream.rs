//! Stream delivery under load, and start-up time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::AsyncReadExt;
use tokio::sync::Mutex;

use crate::http::{Conn, Target, find};
use crate::stats::Latencies;

fn now_micros() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// Resident memory of a process in KiB (Linux).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

const MARKER: &[u8] = b"\"content\":\"t:";

/// Counts marker events on one stream and records their delay.
async fn read_stream(
    mut socket: tokio::net::TcpStream,
    latencies: Arc<Mutex<Latencies>>,
    delivered: Arc<AtomicU64>,
    dropped: Arc<AtomicUsize>,
) {
    let mut buf = Vec::with_capacity(8 * 1024);
    let mut chunk = [0u8; 8 * 1024];
    let mut local = Latencies::default();
    loop {
        let n = match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => {
                dropped.fetch_add(1, Ordering::Relaxed);
                break;
            }
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        while let Some(end) = find(&buf, b"\n\n") {
            if let Some(at) = find(&buf[..end], MARKER) {
                let digits: Vec<u8> = buf[at + MARKER.len()..end].iter().take_while(|b| b.is_ascii_digit()).copied().collect();
                if let Some(sent) = std::str::from_utf8(&digits).ok().and_then(|s| s.parse::<u64>().ok()) {
                    local.record_micros(now_micros().saturating_sub(sent));
                    delivered.fetch_add(1, Ordering::Relaxed);
                }
            }
            buf.drain(..end + 2);
        }
        // Flush samples now and then so the summary sees them without a lock per event.
        if local.count() >= 64 {
            latencies.lock().await.merge(std::mem::take(&mut local));
        }
    }
    latencies.lock().await.merge(local);
}

pub async fn run(target: &Target, clients: usize, writes: usize, rate: u64, server_pid: Option<u32>) -> Result<(), String> {
    let before = server_pid.and_then(rss_kib);
    let latencies = Arc::new(Mutex::new(Latencies::default()));
    let delivered = Arc::new(AtomicU64::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut connected = 0;
    let opened = Instant::now();
    for batch in (0..clients).collect::<Vec<_>>().chunks(250) {
        let opens: Vec<_> = batch.iter().map(|_| Conn::open_stream(target, "")).collect();
        for result in futures_util::future::join_all(opens).await {
            let socket = result.map_err(|e| format!("stream {connected} refused: {e}"))?;
            tokio::spawn(read_stream(socket, latencies.clone(), delivered.clone(), dropped.clone()));
            connected += 1;
        }
    }
    println!("scenario: stream, {clients} clients connected in {:.2} s", opened.elapsed().as_secs_f64());
    tokio::time::sleep(Duration::from_secs(2)).await;
    if let (Some(pid), Some(before)) = (server_pid, before)
        && let Some(held) = rss_kib(pid)
    {
        let per_stream = (held.saturating_sub(before)) as f64 / clients.max(1) as f64;
        println!("  server RSS: {before} KiB before, {held} KiB holding the streams: {per_stream:.1} KiB per stream");
    }

    let mut writer = Conn::open(target).await.map_err(|e| e.to_string())?;
    let errors = AtomicU64::new(0);
    let mut acked = 0u64;
    let interval = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let mut ticker = tokio::time::interval(interval);
    let started = Instant::now();
    for i in 0..writes {
        ticker.tick().await;
        let body = format!(r#"{{"id":"stream-{}","content":"t:{}"}}"#, i % 500, now_micros());
        match writer.request("POST", "/api/todos", Some(&body)).await {
            Ok(r) if r.status == 200 => acked += 1,
            _ => {
                errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    let write_secs = started.elapsed().as_secs_f64();
    let expected = acked * clients as u64;
    let wait_until = Instant::now() + Duration::from_secs(10);
    while delivered.load(Ordering::Relaxed) < expected && Instant::now() < wait_until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if let (Some(pid), Some(before)) = (server_pid, before)
        && let Some(after) = rss_kib(pid)
    {
        println!(
            "  server RSS after the writes: {after} KiB ({:.1} KiB per stream over the start)",
            (after.saturating_sub(before)) as f64 / clients.max(1) as f64
        );
    }
    let got = delivered.load(Ordering::Relaxed);
    println!("  writes: {acked} acknowledged at {:.0}/s, {} errors", acked as f64 / write_secs, errors.load(Ordering::Relaxed));
    println!(
        "  deliveries: {got} of {expected} ({} lost), {} streams dropped",
        expected.saturating_sub(got),
        dropped.load(Ordering::Relaxed)
    );
    println!("  write-to-delivery: {}", latencies.lock().await.summary());
    Ok(())
}

/// Spawns `binary` on a fresh data dir `runs` times: time until `/healthz` answers 200, and
/// resident memory once idle.
pub async fn startup(binary: &str, runs: usize) -> Result<(), String> {
    let mut firsts = Vec::new();
    let mut rss = Vec::new();
    for run in 0..runs {
        let dir = std::env::temp_dir().join(format!("ocd-load-start-{}-{run}", std::process::id()));
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
            probe.local_addr().map_err(|e| e.to_string())?.port()
        };
        let started = Instant::now();
        let mut child = std::process::Command::new(binary)
            .env("DATA_DIR", &dir)
            .env("PORT", port.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {binary}: {e}"))?;
        let target = Target::parse(&format!("http://127.0.0.1:{port}"), "").map_err(|e| e.to_string())?;
        let first = loop {
            if let Ok(mut conn) = Conn::open(&target).await
                && let Ok(reply) = conn.request("GET", "/healthz", None).await
                && reply.status == 200
            {
                break started.elapsed();
            }
            if started.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                return Err("no 200 within 10 s".into());
            }
            tokio::time::sleep(Duration::from_micros(500)).await;
        };
        tokio::time::sleep(Duration::from_secs(2)).await;
        if let Some(kib) = rss_kib(child.id()) {
            rss.push(kib);
        }
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&dir);
        firsts.push(first.as_secs_f64() * 1000.0);
    }
    firsts.sort_by(f64::total_cmp);
    rss.sort_unstable();
    println!("scenario: start, {runs} runs of {binary} on a fresh SQLite data dir");
    println!("  start to first 200: median {:.1} ms, max {:.1} ms", firsts[firsts.len() / 2], firsts[firsts.len() - 1]);
    if !rss.is_empty() {
        println!("  idle RSS: median {} KiB ({:.1} MB)", rss[rss.len() / 2], rss[rss.len() / 2] as f64 / 1024.0);
    }
    Ok(())
}

//! Prometheus text metrics: requests by route and status, latency, write group sizes.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use crate::db::WriteStats;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 11] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
}

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    pub fn record(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let mut inner = match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *inner.requests.entry((route.to_string(), method.to_string(), status)).or_insert(0) += 1;
        let h = inner.latency.entry(route.to_string()).or_default();
        h.count += 1;
        h.sum += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
    }

    pub fn render(&self, writes: &WriteStats) -> String {
        let inner = match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let mut out = String::new();
        out.push_str("# HELP ocd_http_requests_total HTTP requests by route pattern, method and status.\n");
        out.push_str("# TYPE ocd_http_requests_total counter\n");
        for ((route, method, status), n) in &inner.requests {
            let _ = writeln!(out, "ocd_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}");
        }
        out.push_str("# HELP ocd_http_request_duration_seconds Request latency by route pattern.\n");
        out.push_str("# TYPE ocd_http_request_duration_seconds histogram\n");
        for (route, h) in &inner.latency {
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(out, "ocd_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}");
            }
            let _ = writeln!(out, "ocd_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "ocd_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", h.sum);
            let _ = writeln!(out, "ocd_http_request_duration_seconds_count{{route=\"{route}\"}} {}", h.count);
        }
        out.push_str("# HELP ocd_db_writes_per_commit Write units committed together in one transaction.\n");
        out.push_str("# TYPE ocd_db_writes_per_commit histogram\n");
        for (bound, n) in &writes.size_buckets {
            let _ = writeln!(out, "ocd_db_writes_per_commit_bucket{{le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(out, "ocd_db_writes_per_commit_bucket{{le=\"+Inf\"}} {}", writes.groups);
        let _ = writeln!(out, "ocd_db_writes_per_commit_sum {}", writes.units);
        let _ = writeln!(out, "ocd_db_writes_per_commit_count {}", writes.groups);
        out.push_str("# HELP ocd_db_writes_queued Write units waiting for the writer.\n");
        out.push_str("# TYPE ocd_db_writes_queued gauge\n");
        let _ = writeln!(out, "ocd_db_writes_queued {}", writes.queued);
        out
    }
}

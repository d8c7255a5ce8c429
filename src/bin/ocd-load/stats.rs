//! Latency samples and percentiles.

use std::time::Duration;

#[derive(Debug, Default)]
pub struct Latencies {
    micros: Vec<u64>,
}

impl Latencies {
    pub fn record(&mut self, d: Duration) {
        self.micros.push(d.as_micros() as u64);
    }

    pub fn record_micros(&mut self, us: u64) {
        self.micros.push(us);
    }

    pub fn merge(&mut self, other: Latencies) {
        self.micros.extend(other.micros);
    }

    pub fn count(&self) -> usize {
        self.micros.len()
    }

    fn percentile(sorted: &[u64], p: f64) -> f64 {
        if sorted.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
    }

    /// `p50 … ms  p99 … ms  max … ms`.
    pub fn summary(&self) -> String {
        let mut sorted = self.micros.clone();
        sorted.sort_unstable();
        format!(
            "p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
            Self::percentile(&sorted, 50.0),
            Self::percentile(&sorted, 99.0),
            Self::percentile(&sorted, 100.0)
        )
    }
}

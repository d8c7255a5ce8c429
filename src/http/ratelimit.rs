//! Write rate limiting per principal (decisions.md#rate-limits): a sliding window estimated from the current and
//! previous fixed windows, so memory stays one small entry per bucket.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug)]
pub struct RateLimiter {
    window_ms: i64,
    max: u64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    window: i64,
    current: u64,
    previous: u64,
}

/// Buckets kept before idle ones are swept.
const SWEEP_AT: usize = 10_000;

impl RateLimiter {
    pub fn new(window_ms: u64, max: u64) -> RateLimiter {
        RateLimiter { window_ms: window_ms.max(1) as i64, max: max.max(1), buckets: Mutex::new(HashMap::new()) }
    }

    /// Counts one request for `key` at `now_ms`; `Err(retry_after_secs)` when over the limit
    /// (denied requests are not counted).
    pub fn check(&self, key: &str, now_ms: i64) -> Result<(), u64> {
        self.count(key, now_ms, true)
    }

    /// Whether one more request for `key` would be over the limit, without counting it.
    pub fn peek(&self, key: &str, now_ms: i64) -> Result<(), u64> {
        self.count(key, now_ms, false)
    }

    fn count(&self, key: &str, now_ms: i64, record: bool) -> Result<(), u64> {
        let window = now_ms.div_euclid(self.window_ms);
        let elapsed = now_ms.rem_euclid(self.window_ms);
        let mut buckets = match self.buckets.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if !record && !buckets.contains_key(key) {
            // Looking costs nothing: no bucket is made for a key that never counted.
            return Ok(());
        }
        if buckets.len() >= SWEEP_AT {
            buckets.retain(|_, b| b.window >= window - 1);
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket { window, current: 0, previous: 0 });
        if bucket.window != window {
            bucket.previous = if bucket.window == window - 1 { bucket.current } else { 0 };
            bucket.current = 0;
            bucket.window = window;
        }
        // The share of the previous window still inside the sliding window.
        let weight = (self.window_ms - elapsed) as f64 / self.window_ms as f64;
        let estimate = bucket.previous as f64 * weight + bucket.current as f64;
        if estimate + 1.0 > self.max as f64 {
            let until_next = self.window_ms - elapsed;
            return Err(((until_next + 999) / 1000).max(1) as u64);
        }
        if record {
            bucket.current += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_max_per_window_then_refuses_with_retry_after() {
        let limiter = RateLimiter::new(60_000, 3);
        for _ in 0..3 {
            assert_eq!(limiter.check("a", 1_000), Ok(()));
        }
        assert_eq!(limiter.check("a", 1_000), Err(59));
        // other principals have their own bucket
        assert_eq!(limiter.check("b", 1_000), Ok(()));
    }

    #[test]
    fn the_previous_window_fades_out() {
        let limiter = RateLimiter::new(10_000, 4);
        for _ in 0..4 {
            limiter.check("a", 9_000).unwrap();
        }
        // Just after the boundary most of the previous window still counts.
        assert!(limiter.check("a", 10_500).is_err());
        // Three quarters into the next window only a quarter of 4 (=1) counts.
        for _ in 0..3 {
            assert_eq!(limiter.check("a", 17_500), Ok(()));
        }
        assert!(limiter.check("a", 17_500).is_err());
        // Two windows later nothing from the first remains.
        for _ in 0..4 {
            assert_eq!(limiter.check("a", 30_000), Ok(()));
        }
    }
}

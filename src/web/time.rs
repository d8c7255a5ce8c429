//! Times as a person reads them on a page: "5 min ago", "3 h 5 min", and a UTC stamp for the
//! tooltip.

/// A length of time, coarse: seconds under a minute, minutes under an hour, hours and
/// minutes under a day, then days and hours.
pub fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => match (s % 3600) / 60 {
            0 => format!("{} h", s / 3600),
            m => format!("{} h {m} min", s / 3600),
        },
        s => match (s % 86_400) / 3600 {
            0 => format!("{} d", s / 86_400),
            h => format!("{} d {h} h", s / 86_400),
        },
    }
}

/// How long ago `then` was.
pub fn ago(now: i64, then: i64) -> String {
    if now - then < 10 { "just now".to_string() } else { format!("{} ago", duration(now - then)) }
}

/// `2026-02-16 14:03 UTC`.
pub fn stamp(at: i64) -> String {
    match jiff::Timestamp::from_second(at) {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        Err(_) => String::new(),
    }
}

/// The time a page was drawn, and how its times and amounts read.
pub struct Clock {
    pub now: i64,
}

impl Clock {
    pub fn ago(&self, at: &i64) -> String {
        ago(self.now, *at)
    }

    pub fn since(&self, at: &Option<i64>) -> String {
        at.map_or_else(|| "never".to_string(), |at| ago(self.now, at))
    }

    pub fn duration(&self, secs: &i64) -> String {
        duration(*secs)
    }

    pub fn stamp(&self, at: &i64) -> String {
        stamp(*at)
    }

    pub fn cost(&self, usd: &f64) -> String {
        format!("${usd:.2}")
    }

    pub fn tokens(&self, n: &i64) -> String {
        match *n {
            n if n >= 1_000_000 => format!("{:.1}M", n as f64 / 1e6),
            n if n >= 1_000 => format!("{:.1}k", n as f64 / 1e3),
            n => n.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(42), "42 s");
        assert_eq!(duration(600), "10 min");
        assert_eq!(duration(3600), "1 h");
        assert_eq!(duration(3600 + 5 * 60), "1 h 5 min");
        assert_eq!(duration(2 * 86_400 + 3 * 3600), "2 d 3 h");
        assert_eq!(ago(1000, 995), "just now");
        assert_eq!(ago(1000, 700), "5 min ago");
        assert_eq!(stamp(1_771_200_000), "2026-02-16 00:00 UTC");
    }
}

//! Notification channels (K27, docs/decisions.md#channels): what each type needs, how its
//! secrets are shown, which alerts it wants, and how failed sends are retried.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Priority;
use super::alerts::{AlertFacts, Trigger, priority_rank};

string_enum!(ChannelType {
    WebPush => "web_push",
    Ntfy => "ntfy",
    Slack => "slack",
    Discord => "discord",
    Webhook => "webhook",
});

/// The configuration keys of each type, and which of them are secrets (shown masked).
/// `(key, required, secret)`.
pub fn config_keys(kind: ChannelType) -> &'static [(&'static str, bool, bool)] {
    match kind {
        ChannelType::WebPush => &[("endpoint", true, true), ("p256dh", true, false), ("auth", true, true)],
        ChannelType::Ntfy => &[("server", true, false), ("topic", true, true), ("token", false, true)],
        ChannelType::Slack | ChannelType::Discord => &[("url", true, true)],
        ChannelType::Webhook => &[("url", true, true), ("secret", false, true)],
    }
}

/// The keys whose values are URLs (http or https only).
fn is_url_key(kind: ChannelType, key: &str) -> bool {
    matches!((kind, key), (_, "url") | (ChannelType::Ntfy, "server") | (ChannelType::WebPush, "endpoint"))
}

/// Checks a channel's configuration; the error names the field (`config.<key>`).
pub fn check_config(kind: ChannelType, config: &Map<String, Value>) -> Result<(), (String, String)> {
    let keys = config_keys(kind);
    for key in config.keys() {
        if !keys.iter().any(|(k, ..)| k == key) {
            let known: Vec<&str> = keys.iter().map(|(k, ..)| *k).collect();
            return Err((format!("config.{key}"), format!("{} channels take only {}", kind.as_str(), known.join(", "))));
        }
    }
    for (key, required, _) in keys {
        let field = format!("config.{key}");
        match config.get(*key) {
            None | Some(Value::Null) if *required => return Err((field, "is required".into())),
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.trim().is_empty() => return Err((field, "must not be empty".into())),
            Some(Value::String(s)) if s.len() > 2048 => return Err((field, "must be at most 2048 characters".into())),
            Some(Value::String(s)) if is_url_key(kind, key) && !is_http_url(s) => {
                return Err((field, "must be an http:// or https:// URL".into()));
            }
            Some(Value::String(_)) => {}
            Some(_) => return Err((field, "must be a string".into())),
        }
    }
    Ok(())
}

fn is_http_url(s: &str) -> bool {
    let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace))
}

/// The configuration as the API shows it: secrets reduced to their last 4 characters.
pub fn masked(kind: ChannelType, config: &Map<String, Value>) -> Map<String, Value> {
    let mut shown = Map::new();
    for (key, value) in config {
        let secret = config_keys(kind).iter().any(|(k, _, secret)| k == key && *secret);
        let value = match value {
            Value::String(s) if secret => Value::String(mask(s)),
            other => other.clone(),
        };
        shown.insert(key.clone(), value);
    }
    shown
}

pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("••••{tail}")
}

/// Which alerts a channel wants; empty lists and no minimum mean all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    #[serde(default)]
    pub projects: Vec<String>,
    #[serde(default)]
    pub min_priority: Option<Priority>,
    #[serde(default)]
    pub triggers: Vec<Trigger>,
}

impl Filters {
    pub fn wants(&self, a: &AlertFacts) -> bool {
        let project_ok = self.projects.is_empty() || a.project_id.as_ref().is_some_and(|p| self.projects.contains(p));
        let priority_ok = self.min_priority.is_none_or(|min| priority_rank(a.priority) >= priority_rank(min));
        let trigger_ok = self.triggers.is_empty() || self.triggers.contains(&a.trigger);
        project_ok && priority_ok && trigger_ok
    }
}

/// Sends are tried this many times before a delivery is given up.
pub const MAX_ATTEMPTS: i64 = 6;
const FIRST_RETRY_MS: i64 = 30_000;
const LONGEST_RETRY_MS: i64 = 3_600_000;

/// What an answer (or its absence) means for a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// The push service no longer knows the subscription (404/410): the channel is removed.
    Gone,
    /// Worth trying again: no answer, 408, 429 or 5xx.
    Retry,
    /// Refused for good (another 4xx): trying again would be refused again.
    Failed,
}

pub fn outcome(kind: ChannelType, status: Option<u16>) -> Outcome {
    match status {
        Some(200..=299) => Outcome::Delivered,
        Some(404 | 410) if kind == ChannelType::WebPush => Outcome::Gone,
        None | Some(408 | 429 | 500..=599) => Outcome::Retry,
        Some(_) => Outcome::Failed,
    }
}

/// The wait before the next try after `attempts` failed tries: 30 s doubling up to an hour,
/// at least what the receiver asked for (`Retry-After`), plus up to a tenth more (`jitter` in
/// 0..1) so many deliveries to one receiver do not come back at the same instant.
pub fn retry_delay_ms(attempts: i64, retry_after_secs: Option<i64>, jitter: f64) -> i64 {
    let doubled = FIRST_RETRY_MS.saturating_mul(1_i64 << (attempts - 1).clamp(0, 20));
    let wanted = retry_after_secs.map_or(0, |s| s.saturating_mul(1000));
    let base = doubled.max(wanted).min(LONGEST_RETRY_MS);
    base + (base as f64 * 0.1 * jitter.clamp(0.0, 1.0)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn configs_are_checked_and_secrets_masked() {
        assert!(check_config(ChannelType::Slack, &map(json!({"url": "https://hooks.slack.com/services/T/B/xyz"}))).is_ok());
        let err = check_config(ChannelType::Slack, &map(json!({}))).unwrap_err();
        assert_eq!(err.0, "config.url");
        let err = check_config(ChannelType::Ntfy, &map(json!({"server": "ftp://x", "topic": "t"}))).unwrap_err();
        assert_eq!(err.0, "config.server");
        let err = check_config(ChannelType::Webhook, &map(json!({"url": "https://x", "colour": "red"}))).unwrap_err();
        assert_eq!(err.0, "config.colour");
        let shown = masked(ChannelType::Webhook, &map(json!({"url": "https://example.com/hook/abcdef", "secret": "s3cr3t!"})));
        assert_eq!(shown["url"], "••••cdef");
        assert_eq!(shown["secret"], "••••r3t!");
        let shown = masked(ChannelType::Ntfy, &map(json!({"server": "https://ntfy.sh", "topic": "ocd-alerts-7"})));
        assert_eq!(shown["server"], "https://ntfy.sh");
        assert_eq!(mask("ab"), "••••ab");
    }

    #[test]
    fn filters_choose_alerts() {
        let alert = AlertFacts {
            trigger: Trigger::Blocked,
            agent_id: "a".into(),
            task_id: None,
            title: None,
            priority: Priority::Medium,
            reason: None,
            project_id: Some("web".into()),
        };
        assert!(Filters::default().wants(&alert));
        assert!(Filters { projects: vec!["web".into()], ..Default::default() }.wants(&alert));
        assert!(!Filters { projects: vec!["api".into()], ..Default::default() }.wants(&alert));
        assert!(!Filters { min_priority: Some(Priority::High), ..Default::default() }.wants(&alert));
        assert!(Filters { min_priority: Some(Priority::Low), ..Default::default() }.wants(&alert));
        assert!(!Filters { triggers: vec![Trigger::Error], ..Default::default() }.wants(&alert));
    }

    #[test]
    fn failures_back_off_and_gone_subscriptions_are_told_apart() {
        assert_eq!(outcome(ChannelType::WebPush, Some(201)), Outcome::Delivered);
        assert_eq!(outcome(ChannelType::WebPush, Some(410)), Outcome::Gone);
        assert_eq!(outcome(ChannelType::Webhook, Some(404)), Outcome::Failed);
        assert_eq!(outcome(ChannelType::Slack, Some(429)), Outcome::Retry);
        assert_eq!(outcome(ChannelType::Slack, None), Outcome::Retry);
        assert_eq!(outcome(ChannelType::Discord, Some(503)), Outcome::Retry);
        assert_eq!(retry_delay_ms(1, None, 0.0), 30_000);
        assert_eq!(retry_delay_ms(3, None, 0.0), 120_000);
        assert_eq!(retry_delay_ms(2, Some(600), 0.0), 600_000);
        assert_eq!(retry_delay_ms(30, None, 0.0), 3_600_000);
        assert_eq!(retry_delay_ms(1, None, 1.0), 33_000);
    }
}

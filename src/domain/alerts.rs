//! Alert rules and the engine's pure decisions (docs/decisions.md#alerting): which rules an
//! alert matches, when it is due, what the feed message says, and whether it may be pushed.

use serde::{Deserialize, Serialize};

use super::{MessageType, Priority};

string_enum!(Trigger {
    Blocked => "blocked",
    Completed => "completed",
    Error => "error",
    IdleTooLong => "idle_too_long",
    StaleTask => "stale_task",
    Stalled => "stalled",
    ApprovalNeeded => "approval_needed",
});

impl Trigger {
    /// Approvals wait for a person now: never held for a digest nor throttled, and not
    /// counted against the other alerts' budgets (docs/decisions.md#approvals).
    pub fn is_exempt_from_throttles(self) -> bool {
        self == Trigger::ApprovalNeeded
    }
}

string_enum!(PriorityFilter {
    High => "high",
    Medium => "medium",
    Low => "low",
    All => "all",
});

string_enum!(AlertChannel {
    Push => "push",
    InApp => "in_app",
    Both => "both",
});

impl AlertChannel {
    /// Whether the alert also goes to the external channels.
    pub fn pushes(self) -> bool {
        self != AlertChannel::InApp
    }
}

/// A rule as the API shows it (`enabled` is the original's 0|1).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AlertRule {
    pub id: String,
    pub trigger: Trigger,
    pub priority_filter: PriorityFilter,
    pub delay_ms: i64,
    pub channel: AlertChannel,
    pub enabled: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl AlertRule {
    pub fn matches(&self, trigger: Trigger, priority: Priority) -> bool {
        self.enabled == 1
            && self.trigger == trigger
            && (self.priority_filter == PriorityFilter::All || self.priority_filter.as_str() == priority.as_str())
    }
}

/// The rule that batches completions (api-compat §17): high completions skip it, the others
/// wait together and leave as one message.
pub const BATCH_RULE: &str = "completed-batch";

/// The default rules: the original's eight and ocd's `stalled-all` (id, trigger, filter, delay, channel).
pub const DEFAULT_RULES: &[(&str, Trigger, PriorityFilter, i64, AlertChannel)] = &[
    ("blocked-high", Trigger::Blocked, PriorityFilter::High, 0, AlertChannel::Both),
    ("blocked-medium", Trigger::Blocked, PriorityFilter::Medium, 600_000, AlertChannel::Both),
    ("blocked-low", Trigger::Blocked, PriorityFilter::Low, 3_600_000, AlertChannel::InApp),
    ("error-all", Trigger::Error, PriorityFilter::All, 0, AlertChannel::Both),
    ("completed-high", Trigger::Completed, PriorityFilter::High, 0, AlertChannel::InApp),
    (BATCH_RULE, Trigger::Completed, PriorityFilter::All, 900_000, AlertChannel::InApp),
    ("idle-all", Trigger::IdleTooLong, PriorityFilter::All, 1_800_000, AlertChannel::InApp),
    ("stale-all", Trigger::StaleTask, PriorityFilter::All, 7_200_000, AlertChannel::Push),
    ("stalled-all", Trigger::Stalled, PriorityFilter::All, 0, AlertChannel::Both),
    ("approval-needed", Trigger::ApprovalNeeded, PriorityFilter::All, 0, AlertChannel::Both),
];

pub fn is_default(id: &str) -> bool {
    DEFAULT_RULES.iter().any(|(default, ..)| *default == id)
}

/// The longest delay a rule may have (30 days): longer is a typo, and it keeps due times far from overflow.
pub const MAX_DELAY_MS: i64 = 30 * 24 * 3_600_000;

/// When an alert raised at `raised_ms` by `rule` is due. Conditions that have already lasted
/// (silence, a long block, a stall) count their time toward the delay, so a 30-minute idle
/// rule on a 30-minute silence fires at once instead of after an hour.
pub fn due_ms(trigger: Trigger, raised_ms: i64, since: Option<i64>, delay_ms: i64) -> i64 {
    let start = match (trigger, since) {
        (Trigger::IdleTooLong | Trigger::StaleTask | Trigger::Stalled, Some(since)) => (since * 1000).min(raised_ms),
        _ => raised_ms,
    };
    start.saturating_add(delay_ms)
}

/// More than this many alerts fired in the trailing window switch to digest mode.
pub const DIGEST_THRESHOLD: i64 = 5;
pub const DIGEST_WINDOW_MS: i64 = 60_000;
/// Push budgets per rolling hour: overall and per agent.
pub const PUSH_PER_HOUR: i64 = 10;
pub const PUSH_PER_AGENT_PER_HOUR: i64 = 3;
pub const HOUR_MS: i64 = 3_600_000;

/// Why an alert that wanted to be pushed stayed in the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// Digest mode: it goes out with the window's digest.
    Digest,
    /// Over a push budget: in the app only.
    Throttled,
}

impl Held {
    pub fn as_str(self) -> &'static str {
        match self {
            Held::Digest => "digest",
            Held::Throttled => "throttled",
        }
    }
}

/// What happened to the rule's channel when the alert fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    pub channel: AlertChannel,
    pub held: Option<Held>,
}

/// Channel resolution (api-compat §17 step 5): `in_app` stays; in digest mode everything is in-app
/// (held for the digest); otherwise a push needs room in both hourly budgets.
/// `recent_alerts` counts the alerts fired in the trailing minute, this one excluded;
/// `pushed_*` the pushes of the trailing hour.
pub fn resolve(wanted: AlertChannel, recent_alerts: i64, pushed_overall: i64, pushed_for_agent: i64) -> Resolved {
    let digest_mode = recent_alerts + 1 > DIGEST_THRESHOLD;
    if !wanted.pushes() {
        return Resolved { channel: wanted, held: None };
    }
    if digest_mode {
        return Resolved { channel: AlertChannel::InApp, held: Some(Held::Digest) };
    }
    if pushed_overall >= PUSH_PER_HOUR || pushed_for_agent >= PUSH_PER_AGENT_PER_HOUR {
        return Resolved { channel: AlertChannel::InApp, held: Some(Held::Throttled) };
    }
    Resolved { channel: wanted, held: None }
}

/// Whether the trailing minute (this alert included) is in digest mode.
pub fn digest_mode(recent_alerts: i64) -> bool {
    recent_alerts + 1 > DIGEST_THRESHOLD
}

/// The feed message type of a trigger (api-compat §17 step 3).
pub fn message_type(trigger: Trigger) -> MessageType {
    match trigger {
        Trigger::Error => MessageType::Error,
        Trigger::Completed => MessageType::TaskComplete,
        _ => MessageType::StateChange,
    }
}

/// What an alert is about, as the engine words it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AlertFacts {
    pub trigger: Trigger,
    #[serde(rename = "agentId")]
    pub agent_id: String,
    #[serde(rename = "taskId")]
    pub task_id: Option<String>,
    pub title: Option<String>,
    pub priority: Priority,
    pub reason: Option<String>,
    #[serde(rename = "projectId")]
    pub project_id: Option<String>,
}

/// The feed message's text, in the original's wording (api-compat §17 step 3); `stalled` is ocd's.
pub fn content(a: &AlertFacts) -> String {
    let title = a.title.as_deref().unwrap_or("(no task)");
    let reason = a.reason.as_deref().unwrap_or("Unknown");
    let agent = &a.agent_id;
    match a.trigger {
        Trigger::Blocked => format!("[{}] Agent \"{agent}\" blocked on \"{title}\": {reason}", a.priority.as_str().to_uppercase()),
        Trigger::Completed => format!("Agent \"{agent}\" completed \"{title}\""),
        Trigger::Error => format!("[ERROR] Agent \"{agent}\" error on \"{title}\": {reason}"),
        Trigger::StaleTask => format!("[STALE] Task \"{title}\" blocked for >2h (agent: {agent})"),
        Trigger::IdleTooLong => format!("Agent \"{agent}\" idle for >30min with pending tasks"),
        Trigger::Stalled => format!("[STALLED] Agent \"{agent}\" made no progress on \"{title}\": {reason}"),
        Trigger::ApprovalNeeded => {
            let project = a.project_id.as_deref().map(|p| format!(" (project {p})")).unwrap_or_default();
            format!("[APPROVAL] {title} agent \"{agent}\"{project} asks: {reason}")
        }
    }
}

/// The batched completions' message (api-compat §17 step 4; it says 15 minutes whatever the delay).
pub fn batch_content(done: &[AlertFacts]) -> String {
    match done {
        [one] => format!("Task completed: \"{}\" (agent: {})", one.title.as_deref().unwrap_or("(no task)"), one.agent_id),
        many => {
            let titles: Vec<String> = many.iter().map(|a| format!("\"{}\"", a.title.as_deref().unwrap_or("(no task)"))).collect();
            format!("{} tasks completed in the last 15 minutes: {}", many.len(), titles.join(", "))
        }
    }
}

/// A short title for notifications outside the app.
pub fn headline(a: &AlertFacts) -> String {
    match a.trigger {
        Trigger::Blocked => format!("{} is blocked", a.agent_id),
        Trigger::Completed => format!("{} completed a task", a.agent_id),
        Trigger::Error => format!("{} hit an error", a.agent_id),
        Trigger::StaleTask => format!("{} blocked for over 2 hours", a.agent_id),
        Trigger::IdleTooLong => format!("{} is idle with work waiting", a.agent_id),
        Trigger::Stalled => format!("{} stalled", a.agent_id),
        Trigger::ApprovalNeeded => format!("{} asks for approval", a.title.as_deref().unwrap_or("An agent")),
    }
}

/// What goes out to a channel, whatever its type: a title, a body with the reason or the
/// question, an absolute link, a tag that lets a phone replace an older notification of the
/// same thing, and the webhook body (K27).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub title: String,
    pub body: String,
    pub url: String,
    pub tag: String,
    pub priority: Priority,
    pub data: serde_json::Value,
    /// A permission request the receiver may answer (K27, K28): its decision links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalNote>,
}

/// What a notification says about an approval, and where to answer it. `decide_url` takes a
/// POST with `decision`; the approve and reject links show a confirm page first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalNote {
    pub id: String,
    pub tool: String,
    pub summary: String,
    pub approve_url: String,
    pub reject_url: String,
    pub decide_url: String,
}

impl ApprovalNote {
    /// The links of decision link `link` (an absolute URL) for approval `id`.
    pub fn new(id: &str, tool: &str, summary: &str, link: &str) -> ApprovalNote {
        ApprovalNote {
            id: id.to_string(),
            tool: tool.to_string(),
            summary: summary.to_string(),
            approve_url: format!("{link}?decision=once"),
            reject_url: format!("{link}?decision=reject"),
            decide_url: link.to_string(),
        }
    }
}

/// The alert as a webhook receives it (K27): the original's event keys plus the link.
fn alert_data(a: &AlertFacts, url: &str) -> serde_json::Value {
    let mut data = serde_json::json!(a);
    data["url"] = serde_json::Value::from(url);
    data
}

impl Notification {
    pub fn alert(a: &AlertFacts, alert_id: i64, url: &str) -> Notification {
        Notification {
            title: headline(a),
            body: content(a),
            url: url.to_string(),
            tag: format!("alert-{alert_id}"),
            priority: a.priority,
            data: serde_json::json!({"alert": alert_data(a, url), "digest": false}),
            approval: None,
        }
    }

    /// The alert with the approval it asks for: webhooks get `approval: {id, tool, summary,
    /// approve_url, reject_url}` (K27), the other channels their own kind of buttons.
    pub fn with_approval(mut self, note: ApprovalNote) -> Notification {
        self.data["approval"] = serde_json::json!({
            "id": note.id,
            "tool": note.tool,
            "summary": note.summary,
            "approve_url": note.approve_url,
            "reject_url": note.reject_url,
        });
        self.approval = Some(note);
        self
    }

    /// Batched completions as one message: `{batch: true, digest: false, alerts: [...]}` for webhooks.
    pub fn batch(done: &[(AlertFacts, String)], first_id: i64) -> Notification {
        let facts: Vec<AlertFacts> = done.iter().map(|(a, _)| a.clone()).collect();
        let (title, url) = match done {
            [(one, url)] => (headline(one), url.clone()),
            many => (format!("{} tasks completed", many.len()), many.first().map(|(_, url)| url.clone()).unwrap_or_default()),
        };
        Notification {
            title,
            body: batch_content(&facts),
            url,
            tag: format!("alert-{first_id}"),
            priority: Priority::Medium,
            data: serde_json::json!({"batch": true, "digest": false, "alerts": done.iter().map(|(a, url)| alert_data(a, url)).collect::<Vec<_>>()}),
            approval: None,
        }
    }

    /// One message listing the alerts of a digest window; each alert keeps its own link.
    pub fn digest(alerts: &[(AlertFacts, String)], feed_url: &str) -> Notification {
        let lines: Vec<String> = alerts.iter().map(|(a, _)| format!("• {}", content(a))).collect();
        let top = alerts.iter().map(|(a, _)| a.priority).max_by_key(|p| priority_rank(*p)).unwrap_or(Priority::Medium);
        Notification {
            title: format!("{} alerts in the last minute", alerts.len()),
            body: lines.join("\n"),
            url: feed_url.to_string(),
            tag: "digest".into(),
            priority: top,
            data: serde_json::json!({"digest": true, "alerts": alerts.iter().map(|(a, url)| alert_data(a, url)).collect::<Vec<_>>()}),
            approval: None,
        }
    }

    /// The "send test" button's message.
    pub fn test(channel_name: &str, url: &str) -> Notification {
        Notification {
            title: "ocd test notification".into(),
            body: format!("Channel \"{channel_name}\" works: alerts will arrive here."),
            url: url.to_string(),
            tag: "test".into(),
            priority: Priority::Low,
            data: serde_json::json!({"test": true, "digest": false, "channel": channel_name}),
            approval: None,
        }
    }
}

pub fn priority_rank(p: Priority) -> u8 {
    match p {
        Priority::Low => 0,
        Priority::Medium => 1,
        Priority::High => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(trigger: Trigger) -> AlertFacts {
        AlertFacts {
            trigger,
            agent_id: "a1".into(),
            task_id: Some("t1".into()),
            title: Some("Ship it".into()),
            priority: Priority::High,
            reason: Some("needs a key".into()),
            project_id: None,
        }
    }

    #[test]
    fn messages_use_the_original_wording() {
        assert_eq!(content(&facts(Trigger::Blocked)), "[HIGH] Agent \"a1\" blocked on \"Ship it\": needs a key");
        assert_eq!(content(&facts(Trigger::Error)), "[ERROR] Agent \"a1\" error on \"Ship it\": needs a key");
        assert_eq!(content(&facts(Trigger::StaleTask)), "[STALE] Task \"Ship it\" blocked for >2h (agent: a1)");
        assert_eq!(content(&facts(Trigger::IdleTooLong)), "Agent \"a1\" idle for >30min with pending tasks");
        assert_eq!(content(&facts(Trigger::Completed)), "Agent \"a1\" completed \"Ship it\"");
        let two = [facts(Trigger::Completed), AlertFacts { title: Some("B".into()), ..facts(Trigger::Completed) }];
        assert_eq!(batch_content(&two), "2 tasks completed in the last 15 minutes: \"Ship it\", \"B\"");
        assert_eq!(batch_content(&two[..1]), "Task completed: \"Ship it\" (agent: a1)");
        assert_eq!(message_type(Trigger::Error), MessageType::Error);
        assert_eq!(message_type(Trigger::Completed), MessageType::TaskComplete);
        assert_eq!(message_type(Trigger::Stalled), MessageType::StateChange);
    }

    #[test]
    fn lasting_conditions_count_toward_the_delay() {
        assert_eq!(due_ms(Trigger::IdleTooLong, 1_800_000, Some(0), 1_800_000), 1_800_000);
        assert_eq!(due_ms(Trigger::Blocked, 5_000, Some(0), 600_000), 605_000);
        assert_eq!(due_ms(Trigger::StaleTask, 10_000_000, None, 1_000), 10_001_000);
    }

    #[test]
    fn digest_mode_and_budgets_keep_pushes_in_the_app() {
        let push = resolve(AlertChannel::Both, 0, 0, 0);
        assert_eq!(push, Resolved { channel: AlertChannel::Both, held: None });
        assert_eq!(resolve(AlertChannel::InApp, 50, 50, 50).held, None);
        assert_eq!(resolve(AlertChannel::Push, 4, 0, 0).held, None, "the fifth alert of a minute is still pushed");
        assert_eq!(resolve(AlertChannel::Push, 5, 0, 0).held, Some(Held::Digest), "the sixth is held for the digest");
        assert_eq!(resolve(AlertChannel::Push, 0, 10, 0).held, Some(Held::Throttled));
        assert_eq!(resolve(AlertChannel::Push, 0, 9, 3).held, Some(Held::Throttled));
        assert_eq!(resolve(AlertChannel::Push, 0, 9, 2).channel, AlertChannel::Push);
    }

    #[test]
    fn rules_match_trigger_priority_and_enabled() {
        let mut rule = AlertRule {
            id: "r".into(),
            trigger: Trigger::Blocked,
            priority_filter: PriorityFilter::Medium,
            delay_ms: 0,
            channel: AlertChannel::Both,
            enabled: 1,
            created_at: 0,
            updated_at: 0,
        };
        assert!(rule.matches(Trigger::Blocked, Priority::Medium));
        assert!(!rule.matches(Trigger::Blocked, Priority::High));
        assert!(!rule.matches(Trigger::Error, Priority::Medium));
        rule.priority_filter = PriorityFilter::All;
        assert!(rule.matches(Trigger::Blocked, Priority::High));
        rule.enabled = 0;
        assert!(!rule.matches(Trigger::Blocked, Priority::High));
        assert!(is_default("stalled-all") && !is_default("mine"));
    }
}

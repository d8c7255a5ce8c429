//! Agent lifecycle rules (decisions.md#agent-lifecycle, decisions.md#agent-lifecycle), pure and given `now`: the repeated-errors
//! window, the sleep window, and what completing a task does to its agent (decisions.md#completion).

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// How a timeline row says an agent waits for a person (a permission request, a question);
/// while it is the agent's latest row, the agent shows as waiting.
pub const WAITING_PREFIX: &str = "waiting for a person: ";

/// What the agent waits for, when its latest timeline row (`summary`) says it waits for a person.
pub fn waiting_for(summary: Option<&str>) -> Option<&str> {
    summary?.strip_prefix(WAITING_PREFIX)
}

/// The tools whose sessions ocd's integrations register as agents `<tool>-<id>` (K29); their
/// agents go offline when silent and are purged when offline long enough.
pub const INGEST_TOOLS: &[&str] = &[OPENCODE, CLAUDE_CODE, CODEX];
pub const OPENCODE: &str = "opencode";
pub const CLAUDE_CODE: &str = "claude-code";
pub const CODEX: &str = "codex";

/// How a tool is named on the pages.
pub fn tool_label(tool: &str) -> &'static str {
    match tool {
        OPENCODE => "OpenCode",
        CLAUDE_CODE => "Claude Code",
        CODEX => "Codex",
        _ => "Agent",
    }
}

string_enum!(AgentType {
    Primary => "primary",
    SubAgent => "sub-agent",
});

string_enum!(AgentStatus {
    Idle => "idle",
    Working => "working",
    Blocked => "blocked",
    Sleeping => "sleeping",
    Offline => "offline",
});

string_enum!(AgentTaskStatus {
    Pending => "pending",
    InProgress => "in_progress",
    Blocked => "blocked",
    Completed => "completed",
    Cancelled => "cancelled",
});

string_enum!(BlockSource {
    Explicit => "explicit",
    Question => "question",
    RepeatedErrors => "repeated_errors",
    Idle => "idle",
    ResourceDenied => "resource_denied",
});

string_enum!(CommandKind {
    Message => "message",
    Stop => "stop",
    Sleep => "sleep",
    Wake => "wake",
    Unblock => "unblock",
    Restart => "restart",
    // An approval's decision for OpenCode (K28); only a decision creates one.
    Permission => "permission",
});

string_enum!(CommandStatus {
    Queued => "queued",
    Delivered => "delivered",
    Acknowledged => "acknowledged",
    Failed => "failed",
    Expired => "expired",
});

// What a running workflow reports (docs/decisions.md#workflow).
string_enum!(WorkflowStatus {
    Working => "working",
    Blocked => "blocked",
    Sleeping => "sleeping",
    Completed => "completed",
    Idle => "idle",
    Error => "error",
});

// How a workflow ended.
string_enum!(WorkflowResult {
    Completed => "completed",
    Cancelled => "cancelled",
    Error => "error",
});

string_enum!(AgentAction {
    Sleep => "sleep",
    Stop => "stop",
    Unblock => "unblock",
    Restart => "restart",
    Wake => "wake",
});

impl AgentAction {
    /// The command the agent receives for a person's action.
    pub fn command(self) -> CommandKind {
        match self {
            AgentAction::Sleep => CommandKind::Sleep,
            AgentAction::Stop => CommandKind::Stop,
            AgentAction::Unblock => CommandKind::Unblock,
            AgentAction::Restart => CommandKind::Restart,
            AgentAction::Wake => CommandKind::Wake,
        }
    }
}

/// Errors counted from the first one; the window does not slide.
pub const ERROR_WINDOW_SECS: i64 = 600;
pub const BLOCK_AT_ERRORS: i64 = 3;
pub const SLEEP_AT_ERRORS: i64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorWindow {
    pub first_error_at: i64,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorVerdict {
    /// Counted, nothing else happens.
    Counted,
    /// Block the task with this reason.
    Block { reason: String },
    /// Block the task, then put the agent to sleep with this detail.
    BlockAndSleep { reason: String, detail: String },
}

/// Counts one error of (agent, task) at `now` against the stored window.
pub fn record_error(current: Option<ErrorWindow>, now: i64) -> (ErrorWindow, ErrorVerdict) {
    let window = match current {
        Some(w) if now - w.first_error_at <= ERROR_WINDOW_SECS => ErrorWindow { first_error_at: w.first_error_at, count: w.count + 1 },
        _ => return (ErrorWindow { first_error_at: now, count: 1 }, ErrorVerdict::Counted),
    };
    let reason = format!("{} consecutive errors in {}s", window.count, now - window.first_error_at);
    let verdict = if window.count >= SLEEP_AT_ERRORS {
        ErrorVerdict::BlockAndSleep { reason, detail: format!("{} errors in 10 minutes", window.count) }
    } else if window.count >= BLOCK_AT_ERRORS {
        ErrorVerdict::Block { reason }
    } else {
        ErrorVerdict::Counted
    };
    (window, verdict)
}

/// The nightly window in which idle agents sleep (decisions.md#sleep-window).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SleepSchedule {
    #[serde(rename = "startHour")]
    pub start_hour: u8,
    #[serde(rename = "endHour")]
    pub end_hour: u8,
    pub timezone: String,
    pub enabled: bool,
}

impl Default for SleepSchedule {
    fn default() -> Self {
        SleepSchedule { start_hour: 2, end_hour: 6, timezone: "America/Los_Angeles".into(), enabled: false }
    }
}

impl SleepSchedule {
    /// Whether `now` falls inside the window: `start ≤ hour < end`, wrapping past midnight
    /// when start > end. A zone that cannot be found never matches.
    pub fn contains(&self, now: i64) -> bool {
        if !self.enabled || self.start_hour == self.end_hour {
            return false;
        }
        let Ok(tz) = TimeZone::get(&self.timezone) else { return false };
        let Ok(instant) = Timestamp::from_second(now) else { return false };
        let hour = instant.to_zoned(tz).hour() as u8;
        if self.start_hour < self.end_hour {
            self.start_hour <= hour && hour < self.end_hour
        } else {
            hour >= self.start_hour || hour < self.end_hour
        }
    }
}

/// What happens to an agent when one of its tasks completes (decisions.md#completion).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterCompletion {
    /// Other tasks are pending: only the current task is cleared; the next is not started.
    ClearCurrent,
    Idle,
    /// Nothing pending and inside the sleep window.
    Sleep,
}

pub fn after_completion(pending_left: bool, in_sleep_window: bool) -> AfterCompletion {
    match (pending_left, in_sleep_window) {
        (true, _) => AfterCompletion::ClearCurrent,
        (false, true) => AfterCompletion::Sleep,
        (false, false) => AfterCompletion::Idle,
    }
}

/// A working agent silent this long with a task in progress is blocked (`idle`).
pub const SILENT_BLOCK_SECS: i64 = 300;
/// An agent silent this long with pending tasks raises `idle_too_long`.
pub const IDLE_TOO_LONG_SECS: i64 = 1800;
/// A task blocked this long raises `stale_task`, once per blocked episode (docs/decisions.md#silence).
pub const STALE_SECS: i64 = 7200;
/// How long a workflow waits for `wake` before it gives up (docs/decisions.md#workflow).
pub const WORKFLOW_SLEEP_TIMEOUT_SECS: i64 = 24 * 3600;

/// When an agent last showed signs of life for the silence rule: its last heartbeat, its
/// registration, or the start of its current task, whichever is latest. An agent that never
/// beat is silent since it registered (or started the task), not since forever.
pub fn silent_since(last_heartbeat: Option<i64>, created_at: i64, task_started_at: Option<i64>) -> i64 {
    [last_heartbeat, Some(created_at), task_started_at].into_iter().flatten().max().unwrap_or(created_at)
}

/// The ceiling of a stored token total: the largest integer JSON clients read exactly. Totals
/// stop there instead of overflowing.
pub const MAX_TOKENS_TOTAL: i64 = 9_007_199_254_740_991;
/// The ceiling of a stored cost total, in dollars.
pub const MAX_COST_TOTAL: f64 = 1e15;

/// Token and cost totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Totals {
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_usd: f64,
}

impl Totals {
    fn add(&mut self, other: &Totals) {
        self.tokens_in = self.tokens_in.saturating_add(other.tokens_in).min(MAX_TOKENS_TOTAL);
        self.tokens_out = self.tokens_out.saturating_add(other.tokens_out).min(MAX_TOKENS_TOTAL);
        self.cost_usd = (self.cost_usd + other.cost_usd).min(MAX_COST_TOTAL);
    }
}

/// Each agent's own totals plus those of all its sub-agents, given `(id, parent, own)` rows.
/// A parent cycle in the data is cut, not followed forever.
pub fn subtree_totals(rows: &[(String, Option<String>, Totals)]) -> std::collections::HashMap<String, Totals> {
    let mut out: std::collections::HashMap<String, Totals> = rows.iter().map(|(id, _, own)| (id.clone(), *own)).collect();
    let parent_of: std::collections::HashMap<&str, &str> =
        rows.iter().filter_map(|(id, p, _)| p.as_deref().map(|p| (id.as_str(), p))).collect();
    for (id, _, own) in rows {
        let mut seen = std::collections::HashSet::from([id.as_str()]);
        let mut at = id.as_str();
        while let Some(parent) = parent_of.get(at).copied() {
            if !seen.insert(parent) {
                break;
            }
            if let Some(total) = out.get_mut(parent) {
                total.add(own);
            }
            at = parent;
        }
    }
    out
}

/// A working agent whose last real progress is older than `stall_after` seconds (decisions.md#stalls-and-usage).
pub fn is_stalled(status: AgentStatus, last_activity_at: Option<i64>, created_at: i64, now: i64, stall_after: i64) -> bool {
    status == AgentStatus::Working && now - last_activity_at.unwrap_or(created_at) > stall_after
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_include_every_sub_agent() {
        let t = |n: i64| Totals { tokens_in: n, tokens_out: 2 * n, cost_usd: n as f64 / 10.0 };
        let rows = vec![
            ("root".to_string(), None, t(1)),
            ("child".to_string(), Some("root".to_string()), t(10)),
            ("grandchild".to_string(), Some("child".to_string()), t(100)),
            ("other".to_string(), None, t(5)),
        ];
        let totals = subtree_totals(&rows);
        assert_eq!(totals["root"].tokens_in, 111);
        assert_eq!(totals["child"].tokens_out, 220);
        assert_eq!(totals["grandchild"].tokens_in, 100);
        assert_eq!(totals["other"].tokens_in, 5);
        let looped = vec![("a".to_string(), Some("b".to_string()), t(1)), ("b".to_string(), Some("a".to_string()), t(2))];
        assert_eq!(subtree_totals(&looped)["a"].tokens_in, 3);
    }

    #[test]
    fn only_working_agents_stall() {
        assert!(is_stalled(AgentStatus::Working, Some(0), 0, 601, 600));
        assert!(!is_stalled(AgentStatus::Working, Some(1), 0, 601, 600));
        assert!(!is_stalled(AgentStatus::Blocked, Some(0), 0, 10_000, 600));
        assert!(is_stalled(AgentStatus::Working, None, 0, 601, 600));
    }

    #[test]
    fn three_errors_in_ten_minutes_block_and_five_sleep() {
        let (w1, v1) = record_error(None, 1000);
        assert_eq!((w1, v1), (ErrorWindow { first_error_at: 1000, count: 1 }, ErrorVerdict::Counted));
        let (w2, v2) = record_error(Some(w1), 1100);
        assert_eq!(v2, ErrorVerdict::Counted);
        let (w3, v3) = record_error(Some(w2), 1200);
        assert_eq!(v3, ErrorVerdict::Block { reason: "3 consecutive errors in 200s".into() });
        let (w4, _) = record_error(Some(w3), 1300);
        let (_, v5) = record_error(Some(w4), 1600);
        assert_eq!(
            v5,
            ErrorVerdict::BlockAndSleep { reason: "5 consecutive errors in 600s".into(), detail: "5 errors in 10 minutes".into() }
        );
    }

    #[test]
    fn the_window_is_anchored_at_the_first_error() {
        let (w, _) = record_error(None, 0);
        let (w, _) = record_error(Some(w), 500);
        // 601 s after the first error a new window starts, however recent the last one was.
        let (w, v) = record_error(Some(w), 601);
        assert_eq!((w, v), (ErrorWindow { first_error_at: 601, count: 1 }, ErrorVerdict::Counted));
    }

    fn schedule(start: u8, end: u8) -> SleepSchedule {
        SleepSchedule { start_hour: start, end_hour: end, timezone: "America/Los_Angeles".into(), enabled: true }
    }

    // 2026-01-15 10:00 UTC = 02:00 PST (UTC-8).
    const PST_2AM: i64 = 1_768_471_200;

    #[test]
    fn sleep_window_uses_the_local_hour() {
        let s = schedule(2, 6);
        assert!(s.contains(PST_2AM));
        assert!(s.contains(PST_2AM + 4 * 3600 - 1));
        assert!(!s.contains(PST_2AM + 4 * 3600));
        assert!(!s.contains(PST_2AM - 1));
        assert!(!SleepSchedule { enabled: false, ..s.clone() }.contains(PST_2AM));
        assert!(!SleepSchedule { timezone: "Mars/Olympus".into(), ..s }.contains(PST_2AM));
    }

    #[test]
    fn sleep_window_across_midnight() {
        let s = schedule(22, 6);
        assert!(s.contains(PST_2AM)); // 02:00
        assert!(s.contains(PST_2AM - 4 * 3600)); // 22:00 the day before
        assert!(!s.contains(PST_2AM - 5 * 3600)); // 21:00
        assert!(!s.contains(PST_2AM + 4 * 3600)); // 06:00
    }

    #[test]
    fn sleep_window_across_a_dst_change() {
        // 2026-03-08: clocks jump from 02:00 PST to 03:00 PDT at 10:00 UTC.
        let s = schedule(1, 3);
        let jump = 1_772_964_000; // 2026-03-08 10:00 UTC = 03:00 PDT
        assert!(s.contains(jump - 1)); // 01:59:59 PST
        assert!(!s.contains(jump)); // 03:00 PDT: the 02:00 hour never happened
        // 2026-11-01: 01:00–02:00 happens twice; both are inside a 1–2 window.
        let s = schedule(1, 2);
        let first_one_am = 1_793_520_000; // 2026-11-01 08:00 UTC = 01:00 PDT
        assert!(s.contains(first_one_am));
        assert!(s.contains(first_one_am + 3600)); // 01:00 PST, the repeated hour
        assert!(!s.contains(first_one_am + 2 * 3600)); // 02:00 PST
    }

    #[test]
    fn completion_follows_k10() {
        assert_eq!(after_completion(true, true), AfterCompletion::ClearCurrent);
        assert_eq!(after_completion(false, true), AfterCompletion::Sleep);
        assert_eq!(after_completion(false, false), AfterCompletion::Idle);
    }
}

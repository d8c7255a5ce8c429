//! Linear's rules (docs/decisions.md#linear): how Linear's issues, projects and workflow
//! states become cache rows, how its priorities map onto task priorities, when an issue is
//! an agent's to start, and how a webhook delivery is checked. Pure: no I/O, time passed in.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::domain::Priority;

/// A delivery whose `webhookTimestamp` is further than this from now is refused (Linear's own
/// recommendation): a captured delivery cannot be replayed later.
pub const TIMESTAMP_WINDOW_MS: i64 = 60_000;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct LinearTeam {
    pub id: String,
    pub key: String,
    pub name: String,
    #[serde(skip)]
    pub synced_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct WorkflowState {
    pub id: String,
    pub team_id: String,
    pub name: String,
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    pub kind: String,
    pub color: Option<String>,
    pub position: Option<f64>,
    #[serde(skip)]
    pub synced_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct LinearProject {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub state: Option<String>,
    pub progress: f64,
    pub start_date: Option<String>,
    pub target_date: Option<String>,
    pub url: Option<String>,
    pub team_id: Option<String>,
    pub team_name: Option<String>,
    pub updated_at: Option<String>,
    pub synced_at: i64,
}

/// A cached issue: the original's keys, plus `state_id`, `team_id` and `assignee_id` (so a
/// card can move and an assignee can be matched by id) and Linear's `updated_at`.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct LinearIssue {
    pub id: String,
    pub project_id: Option<String>,
    pub identifier: Option<String>,
    pub title: String,
    pub description: Option<String>,
    pub priority: i64,
    pub state_id: Option<String>,
    pub state_name: Option<String>,
    pub state_type: Option<String>,
    pub team_id: Option<String>,
    pub assignee_id: Option<String>,
    pub assignee_name: Option<String>,
    pub assignee_avatar: Option<String>,
    pub label_names: Option<String>,
    pub estimate: Option<f64>,
    pub url: Option<String>,
    pub agent_task_id: Option<String>,
    pub updated_at: Option<String>,
    pub synced_at: i64,
}

/// The task priority of a Linear priority (0 none, 1 urgent, 2 high, 3 medium, 4 low). The
/// original inverted this (D11); no priority is a medium task.
pub fn task_priority(linear: i64) -> Priority {
    match linear {
        1 | 2 => Priority::High,
        4 => Priority::Low,
        _ => Priority::Medium,
    }
}

/// Linear's priority number as a word (`urgent`, `high`, `medium`, `low`, `none`) and as
/// Linear labels it.
pub fn priority_name(linear: i64) -> (&'static str, &'static str) {
    match linear {
        1 => ("urgent", "Urgent"),
        2 => ("high", "High"),
        3 => ("medium", "Medium"),
        4 => ("low", "Low"),
        _ => ("none", "No priority"),
    }
}

fn normalised(text: Option<&str>) -> String {
    text.unwrap_or_default().trim().to_lowercase()
}

/// Whether an issue is in a started state: its state's type is `started` (or the original's
/// `in_progress`), or, for a state whose type is unknown, its name says so.
pub fn is_started(state_type: Option<&str>, state_name: Option<&str>) -> bool {
    matches!(normalised(state_type).as_str(), "started" | "in_progress")
        || matches!(normalised(state_name).as_str(), "started" | "in progress" | "in_progress")
}

/// Whether `signature` (lowercase hex, as in `Linear-Signature`) is the HMAC-SHA256 of `body`
/// under `secret`. Compared in constant time.
pub fn signature_matches(secret: &str, body: &[u8], signature: &str) -> bool {
    let Ok(given) = hex::decode(signature.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// Whether a delivery's `webhookTimestamp` (epoch ms) is within the window around now.
pub fn timestamp_fresh(timestamp_ms: i64, now_ms: i64) -> bool {
    (now_ms - timestamp_ms).abs() <= TIMESTAMP_WINDOW_MS
}

/// A webhook body that passed the shape checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub kind: String,
    pub action: String,
    pub data: Map<String, Value>,
    pub webhook_id: Option<String>,
    pub timestamp_ms: Option<i64>,
}

impl Delivery {
    /// Checks the body's shape: a non-empty `type` and `action`, an object `data`, and an
    /// `id` in the data of Issue and Project events. The error is the answer's message.
    pub fn parse(body: &Value) -> Result<Delivery, &'static str> {
        let text = |key: &str| body.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(String::from);
        let (Some(kind), Some(action), Some(Value::Object(data))) = (text("type"), text("action"), body.get("data")) else {
            return Err("Invalid webhook payload");
        };
        let has_id = data.get("id").and_then(Value::as_str).is_some_and(|id| !id.is_empty());
        match kind.as_str() {
            "Issue" if !has_id => return Err("Issue payload missing id"),
            "Project" if !has_id => return Err("Project payload missing id"),
            _ => {}
        }
        let timestamp_ms = body.get("webhookTimestamp").and_then(Value::as_i64);
        Ok(Delivery { kind, action, data: data.clone(), webhook_id: text("webhookId"), timestamp_ms })
    }

    pub fn id(&self) -> &str {
        self.data.get("id").and_then(Value::as_str).unwrap_or_default()
    }

    pub fn is_removal(&self) -> bool {
        self.action == "remove"
    }
}

/// A non-empty string at `path` (keys of nested objects), without NUL characters (which
/// PostgreSQL's text refuses).
fn text_at(data: &Value, path: &[&str]) -> Option<String> {
    let mut at = data;
    for key in path {
        at = at.get(key)?;
    }
    at.as_str().map(|s| s.replace('\0', "")).filter(|s| !s.is_empty())
}

fn number_at(data: &Value, key: &str) -> Option<f64> {
    data.get(key).and_then(Value::as_f64).filter(|n| n.is_finite())
}

/// The first non-empty string of several places.
fn first_text(data: &Value, paths: &[&[&str]]) -> Option<String> {
    paths.iter().find_map(|path| text_at(data, path))
}

/// The items of a list that is either a plain array (webhooks) or a connection `{nodes}` (the API).
fn items(value: Option<&Value>) -> Vec<&Value> {
    let list = match value {
        Some(Value::Array(list)) => Some(list),
        Some(Value::Object(connection)) => connection.get("nodes").and_then(Value::as_array),
        _ => None,
    };
    list.map(|l| l.iter().collect()).unwrap_or_default()
}

/// An issue as Linear describes it — a webhook's `data` or a node of the API's issue query —
/// as a cache row. What Linear sent is the whole issue: a field it leaves out or sends as null
/// is cleared (the original could never clear one, D12). Kept from the cached row: the linked
/// agent task. `state` fills in the state's name and type when only its id came.
pub fn issue_from(data: &Value, state: Option<&WorkflowState>, agent_task_id: Option<String>, now: i64) -> LinearIssue {
    let labels: Vec<String> = items(data.get("labels")).into_iter().filter_map(|l| text_at(l, &["name"])).collect();
    let state_id = first_text(data, &[&["stateId"], &["state", "id"]]);
    let known_state = state.filter(|s| Some(&s.id) == state_id.as_ref());
    LinearIssue {
        id: text_at(data, &["id"]).unwrap_or_default(),
        project_id: first_text(data, &[&["projectId"], &["project", "id"]]),
        identifier: text_at(data, &["identifier"]),
        title: text_at(data, &["title"]).unwrap_or_else(|| "Untitled issue".into()),
        description: text_at(data, &["description"]),
        priority: number_at(data, "priority").map_or(0, |p| p as i64),
        state_name: text_at(data, &["state", "name"]).or_else(|| known_state.map(|s| s.name.clone())),
        state_type: text_at(data, &["state", "type"]).or_else(|| known_state.map(|s| s.kind.clone())),
        state_id,
        team_id: first_text(data, &[&["teamId"], &["team", "id"]]),
        assignee_id: first_text(data, &[&["assigneeId"], &["assignee", "id"]]),
        // Linear's webhooks carry the assignee's `name` only; the API's `displayName` is the
        // fallback, so a sync and a webhook store the same name.
        assignee_name: first_text(data, &[&["assignee", "name"], &["assignee", "displayName"]]),
        assignee_avatar: first_text(data, &[&["assignee", "avatarUrl"], &["assignee", "avatar"]]),
        label_names: (!labels.is_empty()).then(|| Value::from(labels).to_string()),
        estimate: number_at(data, "estimate"),
        url: text_at(data, &["url"]),
        agent_task_id,
        updated_at: text_at(data, &["updatedAt"]),
        synced_at: now,
    }
}

/// A project as Linear describes it (webhook `data` or an API node) as a cache row; like an
/// issue, what Linear left out is cleared. Its team is the first one it belongs to; `team_name`
/// names a team known only by id.
pub fn project_from(data: &Value, team_name: impl Fn(&str) -> Option<String>, now: i64) -> LinearProject {
    let first_team = items(data.get("teams")).into_iter().next();
    let team_id = first_team
        .and_then(|t| text_at(t, &["id"]))
        .or_else(|| data.get("teamIds").and_then(Value::as_array).and_then(|ids| ids.first()).and_then(Value::as_str).map(String::from))
        .or_else(|| first_text(data, &[&["teamId"], &["team", "id"]]));
    let named = first_team.and_then(|t| text_at(t, &["name"])).or_else(|| text_at(data, &["team", "name"]));
    LinearProject {
        id: text_at(data, &["id"]).unwrap_or_default(),
        name: text_at(data, &["name"]).unwrap_or_else(|| "Untitled project".into()),
        description: first_text(data, &[&["description"], &["content"]]),
        state: first_text(data, &[&["status", "name"], &["state"]]),
        progress: number_at(data, "progress").unwrap_or(0.0),
        start_date: text_at(data, &["startDate"]),
        target_date: text_at(data, &["targetDate"]),
        url: text_at(data, &["url"]),
        team_name: named.or_else(|| team_id.as_deref().and_then(&team_name)),
        team_id,
        updated_at: text_at(data, &["updatedAt"]),
        synced_at: now,
    }
}

/// Whether an update of an issue a webhook removed is older news (Linear's `updatedAt` not
/// after the removal's, or either unknown): it must not bring the issue back. `removal` is the
/// removal's time when the issue was removed (`Some(None)`: removed, time unknown).
pub fn is_before_removal(update: Option<&str>, removal: Option<Option<&str>>) -> bool {
    match (removal, update) {
        (None, _) => false,
        (Some(Some(removed)), Some(update)) => update <= removed,
        (Some(_), _) => true,
    }
}

/// The team's first completed state (lowest position): where a finished agent task moves its issue.
pub fn first_completed_state<'a>(states: &'a [WorkflowState], team_id: &str) -> Option<&'a WorkflowState> {
    states
        .iter()
        .filter(|s| s.team_id == team_id && s.kind == "completed")
        .min_by(|a, b| a.position.unwrap_or(f64::MAX).total_cmp(&b.position.unwrap_or(f64::MAX)))
}

/// `/api/settings/linear` (owner): who works Linear issues and what finishing one does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LinearSettings {
    /// Linear user (id, or name as shown in Linear) → agent id. Checked before names.
    #[serde(default)]
    pub user_map: BTreeMap<String, String>,
    /// Whether an agent finishing an issue's task moves the issue to its team's first
    /// completed state.
    #[serde(default)]
    pub complete_on_done: bool,
}

/// An agent as the assignment rule sees it.
pub struct Candidate<'a> {
    pub id: &'a str,
    pub name: &'a str,
}

/// The agent that should work `issue`, if it just entered a started state and has no task
/// yet: the agent the user map names for its assignee (by Linear user id, then by name), else
/// the agent whose name is the assignee's (trimmed, any case; `candidates` newest first, the
/// first match wins).
pub fn agent_for<'a>(issue: &LinearIssue, settings: &LinearSettings, candidates: &[Candidate<'a>]) -> Option<String> {
    if issue.agent_task_id.is_some() || !is_started(issue.state_type.as_deref(), issue.state_name.as_deref()) {
        return None;
    }
    let name = normalised(issue.assignee_name.as_deref());
    let mapped = issue.assignee_id.as_ref().and_then(|id| settings.user_map.get(id)).or_else(|| {
        (!name.is_empty())
            .then(|| settings.user_map.iter().find(|(user, _)| normalised(Some(user)) == name).map(|(_, agent)| agent))
            .flatten()
    });
    if let Some(agent) = mapped {
        return candidates.iter().any(|c| c.id == agent).then(|| agent.clone());
    }
    if name.is_empty() {
        return None;
    }
    candidates.iter().find(|c| normalised(Some(c.name)) == name).map(|c| c.id.to_string())
}

/// The durable timer that moves a finished task's issue to done: `linear:done:<issue id>`.
pub const DONE_TIMER: &str = "linear:done:";

pub fn done_timer(issue_id: &str) -> String {
    format!("{DONE_TIMER}{issue_id}")
}

/// The agent task id of an issue's auto-assignment (the original's).
pub fn task_id_for(issue_id: &str) -> String {
    format!("linear_{issue_id}")
}

/// The message an auto-assigned agent gets: the issue's identifier, title and address.
pub fn assignment_message(issue: &LinearIssue) -> String {
    let mut text = format!("Linear issue {}: {}", issue.identifier.as_deref().unwrap_or(&issue.id), issue.title);
    if let Some(url) = &issue.url {
        text.push_str(&format!("\n{url}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_reference_signature_vector_matches() {
        let body = br#"{"action":"create","type":"Issue","webhookTimestamp":1676056940508}"#;
        let sig = "f27381d1ed590b6d3de3a3037d81de4bf74477b4ef182cc3e70d0f92f12ae243";
        assert!(signature_matches("SECRET", body, sig));
        assert!(!signature_matches("SECRET2", body, sig));
        assert!(!signature_matches("SECRET", body, "zz"));
    }

    #[test]
    fn priorities_map_urgent_and_high_to_high() {
        let mapped: Vec<Priority> = (0..=4).map(task_priority).collect();
        assert_eq!(mapped, [Priority::Medium, Priority::High, Priority::High, Priority::Medium, Priority::Low]);
    }

    #[test]
    fn an_issue_update_clears_what_linear_left_out() {
        let data = json!({"id": "i1", "title": "T", "priority": 0, "project": {"id": "p1"}, "state": {"id": "s1", "name": "Todo", "type": "unstarted"}});
        let issue = issue_from(&data, None, Some("task".into()), 5);
        assert_eq!(issue.priority, 0);
        assert_eq!(issue.assignee_name, None);
        assert_eq!(issue.project_id.as_deref(), Some("p1"));
        assert_eq!(issue.agent_task_id.as_deref(), Some("task"));
        let api_node =
            json!({"id": "i1", "title": "T", "assignee": {"name": "n", "displayName": "d"}, "labels": {"nodes": [{"name": "bug"}]}});
        let issue = issue_from(&api_node, None, None, 5);
        assert_eq!(issue.assignee_name.as_deref(), Some("n"), "the name, as webhooks carry it");
        assert_eq!(issue.label_names.as_deref(), Some(r#"["bug"]"#));
    }

    #[test]
    fn assignment_prefers_the_user_map_then_names() {
        let issue = LinearIssue {
            state_type: Some("started".into()),
            assignee_id: Some("u1".into()),
            assignee_name: Some(" Builder ".into()),
            ..issue_from(&json!({"id": "i"}), None, None, 0)
        };
        let agents = [Candidate { id: "a1", name: "builder" }, Candidate { id: "a2", name: "other" }];
        assert_eq!(agent_for(&issue, &LinearSettings::default(), &agents).as_deref(), Some("a1"));
        let mut settings = LinearSettings::default();
        settings.user_map.insert("u1".into(), "a2".into());
        assert_eq!(agent_for(&issue, &settings, &agents).as_deref(), Some("a2"));
        let unstarted = LinearIssue { state_type: Some("unstarted".into()), ..issue.clone() };
        assert_eq!(agent_for(&unstarted, &settings, &agents), None);
        let taken = LinearIssue { agent_task_id: Some("t".into()), ..issue };
        assert_eq!(agent_for(&taken, &settings, &agents), None);
    }

    #[test]
    fn deliveries_are_checked_for_shape() {
        assert_eq!(Delivery::parse(&json!({"type": "Issue", "action": "update", "data": {}})), Err("Issue payload missing id"));
        assert_eq!(Delivery::parse(&json!({"type": "", "action": "update", "data": {}})), Err("Invalid webhook payload"));
        let ok = Delivery::parse(&json!({"type": "Cycle", "action": "update", "data": {}, "webhookTimestamp": 5})).unwrap();
        assert_eq!(ok.timestamp_ms, Some(5));
        assert!(timestamp_fresh(1_000, 61_000) && !timestamp_fresh(1_000, 61_001));
    }
}

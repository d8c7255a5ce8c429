//! Approvals (K28, docs/decisions.md#approvals): an agent's permission request waiting for a
//! person. Pure rules: the states, the decisions, what each tool is answered.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

string_enum!(ApprovalStatus {
    Pending => "pending",
    Approved => "approved",
    Denied => "denied",
    Expired => "expired",
    AnsweredElsewhere => "answered_elsewhere",
});

string_enum!(Decision {
    Once => "once",
    Always => "always",
    Reject => "reject",
});

impl Decision {
    /// The status a decision leaves the approval in.
    pub fn status(self) -> ApprovalStatus {
        match self {
            Decision::Once | Decision::Always => ApprovalStatus::Approved,
            Decision::Reject => ApprovalStatus::Denied,
        }
    }

    /// How a page or a notification names it.
    pub fn label(self) -> &'static str {
        match self {
            Decision::Once => "Approve once",
            Decision::Always => "Always allow",
            Decision::Reject => "Reject",
        }
    }
}

/// The longest message a person may send with a decision.
pub const MESSAGE_LIMIT: usize = 1000;

/// An approval as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Approval {
    pub id: String,
    pub agent_id: String,
    pub session_id: String,
    pub tool: String,
    /// The request's id at its tool (OpenCode's `per_…`), when it has one.
    pub request_id: Option<String>,
    pub summary: String,
    /// What the tool sent about the request (tool input, patterns, suggestions) as JSON text.
    #[serde(serialize_with = "as_json")]
    pub detail: String,
    pub project: Option<String>,
    pub status: ApprovalStatus,
    pub decision: Option<Decision>,
    pub message: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// `detail` is stored as text and shown as the JSON it holds.
fn as_json<S: serde::Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    serde_json::from_str::<Value>(text).unwrap_or(Value::Null).serialize(s)
}

impl Approval {
    pub fn is_pending(&self) -> bool {
        self.status == ApprovalStatus::Pending
    }

    /// How it ended, in words ("approved once by ada").
    pub fn outcome(&self) -> String {
        let by = self.decided_by.as_deref().map(|b| format!(" by {b}")).unwrap_or_default();
        match (self.status, self.decision) {
            (ApprovalStatus::Approved, Some(Decision::Always)) => format!("always allowed{by}"),
            (ApprovalStatus::Approved, _) => format!("approved once{by}"),
            (ApprovalStatus::Denied, _) => format!("rejected{by}"),
            (ApprovalStatus::AnsweredElsewhere, _) => "answered in the agent's terminal".into(),
            (ApprovalStatus::Expired, _) => "expired: nobody answered in time".into(),
            (ApprovalStatus::Pending, _) => "pending".into(),
        }
    }

    /// `detail` as JSON (an unreadable value is null).
    pub fn detail_json(&self) -> Value {
        serde_json::from_str(&self.detail).unwrap_or(Value::Null)
    }
}

/// What Claude Code's `PermissionRequest` hook is answered (its documented decision output):
/// allow (with the request's own permission suggestions for "always"), deny with the person's
/// message, or — undecided — nothing, so Claude Code asks in the terminal.
pub fn claude_code_answer(approval: &Approval) -> Value {
    let behavior = match (approval.status, approval.decision) {
        (ApprovalStatus::Approved, Some(decision)) => Some(decision),
        (ApprovalStatus::Denied, _) => Some(Decision::Reject),
        _ => None,
    };
    let decision = match behavior {
        None => return json!({}),
        Some(Decision::Reject) => {
            let message = approval.message.clone().unwrap_or_else(|| match &approval.decided_by {
                Some(who) => format!("Rejected in ocd by {who}"),
                None => "Rejected in ocd".to_string(),
            });
            json!({"behavior": "deny", "message": message})
        }
        Some(Decision::Always) => {
            let suggestions = approval.detail_json().get("permission_suggestions").cloned().filter(Value::is_array);
            match suggestions {
                Some(rules) => json!({"behavior": "allow", "updatedPermissions": rules}),
                None => json!({"behavior": "allow"}),
            }
        }
        Some(Decision::Once) => json!({"behavior": "allow"}),
    };
    json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": decision}})
}

/// The `permission` command's text for OpenCode's plugin: `{requestID, reply}` (K28), and the
/// person's `message` when they wrote one (opencode tells the model why).
pub fn opencode_command(request_id: &str, decision: Decision, message: Option<&str>) -> String {
    match message {
        Some(message) => json!({"requestID": request_id, "reply": decision.as_str(), "message": message}).to_string(),
        None => json!({"requestID": request_id, "reply": decision.as_str()}).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approval(status: ApprovalStatus, decision: Option<Decision>, detail: Value) -> Approval {
        Approval {
            id: "apr_1".into(),
            agent_id: "claude-code-s".into(),
            session_id: "s".into(),
            tool: "claude-code".into(),
            request_id: None,
            summary: "Bash: rm -rf build".into(),
            detail: detail.to_string(),
            project: None,
            status,
            decision,
            message: None,
            decided_by: Some("ada".into()),
            decided_at: Some(1),
            created_at: 0,
            expires_at: 300,
        }
    }

    #[test]
    fn claude_code_hears_allow_deny_or_nothing() {
        let rules = json!([{"type": "addRules", "rules": [{"toolName": "Bash"}], "behavior": "allow", "destination": "localSettings"}]);
        let detail = json!({"permission_suggestions": rules});
        let once = claude_code_answer(&approval(ApprovalStatus::Approved, Some(Decision::Once), detail.clone()));
        assert_eq!(once, json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": {"behavior": "allow"}}}));
        let always = claude_code_answer(&approval(ApprovalStatus::Approved, Some(Decision::Always), detail.clone()));
        assert_eq!(always["hookSpecificOutput"]["decision"]["updatedPermissions"], rules);
        let no_rules = claude_code_answer(&approval(ApprovalStatus::Approved, Some(Decision::Always), json!({})));
        assert_eq!(no_rules["hookSpecificOutput"]["decision"], json!({"behavior": "allow"}));
        let denied = claude_code_answer(&approval(ApprovalStatus::Denied, Some(Decision::Reject), detail.clone()));
        assert_eq!(denied["hookSpecificOutput"]["decision"], json!({"behavior": "deny", "message": "Rejected in ocd by ada"}));
        for undecided in [ApprovalStatus::Pending, ApprovalStatus::Expired, ApprovalStatus::AnsweredElsewhere] {
            assert_eq!(claude_code_answer(&approval(undecided, None, detail.clone())), json!({}));
        }
    }

    #[test]
    fn opencode_gets_its_reply_words() {
        assert_eq!(opencode_command("per_1", Decision::Always, None), r#"{"reply":"always","requestID":"per_1"}"#);
        assert_eq!(opencode_command("per_1", Decision::Reject, Some("no")), r#"{"message":"no","reply":"reject","requestID":"per_1"}"#);
        assert_eq!(Decision::Reject.status(), ApprovalStatus::Denied);
        assert_eq!(Decision::Once.status(), ApprovalStatus::Approved);
    }
}

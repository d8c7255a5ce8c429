//! The authorization matrix as data (K2, K25): every route with its minimum access and
//! whether writes to it are rate limited. The router must register exactly these routes
//! (a test checks it); a path missing here is refused, never opened.

use axum::http::Method;

use crate::auth::scope::{Object, Scope};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    Public,
    Viewer,
    Admin,
    Owner,
    /// Any signed-in person (not an API key): their own sessions, accepting an invite.
    User,
    /// An owner in person: team, invites, API keys (K2: no key manages people).
    People,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub rate_limited: bool,
    /// What a project-scoped key may do here (K3). Unless declared, reads are narrowed to
    /// the key's project and writes are refused.
    pub scope: Scope,
}

fn rule(method: Method, path: &'static str, access: Access, rate_limited: bool) -> Rule {
    let scope = if method == Method::GET { Scope::FREE } else { Scope::SHARED };
    Rule { method, path, access, rate_limited, scope }
}

impl Rule {
    fn scoped(self, scope: Scope) -> Rule {
        Rule { scope, ..self }
    }
}

use Access::{Admin, Owner, People, Public, User, Viewer};
use Object::{Agent, AgentTask, Session, Sprint, Todo};

const PROJECT: &[&str] = &["project"];
const PROJECT_ID: &[&str] = &["project_id"];
const PROJECT_OR_ID: &[&str] = &["project", "project_id"];
/// What a todo write may refer to: its parent, the sprint and the session it joins.
const TODO_REFS: &[(&str, Object)] = &[("/parent_id", Todo), ("/sprint_id", Sprint), ("/session_id", Session)];
/// The todo an event changes and the session it reports for.
const EVENT_REFS: &[(&str, Object)] = &[("/payload/id", Todo), ("/sessionId", Session), ("/payload/sessionId", Session)];
const MESSAGE_REFS: &[(&str, Object)] = &[("/todo_id", Todo), ("/session_id", Session)];
const SPRINT: &[(&str, Object)] = &[("/sprint_id", Sprint)];
const PARENT_AGENT: &[(&str, Object)] = &[("/parent_agent_id", Agent)];
/// The task an agent's report is about.
const REPORTED_TASK: &[(&str, Object)] = &[("/taskId", AgentTask), ("/task_id", AgentTask)];
const TASK_IN_PATH: &[(&str, Object)] = &[("{task_id}", AgentTask)];

pub fn routes() -> Vec<Rule> {
    vec![
        rule(Method::GET, "/healthz", Public, false),
        rule(Method::GET, "/metrics", Admin, false),
        rule(Method::POST, "/api/events", Admin, true).scoped(Scope::FREE.body(PROJECT).refs(EVENT_REFS)),
        rule(Method::GET, "/api/todos", Viewer, false),
        rule(Method::POST, "/api/todos", Admin, true).scoped(Scope::on(Todo).id_in_body().body(PROJECT).refs(TODO_REFS)),
        rule(Method::PUT, "/api/todos", Admin, true).scoped(Scope::on(Todo).id_in_body().body(PROJECT).items("todos").refs(TODO_REFS)),
        rule(Method::GET, "/api/todos/{id}/subtasks", Viewer, false).scoped(Scope::on(Todo)),
        rule(Method::POST, "/api/todos/{id}/subtasks", Admin, true).scoped(Scope::on(Todo).body(PROJECT)),
        rule(Method::GET, "/api/todos/{id}/comments", Viewer, false).scoped(Scope::on(Todo)),
        rule(Method::POST, "/api/todos/{id}/comments", Admin, true).scoped(Scope::on(Todo)),
        rule(Method::GET, "/api/todos/{id}/sprints", Viewer, false).scoped(Scope::on(Todo)),
        rule(Method::POST, "/api/todos/{id}/sprints", Admin, true).scoped(Scope::on(Todo).refs(SPRINT)),
        rule(Method::DELETE, "/api/todos/{id}/sprints", Admin, true).scoped(Scope::on(Todo).refs(SPRINT)),
        rule(Method::GET, "/api/sessions", Viewer, false),
        rule(Method::POST, "/api/sessions", Admin, true).scoped(Scope::on(Session).id_in_body().body(PROJECT_OR_ID)),
        rule(Method::GET, "/api/messages", Viewer, false),
        rule(Method::POST, "/api/messages", Admin, true),
        rule(Method::POST, "/api/messages/create", Admin, true).scoped(Scope::FREE.body(PROJECT_OR_ID).refs(MESSAGE_REFS)),
        rule(Method::GET, "/api/sprints", Viewer, false),
        rule(Method::POST, "/api/sprints", Admin, true).scoped(Scope::FREE.body(PROJECT_ID)),
        rule(Method::GET, "/api/sprints/{id}", Viewer, false).scoped(Scope::on(Sprint)),
        rule(Method::PATCH, "/api/sprints/{id}", Admin, true).scoped(Scope::on(Sprint).body(PROJECT_ID)),
        rule(Method::GET, "/api/sprints/{id}/velocity", Viewer, false).scoped(Scope::on(Sprint)),
        rule(Method::GET, "/api/analytics", Viewer, false),
        rule(Method::GET, "/api/v2/tasks", Viewer, false),
        rule(Method::POST, "/api/v2/tasks", Admin, true),
        rule(Method::PUT, "/api/v2/tasks", Admin, true),
        rule(Method::DELETE, "/api/v2/tasks", Admin, true),
        rule(Method::GET, "/api/v2/tasks/next", Viewer, false),
        rule(Method::POST, "/api/v2/tasks/validate-deps", Admin, true),
        rule(Method::GET, "/api/v2/tasks/{id}/subtasks", Viewer, false),
        rule(Method::POST, "/api/v2/tasks/{id}/subtasks", Admin, true),
        rule(Method::PUT, "/api/v2/tasks/{id}/subtasks", Admin, true),
        rule(Method::DELETE, "/api/v2/tasks/{id}/subtasks", Admin, true),
        rule(Method::GET, "/api/settings/projects", Viewer, false),
        rule(Method::POST, "/api/settings/projects", Admin, true),
        rule(Method::PATCH, "/api/settings/projects/{id}", Admin, true),
        rule(Method::DELETE, "/api/settings/projects/{id}", Admin, true),
        rule(Method::GET, "/api/settings/sleep-schedule", Admin, false),
        rule(Method::PUT, "/api/settings/sleep-schedule", Owner, true),
        rule(Method::GET, "/api/stream", Viewer, false),
        rule(Method::GET, "/api/settings/team", People, false),
        rule(Method::POST, "/api/settings/team/invite", People, true),
        rule(Method::DELETE, "/api/settings/team/{user_id}", People, true),
        rule(Method::PATCH, "/api/settings/team/{user_id}", People, true),
        rule(Method::GET, "/api/settings/invite/{id}", Public, false),
        rule(Method::POST, "/api/settings/invite/{id}/accept", User, true),
        rule(Method::GET, "/api/settings/api-keys", People, false),
        rule(Method::POST, "/api/settings/api-keys", People, true),
        rule(Method::DELETE, "/api/settings/api-keys/{id}", People, true),
        rule(Method::GET, "/api/auth/login", Public, false),
        rule(Method::GET, "/api/auth/callback", Public, false),
        rule(Method::GET, "/api/auth/verify", Public, false),
        // Signing out is always allowed: never rate limited (api-compat §1.3).
        rule(Method::POST, "/api/auth/logout", Public, false),
        rule(Method::GET, "/api/auth/sessions", User, false),
        rule(Method::DELETE, "/api/auth/sessions/{id}", User, true),
        rule(Method::GET, "/api/auth/link/{token}", Public, false),
        rule(Method::POST, "/api/auth/link/{token}", Public, true),
        // The invite landing page (the `url` of an invite) and its Accept button.
        rule(Method::GET, "/invite/{id}", Public, false),
        rule(Method::POST, "/invite/{id}", User, true),
        rule(Method::GET, "/api/agents", Viewer, false),
        rule(Method::POST, "/api/agents", Admin, true).scoped(Scope::on(Agent).id_in_body().claimable().body(PROJECT).refs(PARENT_AGENT)),
        rule(Method::GET, "/api/agents/{id}", Viewer, false).scoped(Scope::on(Agent)),
        rule(Method::PATCH, "/api/agents/{id}", Admin, true).scoped(Scope::on(Agent).refs(PARENT_AGENT)),
        rule(Method::DELETE, "/api/agents/{id}", Admin, true).scoped(Scope::on(Agent)),
        rule(Method::POST, "/api/agents/{id}/actions", Admin, true).scoped(Scope::on(Agent)),
        rule(Method::POST, "/api/agents/{id}/assign", Admin, true).scoped(Scope::on(Agent).body(&["projectId"]).refs(REPORTED_TASK)),
        rule(Method::POST, "/api/agents/{id}/block", Admin, true).scoped(Scope::on(Agent).refs(REPORTED_TASK)),
        rule(Method::POST, "/api/agents/{id}/complete", Admin, true).scoped(Scope::on(Agent).refs(REPORTED_TASK)),
        rule(Method::POST, "/api/agents/{id}/error", Admin, true).scoped(Scope::on(Agent).refs(REPORTED_TASK)),
        rule(Method::POST, "/api/agents/{id}/heartbeat", Admin, true).scoped(Scope::on(Agent)),
        rule(Method::POST, "/api/agents/{id}/activity", Admin, true).scoped(Scope::on(Agent).refs(REPORTED_TASK)),
        rule(Method::GET, "/api/agents/{id}/tasks", Viewer, false).scoped(Scope::on(Agent)),
        rule(Method::POST, "/api/agents/{id}/tasks", Admin, true).scoped(Scope::on(Agent).body(&["project_id"])),
        rule(Method::PATCH, "/api/agents/{id}/tasks/{task_id}", Admin, true)
            .scoped(Scope::on(Agent).body(&["project_id"]).no_fill().refs(TASK_IN_PATH)),
        rule(Method::GET, "/api/agents/{id}/workflow", Viewer, false).scoped(Scope::on(Agent)),
        rule(Method::POST, "/api/agents/{id}/workflow", Admin, true).scoped(Scope::on(Agent).body(&["projectId"]).refs(REPORTED_TASK)),
        rule(Method::POST, "/api/agents/{id}/workflow/signal", Admin, true).scoped(Scope::on(Agent).refs(REPORTED_TASK)),
        // Polling delivers commands (a state change), so it is for agents: admin+.
        rule(Method::GET, "/api/agents/{id}/commands", Admin, false).scoped(Scope::on(Agent)),
        rule(Method::POST, "/api/agents/{id}/commands", Admin, true).scoped(Scope::on(Agent)),
        rule(Method::POST, "/api/agents/{id}/commands/{command_id}/ack", Admin, true).scoped(Scope::on(Agent)),
    ]
}

/// The rules whose path pattern matches `path` (a request path without the base path).
/// Static segments beat parameters: `/api/v2/tasks/next` is not `/api/v2/tasks/{id}`.
pub fn matching<'r>(rules: &'r [Rule], path: &str) -> Vec<&'r Rule> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let score = |pattern: &str| -> Option<usize> {
        let parts: Vec<&str> = pattern.split('/').collect();
        if parts.len() != segments.len() {
            return None;
        }
        let mut statics = 0;
        for (p, s) in parts.iter().zip(&segments) {
            if p.starts_with('{') {
                if s.is_empty() {
                    return None;
                }
            } else if p == s {
                statics += 1;
            } else {
                return None;
            }
        }
        Some(statics)
    };
    let best = rules.iter().filter_map(|r| score(r.path)).max();
    match best {
        Some(best) => rules.iter().filter(|r| score(r.path) == Some(best)).collect(),
        None => Vec::new(),
    }
}

/// The pattern's `{…}` parameters in `path`, `(name, value)`, percent-decoded as the router
/// decodes them (so a check sees the same ids the handler will).
pub fn params(pattern: &str, path: &str) -> Vec<(String, String)> {
    pattern
        .split('/')
        .zip(path.trim_end_matches('/').split('/'))
        .filter_map(|(part, raw)| {
            let name = part.strip_prefix('{')?.strip_suffix('}')?;
            Some((name.to_string(), super::percent::decode(raw)))
        })
        .collect()
}

/// Every `{…}` segment of `path` must decode to UTF-8 (as the router requires) and be a
/// valid id (http/limits.rs); the error names the parameter.
pub fn check_params(pattern: &str, path: &str) -> Result<(), String> {
    let segments = path.trim_end_matches('/').split('/');
    for (part, raw) in pattern.split('/').zip(segments) {
        let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) else { continue };
        let value = super::percent::decode_strict(raw).ok_or_else(|| format!("{name}: must be UTF-8 text"))?;
        super::limits::check_path_id(name, &value)?;
    }
    Ok(())
}

/// `Access-Control-Allow-Methods` for a path: its methods plus OPTIONS.
pub fn allow_methods(rules: &[&Rule]) -> String {
    let mut methods: Vec<&str> = rules.iter().map(|r| r.method.as_str()).collect();
    methods.dedup();
    methods.push("OPTIONS");
    methods.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_segments_win_over_parameters() {
        let rules = routes();
        let next = matching(&rules, "/api/v2/tasks/next");
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].path, "/api/v2/tasks/next");
        let subtasks = matching(&rules, "/api/v2/tasks/7/subtasks");
        assert_eq!(subtasks.len(), 4);
        assert_eq!(allow_methods(&subtasks), "GET, POST, PUT, DELETE, OPTIONS");
        assert!(matching(&rules, "/api/nope").is_empty());
        assert!(matching(&rules, "/api/todos//comments").is_empty());
        let both = params("/api/agents/{id}/tasks/{task_id}", "/api/agents/a%2Fb%20c/tasks/7");
        assert_eq!(both, vec![("id".to_string(), "a/b c".to_string()), ("task_id".to_string(), "7".to_string())]);
        assert!(params("/api/todos", "/api/todos").is_empty());
    }

    #[test]
    fn writes_are_rate_limited_and_work_data_writes_need_admin() {
        for r in routes() {
            let write = r.method != Method::GET;
            let sign_out = r.path == "/api/auth/logout";
            assert_eq!(r.rate_limited, write && !sign_out, "{} {}", r.method, r.path);
            if write && r.path.starts_with("/api/") && !r.path.starts_with("/api/auth/") && !r.path.contains("/invite/") {
                assert!(r.access >= Access::Admin, "{} {}", r.method, r.path);
            }
        }
    }
}

//! The authorization matrix as data (K2, K25): every route with its minimum access and
//! whether writes to it are rate limited. The router must register exactly these routes
//! (a test checks it); a path missing here is refused, never opened.

use axum::http::Method;

/// Who may call a route, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    Public,
    Viewer,
    Admin,
    Owner,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub rate_limited: bool,
}

const fn rule(method: Method, path: &'static str, access: Access, rate_limited: bool) -> Rule {
    Rule { method, path, access, rate_limited }
}

use Access::{Admin, Owner, Public, Viewer};

pub fn routes() -> Vec<Rule> {
    vec![
        rule(Method::GET, "/healthz", Public, false),
        rule(Method::GET, "/metrics", Admin, false),
        rule(Method::POST, "/api/events", Admin, true),
        rule(Method::GET, "/api/todos", Viewer, false),
        rule(Method::POST, "/api/todos", Admin, true),
        rule(Method::PUT, "/api/todos", Admin, true),
        rule(Method::GET, "/api/todos/{id}/subtasks", Viewer, false),
        rule(Method::POST, "/api/todos/{id}/subtasks", Admin, true),
        rule(Method::GET, "/api/todos/{id}/comments", Viewer, false),
        rule(Method::POST, "/api/todos/{id}/comments", Admin, true),
        rule(Method::GET, "/api/todos/{id}/sprints", Viewer, false),
        rule(Method::POST, "/api/todos/{id}/sprints", Admin, true),
        rule(Method::DELETE, "/api/todos/{id}/sprints", Admin, true),
        rule(Method::GET, "/api/sessions", Viewer, false),
        rule(Method::POST, "/api/sessions", Admin, true),
        rule(Method::GET, "/api/messages", Viewer, false),
        rule(Method::POST, "/api/messages", Admin, true),
        rule(Method::POST, "/api/messages/create", Admin, true),
        rule(Method::GET, "/api/sprints", Viewer, false),
        rule(Method::POST, "/api/sprints", Admin, true),
        rule(Method::GET, "/api/sprints/{id}", Viewer, false),
        rule(Method::PATCH, "/api/sprints/{id}", Admin, true),
        rule(Method::GET, "/api/sprints/{id}/velocity", Viewer, false),
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
        rule(Method::GET, "/api/agents", Viewer, false),
        rule(Method::POST, "/api/agents", Admin, true),
        rule(Method::GET, "/api/agents/{id}", Viewer, false),
        rule(Method::PATCH, "/api/agents/{id}", Admin, true),
        rule(Method::DELETE, "/api/agents/{id}", Admin, true),
        rule(Method::POST, "/api/agents/{id}/actions", Admin, true),
        rule(Method::POST, "/api/agents/{id}/assign", Admin, true),
        rule(Method::POST, "/api/agents/{id}/block", Admin, true),
        rule(Method::POST, "/api/agents/{id}/complete", Admin, true),
        rule(Method::POST, "/api/agents/{id}/error", Admin, true),
        rule(Method::POST, "/api/agents/{id}/heartbeat", Admin, true),
        rule(Method::POST, "/api/agents/{id}/activity", Admin, true),
        rule(Method::GET, "/api/agents/{id}/tasks", Viewer, false),
        rule(Method::POST, "/api/agents/{id}/tasks", Admin, true),
        rule(Method::PATCH, "/api/agents/{id}/tasks/{task_id}", Admin, true),
        rule(Method::GET, "/api/agents/{id}/workflow", Viewer, false),
        rule(Method::POST, "/api/agents/{id}/workflow", Admin, true),
        rule(Method::POST, "/api/agents/{id}/workflow/signal", Admin, true),
        // Polling delivers commands (a state change), so it is for agents: admin+.
        rule(Method::GET, "/api/agents/{id}/commands", Admin, false),
        rule(Method::POST, "/api/agents/{id}/commands", Admin, true),
        rule(Method::POST, "/api/agents/{id}/commands/{command_id}/ack", Admin, true),
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
    }

    #[test]
    fn every_write_is_rate_limited_and_needs_admin() {
        for r in routes() {
            let write = r.method != Method::GET;
            assert_eq!(r.rate_limited, write, "{} {}", r.method, r.path);
            if write {
                assert!(r.access >= Access::Admin, "{} {}", r.method, r.path);
            }
        }
    }
}

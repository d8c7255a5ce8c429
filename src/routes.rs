//! The route table: every route declared once — method, path, who may call it, whether writes
//! to it are rate limited, what a project-scoped key may do there, and its handler. The
//! router and the gate's access table are both built from it, so they cannot disagree; a
//! path missing here is not served.

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter};

use crate::api::{
    agent_actions, agent_tasks, agents, alerts, analytics, api_keys, approvals, auth, channels, commands, events, ingest, linear, links,
    messages, ops, projects, sessions, settings, sprints, team, todos, v2, workflow,
};
use crate::http::access::{Access, Rule, rule};
use crate::http::scope::{Object, Scope};
use crate::state::App;
use crate::web;

/// One row of the table.
pub struct Route {
    pub rule: Rule,
    handler: MethodRouter<App>,
}

impl Rule {
    /// The rule served by `handler`.
    fn to<H: Handler<T, App>, T: 'static>(self, handler: H) -> Route {
        let filter = MethodFilter::try_from(self.method.clone()).unwrap_or(MethodFilter::GET);
        Route { handler: axum::routing::on(filter, handler), rule: self }
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

pub fn table() -> Vec<Route> {
    vec![
        rule(Method::GET, "/healthz", Public, false).to(ops::healthz),
        rule(Method::GET, "/metrics", Admin, false).to(ops::metrics),
        rule(Method::POST, "/api/events", Admin, true).scoped(Scope::FREE.body(PROJECT).refs(EVENT_REFS)).to(events::create),
        rule(Method::GET, "/api/todos", Viewer, false).to(todos::list),
        rule(Method::POST, "/api/todos", Admin, true).scoped(Scope::on(Todo).id_in_body().body(PROJECT).refs(TODO_REFS)).to(todos::upsert),
        rule(Method::PUT, "/api/todos", Admin, true)
            .scoped(Scope::on(Todo).id_in_body().body(PROJECT).items("todos").refs(TODO_REFS))
            .to(todos::batch),
        rule(Method::GET, "/api/todos/{id}/subtasks", Viewer, false).scoped(Scope::on(Todo)).to(todos::subtasks),
        rule(Method::POST, "/api/todos/{id}/subtasks", Admin, true).scoped(Scope::on(Todo).body(PROJECT)).to(todos::create_subtask),
        rule(Method::GET, "/api/todos/{id}/comments", Viewer, false).scoped(Scope::on(Todo)).to(todos::comments),
        rule(Method::POST, "/api/todos/{id}/comments", Admin, true).scoped(Scope::on(Todo)).to(todos::create_comment),
        rule(Method::GET, "/api/todos/{id}/sprints", Viewer, false).scoped(Scope::on(Todo)).to(todos::sprints),
        rule(Method::POST, "/api/todos/{id}/sprints", Admin, true).scoped(Scope::on(Todo).refs(SPRINT)).to(todos::link_sprint),
        rule(Method::DELETE, "/api/todos/{id}/sprints", Admin, true).scoped(Scope::on(Todo).refs(SPRINT)).to(todos::unlink_sprint),
        rule(Method::GET, "/api/sessions", Viewer, false).to(sessions::list),
        rule(Method::POST, "/api/sessions", Admin, true).scoped(Scope::on(Session).id_in_body().body(PROJECT_OR_ID)).to(sessions::upsert),
        rule(Method::GET, "/api/messages", Viewer, false).to(messages::list),
        rule(Method::POST, "/api/messages", Admin, true).to(messages::mark_read),
        rule(Method::POST, "/api/messages/create", Admin, true)
            .scoped(Scope::FREE.body(PROJECT_OR_ID).refs(MESSAGE_REFS))
            .to(messages::create),
        rule(Method::GET, "/api/sprints", Viewer, false).to(sprints::list),
        rule(Method::POST, "/api/sprints", Admin, true).scoped(Scope::FREE.body(PROJECT_ID)).to(sprints::create),
        rule(Method::GET, "/api/sprints/{id}", Viewer, false).scoped(Scope::on(Sprint)).to(sprints::get),
        rule(Method::PATCH, "/api/sprints/{id}", Admin, true).scoped(Scope::on(Sprint).body(PROJECT_ID)).to(sprints::update),
        rule(Method::GET, "/api/sprints/{id}/velocity", Viewer, false).scoped(Scope::on(Sprint)).to(sprints::velocity),
        rule(Method::GET, "/api/analytics", Viewer, false).to(analytics::get),
        rule(Method::GET, "/api/v2/tasks", Viewer, false).to(v2::list),
        rule(Method::POST, "/api/v2/tasks", Admin, true).to(v2::create),
        rule(Method::PUT, "/api/v2/tasks", Admin, true).to(v2::update),
        rule(Method::DELETE, "/api/v2/tasks", Admin, true).to(v2::delete),
        rule(Method::GET, "/api/v2/tasks/next", Viewer, false).to(v2::next),
        rule(Method::POST, "/api/v2/tasks/validate-deps", Admin, true).to(v2::validate_deps),
        rule(Method::GET, "/api/v2/tasks/{id}/subtasks", Viewer, false).to(v2::list_subtasks),
        rule(Method::POST, "/api/v2/tasks/{id}/subtasks", Admin, true).to(v2::create_subtask),
        rule(Method::PUT, "/api/v2/tasks/{id}/subtasks", Admin, true).to(v2::update_subtask),
        rule(Method::DELETE, "/api/v2/tasks/{id}/subtasks", Admin, true).to(v2::delete_subtask),
        rule(Method::GET, "/api/settings/projects", Viewer, false).to(projects::list),
        rule(Method::POST, "/api/settings/projects", Admin, true).to(projects::create),
        rule(Method::PATCH, "/api/settings/projects/{id}", Admin, true).to(projects::update),
        rule(Method::DELETE, "/api/settings/projects/{id}", Admin, true).to(projects::delete),
        rule(Method::GET, "/api/settings/sleep-schedule", Admin, false).to(settings::get_sleep_schedule),
        rule(Method::PUT, "/api/settings/sleep-schedule", Owner, true).to(settings::put_sleep_schedule),
        rule(Method::GET, "/api/settings/alerts", Admin, false).to(alerts::list),
        rule(Method::PUT, "/api/settings/alerts", Owner, true).to(alerts::put),
        rule(Method::POST, "/api/settings/alerts/reset-defaults", Owner, true).to(alerts::reset_defaults),
        rule(Method::GET, "/api/settings/alerts/{id}", Admin, false).to(alerts::get),
        rule(Method::PATCH, "/api/settings/alerts/{id}", Owner, true).to(alerts::patch),
        rule(Method::DELETE, "/api/settings/alerts/{id}", Owner, true).to(alerts::delete),
        rule(Method::GET, "/api/settings/channels", Admin, false).to(channels::list),
        rule(Method::POST, "/api/settings/channels", Owner, true).to(channels::create),
        rule(Method::PATCH, "/api/settings/channels/{id}", Owner, true).to(channels::update),
        rule(Method::DELETE, "/api/settings/channels/{id}", Owner, true).to(channels::delete),
        rule(Method::POST, "/api/settings/channels/{id}/test", Owner, true).to(channels::test),
        rule(Method::GET, "/api/push/vapid-public-key", Public, false).to(channels::vapid_public_key),
        // A person's own browser (K30): never an API key.
        rule(Method::POST, "/api/push/subscriptions", User, true).to(channels::subscribe),
        rule(Method::DELETE, "/api/push/subscriptions/{id}", User, true).to(channels::unsubscribe),
        rule(Method::GET, "/api/notifications/deliveries", Admin, false).to(channels::deliveries),
        // Approvals (K28, K30): everyone sees them, admins decide; decision links are public,
        // authorized by their token alone.
        rule(Method::GET, "/api/approvals", Viewer, false).to(approvals::list),
        rule(Method::GET, "/api/approvals/{id}", Viewer, false).to(approvals::get),
        rule(Method::POST, "/api/approvals/{id}/decision", Admin, true).to(approvals::decide),
        rule(Method::GET, "/approvals", Viewer, false).to(web::approvals::show),
        rule(Method::POST, "/approvals/{id}", Admin, true).to(web::approvals::decide),
        rule(Method::GET, "/approvals/decide/{token}", Public, false).to(web::approvals::link_confirm),
        rule(Method::POST, "/approvals/decide/{token}", Public, true).to(web::approvals::link_decide),
        // Linear (api-compat.md §13, K30): reads for everyone, sync and board moves admin+,
        // webhooks and settings owner; Linear's own deliveries are authorized by their
        // signature and never rate limited (a refused delivery is retried, then disabled).
        rule(Method::GET, "/api/linear/projects", Viewer, false).to(linear::projects),
        rule(Method::GET, "/api/linear/issues", Viewer, false).to(linear::issues),
        rule(Method::POST, "/api/linear/sync", Admin, true).to(linear::sync),
        rule(Method::PATCH, "/api/linear/sync", Admin, true).to(linear::move_issue),
        rule(Method::POST, "/api/linear/webhook", Public, false).to(linear::webhook),
        rule(Method::GET, "/api/linear/webhooks", Admin, false).to(linear::list_webhooks),
        rule(Method::POST, "/api/linear/webhooks", Owner, true).to(linear::register_webhook),
        rule(Method::DELETE, "/api/linear/webhooks/{id}", Owner, true).to(linear::delete_webhook),
        rule(Method::GET, "/api/settings/linear", Owner, false).to(linear::get_settings),
        rule(Method::PUT, "/api/settings/linear", Owner, true).to(linear::put_settings),
        // Agent integrations (K29): an agent's report, so admin+ (keys), unscoped for now.
        rule(Method::POST, "/api/ingest/opencode", Admin, true).scoped(Scope::FREE).to(ingest::opencode),
        rule(Method::POST, "/api/ingest/claude-code", Admin, true).scoped(Scope::FREE).to(ingest::claude_code),
        rule(Method::POST, "/api/ingest/codex", Admin, true).scoped(Scope::FREE).to(ingest::codex),
        rule(Method::POST, "/api/ingest/otlp/v1/metrics", Admin, true).scoped(Scope::FREE).to(ingest::otlp_metrics),
        rule(Method::POST, "/api/ingest/otlp/v1/logs", Admin, true).scoped(Scope::FREE).to(ingest::otlp_logs),
        rule(Method::GET, "/api/stream", Viewer, false).to(crate::events::stream::stream),
        rule(Method::GET, "/api/settings/team", People, false).to(team::list),
        rule(Method::POST, "/api/settings/team/invite", People, true).to(team::invite),
        rule(Method::DELETE, "/api/settings/team/{user_id}", People, true).to(team::remove),
        rule(Method::PATCH, "/api/settings/team/{user_id}", People, true).to(team::change_role),
        rule(Method::GET, "/api/settings/invite/{id}", Public, false).to(team::show_invite),
        rule(Method::POST, "/api/settings/invite/{id}/accept", User, true).to(team::accept_invite),
        rule(Method::GET, "/api/settings/api-keys", People, false).to(api_keys::list),
        rule(Method::POST, "/api/settings/api-keys", People, true).to(api_keys::create),
        rule(Method::DELETE, "/api/settings/api-keys/{id}", People, true).to(api_keys::revoke),
        rule(Method::GET, "/api/auth/login", Public, false).to(auth::login),
        rule(Method::GET, "/api/auth/callback", Public, false).to(auth::callback),
        rule(Method::GET, "/api/auth/verify", Public, false).to(auth::verify),
        // Signing out is always allowed: never rate limited (decisions.md#rate-limits).
        rule(Method::POST, "/api/auth/logout", Public, false).to(auth::logout),
        rule(Method::GET, "/api/auth/sessions", User, false).to(auth::sessions),
        rule(Method::DELETE, "/api/auth/sessions/{id}", User, true).to(auth::end_session),
        rule(Method::GET, "/api/auth/link/{token}", Public, false).to(links::confirm),
        rule(Method::POST, "/api/auth/link/{token}", Public, true).to(links::use_link),
        rule(Method::GET, "/api/auth/accounts", User, false).to(auth::accounts),
        rule(Method::POST, "/api/auth/switch", User, true).to(auth::switch),
        // The invite landing page (the `url` of an invite) and its Accept button.
        rule(Method::GET, "/invite/{id}", Public, false).to(web::invite::show),
        rule(Method::POST, "/invite/{id}", User, true).to(web::invite::accept),
        // The dashboard's pages (web/): a page opened without a session goes to /login.
        rule(Method::GET, "/static/{file}", Public, false).to(web::assets::serve),
        rule(Method::GET, "/manifest.webmanifest", Public, false).to(web::pwa::manifest),
        rule(Method::GET, "/sw.js", Public, false).to(web::pwa::service_worker),
        rule(Method::GET, "/login", Public, false).to(web::login::show),
        // Signing out is always allowed: never rate limited (decisions.md#rate-limits).
        rule(Method::POST, "/logout", Public, false).to(web::login::logout),
        rule(Method::POST, "/account", User, true).to(web::forms::switch),
        rule(Method::POST, "/theme", Public, true).to(web::theme::set),
        rule(Method::GET, "/", Viewer, false).to(web::board::show),
        rule(Method::GET, "/messages", Viewer, false).to(web::messages::show),
        rule(Method::POST, "/messages/read", Admin, true).to(web::forms::mark_read),
        rule(Method::GET, "/agents", Viewer, false).to(web::agents::list),
        rule(Method::GET, "/analytics", Viewer, false).to(web::analytics::show),
        rule(Method::GET, "/analytics.csv", Viewer, false).to(web::analytics::csv),
        rule(Method::GET, "/linear", Viewer, false).to(web::linear::show),
        rule(Method::POST, "/linear/sync", Admin, true).to(web::linear::sync_now),
        rule(Method::POST, "/linear/issues/{id}/move", Admin, true).to(web::linear::move_issue),
        rule(Method::GET, "/sprints", Viewer, false).to(web::sprints::show),
        rule(Method::POST, "/sprints", Admin, true).to(web::sprints::create),
        rule(Method::POST, "/sprints/{id}", Admin, true).to(web::sprints::update),
        rule(Method::GET, "/settings", Viewer, false).to(web::settings::account::show),
        rule(Method::GET, "/settings/team", People, false).to(web::settings::team::show),
        rule(Method::GET, "/settings/projects", Viewer, false).to(web::settings::projects::show),
        rule(Method::GET, "/settings/keys", People, false).to(web::settings::keys::show),
        rule(Method::GET, "/settings/alerts", Admin, false).to(web::settings::alerts::show),
        rule(Method::GET, "/settings/channels", Admin, false).to(web::settings::channels::show),
        rule(Method::GET, "/settings/integrations", Admin, false).to(web::settings::integrations::show),
        rule(Method::GET, "/settings/linear", Owner, false).to(web::settings::linear::show),
        rule(Method::GET, "/agents/{id}", Viewer, false).to(web::agents::detail),
        rule(Method::POST, "/agents/{id}/action", Admin, true).to(web::forms::agent_action),
        rule(Method::POST, "/todos", Admin, true).to(web::forms::create_todo),
        rule(Method::GET, "/todos/{id}", Viewer, false).to(web::todo::show),
        rule(Method::POST, "/todos/{id}", Admin, true).to(web::forms::edit_todo),
        rule(Method::POST, "/todos/{id}/move", Admin, true).to(web::forms::move_todo),
        rule(Method::POST, "/todos/{id}/comments", Admin, true).to(web::forms::comment),
        rule(Method::POST, "/todos/{id}/sprints", Admin, true).to(web::forms::link_sprint),
        rule(Method::GET, "/api/agents", Viewer, false).to(agents::list),
        rule(Method::POST, "/api/agents", Admin, true)
            .scoped(Scope::on(Agent).id_in_body().claimable().body(PROJECT).refs(PARENT_AGENT))
            .to(agents::register),
        rule(Method::GET, "/api/agents/{id}", Viewer, false).scoped(Scope::on(Agent)).to(agents::detail),
        rule(Method::PATCH, "/api/agents/{id}", Admin, true).scoped(Scope::on(Agent).refs(PARENT_AGENT)).to(agents::patch),
        rule(Method::DELETE, "/api/agents/{id}", Admin, true).scoped(Scope::on(Agent)).to(agents::delete),
        rule(Method::POST, "/api/agents/{id}/actions", Admin, true).scoped(Scope::on(Agent)).to(agent_actions::action),
        rule(Method::POST, "/api/agents/{id}/assign", Admin, true)
            .scoped(Scope::on(Agent).body(&["projectId"]).refs(REPORTED_TASK))
            .to(agent_actions::assign),
        rule(Method::POST, "/api/agents/{id}/block", Admin, true).scoped(Scope::on(Agent).refs(REPORTED_TASK)).to(agent_actions::block),
        rule(Method::POST, "/api/agents/{id}/complete", Admin, true)
            .scoped(Scope::on(Agent).refs(REPORTED_TASK))
            .to(agent_actions::complete),
        rule(Method::POST, "/api/agents/{id}/error", Admin, true).scoped(Scope::on(Agent).refs(REPORTED_TASK)).to(agent_actions::error),
        rule(Method::POST, "/api/agents/{id}/heartbeat", Admin, true).scoped(Scope::on(Agent)).to(agent_actions::heartbeat),
        rule(Method::GET, "/api/agents/{id}/activity", Viewer, false).scoped(Scope::on(Agent)).to(agents::activity),
        rule(Method::POST, "/api/agents/{id}/activity", Admin, true)
            .scoped(Scope::on(Agent).refs(REPORTED_TASK))
            .to(agent_actions::activity),
        rule(Method::GET, "/api/agents/{id}/tasks", Viewer, false).scoped(Scope::on(Agent)).to(agent_tasks::list),
        rule(Method::POST, "/api/agents/{id}/tasks", Admin, true).scoped(Scope::on(Agent).body(&["project_id"])).to(agent_tasks::create),
        rule(Method::PATCH, "/api/agents/{id}/tasks/{task_id}", Admin, true)
            .scoped(Scope::on(Agent).body(&["project_id"]).no_fill().refs(TASK_IN_PATH))
            .to(agent_tasks::patch),
        rule(Method::GET, "/api/agents/{id}/workflow", Viewer, false).scoped(Scope::on(Agent)).to(workflow::query),
        rule(Method::POST, "/api/agents/{id}/workflow", Admin, true)
            .scoped(Scope::on(Agent).body(&["projectId"]).refs(REPORTED_TASK))
            .to(workflow::start),
        rule(Method::POST, "/api/agents/{id}/workflow/signal", Admin, true)
            .scoped(Scope::on(Agent).refs(REPORTED_TASK))
            .to(workflow::signal),
        // Polling delivers commands (a state change), so it is for agents: admin+.
        rule(Method::GET, "/api/agents/{id}/commands", Admin, false).scoped(Scope::on(Agent)).to(commands::poll),
        rule(Method::POST, "/api/agents/{id}/commands", Admin, true).scoped(Scope::on(Agent)).to(commands::create),
        rule(Method::POST, "/api/agents/{id}/commands/{command_id}/ack", Admin, true).scoped(Scope::on(Agent)).to(commands::ack),
    ]
}

/// The access rules alone (the gate's table).
pub fn rules() -> Vec<Rule> {
    table().into_iter().map(|r| r.rule).collect()
}

/// The router: each path with the handlers of its methods.
pub fn router() -> Router<App> {
    let mut by_path: Vec<(&'static str, MethodRouter<App>)> = Vec::new();
    for route in table() {
        match by_path.iter_mut().find(|(path, _)| *path == route.rule.path) {
            Some((_, methods)) => *methods = std::mem::take(methods).merge(route.handler),
            None => by_path.push((route.rule.path, route.handler)),
        }
    }
    by_path.into_iter().fold(Router::new(), |router, (path, methods)| router.route(path, methods))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::access::{allow_methods, matching, params};

    #[test]
    fn static_segments_win_over_parameters() {
        let rules = rules();
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
        for r in rules() {
            let write = r.method != Method::GET;
            let sign_out = r.path == "/api/auth/logout" || r.path == "/logout";
            let linear_delivery = r.path == "/api/linear/webhook";
            assert_eq!(r.rate_limited, write && !sign_out && !linear_delivery, "{} {}", r.method, r.path);
            let own_browser = r.path.starts_with("/api/push/");
            let signed = linear_delivery && r.access == Access::Public;
            if write
                && r.path.starts_with("/api/")
                && !r.path.starts_with("/api/auth/")
                && !r.path.contains("/invite/")
                && !own_browser
                && !signed
            {
                assert!(r.access >= Access::Admin, "{} {}", r.method, r.path);
            }
        }
    }
}

//! Every route of the server. The gate's access table (`http/access.rs`) lists the same
//! routes with their roles; a test keeps the two in step.

use axum::Router;
use axum::routing::{get, post};

use super::{
    agent_actions, agent_tasks, agents, analytics, api_keys, auth, commands, events, links, messages, ops, projects, sessions, settings,
    sprints, team, todos, v2, workflow,
};
use crate::app::App;

pub fn router() -> Router<App> {
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/api/events", post(events::create))
        .route("/api/todos", get(todos::list).post(todos::upsert).put(todos::batch))
        .route("/api/todos/{id}/subtasks", get(todos::subtasks).post(todos::create_subtask))
        .route("/api/todos/{id}/comments", get(todos::comments).post(todos::create_comment))
        .route("/api/todos/{id}/sprints", get(todos::sprints).post(todos::link_sprint).delete(todos::unlink_sprint))
        .route("/api/sessions", get(sessions::list).post(sessions::upsert))
        .route("/api/messages", get(messages::list).post(messages::mark_read))
        .route("/api/messages/create", post(messages::create))
        .route("/api/sprints", get(sprints::list).post(sprints::create))
        .route("/api/sprints/{id}", get(sprints::get).patch(sprints::update))
        .route("/api/sprints/{id}/velocity", get(sprints::velocity))
        .route("/api/analytics", get(analytics::get))
        .route("/api/v2/tasks", get(v2::list).post(v2::create).put(v2::update).delete(v2::delete))
        .route("/api/v2/tasks/next", get(v2::next))
        .route("/api/v2/tasks/validate-deps", post(v2::validate_deps))
        .route(
            "/api/v2/tasks/{id}/subtasks",
            get(v2::list_subtasks).post(v2::create_subtask).put(v2::update_subtask).delete(v2::delete_subtask),
        )
        .route("/api/settings/projects", get(projects::list).post(projects::create))
        .route("/api/settings/projects/{id}", axum::routing::patch(projects::update).delete(projects::delete))
        .route("/api/settings/sleep-schedule", get(settings::get_sleep_schedule).put(settings::put_sleep_schedule))
        .route("/api/stream", get(crate::events::stream::stream))
        .route("/api/settings/team", get(team::list))
        .route("/api/settings/team/invite", post(team::invite))
        .route("/api/settings/team/{user_id}", axum::routing::delete(team::remove).patch(team::change_role))
        .route("/api/settings/invite/{id}", get(team::show_invite))
        .route("/api/settings/invite/{id}/accept", post(team::accept_invite))
        .route("/api/settings/api-keys", get(api_keys::list).post(api_keys::create))
        .route("/api/settings/api-keys/{id}", axum::routing::delete(api_keys::revoke))
        .route("/api/auth/login", get(auth::login))
        .route("/api/auth/callback", get(auth::callback))
        .route("/api/auth/verify", get(auth::verify))
        .route("/api/auth/logout", post(auth::logout))
        .route("/api/auth/sessions", get(auth::sessions))
        .route("/api/auth/sessions/{id}", axum::routing::delete(auth::end_session))
        .route("/api/auth/link/{token}", get(links::confirm).post(links::use_link))
        .route("/invite/{id}", get(crate::pages::invite::show).post(crate::pages::invite::accept))
        .route("/api/agents", get(agents::list).post(agents::register))
        .route("/api/agents/{id}", get(agents::detail).patch(agents::patch).delete(agents::delete))
        .route("/api/agents/{id}/actions", post(agent_actions::action))
        .route("/api/agents/{id}/assign", post(agent_actions::assign))
        .route("/api/agents/{id}/block", post(agent_actions::block))
        .route("/api/agents/{id}/complete", post(agent_actions::complete))
        .route("/api/agents/{id}/error", post(agent_actions::error))
        .route("/api/agents/{id}/heartbeat", post(agent_actions::heartbeat))
        .route("/api/agents/{id}/activity", post(agent_actions::activity))
        .route("/api/agents/{id}/tasks", get(agent_tasks::list).post(agent_tasks::create))
        .route("/api/agents/{id}/tasks/{task_id}", axum::routing::patch(agent_tasks::patch))
        .route("/api/agents/{id}/workflow", get(workflow::query).post(workflow::start))
        .route("/api/agents/{id}/workflow/signal", post(workflow::signal))
        .route("/api/agents/{id}/commands", get(commands::poll).post(commands::create))
        .route("/api/agents/{id}/commands/{command_id}/ack", post(commands::ack))
}

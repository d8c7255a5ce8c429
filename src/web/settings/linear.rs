//! `/settings/linear` (the owner, K30): whether Linear is connected, how the last sync went
//! (with "Sync now"), the webhook ocd registered in Linear (register, its state, remove), and
//! who works Linear issues — the user map and whether a finished task finishes its issue.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{Section, Tab, tabs};
use crate::domain::linear::LinearSettings;
use crate::error::AppResult;
use crate::service::linear::hooks::{self, WebhookState};
use crate::service::linear::{self as service, SyncStatus};
use crate::state::App;
use crate::web::page;
use crate::web::shell::{Nav, Shell, Visit};
use crate::web::theme::Theme;
use crate::web::time::Clock;

#[derive(Template)]
#[template(path = "settings_linear.html")]
struct LinearSettingsPage {
    shell: Shell,
    tabs: Vec<Tab>,
    configured: bool,
    secret_configured: bool,
    interval: u64,
    last_sync: Option<SyncStatus>,
    webhooks: Vec<WebhookState>,
    /// Where Linear posts by default (PUBLIC_URL), if known.
    default_url: Option<String>,
    settings: LinearSettings,
    /// The user map as the form edits it: `Linear user = agent id`, one per line.
    map_text: String,
    /// Agents (id, name) and the Linear assignees seen (id, name), to fill in the map.
    agents: Vec<(String, String)>,
    assignees: Vec<(String, String)>,
    clock: Clock,
}

pub async fn show(State(app): State<App>, visit: Visit) -> AppResult<Response> {
    let shell = Shell::build(&app, &visit, "Linear", Nav::Settings).await?.with_script(&app, "settings.js");
    let settings = service::settings(&app.db.read).await?;
    let map_text = settings.user_map.iter().map(|(user, agent)| format!("{user} = {agent}\n")).collect();
    let assignees = crate::db::linear::assignees(&app.db.read).await?;
    let webhooks = if app.linear.is_configured() { hooks::list(&app).await? } else { Vec::new() };
    let page_data = LinearSettingsPage {
        tabs: tabs(&app, &visit.principal, Section::Linear),
        configured: app.linear.is_configured(),
        secret_configured: app.config.linear_webhook_secret().is_some(),
        interval: app.config.linear_sync_interval_seconds,
        last_sync: service::last_sync(&app.db.read).await?,
        webhooks,
        default_url: app.config.public_url.is_some().then(|| app.site_url("/api/linear/webhook")),
        settings,
        map_text,
        agents: crate::db::agents::names(&app.db.read).await?,
        assignees,
        clock: Clock { now: app.clock.now() },
        shell,
    };
    Ok(page(&page_data))
}

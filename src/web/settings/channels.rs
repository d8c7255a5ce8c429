//! `/settings/channels` (admins read, the owner changes): the notification channels (ntfy,
//! Slack, Discord, webhooks, and people's browsers), each with a "send test" button, and the
//! delivery log of what was sent where.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{Section, Tab, is_owner, tabs};
use crate::db::deliveries::{self, Delivery};
use crate::domain::channels::ChannelType;
use crate::error::AppResult;
use crate::service::channels::{self, ChannelView};
use crate::state::App;
use crate::web::page;
use crate::web::shell::{Nav, Shell, Visit};
use crate::web::theme::Theme;
use crate::web::time::Clock;

/// How many deliveries the log shows.
const LOG_ROWS: i64 = 50;

#[derive(Template)]
#[template(path = "settings_channels.html")]
struct ChannelsPage {
    shell: Shell,
    tabs: Vec<Tab>,
    channels: Vec<ChannelView>,
    deliveries: Vec<Delivery>,
    can_change: bool,
    clock: Clock,
}

impl ChannelsPage {
    /// A channel's configuration as one line: its keys and (masked) values.
    fn summary(&self, channel: &ChannelView) -> String {
        channel.config.iter().map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default())).collect::<Vec<_>>().join(" · ")
    }

    fn is_browser(&self, channel: &ChannelView) -> bool {
        channel.kind == ChannelType::WebPush
    }
}

/// `GET /settings/channels`.
pub async fn show(State(app): State<App>, visit: Visit) -> AppResult<Response> {
    let shell = Shell::build(&app, &visit, "Channels", Nav::Settings).await?.with_script(&app, "settings.js");
    let channels = channels::list(&app).await?;
    let deliveries = deliveries::list(&app.db.read, None, None, LOG_ROWS).await?;
    let tabs = tabs(&app, &visit.principal, Section::Channels);
    let can_change = is_owner(&visit.principal);
    Ok(page(&ChannelsPage { shell, tabs, channels, deliveries, can_change, clock: Clock { now: app.clock.now() } }))
}

//! `/settings/alerts` (admins read, the owner changes): each alert rule's delay, channel and
//! whether it is on, and the sleep schedule (the hours agents are told to sleep, in a time zone).

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{Section, Tab, is_owner, tabs};
use crate::domain::agents::SleepSchedule;
use crate::domain::alerts::AlertRule;
use crate::error::AppResult;
use crate::service::{alert_rules, lifecycle};
use crate::state::App;
use crate::web::page;
use crate::web::shell::{Nav, Shell, Visit};
use crate::web::theme::Theme;

#[derive(Template)]
#[template(path = "settings_alerts.html")]
struct AlertsPage {
    shell: Shell,
    tabs: Vec<Tab>,
    rules: Vec<AlertRule>,
    schedule: SleepSchedule,
    /// Every IANA time zone, for the picker.
    zones: Vec<String>,
    can_change: bool,
    destinations: [(&'static str, &'static str); 3],
}

/// Where a rule's alerts go: the value the API takes and what the picker says.
const DESTINATIONS: [(&str, &str); 3] = [("in_app", "feed"), ("push", "channels"), ("both", "both")];

impl AlertsPage {
    /// A rule's delay in minutes as the form edits it: fractions kept (a delay set to 90 s
    /// through the API reads 1.5), so saving another field never changes it.
    fn minutes(&self, delay_ms: &i64) -> String {
        let minutes = format!("{:.4}", *delay_ms as f64 / 60_000.0);
        minutes.trim_end_matches('0').trim_end_matches('.').to_string()
    }

    /// What a rule does, in words.
    fn describe(&self, rule: &AlertRule) -> String {
        let who = match rule.priority_filter.as_str() {
            "all" => "any".to_string(),
            p => p.to_string(),
        };
        format!("{} · {who} priority", rule.trigger.as_str().replace('_', " "))
    }
}

/// Every time zone name jiff knows, sorted.
pub fn time_zones() -> Vec<String> {
    let mut zones: Vec<String> = jiff::tz::db().available().map(|name| name.to_string()).collect();
    zones.sort();
    zones
}

/// `GET /settings/alerts`.
pub async fn show(State(app): State<App>, visit: Visit) -> AppResult<Response> {
    let shell = Shell::build(&app, &visit, "Alerts", Nav::Settings).await?.with_script(&app, "settings.js");
    let rules = alert_rules::list(&app).await?;
    let schedule = lifecycle::sleep_schedule(&app.db.read).await?;
    let tabs = tabs(&app, &visit.principal, Section::Alerts);
    let can_change = is_owner(&visit.principal);
    Ok(page(&AlertsPage { shell, tabs, rules, schedule, zones: time_zones(), can_change, destinations: DESTINATIONS }))
}

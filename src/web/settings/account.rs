//! `/settings`: the signed-in person's own things — the browsers they are signed in on (each
//! can be signed out) and whether this browser gets push notifications.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{Section, Tab, tabs};
use crate::db::auth_sessions::{self, SessionInfo};
use crate::error::AppResult;
use crate::service::channels;
use crate::state::App;
use crate::web::page;
use crate::web::shell::{Nav, Shell, Visit};
use crate::web::theme::Theme;
use crate::web::time::Clock;

#[derive(Template)]
#[template(path = "settings_account.html")]
struct AccountPage {
    shell: Shell,
    tabs: Vec<Tab>,
    /// `None` when not signed in as a person (the local owner, a key): no sessions.
    sessions: Option<Vec<SessionInfo>>,
    /// How many browsers of this person receive push notifications.
    push_browsers: usize,
    clock: Clock,
}

impl AccountPage {
    fn device(&self, user_agent: &Option<String>) -> String {
        device(user_agent)
    }
}

/// A browser's user agent as a person recognises it: the browser and the system, roughly.
pub fn device(user_agent: &Option<String>) -> String {
    let Some(ua) = user_agent.as_deref() else { return "Unknown browser".to_string() };
    let browser = ["Edg/", "Firefox/", "Chrome/", "Safari/", "curl/"].iter().find(|b| ua.contains(*b)).map_or("Browser", |b| match *b {
        "Edg/" => "Edge",
        "Firefox/" => "Firefox",
        "Chrome/" => "Chrome",
        "Safari/" => "Safari",
        _ => "curl",
    });
    let system = ["Android", "iPhone", "iPad", "Mac OS X", "Windows", "Linux"].iter().find(|s| ua.contains(*s)).map_or("", |s| match *s {
        "Mac OS X" => "macOS",
        other => other,
    });
    if system.is_empty() { browser.to_string() } else { format!("{browser} on {system}") }
}

/// `GET /settings`.
pub async fn show(State(app): State<App>, visit: Visit) -> AppResult<Response> {
    let shell = Shell::build(&app, &visit, "Settings", Nav::Settings).await?.with_script(&app, "settings.js");
    let now = app.clock.now();
    let (sessions, push_browsers) = match visit.principal.user_id() {
        Some(user) => {
            let sessions = auth_sessions::list_for_user(&app.db.read, user, visit.principal.session_id(), now).await?;
            let push = channels::list(&app).await?.iter().filter(|c| c.user_id == Some(user)).count();
            (Some(sessions), push)
        }
        None => (None, 0),
    };
    let tabs = tabs(&app, &visit.principal, Section::Account);
    Ok(page(&AccountPage { shell, tabs, sessions, push_browsers, clock: Clock { now } }))
}

#[cfg(test)]
mod tests {
    use super::device;

    #[test]
    fn devices_read_as_browser_and_system() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
        assert_eq!(device(&Some(chrome.into())), "Chrome on Linux");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Version/18.0 Mobile Safari/604.1";
        assert_eq!(device(&Some(iphone.into())), "Safari on iPhone");
        assert_eq!(device(&None), "Unknown browser");
    }
}

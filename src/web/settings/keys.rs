//! `/settings/keys` (owner in person): the named API keys with their role, project, expiry and
//! when each was last used; a new key is shown once, right after it is made; revoking is
//! immediate.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{Section, Tab, tabs};
use crate::db::api_keys::{self, ApiKey};
use crate::db::projects::{self, Project};
use crate::error::AppResult;
use crate::state::App;
use crate::web::page;
use crate::web::shell::{Nav, Shell, Visit};
use crate::web::theme::Theme;
use crate::web::time::Clock;

#[derive(Template)]
#[template(path = "settings_keys.html")]
struct KeysPage {
    shell: Shell,
    tabs: Vec<Tab>,
    keys: Vec<ApiKey>,
    projects: Vec<Project>,
    clock: Clock,
}

/// `GET /settings/keys`.
pub async fn show(State(app): State<App>, visit: Visit) -> AppResult<Response> {
    let shell = Shell::build(&app, &visit, "API keys", Nav::Settings).await?.with_script(&app, "settings.js");
    let keys = api_keys::list(&app.db.read).await?;
    let projects = projects::list(&app.db.read).await?;
    let tabs = tabs(&app, &visit.principal, Section::Keys);
    Ok(page(&KeysPage { shell, tabs, keys, projects, clock: Clock { now: app.clock.now() } }))
}

//! `/settings/team` (owner in person): the members and their roles — change a role, remove a
//! member — add a member by GitHub username, and make invite links to copy.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{Section, Tab, tabs};
use crate::db::users::{self, User};
use crate::error::AppResult;
use crate::state::App;
use crate::web::page;
use crate::web::shell::{Nav, Shell, Visit};
use crate::web::theme::Theme;
use crate::web::time::Clock;

#[derive(Template)]
#[template(path = "settings_team.html")]
struct TeamPage {
    shell: Shell,
    tabs: Vec<Tab>,
    members: Vec<User>,
    /// The person looking, who cannot change their own role or remove themselves here.
    me: Option<i64>,
    roles: [&'static str; 3],
    clock: Clock,
}

impl TeamPage {
    fn is_me(&self, user: &User) -> bool {
        self.me == Some(user.id)
    }
}

/// `GET /settings/team`.
pub async fn show(State(app): State<App>, visit: Visit) -> AppResult<Response> {
    let shell = Shell::build(&app, &visit, "Team", Nav::Settings).await?.with_script(&app, "settings.js");
    let members = users::list(&app.db.read).await?;
    let tabs = tabs(&app, &visit.principal, Section::Team);
    let page_data = TeamPage {
        shell,
        tabs,
        members,
        me: visit.principal.user_id(),
        roles: ["owner", "admin", "viewer"],
        clock: Clock { now: app.clock.now() },
    };
    Ok(page(&page_data))
}

//! `/settings/projects`: every project with its name and colour; admins create projects and
//! rename or recolour them (an agent reporting a new project also creates one).

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{Section, Tab, tabs};
use crate::db::projects::{self, Project};
use crate::error::AppResult;
use crate::state::App;
use crate::web::page;
use crate::web::shell::{Nav, Shell, Visit};
use crate::web::theme::Theme;

#[derive(Template)]
#[template(path = "settings_projects.html")]
struct ProjectsPage {
    shell: Shell,
    tabs: Vec<Tab>,
    projects: Vec<Project>,
    no_color: &'static str,
}

/// The colour a project without one is shown in (and its colour picker starts at).
pub const NO_COLOR: &str = "#6b7280";

/// `GET /settings/projects`.
pub async fn show(State(app): State<App>, visit: Visit) -> AppResult<Response> {
    let shell = Shell::build(&app, &visit, "Projects", Nav::Settings).await?.with_script(&app, "settings.js");
    let projects = projects::list(&app.db.read).await?;
    let tabs = tabs(&app, &visit.principal, Section::Projects);
    Ok(page(&ProjectsPage { shell, tabs, projects, no_color: NO_COLOR }))
}

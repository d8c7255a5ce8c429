//! `/sprints`: the project's sprints with their points, a velocity chart (points per sprint)
//! and the active sprint's daily burndown against the ideal line; admins create sprints and
//! change their name, dates, goal and status (planning → active → completed) here.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::charts::{Chart, Shape, Unit};
use super::shell::{Nav, Shell, Visit};
use super::theme::Theme;
use super::{page, see_other};
use crate::api::auth::safe_redirect;
use crate::db::sprints::{self, Sprint};
use crate::db::todos;
use crate::domain::calendar::{DAY, date_label, day_start, parse_date};
use crate::domain::velocity::{self, MAX_BURNDOWN_DAYS, Velocity};
use crate::domain::{Field, Int, SprintStatus};
use crate::error::{AppError, AppResult};
use crate::http::json::Form;
use crate::service::sprints::{self as sprint_service, NewSprint, SprintChange};
use crate::state::App;

/// A sprint as the page lists it.
pub struct SprintRow {
    pub sprint: Sprint,
    pub start: String,
    pub end: String,
    pub velocity: Velocity,
}

pub struct View {
    pub rows: Vec<SprintRow>,
    pub velocity: Chart,
    /// The active sprint's burndown, if a sprint is active.
    pub burndown: Option<(String, Chart)>,
    pub statuses: Vec<&'static str>,
    pub today: String,
}

#[derive(Template)]
#[template(path = "sprints.html")]
struct SprintsPage {
    shell: Shell,
    view: View,
}

/// The burndown of `v` over every day of the sprint: points remaining each day so far (none
/// for days to come) and the ideal line from all points on the first day to none on the last.
pub fn burndown(sprint: &Sprint, v: &Velocity) -> Chart {
    let last = day_start(sprint.end_date);
    let first = day_start(sprint.start_date).max(last - (MAX_BURNDOWN_DAYS - 1) * DAY);
    let days: Vec<i64> = (0..).map(|i| first + i * DAY).take_while(|d| *d <= last).collect();
    let span = (days.len().max(2) - 1) as f64;
    let remaining =
        days.iter().map(|d| v.daily_progress.iter().find(|p| p.date == date_label(*d)).map_or(f64::NAN, |p| p.remaining as f64)).collect();
    let ideal = (0..days.len()).map(|i| v.total_points as f64 * (1.0 - i as f64 / span)).map(|p| (p * 10.0).round() / 10.0).collect();
    Chart {
        id: "burndown",
        title: "Burndown",
        label_name: "day",
        value_name: "points remaining",
        unit: Unit::Count,
        shape: Shape::Lines,
        labels: days.iter().map(|d| date_label(*d)).collect(),
        series: vec![("remaining", remaining), ("ideal", ideal)],
        empty: "No points in this sprint yet: add todos to it.",
    }
}

/// `GET /sprints[?project]`.
pub async fn show(State(app): State<App>, visit: Visit) -> AppResult<Response> {
    let shell = Shell::build(&app, &visit, "Sprints", Nav::Analytics).await?;
    let project = shell.project.as_deref();
    let now = app.clock.now();
    let mut rows = Vec::new();
    for sprint in sprints::list(&app.db.read, project).await? {
        let points = todos::points_of_sprint(&app.db.read, &sprint.id, project).await?;
        let velocity = velocity::velocity(&sprint.id, &sprint.name, sprint.start_date, sprint.end_date, &points, now);
        rows.push(SprintRow { start: date_label(sprint.start_date), end: date_label(sprint.end_date), sprint, velocity });
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.sprint.start_date));
    // Oldest sprint first, as the analytics page shows it.
    let velocity = super::analytics::velocity_chart(
        rows.iter().rev().map(|r| (r.sprint.name.clone(), r.velocity.total_points, r.velocity.completed_points)),
    );
    let burndown =
        rows.iter().find(|r| r.sprint.status == SprintStatus::Active).map(|r| (r.sprint.name.clone(), burndown(&r.sprint, &r.velocity)));
    let statuses = SprintStatus::ALL.iter().map(|s| s.as_str()).collect();
    Ok(page(&SprintsPage { shell, view: View { rows, velocity, burndown, statuses, today: date_label(now) } }))
}

#[derive(Debug, Deserialize)]
pub struct SprintForm {
    name: String,
    start: String,
    end: String,
    #[serde(default)]
    goal: Option<String>,
    status: Option<SprintStatus>,
    #[serde(default)]
    project: Option<String>,
    #[serde(default)]
    back: Option<String>,
}

/// The form's dates as the sprint's first second and last second (whole UTC days).
fn dates(form: &SprintForm) -> AppResult<(i64, i64)> {
    let day = |name: &str, text: &str| {
        parse_date(text).ok_or_else(|| AppError::field("invalid_value", name, format!("{name}: a date like 2026-02-16")))
    };
    Ok((day("start", &form.start)?, day("end", &form.end)? + DAY - 1))
}

fn goal(form: &SprintForm) -> Field<String> {
    match form.goal.as_deref().map(str::trim) {
        Some("") | None => Field::Null,
        Some(goal) => Field::Value(goal.to_string()),
    }
}

/// `POST /sprints`: a new sprint (in the page's project).
pub async fn create(State(app): State<App>, Form(form): Form<SprintForm>) -> AppResult<Response> {
    let (start, end) = dates(&form)?;
    let project = form.project.clone().map(|p| p.trim().to_string()).filter(|p| !p.is_empty());
    let new = NewSprint {
        name: form.name.trim().to_string(),
        start_date: Int(start),
        end_date: Int(end),
        goal: goal(&form),
        status: form.status,
        project_id: project.map_or(Field::Absent, Field::Value),
    };
    sprint_service::create(&app, new).await?;
    Ok(see_other(safe_redirect(form.back.as_deref(), &app.base_path)))
}

/// `POST /sprints/{id}`: a sprint's name, dates, goal and status.
pub async fn update(State(app): State<App>, Path(id): Path<String>, Form(form): Form<SprintForm>) -> AppResult<Response> {
    let (start, end) = dates(&form)?;
    let change = SprintChange {
        name: Some(form.name.trim().to_string()),
        start_date: Some(Int(start)),
        end_date: Some(Int(end)),
        goal: goal(&form),
        status: form.status,
        project_id: Field::Absent,
    };
    sprint_service::update(&app, id, change).await?;
    Ok(see_other(safe_redirect(form.back.as_deref(), &app.base_path)))
}

//! `/analytics`: every figure of `GET /api/analytics` as a chart drawn on the server, plus the
//! aging of blocked work, filtered by period, sprint, agent and (from the header) project.
//! `/analytics.csv?chart=ID` gives one chart's data under the same filters.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::charts::{Chart, NO_DATA, Shape, Unit};
use super::page;
use super::shell::{Nav, Shell, Visit};
use super::theme::Theme;
use super::time::Clock;
use crate::db::{sprints, todos};
use crate::domain::analytics::Analytics;
use crate::domain::calendar::{DAY, date_label, day_start, parse_date};
use crate::error::{AppError, AppResult};
use crate::http::json::Params;
use crate::service::analytics::{self, BlockedAge, Query};
use crate::state::App;

/// The period shown when none is chosen: the last eight weeks, today included.
const DEFAULT_DAYS: i64 = 56;
/// The longest period the page draws (weekly bars stay readable).
const MAX_DAYS: i64 = 2 * 366;

/// The filters as the form shows them (dates as `YYYY-MM-DD`).
pub struct Filters {
    pub from: String,
    pub to: String,
    pub sprint: String,
    pub agent: String,
    /// The query string of the filters, for the CSV links.
    pub query: String,
}

/// The period of the filters: `(start, end)` in seconds, both days included.
fn period(params: &Params, now: i64) -> AppResult<(i64, i64)> {
    let date = |name: &str| -> AppResult<Option<i64>> {
        match params.non_empty(name) {
            None => Ok(None),
            Some(text) => {
                parse_date(text).map(Some).ok_or_else(|| AppError::field("invalid_value", name, format!("{name}: a date like 2026-02-16")))
            }
        }
    };
    let to = date("to")?.unwrap_or_else(|| day_start(now));
    let from = date("from")?.unwrap_or(to - (DEFAULT_DAYS - 1) * DAY);
    if from > to {
        return Err(AppError::field("invalid_value", "from", "from: the period starts after it ends"));
    }
    if (to - from) / DAY + 1 > MAX_DAYS {
        return Err(AppError::field("invalid_value", "from", format!("from: the period may span at most {MAX_DAYS} days")));
    }
    Ok((from, to + DAY - 1))
}

pub struct View {
    pub filters: Filters,
    pub sprints: Vec<(String, String)>,
    pub agents: Vec<String>,
    pub figures: Analytics,
    pub charts: Vec<Chart>,
    /// Todos in the project, whatever the period and filters.
    pub todos: usize,
    pub clock: Clock,
}

impl View {
    /// Whether the project has no work at all (else each chart without data in the period
    /// says so itself).
    pub fn is_empty(&self) -> bool {
        self.todos == 0
    }
}

#[derive(Template)]
#[template(path = "analytics.html")]
struct AnalyticsPage {
    shell: Shell,
    view: View,
}

fn counts(values: impl Iterator<Item = i64>) -> Vec<f64> {
    values.map(|v| v as f64).collect()
}

/// Cycle times by size, in buckets a team lead reads at a glance.
const CYCLE_BUCKETS: [(&str, i64); 6] =
    [("< 1 h", 3600), ("1–4 h", 4 * 3600), ("4–24 h", DAY), ("1–3 d", 3 * DAY), ("3–7 d", 7 * DAY), ("≥ 7 d", i64::MAX)];

/// Every chart of the page, in order.
pub fn charts(a: &Analytics, blocked: &[BlockedAge]) -> Vec<Chart> {
    let weeks: Vec<String> = a.throughput.weekly.iter().map(|w| w.week.clone()).collect();
    let columns = |id, title, label_name, value_name, unit, labels, series| Chart {
        id,
        title,
        label_name,
        value_name,
        unit,
        shape: Shape::Columns,
        labels,
        series,
        empty: NO_DATA,
    };
    let rows = |id, title, label_name, value_name, unit, labels, series| Chart {
        id,
        title,
        label_name,
        value_name,
        unit,
        shape: Shape::Rows,
        labels,
        series,
        empty: NO_DATA,
    };
    let mut buckets = vec![0.0; CYCLE_BUCKETS.len()];
    for entry in &a.cycle_time.entries {
        if let Some(i) = CYCLE_BUCKETS.iter().position(|(_, below)| entry.seconds < *below) {
            buckets[i] += 1.0;
        }
    }
    vec![
        columns(
            "throughput",
            "Weekly throughput",
            "week",
            "todos completed",
            Unit::Count,
            weeks.clone(),
            vec![("completed", counts(a.throughput.weekly.iter().map(|w| w.completed)))],
        ),
        columns(
            "created-vs-completed",
            "Created vs completed",
            "week",
            "todos",
            Unit::Count,
            weeks,
            vec![
                ("created", counts(a.created_vs_completed.weekly.iter().map(|w| w.created))),
                ("completed", counts(a.created_vs_completed.weekly.iter().map(|w| w.completed))),
            ],
        ),
        columns(
            "cycle-time",
            "Cycle time, weekly average",
            "week",
            "cycle time",
            Unit::Seconds,
            a.cycle_time.weekly.iter().map(|w| w.week.clone()).collect(),
            vec![("average_seconds", counts(a.cycle_time.weekly.iter().map(|w| w.average_seconds)))],
        ),
        columns(
            "cycle-time-distribution",
            "Cycle time distribution",
            "cycle time",
            "todos",
            Unit::Count,
            CYCLE_BUCKETS.iter().map(|(l, _)| l.to_string()).collect(),
            vec![("todos", buckets)],
        ),
        rows(
            "status",
            "Status distribution",
            "status",
            "todos",
            Unit::Count,
            a.status_distribution.keys().cloned().collect(),
            vec![("todos", counts(a.status_distribution.values().copied()))],
        ),
        rows(
            "priority",
            "Priority distribution",
            "priority",
            "todos",
            Unit::Count,
            a.priority_distribution.keys().cloned().collect(),
            vec![("todos", counts(a.priority_distribution.values().copied()))],
        ),
        columns(
            "workload",
            "Agent workload",
            "agent",
            "todos",
            Unit::Count,
            a.agent_workload.iter().map(|w| w.agent.clone()).collect(),
            vec![
                ("total", counts(a.agent_workload.iter().map(|w| w.total))),
                ("completed", counts(a.agent_workload.iter().map(|w| w.completed))),
                ("in_progress", counts(a.agent_workload.iter().map(|w| w.in_progress))),
            ],
        ),
        velocity_chart(a.velocity_trend.iter().map(|s| (s.sprint_name.clone(), s.total_points, s.completed_points))),
        Chart {
            empty: "Nothing is blocked.",
            ..rows(
                "blocked-aging",
                "Blocked work, oldest first",
                "todo",
                "blocked for",
                Unit::Seconds,
                blocked.iter().take(12).map(|b| b.content.clone()).collect(),
                vec![("blocked_seconds", counts(blocked.iter().take(12).map(|b| b.seconds)))],
            )
        },
    ]
}

/// Planned and completed points per sprint, in the order given (the analytics page and the
/// sprints page show the same chart).
pub fn velocity_chart(sprints: impl Iterator<Item = (String, i64, i64)>) -> Chart {
    let (mut labels, mut total, mut completed) = (Vec::new(), Vec::new(), Vec::new());
    for (name, planned, done) in sprints {
        labels.push(name);
        total.push(planned as f64);
        completed.push(done as f64);
    }
    Chart {
        id: "velocity",
        title: "Velocity trend",
        label_name: "sprint",
        value_name: "points",
        unit: Unit::Count,
        shape: Shape::Columns,
        labels,
        series: vec![("total_points", total), ("completed_points", completed)],
        empty: "No sprints yet: plan one to see its points here.",
    }
}

/// The figures and charts under the request's filters (all the CSV download needs).
async fn figures<'a>(app: &App, params: &'a Params, project: Option<&'a str>) -> AppResult<(Query<'a>, Analytics, Vec<Chart>)> {
    let (start, end) = period(params, app.clock.now())?;
    let query = Query { start, end, sprint: params.non_empty("sprint"), project, agent: params.non_empty("agent") };
    let figures = analytics::compute(app, query).await?;
    let blocked = analytics::blocked_aging(app, query).await?;
    let charts = charts(&figures, &blocked);
    Ok((query, figures, charts))
}

/// The page: the figures plus what its filter form offers.
async fn view(app: &App, params: &Params, project: Option<&str>) -> AppResult<View> {
    let now = app.clock.now();
    let (Query { start, end, sprint, agent, .. }, figures, charts) = figures(app, params, project).await?;
    let sprints = sprints::list(&app.db.read, project).await?.into_iter().map(|s| (s.id, s.name)).collect();
    let mut scope = todos::Filter::default();
    if let Some(project) = project {
        scope.text("project = ?", project);
    }
    let all = todos::rows(&app.db.read, &scope).await?;
    let todos = all.len();
    let mut agents: Vec<String> = all.into_iter().filter_map(|t| t.agent).collect();
    agents.sort();
    agents.dedup();
    let (from, to) = (date_label(start), date_label(end));
    let mut pairs = vec![("from", from.as_str()), ("to", to.as_str())];
    pairs.extend(sprint.map(|s| ("sprint", s)));
    pairs.extend(agent.map(|a| ("agent", a)));
    pairs.extend(project.map(|p| ("project", p)));
    let query = serde_urlencoded::to_string(&pairs).map_err(AppError::internal)?;
    let filters = Filters { from, to, sprint: sprint.unwrap_or_default().into(), agent: agent.unwrap_or_default().into(), query };
    Ok(View { filters, sprints, agents, figures, charts, todos, clock: Clock { now } })
}

/// `GET /analytics[?from&to&sprint&agent&project]`.
pub async fn show(State(app): State<App>, visit: Visit) -> AppResult<Response> {
    let shell = Shell::build(&app, &visit, "Analytics", Nav::Analytics).await?;
    let view = view(&app, &visit.params, shell.project.as_deref()).await?;
    Ok(page(&AnalyticsPage { shell, view }))
}

/// `GET /analytics.csv?chart=ID[&filters]`: one chart's data as a CSV download.
pub async fn csv(State(app): State<App>, params: Params) -> AppResult<Response> {
    let id = params.non_empty("chart").ok_or_else(|| AppError::field("invalid_type", "chart", "chart is required"))?;
    let (query, _, charts) = figures(&app, &params, params.non_empty("project")).await?;
    let chart = charts
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| AppError::field("invalid_value", "chart", format!("chart: there is no chart `{id}`")))?;
    let mut response = chart.csv().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    let disposition = format!("attachment; filename=\"ocd-{}-{}-{}.csv\"", chart.id, date_label(query.start), date_label(query.end));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

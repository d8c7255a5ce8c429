//! `GET /api/analytics` (decisions.md#work-items).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::db::{sprints, todos};
use crate::domain::analytics::{self, SprintPoints};
use crate::domain::calendar::{DAY, MAX_SECS};
use crate::error::{AppError, AppResult};
use crate::http::json::{Params, leading_int};
use crate::state::App;

/// Longest period one request may cover (keeps the weekly series bounded).
const MAX_PERIOD: i64 = 100 * 366 * DAY;

pub async fn get(State(app): State<App>, params: Params) -> AppResult<Json<Value>> {
    let (Some(start), Some(end)) = (params.non_empty("start"), params.non_empty("end")) else {
        return Err(AppError::BadRequest("Missing required query params: start and end".into()));
    };
    let invalid = || AppError::BadRequest("Invalid start/end query params".into());
    let start = leading_int(start).filter(|s| *s > 0 && *s <= MAX_SECS).ok_or_else(invalid)?;
    let end = leading_int(end).filter(|e| *e > 0 && *e <= MAX_SECS).ok_or_else(invalid)?;
    if start > end {
        return Err(invalid());
    }
    if end - start > MAX_PERIOD {
        return Err(AppError::BadRequest("Invalid start/end query params: the period may span at most 100 years".into()));
    }
    let mut scope = todos::Filter::default();
    let sprint_id = params.non_empty("sprint_id");
    if let Some(sprint) = sprint_id {
        scope.text("id IN (SELECT todo_id FROM todo_sprints WHERE sprint_id = ?)", sprint);
    }
    let project = params.non_empty("project");
    if let Some(project) = project {
        scope.text("project = ?", project);
    }
    if let Some(agent) = params.non_empty("agent") {
        scope.text("agent = ?", agent);
    }
    let pool = &app.db.read;
    let scoped = todos::rows(pool, &scope).await?;
    let history = todos::history(pool, &scope).await?;
    let mut trend = Vec::new();
    // With a project: its sprints and the shared ones, counting only its todos.
    for sprint in sprints::list(pool, None).await? {
        if sprint_id.is_some_and(|id| id != sprint.id) || project.is_some_and(|p| sprint.project_id.as_deref().is_some_and(|s| s != p)) {
            continue;
        }
        let points = todos::points_of_sprint(pool, &sprint.id, project).await?;
        trend.push(SprintPoints::new(sprint.id, sprint.name, &points));
    }
    Ok(Json(json!(analytics::compute(start, end, &scoped, &history, trend))))
}

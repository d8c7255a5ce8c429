//! `/api/sprints` (decisions.md#work-items; unknown ids are 404 and ranges are checked on update, decisions.md#work-items).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::db::{sprints, todos};
use crate::domain::velocity;
use crate::error::{AppError, AppResult};
use crate::http::json::{Body, Params};
use crate::service::sprints::{self as service, NewSprint, SprintChange};
use crate::state::App;

pub async fn list(State(app): State<App>, params: Params) -> AppResult<Json<Value>> {
    let sprints = sprints::list(&app.db.read, params.non_empty("project")).await?;
    Ok(Json(json!({ "sprints": sprints })))
}

pub async fn create(State(app): State<App>, Body(body): Body<NewSprint>) -> AppResult<(StatusCode, Json<Value>)> {
    let sprint = service::create(&app, body).await?;
    Ok((StatusCode::CREATED, Json(json!({ "sprint": sprint }))))
}

pub async fn get(State(app): State<App>, Path(id): Path<String>) -> AppResult<Json<Value>> {
    let sprint = sprints::find(&app.db.read, &id).await?.ok_or_else(|| AppError::not_found("Sprint"))?;
    Ok(Json(json!({ "sprint": sprint })))
}

pub async fn update(State(app): State<App>, Path(id): Path<String>, Body(body): Body<SprintChange>) -> AppResult<Json<Value>> {
    let sprint = service::update(&app, id, body).await?;
    Ok(Json(json!({ "sprint": sprint })))
}

/// `?project=` counts only that project's todos (a scoped key always has it).
pub async fn velocity(State(app): State<App>, Path(id): Path<String>, params: Params) -> AppResult<Json<Value>> {
    let sprint = sprints::find(&app.db.read, &id).await?.ok_or_else(|| AppError::not_found("Sprint"))?;
    let todos = todos::points_of_sprint(&app.db.read, &id, params.non_empty("project")).await?;
    let v = velocity::velocity(&sprint.id, &sprint.name, sprint.start_date, sprint.end_date, &todos, app.clock.now());
    Ok(Json(json!({ "velocity": v })))
}

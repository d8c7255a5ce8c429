//! `/api/sprints` (decisions.md#work-items; unknown ids are 404 and ranges are checked on update, decisions.md#work-items).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::db::events::{self, NewEvent};
use crate::db::sprints::{self, Sprint};
use crate::db::{projects, todos};
use crate::domain::{Field, SprintStatus, ids, velocity};
use crate::error::{AppError, AppResult};
use crate::http::json::{Body, Checks, Int, Params, non_null};
use crate::state::App;

const BAD_RANGE: &str = "Invalid sprint range: end_date must be >= start_date";

pub async fn list(State(app): State<App>, params: Params) -> AppResult<Json<Value>> {
    let sprints = sprints::list(&app.db.read, params.non_empty("project")).await?;
    Ok(Json(json!({ "sprints": sprints })))
}

#[derive(Debug, Deserialize)]
pub struct CreateBody {
    name: String,
    start_date: Int,
    end_date: Int,
    #[serde(default)]
    goal: Field<String>,
    #[serde(default, deserialize_with = "non_null")]
    status: Option<SprintStatus>,
    #[serde(default)]
    project_id: Field<String>,
}

pub async fn create(State(app): State<App>, Body(body): Body<CreateBody>) -> AppResult<(StatusCode, Json<Value>)> {
    Checks::new().min1("name", &body.name).finish()?;
    if body.end_date.0 < body.start_date.0 {
        return Err(AppError::BadRequest(BAD_RANGE.into()));
    }
    let now_ms = app.clock.now_ms();
    let now = now_ms.div_euclid(1000);
    let sprint = Sprint {
        id: ids::generate("sprint", now_ms),
        name: body.name,
        start_date: body.start_date.0,
        end_date: body.end_date.0,
        goal: body.goal.into_option(),
        status: body.status.unwrap_or(SprintStatus::Planning).as_str().to_string(),
        project_id: body.project_id.empty_as_null().into_option(),
        created_at: now,
        updated_at: now,
    };
    let sprint = app
        .db
        .write(move |c| {
            Box::pin(async move {
                projects::ensure(c, sprint.project_id.as_deref(), now).await?;
                sprints::insert(c, &sprint).await?;
                events::append(c, now, NewEvent::new("sprint:created", sprint.project_id.as_deref(), &json!({ "sprint": sprint }))).await?;
                Ok(sprint)
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "sprint": sprint }))))
}

pub async fn get(State(app): State<App>, Path(id): Path<String>) -> AppResult<Json<Value>> {
    let sprint = sprints::find(&app.db.read, &id).await?.ok_or_else(|| AppError::not_found("Sprint"))?;
    Ok(Json(json!({ "sprint": sprint })))
}

#[derive(Debug, Deserialize)]
pub struct UpdateBody {
    #[serde(default, deserialize_with = "non_null")]
    name: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    start_date: Option<Int>,
    #[serde(default, deserialize_with = "non_null")]
    end_date: Option<Int>,
    #[serde(default)]
    goal: Field<String>,
    #[serde(default, deserialize_with = "non_null")]
    status: Option<SprintStatus>,
    #[serde(default)]
    project_id: Field<String>,
}

pub async fn update(State(app): State<App>, Path(id): Path<String>, Body(body): Body<UpdateBody>) -> AppResult<Json<Value>> {
    Checks::new().min1_opt("name", body.name.as_deref()).finish()?;
    let now = app.clock.now();
    let sprint = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let mut s = sprints::get(c, &id).await?.ok_or_else(|| AppError::not_found("Sprint"))?;
                if let Some(name) = body.name {
                    s.name = name;
                }
                if let Some(start) = body.start_date {
                    s.start_date = start.0;
                }
                if let Some(end) = body.end_date {
                    s.end_date = end.0;
                }
                if let Some(goal) = body.goal.update() {
                    s.goal = goal;
                }
                if let Some(status) = body.status {
                    s.status = status.as_str().to_string();
                }
                if let Some(project) = body.project_id.empty_as_null().update() {
                    s.project_id = project;
                }
                if s.end_date < s.start_date {
                    return Err(AppError::BadRequest(BAD_RANGE.into()));
                }
                s.updated_at = now;
                projects::ensure(c, s.project_id.as_deref(), now).await?;
                sprints::update(c, &s).await?;
                events::append(c, now, NewEvent::new("sprint:updated", s.project_id.as_deref(), &json!({ "sprint": s }))).await?;
                Ok(s)
            })
        })
        .await?;
    Ok(Json(json!({ "sprint": sprint })))
}

/// `?project=` counts only that project's todos (a scoped key always has it).
pub async fn velocity(State(app): State<App>, Path(id): Path<String>, params: Params) -> AppResult<Json<Value>> {
    let sprint = sprints::find(&app.db.read, &id).await?.ok_or_else(|| AppError::not_found("Sprint"))?;
    let todos = todos::points_of_sprint(&app.db.read, &id, params.non_empty("project")).await?;
    let v = velocity::velocity(&sprint.id, &sprint.name, sprint.start_date, sprint.end_date, &todos, app.clock.now());
    Ok(Json(json!({ "velocity": v })))
}

//! Sprints: created and changed with their date range checked (docs/decisions.md#work-items).

use serde::Deserialize;
use serde_json::json;

use crate::db::events::{self, NewEvent};
use crate::db::projects;
use crate::db::sprints::{self, Sprint};
use crate::domain::{Field, Int, SprintStatus, ids, non_null};
use crate::error::{AppError, AppResult, Checks};
use crate::state::App;

const BAD_RANGE: &str = "Invalid sprint range: end_date must be >= start_date";

#[derive(Debug, Deserialize)]
pub struct NewSprint {
    pub name: String,
    pub start_date: Int,
    pub end_date: Int,
    #[serde(default)]
    pub goal: Field<String>,
    #[serde(default, deserialize_with = "non_null")]
    pub status: Option<SprintStatus>,
    #[serde(default)]
    pub project_id: Field<String>,
}

pub async fn create(app: &App, body: NewSprint) -> AppResult<Sprint> {
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
        status: body.status.unwrap_or(SprintStatus::Planning),
        project_id: body.project_id.empty_as_null().into_option(),
        created_at: now,
        updated_at: now,
    };
    app.db
        .write(move |c| {
            Box::pin(async move {
                projects::ensure(c, sprint.project_id.as_deref(), now).await?;
                sprints::insert(c, &sprint).await?;
                events::append(c, now, NewEvent::new("sprint:created", sprint.project_id.as_deref(), &json!({ "sprint": sprint }))).await?;
                Ok(sprint)
            })
        })
        .await
}

#[derive(Debug, Deserialize)]
pub struct SprintChange {
    #[serde(default, deserialize_with = "non_null")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    pub start_date: Option<Int>,
    #[serde(default, deserialize_with = "non_null")]
    pub end_date: Option<Int>,
    #[serde(default)]
    pub goal: Field<String>,
    #[serde(default, deserialize_with = "non_null")]
    pub status: Option<SprintStatus>,
    #[serde(default)]
    pub project_id: Field<String>,
}

pub async fn update(app: &App, id: String, body: SprintChange) -> AppResult<Sprint> {
    Checks::new().min1_opt("name", body.name.as_deref()).finish()?;
    let now = app.clock.now();
    app.db
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
                    s.status = status;
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
        .await
}

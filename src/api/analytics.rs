//! `GET /api/analytics` (decisions.md#work-items).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::domain::calendar::{DAY, MAX_SECS};
use crate::error::{AppError, AppResult};
use crate::http::json::{Params, leading_int};
use crate::service::analytics::{self, Query};
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
    let query =
        Query { start, end, sprint: params.non_empty("sprint_id"), project: params.non_empty("project"), agent: params.non_empty("agent") };
    Ok(Json(json!(analytics::compute(&app, query).await?)))
}

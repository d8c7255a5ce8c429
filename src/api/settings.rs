//! `/api/settings/sleep-schedule` (decisions.md#sleep-window; validated per decisions.md#sleep-window, stored in the
//! database instead of process memory, fixes decisions.md#state-in-the-database/D37).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::AppResult;
use crate::http::json::{Body, Int, non_null};
use crate::service::lifecycle::{self, ScheduleChange};
use crate::state::App;

pub async fn get_sleep_schedule(State(app): State<App>) -> AppResult<Json<Value>> {
    let schedule = lifecycle::sleep_schedule(&app.db.read).await?;
    Ok(Json(json!({ "schedule": schedule })))
}

#[derive(Debug, Deserialize)]
pub struct ScheduleBody {
    #[serde(default, rename = "startHour", deserialize_with = "non_null")]
    start_hour: Option<Int>,
    #[serde(default, rename = "endHour", deserialize_with = "non_null")]
    end_hour: Option<Int>,
    #[serde(default, deserialize_with = "non_null")]
    timezone: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    enabled: Option<bool>,
}

pub async fn put_sleep_schedule(State(app): State<App>, Body(body): Body<ScheduleBody>) -> AppResult<Json<Value>> {
    let change = ScheduleChange {
        start_hour: body.start_hour.map(|h| h.0),
        end_hour: body.end_hour.map(|h| h.0),
        timezone: body.timezone,
        enabled: body.enabled,
    };
    let schedule = lifecycle::change_sleep_schedule(&app, change).await?;
    Ok(Json(json!({ "schedule": schedule })))
}

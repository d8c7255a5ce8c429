//! `/api/settings/sleep-schedule` (decisions.md#sleep-window; validated per decisions.md#sleep-window, stored in the
//! database instead of process memory, fixes decisions.md#state-in-the-database/D37).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{AppError, AppResult};
use crate::http::json::{Body, Int, non_null};
use crate::service::lifecycle;
use crate::state::App;

pub async fn get_sleep_schedule(State(app): State<App>) -> AppResult<Json<Value>> {
    let mut conn = app.db.read.acquire().await?;
    let schedule = lifecycle::sleep_schedule(&mut conn).await?;
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

fn hour(field: &str, value: Option<Int>) -> AppResult<Option<u8>> {
    match value {
        None => Ok(None),
        Some(Int(h)) if (0..=23).contains(&h) => Ok(Some(h as u8)),
        Some(_) => Err(AppError::field("too_big", field, format!("{field} must be an hour from 0 to 23"))),
    }
}

pub async fn put_sleep_schedule(State(app): State<App>, Body(body): Body<ScheduleBody>) -> AppResult<Json<Value>> {
    if body.start_hour.is_none() && body.end_hour.is_none() && body.timezone.is_none() && body.enabled.is_none() {
        return Err(AppError::field("custom", "", "At least one field is required"));
    }
    let start = hour("startHour", body.start_hour)?;
    let end = hour("endHour", body.end_hour)?;
    if let Some(zone) = &body.timezone
        && jiff::tz::TimeZone::get(zone).is_err()
    {
        return Err(AppError::field("invalid_value", "timezone", format!("timezone: `{zone}` is not an IANA time zone")));
    }
    let now = app.clock.now();
    let schedule = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let mut s = lifecycle::sleep_schedule(c).await?;
                if let Some(h) = start {
                    s.start_hour = h;
                }
                if let Some(h) = end {
                    s.end_hour = h;
                }
                if let Some(zone) = body.timezone {
                    s.timezone = zone;
                }
                if let Some(enabled) = body.enabled {
                    s.enabled = enabled;
                }
                if s.start_hour == s.end_hour {
                    return Err(AppError::field("custom", "endHour", "startHour and endHour must differ"));
                }
                lifecycle::save_sleep_schedule(c, &s, now).await?;
                Ok(s)
            })
        })
        .await?;
    Ok(Json(json!({ "schedule": schedule })))
}

//! `GET /api/settings/projects`.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::app::App;
use crate::db::projects;
use crate::error::AppResult;

pub async fn list(State(app): State<App>) -> AppResult<Json<Value>> {
    let projects = projects::list(&app.db.read).await?;
    Ok(Json(json!({ "projects": projects })))
}

//! `/api/settings/projects`: projects appear when an agent first reports one, and people
//! create, rename, colour and remove them (decisions.md#work-items).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::db::projects;
use crate::error::AppResult;
use crate::http::json::{Body, Params};
use crate::service::projects::{self as service, NewProject, ProjectChange};
use crate::state::App;

/// All projects, or with `?project=` just that one (how a project-scoped key sees them, decisions.md#project-scoped-keys).
pub async fn list(State(app): State<App>, params: Params) -> AppResult<Json<Value>> {
    let mut projects = projects::list(&app.db.read).await?;
    if let Some(only) = params.non_empty("project") {
        projects.retain(|p| p.id == only);
    }
    let usage: std::collections::HashMap<String, Value> = projects::usage(&app.db.read)
        .await?
        .into_iter()
        .map(|(id, tokens_in, tokens_out, cost_usd)| (id, json!({"tokens_in": tokens_in, "tokens_out": tokens_out, "cost_usd": cost_usd})))
        .collect();
    let zero = json!({"tokens_in": 0, "tokens_out": 0, "cost_usd": 0.0});
    let listed: Vec<Value> = projects
        .into_iter()
        .map(|p| {
            let mut v = json!(p);
            v["usage"] = usage.get(&p.id).cloned().unwrap_or_else(|| zero.clone());
            v
        })
        .collect();
    Ok(Json(json!({ "projects": listed })))
}

pub async fn create(State(app): State<App>, Body(body): Body<NewProject>) -> AppResult<(StatusCode, Json<Value>)> {
    let project = service::create(&app, body).await?;
    Ok((StatusCode::CREATED, Json(json!({ "project": project }))))
}

pub async fn update(State(app): State<App>, Path(id): Path<String>, Body(body): Body<ProjectChange>) -> AppResult<Json<Value>> {
    let project = service::update(&app, id, body).await?;
    Ok(Json(json!({ "project": project })))
}

pub async fn delete(State(app): State<App>, Path(id): Path<String>) -> AppResult<Json<Value>> {
    service::delete(&app, id).await?;
    Ok(Json(json!({"success": true})))
}

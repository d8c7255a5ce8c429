//! `/api/settings/projects`: projects appear when an agent first reports one, and people
//! create, rename, colour and remove them (decisions.md#work-items).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::db::events::{self, NewEvent};
use crate::db::projects::{self, Project};
use crate::domain::Field;
use crate::domain::projects::{slug_of, valid_color, valid_slug};
use crate::error::{AppError, AppResult};
use crate::http::json::{Body, Checks, Params, non_null};
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

#[derive(Debug, Deserialize)]
pub struct CreateBody {
    #[serde(default, deserialize_with = "non_null")]
    id: Option<String>,
    name: String,
    #[serde(default)]
    description: Field<String>,
    #[serde(default)]
    color: Field<String>,
}

fn check_color(color: &Field<String>) -> AppResult<()> {
    match color {
        Field::Value(c) if !valid_color(c) => Err(AppError::field("invalid_value", "color", "color must look like #1a2b3c")),
        _ => Ok(()),
    }
}

/// Creates a project; its id is the slug given, or one made from the name. 409 if taken.
pub async fn create(State(app): State<App>, Body(body): Body<CreateBody>) -> AppResult<(StatusCode, Json<Value>)> {
    Checks::new().min1("name", body.name.trim()).finish()?;
    check_color(&body.color)?;
    let id = body.id.unwrap_or_else(|| slug_of(&body.name));
    if !valid_slug(&id) {
        return Err(AppError::field("invalid_value", "id", "id must be 1–64 of a-z, 0-9, - and _, starting with a letter or digit"));
    }
    let now = app.clock.now();
    let project = Project {
        id,
        name: body.name.trim().to_string(),
        description: body.description.into_option(),
        color: body.color.into_option(),
        created_at: now,
    };
    let stored = project.clone();
    app.db
        .write(move |c| {
            Box::pin(async move {
                if projects::get(c, &stored.id).await?.is_some() {
                    return Err(AppError::Conflict(format!("Project {} already exists", stored.id)));
                }
                projects::insert(c, &stored).await?;
                events::append(
                    c,
                    now,
                    NewEvent::new("project:updated", Some(&stored.id), &json!({"project": stored, "action": "created"})),
                )
                .await?;
                Ok(())
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "project": project }))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    #[serde(default, deserialize_with = "non_null")]
    name: Option<String>,
    #[serde(default)]
    description: Field<String>,
    #[serde(default)]
    color: Field<String>,
}

pub async fn update(State(app): State<App>, Path(id): Path<String>, Body(body): Body<UpdateBody>) -> AppResult<Json<Value>> {
    Checks::new().min1_opt("name", body.name.as_deref().map(str::trim)).finish()?;
    check_color(&body.color)?;
    let now = app.clock.now();
    let project = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let mut p = projects::get(c, &id).await?.ok_or_else(|| AppError::not_found("Project"))?;
                if let Some(name) = body.name {
                    p.name = name.trim().to_string();
                }
                if let Some(description) = body.description.update() {
                    p.description = description;
                }
                if let Some(color) = body.color.update() {
                    p.color = color;
                }
                projects::save(c, &p, now).await?;
                events::append(c, now, NewEvent::new("project:updated", Some(&p.id), &json!({"project": p, "action": "updated"}))).await?;
                Ok(p)
            })
        })
        .await?;
    Ok(Json(json!({ "project": project })))
}

/// Removes the project record; work items keep their project key (an agent reporting it
/// again brings the project back).
pub async fn delete(State(app): State<App>, Path(id): Path<String>) -> AppResult<Json<Value>> {
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                if !projects::delete(c, &id).await? {
                    return Err(AppError::not_found("Project"));
                }
                events::append(c, now, NewEvent::new("project:updated", Some(&id), &json!({"project_id": id, "action": "remove"}))).await?;
                Ok(())
            })
        })
        .await?;
    Ok(Json(json!({"success": true})))
}

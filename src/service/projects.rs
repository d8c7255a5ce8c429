//! Projects (docs/decisions.md#work-items): they appear when an agent first reports one, and
//! people create, rename, colour and remove them. Removing the record leaves work items their
//! project key (an agent reporting it again brings the project back).

use serde::Deserialize;
use serde_json::json;

use crate::db::Db;
use crate::db::events::{self, NewEvent};
use crate::db::projects::{self, Project};
use crate::domain::projects::{slug_of, valid_color, valid_slug};
use crate::domain::{Field, non_null};
use crate::error::{AppError, AppResult, Checks};
use crate::state::App;

#[derive(Debug, Deserialize)]
pub struct NewProject {
    #[serde(default, deserialize_with = "non_null")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Field<String>,
    #[serde(default)]
    pub color: Field<String>,
}

/// Only the keys sent change; unknown keys are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectChange {
    #[serde(default, deserialize_with = "non_null")]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Field<String>,
    #[serde(default)]
    pub color: Field<String>,
}

fn check_color(color: &Field<String>) -> AppResult<()> {
    match color {
        Field::Value(c) if !valid_color(c) => Err(AppError::field("invalid_value", "color", "color must look like #1a2b3c")),
        _ => Ok(()),
    }
}

/// Makes sure project `id` exists on a database without a running server (`ocd install
/// --project`): created with its id as name when missing, like an agent naming a new project.
pub async fn ensure_on(db: &Db, now: i64, id: &str) -> AppResult<()> {
    if !valid_slug(id) {
        return Err(AppError::field(
            "invalid_value",
            "project",
            "project must be 1–64 of a-z, 0-9, - and _, starting with a letter or digit",
        ));
    }
    let id = id.to_string();
    db.write(move |c| Box::pin(async move { Ok(projects::ensure(c, Some(&id), now).await?) })).await
}

/// Creates a project; its id is the slug given, or one made from the name. 409 if taken.
pub async fn create(app: &App, new: NewProject) -> AppResult<Project> {
    Checks::new().min1("name", new.name.trim()).finish()?;
    check_color(&new.color)?;
    let id = new.id.unwrap_or_else(|| slug_of(&new.name));
    if !valid_slug(&id) {
        return Err(AppError::field("invalid_value", "id", "id must be 1–64 of a-z, 0-9, - and _, starting with a letter or digit"));
    }
    let now = app.clock.now();
    let project = Project {
        id,
        name: new.name.trim().to_string(),
        description: new.description.into_option(),
        color: new.color.into_option(),
        created_at: now,
    };
    app.db
        .write(move |c| {
            Box::pin(async move {
                if projects::get(c, &project.id).await?.is_some() {
                    return Err(AppError::Conflict(format!("Project {} already exists", project.id)));
                }
                projects::insert(c, &project).await?;
                let payload = json!({"project": project, "action": "created"});
                events::append(c, now, NewEvent::new("project:updated", Some(&project.id), &payload)).await?;
                Ok(project)
            })
        })
        .await
}

pub async fn update(app: &App, id: String, change: ProjectChange) -> AppResult<Project> {
    Checks::new().min1_opt("name", change.name.as_deref().map(str::trim)).finish()?;
    check_color(&change.color)?;
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let mut p = projects::get(c, &id).await?.ok_or_else(|| AppError::not_found("Project"))?;
                if let Some(name) = change.name {
                    p.name = name.trim().to_string();
                }
                if let Some(description) = change.description.update() {
                    p.description = description;
                }
                if let Some(color) = change.color.update() {
                    p.color = color;
                }
                projects::save(c, &p, now).await?;
                events::append(c, now, NewEvent::new("project:updated", Some(&p.id), &json!({"project": p, "action": "updated"}))).await?;
                Ok(p)
            })
        })
        .await
}

pub async fn delete(app: &App, id: String) -> AppResult<()> {
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
        .await
}

//! `/api/sessions` (decisions.md#upserts; registration is idempotent, decisions.md#upserts).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::db::events::{self, NewEvent};
use crate::db::projects;
use crate::db::sessions::{self, Session};
use crate::domain::Field;
use crate::error::AppResult;
use crate::http::json::{Body, Params};
use crate::state::App;

pub async fn list(State(app): State<App>, params: Params) -> AppResult<Json<Value>> {
    let sessions = sessions::list(&app.db.read, params.non_empty("project")).await?;
    Ok(Json(json!({ "sessions": sessions })))
}

#[derive(Debug, Deserialize)]
pub struct SessionBody {
    id: String,
    #[serde(default)]
    name: Field<String>,
    #[serde(default)]
    project: Field<String>,
    #[serde(default)]
    project_id: Field<String>,
}

/// Creates the session (201) or, for a known id, updates the name/project sent (200).
pub async fn upsert(State(app): State<App>, Body(body): Body<SessionBody>) -> AppResult<(StatusCode, Json<Value>)> {
    let now = app.clock.now();
    let name = body.name.empty_as_null();
    let project = if body.project_id.is_present() { body.project_id } else { body.project }.empty_as_null();
    let (session, created) = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let existing = sessions::get(c, &body.id).await?;
                let created = existing.is_none();
                let session = match existing {
                    Some(mut s) => {
                        if let Some(name) = name.update() {
                            s.name = name;
                        }
                        if let Some(project) = project.update() {
                            s.project_id = project;
                        }
                        sessions::update(c, &s).await?;
                        s
                    }
                    None => {
                        let s = Session {
                            id: body.id,
                            name: name.into_option(),
                            started_at: now,
                            ended_at: None,
                            project_id: project.into_option(),
                        };
                        sessions::insert(c, &s).await?;
                        s
                    }
                };
                projects::ensure(c, session.project_id.as_deref(), now).await?;
                let event = if created { "session:created" } else { "session:updated" };
                events::append(c, now, NewEvent::new(event, session.project_id.as_deref(), &json!({ "session": session }))).await?;
                Ok((session, created))
            })
        })
        .await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(json!({ "session": session }))))
}

//! Agent sessions as hooks register them: re-sent on every start, so registering is an
//! upsert (docs/decisions.md#upserts).

use serde::Deserialize;
use serde_json::json;

use crate::db::events::{self, NewEvent};
use crate::db::projects;
use crate::db::sessions::{self, Session};
use crate::domain::Field;
use crate::error::AppResult;
use crate::state::App;

/// A session as a hook sends it; `project_id` wins over `project` when both are present.
#[derive(Debug, Deserialize)]
pub struct Registration {
    pub id: String,
    #[serde(default)]
    pub name: Field<String>,
    #[serde(default)]
    pub project: Field<String>,
    #[serde(default)]
    pub project_id: Field<String>,
}

/// Creates the session (`true`) or, for a known id, updates the name and project sent.
pub async fn register(app: &App, registration: Registration) -> AppResult<(Session, bool)> {
    let now = app.clock.now();
    let name = registration.name.empty_as_null();
    let project = if registration.project_id.is_present() { registration.project_id } else { registration.project }.empty_as_null();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let existing = sessions::get(c, &registration.id).await?;
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
                            id: registration.id,
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
        .await
}

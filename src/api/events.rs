//! `POST /api/events`: what dashboard-hook reports besides todos (decisions.md#upserts, fixes decisions.md#upserts).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::db::events::{self, NewEvent};
use crate::db::messages::{self, NewMessage};
use crate::db::{projects, todos};
use crate::domain::todos::TodoPatch;
use crate::domain::{EventType, Field, Priority, TodoStatus};
use crate::error::{AppError, AppResult};
use crate::http::json::{Body, non_null};
use crate::state::App;

#[derive(Debug, Deserialize)]
pub struct EventBody {
    #[serde(rename = "type")]
    kind: EventType,
    payload: Map<String, Value>,
    #[serde(default, rename = "sessionId", deserialize_with = "non_null")]
    session_id: Option<String>,
    #[serde(default)]
    project: Field<String>,
}

/// A todo update carried in an event payload: only valid keys that are present change.
fn todo_patch(payload: &Map<String, Value>) -> AppResult<TodoPatch> {
    let text = |key: &str| -> AppResult<Option<String>> {
        match payload.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(AppError::field("invalid_type", &format!("payload.{key}"), format!("payload.{key} must be a string"))),
        }
    };
    let status = text("status")?
        .map(|s| TodoStatus::parse(&s).ok_or_else(|| AppError::field("invalid_value", "payload.status", format!("unknown status `{s}`"))))
        .transpose()?;
    let priority = text("priority")?
        .map(|s| Priority::parse(&s).ok_or_else(|| AppError::field("invalid_value", "payload.priority", format!("unknown priority `{s}`"))))
        .transpose()?;
    Ok(TodoPatch {
        content: text("content")?,
        status,
        priority,
        agent: text("agent")?.map_or(Field::Absent, Field::Value),
        ..Default::default()
    })
}

pub async fn create(State(app): State<App>, Body(body): Body<EventBody>) -> AppResult<Json<Value>> {
    let now_ms = app.clock.now_ms();
    let now = now_ms.div_euclid(1000);
    let project = body.project.clone().empty_as_null().into_option();
    let payload = Value::Object(body.payload.clone());
    let todo_id = body.payload.get("id").and_then(Value::as_str).filter(|s| !s.is_empty()).map(String::from);
    let patch = match (body.kind, &todo_id) {
        (EventType::TodoUpdate, Some(_)) => Some(todo_patch(&body.payload)?),
        _ => None,
    };
    let sealer = app.sealer.clone();
    let kind = body.kind;
    let session_id = body.session_id.clone().or_else(|| body.payload.get("sessionId").and_then(Value::as_str).map(String::from));
    let message = body.payload.get("message").and_then(Value::as_str).filter(|s| !s.is_empty()).map(String::from);
    let event_payload = payload.clone();
    app.db
        .write(move |c| {
            Box::pin(async move {
                projects::ensure(c, project.as_deref(), now).await?;
                match kind {
                    EventType::TodoUpdate => {
                        let mut event_project = project.clone();
                        if let (Some(id), Some(patch)) = (todo_id, patch) {
                            let existing = todos::get(c, &id).await?.ok_or_else(|| AppError::not_found("Todo"))?;
                            let (todo, change) = crate::domain::todos::update(&existing, patch, now);
                            todos::save(c, &todo, change.as_ref()).await?;
                            event_project = event_project.or(todo.project);
                        }
                        events::append(c, now, NewEvent::new("todo:updated", event_project.as_deref(), &event_payload)).await?;
                    }
                    EventType::Error | EventType::StateChange => {
                        let default = if kind == EventType::Error { "Unknown error" } else { "State changed" };
                        let new = NewMessage {
                            kind: kind.as_str().to_string(),
                            content: message.unwrap_or_else(|| default.to_string()),
                            todo_id: None,
                            session_id,
                            project_id: project.clone(),
                            summary_id: None,
                        };
                        messages::insert(c, &sealer, &new, now).await?;
                        events::append(c, now, NewEvent::sealed("message:created", project.as_deref(), &event_payload, &sealer)).await?;
                    }
                }
                Ok(())
            })
        })
        .await?;
    let mut event = json!({"type": body.kind, "payload": payload});
    if let Some(session_id) = body.session_id {
        event["sessionId"] = Value::from(session_id);
    }
    Ok(Json(json!({"success": true, "event": event})))
}

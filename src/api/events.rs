//! `POST /api/events`: what dashboard-hook reports besides todos (decisions.md#upserts, fixes decisions.md#upserts).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::domain::todos::TodoPatch;
use crate::domain::{EventType, Field, Priority, TodoStatus};
use crate::error::{AppError, AppResult};
use crate::http::json::{Body, non_null};
use crate::service::messages::{self, HookEvent};
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
    let payload = Value::Object(body.payload.clone());
    let todo_id = body.payload.get("id").and_then(Value::as_str).filter(|s| !s.is_empty()).map(String::from);
    let todo = match (body.kind, todo_id) {
        (EventType::TodoUpdate, Some(id)) => Some((id, todo_patch(&body.payload)?)),
        _ => None,
    };
    let report = HookEvent {
        kind: body.kind,
        payload: payload.clone(),
        todo,
        message: body.payload.get("message").and_then(Value::as_str).filter(|s| !s.is_empty()).map(String::from),
        session_id: body.session_id.clone().or_else(|| body.payload.get("sessionId").and_then(Value::as_str).map(String::from)),
        project: body.project.clone().empty_as_null().into_option(),
    };
    messages::report(&app, report).await?;
    let mut event = json!({"type": body.kind, "payload": payload});
    if let Some(session_id) = body.session_id {
        event["sessionId"] = Value::from(session_id);
    }
    Ok(Json(json!({"success": true, "event": event})))
}

//! The message feed (docs/decisions.md#work-items): work logs that are idempotent by
//! `summary_id`, errors and state changes a hook reports, and marking messages read.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Value, json};

use super::todos::patch_in;
use crate::db::IN_CHUNK;
use crate::db::events::{self, NewEvent};
use crate::db::messages::{self, Message, NewMessage};
use crate::db::projects;
use crate::domain::todos::TodoPatch;
use crate::domain::{EventType, MessageType};
use crate::error::{AppError, AppResult};
use crate::state::App;

/// Stores a message, or — for a `summary_id` already used in the same project — answers with
/// the stored one (`true`: deduplicated).
pub async fn create(app: &App, new: NewMessage) -> AppResult<(Message, bool)> {
    let sealer = app.sealer.clone();
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                if let Some(summary_id) = &new.summary_id
                    && let Some(existing) = messages::by_summary_id(c, &sealer, summary_id).await?
                {
                    // Another project's message is never shown: summary ids are chosen by
                    // clients and can be guessed.
                    if existing.project_id != new.project_id {
                        return Err(AppError::Conflict("summary_id is already used by a message of another project".into()));
                    }
                    return Ok((existing, true));
                }
                projects::ensure(c, new.project_id.as_deref(), now).await?;
                let message = messages::insert(c, &sealer, &new, now).await?;
                let event = NewEvent::sealed("message:created", message.project_id.as_deref(), &json!({ "message": message }), &sealer);
                events::append(c, now, event).await?;
                Ok((message, false))
            })
        })
        .await
}

/// The unread messages' ids a "mark all read" means.
pub async fn unread_ids(app: &App, which: &messages::Unread<'_>) -> AppResult<Vec<i64>> {
    Ok(messages::unread_ids(&app.db.read, which).await?)
}

/// Marks messages read, one write unit per chunk so a long list never holds the writer for
/// long; marking read twice changes nothing, so a failure half-way loses nothing a retry would
/// not redo. Returns the original's `marked`: entries naming an existing message, repeats and
/// already-read ones included.
pub async fn mark_read(app: &App, ids: Vec<i64>) -> AppResult<i64> {
    let now = app.clock.now();
    let mut marked = 0;
    for chunk in ids.chunks(IN_CHUNK) {
        let ids = chunk.to_vec();
        marked += app
            .db
            .write(move |c| {
                Box::pin(async move {
                    let existing = messages::mark_read(c, &ids).await?;
                    let found: HashSet<i64> = existing.iter().map(|(id, _)| *id).collect();
                    let marked = ids.iter().filter(|id| found.contains(id)).count() as i64;
                    // One event per project, so a project-filtered stream sees its own.
                    let mut by_project: BTreeMap<Option<String>, Vec<i64>> = BTreeMap::new();
                    for (id, project) in existing {
                        by_project.entry(project).or_default().push(id);
                    }
                    for (project, ids) in by_project {
                        let payload = json!({"ids": ids, "read": true});
                        events::append(c, now, NewEvent::new("message:updated", project.as_deref(), &payload)).await?;
                    }
                    Ok(marked)
                })
            })
            .await?;
    }
    Ok(marked)
}

/// What a hook reports through `POST /api/events`.
#[derive(Debug)]
pub struct HookEvent {
    pub kind: EventType,
    /// The payload as sent; it is also the event's payload.
    pub payload: Value,
    /// The todo a `todo_update` changes, with the change.
    pub todo: Option<(String, TodoPatch)>,
    /// The text of an error or state change.
    pub message: Option<String>,
    pub session_id: Option<String>,
    pub project: Option<String>,
}

/// A todo update changes the todo it names (404 if unknown) and is passed on; an error or state
/// change becomes a message in the feed.
pub async fn report(app: &App, report: HookEvent) -> AppResult<()> {
    let sealer = app.sealer.clone();
    let now = app.clock.now();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let HookEvent { kind, payload, todo, message, session_id, project } = report;
                projects::ensure(c, project.as_deref(), now).await?;
                match kind {
                    EventType::TodoUpdate => {
                        let mut event_project = project;
                        if let Some((id, patch)) = todo {
                            let todo = patch_in(c, &id, patch, now).await?;
                            event_project = event_project.or(todo.project);
                        }
                        events::append(c, now, NewEvent::new("todo:updated", event_project.as_deref(), &payload)).await?;
                    }
                    EventType::Error | EventType::StateChange => {
                        let (kind, default) = match kind {
                            EventType::Error => (MessageType::Error, "Unknown error"),
                            _ => (MessageType::StateChange, "State changed"),
                        };
                        let new = NewMessage {
                            kind,
                            content: message.unwrap_or_else(|| default.to_string()),
                            todo_id: None,
                            session_id,
                            project_id: project.clone(),
                            summary_id: None,
                            metadata: None,
                        };
                        messages::insert(c, &sealer, &new, now).await?;
                        events::append(c, now, NewEvent::sealed("message:created", project.as_deref(), &payload, &sealer)).await?;
                    }
                }
                Ok(())
            })
        })
        .await
}

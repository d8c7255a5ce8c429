//! The pages' forms: each posts here, calls the same service operation as the API, and
//! returns the browser to the page it came from (`back`). They work without JavaScript; with
//! it, the board and the agent page call the JSON API instead and stay on the page.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde::Deserialize;

use crate::http::json::Form;

use super::see_other;
use crate::api::auth::{safe_redirect, switch_account};
use crate::auth::principal::Principal;
use crate::db::messages::Unread;
use crate::db::users;
use crate::domain::agents::{AgentAction, CommandKind};
use crate::domain::todos::TodoPatch;
use crate::domain::{Field, Priority, TodoStatus};
use crate::error::{AppError, AppResult};
use crate::service::todos::TodoWrite;
use crate::service::{agents, commands, messages, todos};
use crate::state::App;

/// A form field left empty means "not given".
fn given(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

#[derive(Debug, Deserialize)]
pub struct TicketForm {
    #[serde(default)]
    name: Option<String>,
    content: String,
    priority: Option<Priority>,
    status: Option<TodoStatus>,
    #[serde(default)]
    project: Option<String>,
    #[serde(default)]
    back: Option<String>,
}

/// `POST /todos`: a new ticket from the board's dialog.
pub async fn create_todo(State(app): State<App>, Form(form): Form<TicketForm>) -> AppResult<Response> {
    let patch = TodoPatch {
        name: given(form.name).map_or(Field::Absent, Field::Value),
        content: Some(form.content),
        status: form.status,
        priority: form.priority,
        project: given(form.project).map_or(Field::Absent, Field::Value),
        ..TodoPatch::default()
    };
    todos::upsert(&app, TodoWrite { id: None, patch, sprint_id: None }).await?;
    Ok(see_other(safe_redirect(form.back.as_deref(), &app.base_path)))
}

#[derive(Debug, Deserialize)]
pub struct EditForm {
    #[serde(default)]
    name: Option<String>,
    content: String,
    priority: Priority,
    status: TodoStatus,
    /// The values the form was drawn with: only what the person changed is written, so a
    /// save never undoes what an agent changed meanwhile.
    #[serde(default)]
    was_name: Option<String>,
    #[serde(default)]
    was_content: Option<String>,
    #[serde(default)]
    was_priority: Option<String>,
    #[serde(default)]
    was_status: Option<String>,
    #[serde(default)]
    back: Option<String>,
}

/// Whether a field was changed in the form (without the value it was drawn with: yes).
fn changed(now: &str, was: Option<&str>) -> bool {
    was.is_none_or(|was| was != now)
}

/// `POST /todos/{id}`: the ticket's edit form.
pub async fn edit_todo(State(app): State<App>, Path(id): Path<String>, Form(form): Form<EditForm>) -> AppResult<Response> {
    crate::db::todos::find(&app.db.read, &id).await?.ok_or_else(|| AppError::not_found("Todo"))?;
    let name = form.name.as_deref().map(str::trim).unwrap_or_default();
    let patch = TodoPatch {
        name: match changed(name, form.was_name.as_deref()) {
            false => Field::Absent,
            true if name.is_empty() => Field::Null,
            true => Field::Value(name.to_string()),
        },
        content: changed(&form.content, form.was_content.as_deref()).then_some(form.content),
        priority: changed(form.priority.as_str(), form.was_priority.as_deref()).then_some(form.priority),
        status: changed(form.status.as_str(), form.was_status.as_deref()).then_some(form.status),
        ..TodoPatch::default()
    };
    todos::upsert(&app, TodoWrite { id: Some(id), patch, sprint_id: None }).await?;
    Ok(see_other(safe_redirect(form.back.as_deref(), &app.base_path)))
}

#[derive(Debug, Deserialize)]
pub struct MoveForm {
    status: TodoStatus,
    #[serde(default)]
    back: Option<String>,
}

/// `POST /todos/{id}/move`: the card menu's "Move to".
pub async fn move_todo(State(app): State<App>, Path(id): Path<String>, Form(form): Form<MoveForm>) -> AppResult<Response> {
    crate::db::todos::find(&app.db.read, &id).await?.ok_or_else(|| AppError::not_found("Todo"))?;
    let patch = TodoPatch { status: Some(form.status), ..TodoPatch::default() };
    todos::upsert(&app, TodoWrite { id: Some(id), patch, sprint_id: None }).await?;
    Ok(see_other(safe_redirect(form.back.as_deref(), &app.base_path)))
}

#[derive(Debug, Deserialize)]
pub struct CommentForm {
    body: String,
    #[serde(default)]
    back: Option<String>,
}

/// The name a person's comments are signed with.
async fn author(app: &App, principal: &Principal) -> AppResult<String> {
    Ok(match principal {
        Principal::User { id, .. } => users::get(&app.db.read, *id).await?.map_or_else(|| "unknown".to_string(), |u| u.username),
        Principal::LocalOwner => "local".to_string(),
        _ => "api".to_string(),
    })
}

/// `POST /todos/{id}/comments`.
pub async fn comment(
    State(app): State<App>,
    principal: Principal,
    Path(id): Path<String>,
    Form(form): Form<CommentForm>,
) -> AppResult<Response> {
    let author = author(&app, &principal).await?;
    todos::comment(&app, id, form.body, Some(author)).await?;
    Ok(see_other(safe_redirect(form.back.as_deref(), &app.base_path)))
}

#[derive(Debug, Deserialize)]
pub struct ReadForm {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    all: Option<String>,
    /// What the list showed: its project, type and session filters, and its newest message.
    #[serde(default)]
    project: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    session: Option<String>,
    #[serde(default)]
    up_to: Option<String>,
    #[serde(default)]
    back: Option<String>,
}

/// `POST /messages/read`: one message (`id`), or with `all=1` every unread one the list showed
/// (its filters, up to its newest message `up_to`).
pub async fn mark_read(State(app): State<App>, Form(form): Form<ReadForm>) -> AppResult<Response> {
    let ids = match (form.id.as_deref().map(str::parse::<i64>), form.all.as_deref()) {
        (Some(Ok(id)), _) => vec![id],
        (Some(Err(_)), _) => return Err(AppError::field("invalid_type", "id", "must be a message id")),
        (None, Some("1")) => {
            let up_to = match given(form.up_to) {
                Some(v) => Some(v.parse::<i64>().map_err(|_| AppError::field("invalid_type", "up_to", "must be a message id"))?),
                None => None,
            };
            let (project, kind, session) = (given(form.project), given(form.kind), given(form.session));
            let which = Unread { project: project.as_deref(), kind: kind.as_deref(), session: session.as_deref(), up_to };
            messages::unread_ids(&app, &which).await?
        }
        _ => return Err(AppError::BadRequest("Say which message to mark read (id) or all=1".into())),
    };
    messages::mark_read(&app, ids).await?;
    Ok(see_other(safe_redirect(form.back.as_deref(), &app.base_path)))
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    action: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    back: Option<String>,
}

/// `POST /agents/{id}/action`: stop, sleep, wake, unblock, restart, or send a message.
pub async fn agent_action(State(app): State<App>, Path(id): Path<String>, Form(form): Form<ActionForm>) -> AppResult<Response> {
    if form.action == "message" {
        crate::db::agents::find(&app.db.read, &id).await?.ok_or_else(|| AppError::not_found("Agent"))?;
        commands::queue(&app, &id, CommandKind::Message, given(form.text)).await?;
    } else {
        let action: AgentAction = serde_json::from_value(serde_json::Value::String(form.action))
            .map_err(|_| AppError::field("invalid_enum_value", "action", "must be stop, sleep, wake, unblock, restart or message"))?;
        agents::act(&app, id, action).await?;
    }
    Ok(see_other(safe_redirect(form.back.as_deref(), &app.base_path)))
}

#[derive(Debug, Deserialize)]
pub struct AccountForm {
    session_id: String,
    #[serde(default)]
    back: Option<String>,
}

/// `POST /account`: the account switcher (decisions.md#accounts).
pub async fn switch(State(app): State<App>, headers: HeaderMap, Form(form): Form<AccountForm>) -> AppResult<Response> {
    let (cookie, _) = switch_account(&app, &headers, &form.session_id).await?;
    let mut response = see_other(safe_redirect(form.back.as_deref(), &app.base_path));
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct SprintLinkForm {
    sprint_id: String,
    /// `1` takes the ticket out of the sprint.
    #[serde(default)]
    remove: Option<String>,
    #[serde(default)]
    back: Option<String>,
}

/// `POST /todos/{id}/sprints`: the ticket joins (or with `remove=1` leaves) a sprint.
pub async fn link_sprint(State(app): State<App>, Path(id): Path<String>, Form(form): Form<SprintLinkForm>) -> AppResult<Response> {
    if form.remove.as_deref() == Some("1") {
        todos::unlink_sprint(&app, id, form.sprint_id).await?;
    } else {
        todos::link_sprint(&app, id, form.sprint_id).await?;
    }
    Ok(see_other(safe_redirect(form.back.as_deref(), &app.base_path)))
}

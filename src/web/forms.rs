//! The pages' forms: each posts here, calls the same service operation as the API, and
//! returns the browser to the page it came from (`back`). They work without JavaScript; with
//! it, the board and the agent page call the JSON API instead and stay on the page.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde::Deserialize;

use super::see_other;
use crate::api::auth::{safe_redirect, switch_account};
use crate::auth::principal::Principal;
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
pub async fn create_todo(State(app): State<App>, axum::Form(form): axum::Form<TicketForm>) -> AppResult<Response> {
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

/// `POST /todos/{id}`: the ticket's edit form.
pub async fn edit_todo(State(app): State<App>, Path(id): Path<String>, axum::Form(form): axum::Form<TicketForm>) -> AppResult<Response> {
    crate::db::todos::find(&app.db.read, &id).await?.ok_or_else(|| AppError::not_found("Todo"))?;
    let patch = TodoPatch {
        name: given(form.name).map_or(Field::Null, Field::Value),
        content: Some(form.content),
        status: form.status,
        priority: form.priority,
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
pub async fn move_todo(State(app): State<App>, Path(id): Path<String>, axum::Form(form): axum::Form<MoveForm>) -> AppResult<Response> {
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
    axum::Form(form): axum::Form<CommentForm>,
) -> AppResult<Response> {
    let author = author(&app, &principal).await?;
    todos::comment(&app, id, form.body, Some(author)).await?;
    Ok(see_other(safe_redirect(form.back.as_deref(), &app.base_path)))
}

#[derive(Debug, Deserialize)]
pub struct ReadForm {
    #[serde(default)]
    id: Option<i64>,
    #[serde(default)]
    all: Option<String>,
    #[serde(default)]
    project: Option<String>,
    #[serde(default)]
    back: Option<String>,
}

/// `POST /messages/read`: one message (`id`) or every unread one (`all=1`, of `project`).
pub async fn mark_read(State(app): State<App>, axum::Form(form): axum::Form<ReadForm>) -> AppResult<Response> {
    let ids = match (form.id, form.all.as_deref()) {
        (Some(id), _) => vec![id],
        (None, Some("1")) => messages::unread_ids(&app, given(form.project).as_deref()).await?,
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
pub async fn agent_action(State(app): State<App>, Path(id): Path<String>, axum::Form(form): axum::Form<ActionForm>) -> AppResult<Response> {
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
pub async fn switch(State(app): State<App>, headers: HeaderMap, axum::Form(form): axum::Form<AccountForm>) -> AppResult<Response> {
    let (cookie, _) = switch_account(&app, &headers, &form.session_id).await?;
    let mut response = see_other(safe_redirect(form.back.as_deref(), &app.base_path));
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

//! `/todos/{id}`: one ticket — its text, badges, sprint, status history, subtasks and
//! comments (markdown-lite), with the edit and comment forms for admins. The comments and
//! history are the live region.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use super::board::title_of;
use super::shell::{Nav, Shell, Visit};
use super::theme::Theme;
use super::time::Clock;
use super::{markdown, page_or_fragment};
use crate::db::board::{self, Card, StatusEntry};
use crate::db::sprints::{self, Sprint};
use crate::db::todos::{self, Filter};
use crate::domain::todos::Todo;
use crate::error::{AppError, AppResult};
use crate::state::App;

pub struct CommentView {
    pub author: String,
    pub created_at: i64,
    pub html: String,
}

pub struct TodoView {
    pub card: Card,
    pub title: String,
    pub content_html: String,
    pub history: Vec<StatusEntry>,
    pub subtasks: Vec<Todo>,
    pub sprints: Vec<Sprint>,
    /// Sprints the ticket could join: its project's and shared ones, not completed, not joined.
    pub open_sprints: Vec<Sprint>,
    pub comments: Vec<CommentView>,
    pub clock: Clock,
    pub statuses: Vec<(&'static str, &'static str)>,
}

impl TodoView {
    pub fn title_of(&self, todo: &Todo) -> String {
        title_of(todo)
    }
}

#[derive(Template)]
#[template(path = "todo.html")]
struct TodoPage {
    shell: Shell,
    view: TodoView,
}

#[derive(Template)]
#[template(path = "todo_live.html")]
struct TodoLive {
    shell: Shell,
    view: TodoView,
}

/// `GET /todos/{id}[?fragment=1]`.
pub async fn show(State(app): State<App>, visit: Visit, Path(id): Path<String>) -> AppResult<Response> {
    let params = &visit.params;
    let mut filter = Filter::default();
    filter.text("t.id = ?", &id);
    let card = board::cards(&app.db.read, &filter).await?.into_iter().next().ok_or_else(|| AppError::not_found("Todo"))?;
    let base = app.base_path.clone();
    let comments = todos::comments(&app.db.read, &id)
        .await?
        .into_iter()
        .map(|c| CommentView { html: markdown::render(&c.body, &base), author: c.author, created_at: c.created_at })
        .collect();
    let title = title_of(&card.todo);
    let joined = sprints::of_todo(&app.db.read, &id).await?;
    let open_sprints = sprints::list(&app.db.read, card.todo.project.as_deref())
        .await?
        .into_iter()
        .filter(|s| s.status != crate::domain::SprintStatus::Completed && !joined.iter().any(|j| j.id == s.id))
        .collect();
    let view = TodoView {
        content_html: markdown::render(&card.todo.content, &base),
        history: board::status_history(&app.db.read, &id).await?,
        subtasks: todos::children(&app.db.read, &id).await?,
        sprints: joined,
        open_sprints,
        comments,
        clock: Clock { now: app.clock.now() },
        statuses: super::board::statuses(),
        title,
        card,
    };
    let mut shell = Shell::build(&app, &visit, &view.title, Nav::None).await?;
    shell.live = Some("todo");
    Ok(page_or_fragment(params, (shell, view), |(shell, view)| TodoPage { shell, view }, |(shell, view)| TodoLive { shell, view }))
}

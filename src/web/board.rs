//! The board (`/`): the project's todos in columns by status, filtered by agent, session,
//! sprint, status and text; parents carry their subtasks (three levels). The columns are the
//! live region (`?fragment=1`), re-rendered when a todo changes.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::page_or_fragment;
use super::shell::{Nav, Shell, Visit};
use super::theme::Theme;
use super::time::Clock;
use crate::db::board::{self, Card};
use crate::db::todos::Filter;
use crate::domain::hierarchy::MAX_DEPTH;
use crate::domain::todos::Todo;
use crate::domain::{Priority, TodoStatus};
use crate::error::AppResult;
use crate::http::json::Params;
use crate::state::App;

/// The columns, left to right; cancelled work is behind a toggle.
const COLUMNS: [(TodoStatus, &str); 6] = [
    (TodoStatus::Pending, "Pending"),
    (TodoStatus::InProgress, "In progress"),
    (TodoStatus::Blocked, "Blocked"),
    (TodoStatus::Completed, "Completed"),
    (TodoStatus::Icebox, "Icebox"),
    (TodoStatus::Cancelled, "Cancelled"),
];

/// Every status with its label, for the move menus and forms.
pub fn statuses() -> Vec<(&'static str, &'static str)> {
    COLUMNS.iter().map(|(s, t)| (s.as_str(), *t)).collect()
}

/// A card as the page shows it, with its subtasks flattened (`depth` 1–2 below it).
pub struct CardView {
    pub card: Card,
    pub title: String,
    pub subtasks: Vec<(usize, Card)>,
}

impl CardView {
    pub fn title_of(&self, card: &Card) -> String {
        title_of(&card.todo)
    }

    pub fn priority_rank(&self) -> u8 {
        rank(self.card.todo.priority)
    }
}

fn rank(p: Priority) -> u8 {
    match p {
        Priority::High => 0,
        Priority::Medium => 1,
        Priority::Low => 2,
    }
}

pub struct Column {
    pub status: &'static str,
    pub title: &'static str,
    pub cards: Vec<CardView>,
}

/// The filters as the form shows them.
#[derive(Default)]
pub struct Filters {
    pub agent: String,
    pub session: String,
    pub sprint: String,
    pub status: String,
    pub q: String,
    pub cancelled: bool,
}

impl Filters {
    fn of(params: &Params) -> Filters {
        let get = |k: &str| params.get(k).unwrap_or_default().trim().to_string();
        Filters {
            agent: get("agent"),
            session: get("session"),
            sprint: get("sprint"),
            status: get("status"),
            q: get("q"),
            cancelled: params.get("cancelled") == Some("1"),
        }
    }

    fn admits(&self, card: &Card) -> bool {
        let t = &card.todo;
        let is = |want: &str, have: Option<&str>| want.is_empty() || have == Some(want);
        is(&self.agent, t.agent.as_deref())
            && is(&self.session, t.session_id.as_deref())
            && is(&self.sprint, card.sprint_id.as_deref())
            && is(&self.status, Some(t.status.as_str()))
            && (self.q.is_empty() || matches_text(card, &self.q.to_lowercase()))
    }

    pub fn any(&self) -> bool {
        !(self.agent.is_empty() && self.session.is_empty() && self.sprint.is_empty() && self.status.is_empty() && self.q.is_empty())
    }
}

fn matches_text(card: &Card, q: &str) -> bool {
    let t = &card.todo;
    t.content.to_lowercase().contains(q) || t.name.as_deref().is_some_and(|n| n.to_lowercase().contains(q)) || t.id.to_lowercase() == q
}

pub struct Board {
    pub columns: Vec<Column>,
    pub filters: Filters,
    pub agents: Vec<String>,
    pub sessions: Vec<String>,
    pub sprints: Vec<(String, String)>,
    /// Todos in the project, and how many the filters show.
    pub total: usize,
    pub shown: usize,
    pub clock: Clock,
    pub statuses: Vec<(&'static str, &'static str)>,
}

impl Board {
    /// The columns a card in `status` can move to, for its "Move to" menu.
    pub fn moves_from(&self, status: &str) -> Vec<(&'static str, &'static str)> {
        self.statuses.iter().filter(|(value, _)| *value != status).copied().collect()
    }
}

/// What a ticket's title is: its name, else the first line of its content (cut at 140
/// characters), else its id.
pub fn title_of(t: &Todo) -> String {
    let first_line: String = t.content.lines().find(|l| !l.trim().is_empty()).unwrap_or_default().chars().take(140).collect();
    match t.name.as_deref().filter(|n| !n.trim().is_empty()) {
        Some(name) => name.to_string(),
        None if !first_line.trim().is_empty() => first_line,
        None => t.id.clone(),
    }
}

/// Loads and arranges the board of `project` (all projects when `None`).
pub async fn load(app: &App, project: Option<&str>, filters: Filters) -> AppResult<Board> {
    let mut filter = Filter::default();
    if let Some(p) = project {
        filter.text("t.project = ?", p);
    }
    let all = board::cards(&app.db.read, &filter).await?;
    let mut agents: Vec<String> = all.iter().filter_map(|c| c.todo.agent.clone()).collect();
    let mut sessions: Vec<String> = all.iter().filter_map(|c| c.todo.session_id.clone()).collect();
    let mut sprints: Vec<(String, String)> = all.iter().filter_map(|c| Some((c.sprint_id.clone()?, c.sprint_name.clone()?))).collect();
    for list in [&mut agents, &mut sessions] {
        list.sort();
        list.dedup();
    }
    sprints.sort();
    sprints.dedup();
    let total = all.len();
    // Cancelled work is behind the toggle (asking for the cancelled status turns it on); the
    // subtasks of a hidden parent stand as cards of their own.
    let show_cancelled = filters.cancelled || filters.status == TodoStatus::Cancelled.as_str();
    let shown: Vec<Card> =
        all.into_iter().filter(|c| filters.admits(c) && (show_cancelled || c.todo.status != TodoStatus::Cancelled)).collect();
    let count = shown.len();
    let columns = arrange(shown, show_cancelled);
    let statuses = statuses();
    Ok(Board { columns, filters, agents, sessions, sprints, total, shown: count, clock: Clock { now: app.clock.now() }, statuses })
}

/// Cards whose parent is shown hang under it (up to three levels); the rest are top-level
/// cards in their status's column, highest priority first, then most recently changed.
fn arrange(cards: Vec<Card>, show_cancelled: bool) -> Vec<Column> {
    let ids: std::collections::HashSet<String> = cards.iter().map(|c| c.todo.id.clone()).collect();
    let mut children: HashMap<String, Vec<Card>> = HashMap::new();
    let mut top = Vec::new();
    for card in cards {
        match card.todo.parent_id.clone().filter(|p| ids.contains(p)) {
            Some(parent) => children.entry(parent).or_default().push(card),
            None => top.push(card),
        }
    }
    let mut columns: Vec<Column> = COLUMNS
        .iter()
        .filter(|(s, _)| show_cancelled || *s != TodoStatus::Cancelled)
        .map(|(s, t)| Column { status: s.as_str(), title: t, cards: Vec::new() })
        .collect();
    for card in top {
        let mut subtasks = Vec::new();
        flatten(&card.todo.id, 1, &mut children, &mut subtasks);
        let view = CardView { title: title_of(&card.todo), card, subtasks };
        if let Some(column) = columns.iter_mut().find(|c| c.status == view.card.todo.status.as_str()) {
            column.cards.push(view);
        }
    }
    for column in &mut columns {
        column.cards.sort_by(|a, b| a.priority_rank().cmp(&b.priority_rank()).then(b.card.todo.updated_at.cmp(&a.card.todo.updated_at)));
    }
    columns
}

fn flatten(id: &str, depth: usize, children: &mut HashMap<String, Vec<Card>>, out: &mut Vec<(usize, Card)>) {
    let Some(mut kids) = children.remove(id) else { return };
    kids.sort_by_key(|k| k.todo.created_at);
    for kid in kids {
        let kid_id = kid.todo.id.clone();
        out.push((depth, kid));
        if depth < MAX_DEPTH {
            flatten(&kid_id, depth + 1, children, out);
        }
    }
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    shell: Shell,
    board: Board,
}

#[derive(Template)]
#[template(path = "board_live.html")]
struct BoardLive {
    shell: Shell,
    board: Board,
}

/// `GET /[?project=&agent=&session=&sprint=&status=&q=&cancelled=1][&fragment=1]`.
pub async fn show(State(app): State<App>, visit: Visit) -> AppResult<Response> {
    let params = &visit.params;
    let mut shell = Shell::build(&app, &visit, "Board", Nav::Board).await?.with_script(&app, "board.js");
    shell.live = Some("board");
    let board = load(&app, shell.project.as_deref(), Filters::of(params)).await?;
    Ok(page_or_fragment(params, (shell, board), |(shell, board)| BoardPage { shell, board }, |(shell, board)| BoardLive { shell, board }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::todos::Todo;

    fn card(id: &str, status: TodoStatus, priority: Priority, parent: Option<&str>, updated_at: i64) -> Card {
        let todo = Todo {
            id: id.into(),
            name: None,
            session_id: None,
            content: format!("{id} content"),
            status,
            priority,
            agent: None,
            project: None,
            parent_id: parent.map(String::from),
            completed_at: None,
            created_at: updated_at,
            updated_at,
        };
        Card { todo, comment_count: 0, sprint_id: None, sprint_name: None }
    }

    #[test]
    fn cards_are_ordered_by_priority_then_recency_and_subtasks_hang_under_parents() {
        let cards = vec![
            card("low-new", TodoStatus::Pending, Priority::Low, None, 9),
            card("high-old", TodoStatus::Pending, Priority::High, None, 1),
            card("high-new", TodoStatus::Pending, Priority::High, None, 5),
            card("child", TodoStatus::Completed, Priority::Low, Some("high-old"), 2),
            card("grandchild", TodoStatus::Pending, Priority::Low, Some("child"), 3),
            card("orphan", TodoStatus::Blocked, Priority::Medium, Some("not-shown"), 4),
        ];
        let columns = arrange(cards, false);
        let ids = |c: &Column| c.cards.iter().map(|v| v.card.todo.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&columns[0]), ["high-new", "high-old", "low-new"]);
        let subtasks: Vec<(usize, &str)> = columns[0].cards[1].subtasks.iter().map(|(d, c)| (*d, c.todo.id.as_str())).collect();
        assert_eq!(subtasks, [(1, "child"), (2, "grandchild")]);
        assert_eq!(ids(&columns[2]), ["orphan"], "a subtask whose parent is filtered out is a card of its own");
        assert!(columns.iter().all(|c| c.status != "cancelled"), "cancelled is behind the toggle");
    }
}

//! Analytics (decisions.md#work-items): the figures of `GET /api/analytics` and of the
//! analytics page, computed once here for both.

use crate::db::{sprints, todos};
use crate::domain::TodoStatus;
use crate::domain::analytics::{self, Analytics, SprintPoints};
use crate::error::AppResult;
use crate::state::App;

/// Which work the figures cover: a period (seconds, inclusive) and optional narrowing.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    pub start: i64,
    pub end: i64,
    pub sprint: Option<&'a str>,
    pub project: Option<&'a str>,
    pub agent: Option<&'a str>,
}

impl Query<'_> {
    fn filter(&self) -> todos::Filter {
        let mut scope = todos::Filter::default();
        if let Some(sprint) = self.sprint {
            scope.text("id IN (SELECT todo_id FROM todo_sprints WHERE sprint_id = ?)", sprint);
        }
        if let Some(project) = self.project {
            scope.text("project = ?", project);
        }
        if let Some(agent) = self.agent {
            scope.text("agent = ?", agent);
        }
        scope
    }
}

pub async fn compute(app: &App, query: Query<'_>) -> AppResult<Analytics> {
    let pool = &app.db.read;
    let scope = query.filter();
    let scoped = todos::rows(pool, &scope).await?;
    let history = todos::history(pool, &scope).await?;
    let mut trend = Vec::new();
    // With a project: its sprints and the shared ones, counting only its todos.
    for sprint in sprints::list(pool, None).await? {
        if query.sprint.is_some_and(|id| id != sprint.id)
            || query.project.is_some_and(|p| sprint.project_id.as_deref().is_some_and(|s| s != p))
        {
            continue;
        }
        let points = todos::points_of_sprint(pool, &sprint.id, query.project).await?;
        trend.push(SprintPoints::new(sprint.id, sprint.name, &points));
    }
    Ok(analytics::compute(query.start, query.end, &scoped, &history, trend))
}

/// A blocked todo and how long it has been blocked.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockedAge {
    pub todo_id: String,
    pub content: String,
    pub seconds: i64,
}

/// Every todo blocked now (in the query's scope, whatever the period), oldest block first: its
/// age counts from its last move into `blocked` (its last change when the history has none).
pub async fn blocked_aging(app: &App, query: Query<'_>) -> AppResult<Vec<BlockedAge>> {
    let pool = &app.db.read;
    let mut scope = query.filter();
    scope.text("status = ?", TodoStatus::Blocked.as_str());
    let blocked = todos::rows(pool, &scope).await?;
    let history = todos::history(pool, &scope).await?;
    let now = app.clock.now();
    let mut ages: Vec<BlockedAge> = blocked
        .into_iter()
        .map(|t| {
            let since = history
                .iter()
                .filter(|h| h.todo_id == t.id && h.new_status == TodoStatus::Blocked.as_str())
                .map(|h| h.changed_at)
                .max()
                .unwrap_or(t.updated_at);
            BlockedAge { todo_id: t.id, content: t.content, seconds: (now - since).max(0) }
        })
        .collect();
    ages.sort_by_key(|a| std::cmp::Reverse(a.seconds));
    Ok(ages)
}

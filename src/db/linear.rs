//! The Linear cache (L1): teams, workflow states, projects and issues as Linear last described
//! them. Rows are replaced whole by a sync or a webhook; an issue keeps only its linked agent
//! task, and an older version of an issue (Linear's `updatedAt`) never replaces a newer one.

use sqlx::AnyPool;

use crate::db::WriteConn;
use crate::domain::linear::{LinearIssue, LinearProject, LinearTeam, WorkflowState};

const TEAM_COLUMNS: &str = "id, key, name, synced_at";
const STATE_COLUMNS: &str = "id, team_id, name, type, color, position, synced_at";
const PROJECT_COLUMNS: &str =
    "id, name, description, state, progress, start_date, target_date, url, team_id, team_name, updated_at, synced_at";
const ISSUE_COLUMNS: &str = "id, project_id, identifier, title, description, priority, state_id, state_name, state_type, team_id, \
                             assignee_id, assignee_name, assignee_avatar, label_names, estimate, url, agent_task_id, updated_at, synced_at";

pub async fn upsert_team(conn: &mut WriteConn, t: &LinearTeam) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO linear_teams (id, key, name, synced_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (id) DO UPDATE SET key = excluded.key, name = excluded.name, synced_at = excluded.synced_at",
    )
    .bind(&t.id)
    .bind(&t.key)
    .bind(&t.name)
    .bind(t.synced_at)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

pub async fn teams(conn: impl sqlx::Executor<'_, Database = sqlx::Any>) -> Result<Vec<LinearTeam>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {TEAM_COLUMNS} FROM linear_teams ORDER BY name, id")).fetch_all(conn).await
}

pub async fn upsert_state(conn: &mut WriteConn, s: &WorkflowState) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO linear_workflow_states (id, team_id, name, type, color, position, synced_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (id) DO UPDATE SET team_id = excluded.team_id, name = excluded.name, type = excluded.type, \
         color = excluded.color, position = excluded.position, synced_at = excluded.synced_at",
    )
    .bind(&s.id)
    .bind(&s.team_id)
    .bind(&s.name)
    .bind(&s.kind)
    .bind(&s.color)
    .bind(s.position)
    .bind(s.synced_at)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

/// Every workflow state, ordered as the board's columns: by team, then position, then name.
pub async fn states(conn: impl sqlx::Executor<'_, Database = sqlx::Any>) -> Result<Vec<WorkflowState>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {STATE_COLUMNS} FROM linear_workflow_states ORDER BY team_id, position, name")).fetch_all(conn).await
}

pub async fn state(conn: impl sqlx::Executor<'_, Database = sqlx::Any>, id: &str) -> Result<Option<WorkflowState>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {STATE_COLUMNS} FROM linear_workflow_states WHERE id = $1")).bind(id).fetch_optional(conn).await
}

/// Stores a project unless the cached one is newer (Linear's `updatedAt`).
pub async fn upsert_project(conn: &mut WriteConn, p: &LinearProject) -> Result<(), sqlx::Error> {
    sqlx::query(sql!(
        "INSERT INTO linear_projects ({PROJECT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description, state = excluded.state, \
         progress = excluded.progress, start_date = excluded.start_date, target_date = excluded.target_date, url = excluded.url, \
         team_id = excluded.team_id, team_name = excluded.team_name, updated_at = excluded.updated_at, synced_at = excluded.synced_at \
         WHERE {NEWER}",
        NEWER = newer("linear_projects")
    ))
    .bind(&p.id)
    .bind(&p.name)
    .bind(&p.description)
    .bind(&p.state)
    .bind(p.progress)
    .bind(&p.start_date)
    .bind(&p.target_date)
    .bind(&p.url)
    .bind(&p.team_id)
    .bind(&p.team_name)
    .bind(&p.updated_at)
    .bind(p.synced_at)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

/// The condition of an upsert that keeps a newer cached row: Linear's `updatedAt` times in
/// UTC ISO 8601 compare as text; a row without one is always replaced.
fn newer(table: &str) -> String {
    format!("{table}.updated_at IS NULL OR excluded.updated_at IS NULL OR excluded.updated_at >= {table}.updated_at")
}

/// Projects newest-synced first (the original's order).
pub async fn projects(pool: &AnyPool) -> Result<Vec<LinearProject>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {PROJECT_COLUMNS} FROM linear_projects ORDER BY synced_at DESC, id DESC")).fetch_all(pool).await
}

/// How many issues of each project are in each state type (`unknown` when it has none).
pub async fn issue_counts(pool: &AnyPool) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT project_id, COALESCE(state_type, 'unknown'), COUNT(*) FROM linear_issues WHERE project_id IS NOT NULL \
         GROUP BY project_id, COALESCE(state_type, 'unknown')",
    )
    .fetch_all(pool)
    .await
}

/// A project removed in Linear: its issues stay, without a project (the original's rule).
pub async fn delete_project(conn: &mut WriteConn, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE linear_issues SET project_id = NULL WHERE project_id = $1").bind(id).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM linear_projects WHERE id = $1").bind(id).execute(&mut *conn).await.map(|_| ())
}

/// Stores an issue unless the cached one is newer; the linked agent task is kept either way.
/// True when the row was written.
pub async fn upsert_issue(conn: &mut WriteConn, i: &LinearIssue) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(sql!(
        "INSERT INTO linear_issues ({ISSUE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
         $17, $18, $19) ON CONFLICT (id) DO UPDATE SET project_id = excluded.project_id, identifier = excluded.identifier, \
         title = excluded.title, description = excluded.description, priority = excluded.priority, state_id = excluded.state_id, \
         state_name = excluded.state_name, state_type = excluded.state_type, team_id = excluded.team_id, \
         assignee_id = excluded.assignee_id, assignee_name = excluded.assignee_name, assignee_avatar = excluded.assignee_avatar, \
         label_names = excluded.label_names, estimate = excluded.estimate, url = excluded.url, updated_at = excluded.updated_at, \
         synced_at = excluded.synced_at WHERE {NEWER}",
        NEWER = newer("linear_issues")
    ))
    .bind(&i.id)
    .bind(&i.project_id)
    .bind(&i.identifier)
    .bind(&i.title)
    .bind(&i.description)
    .bind(i.priority)
    .bind(&i.state_id)
    .bind(&i.state_name)
    .bind(&i.state_type)
    .bind(&i.team_id)
    .bind(&i.assignee_id)
    .bind(&i.assignee_name)
    .bind(&i.assignee_avatar)
    .bind(&i.label_names)
    .bind(i.estimate)
    .bind(&i.url)
    .bind(&i.agent_task_id)
    .bind(&i.updated_at)
    .bind(i.synced_at)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn issue(conn: impl sqlx::Executor<'_, Database = sqlx::Any>, id: &str) -> Result<Option<LinearIssue>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {ISSUE_COLUMNS} FROM linear_issues WHERE id = $1")).bind(id).fetch_optional(conn).await
}

/// Issues newest-synced first, of one project or all.
pub async fn issues(pool: &AnyPool, project: Option<&str>) -> Result<Vec<LinearIssue>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {ISSUE_COLUMNS} FROM linear_issues WHERE ($1 IS NULL OR project_id = $1) ORDER BY synced_at DESC, id DESC"))
        .bind(project)
        .fetch_all(pool)
        .await
}

/// Every Linear user the cached issues are assigned to: (id, name), by name.
pub async fn assignees(pool: &AnyPool) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT DISTINCT assignee_id, COALESCE(assignee_name, '') FROM linear_issues WHERE assignee_id IS NOT NULL \
         ORDER BY 2, 1 LIMIT 500",
    )
    .fetch_all(pool)
    .await
}

/// For each linked issue (of one project or all): its task's id and status, and its agent's
/// id, name and status.
pub async fn workers(pool: &AnyPool, project: Option<&str>) -> Result<Vec<(String, String, String, String, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT i.id, t.id, t.status, a.id, a.name, a.status FROM linear_issues i JOIN agent_tasks t ON t.id = i.agent_task_id \
         JOIN agents a ON a.id = t.agent_id WHERE ($1 IS NULL OR i.project_id = $1)",
    )
    .bind(project)
    .fetch_all(pool)
    .await
}

pub async fn delete_issue(conn: &mut WriteConn, id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM linear_issues WHERE id = $1").bind(id).execute(&mut *conn).await?;
    Ok(done.rows_affected() == 1)
}

/// Remembers an issue a webhook removed, as of Linear's `updated_at` of the removal.
pub async fn remember_removal(conn: &mut WriteConn, id: &str, updated_at: Option<&str>, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO linear_removed_issues (id, updated_at, removed_at) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, removed_at = excluded.removed_at",
    )
    .bind(id)
    .bind(updated_at)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

/// Linear's time of an issue's removal by a webhook: none when it was not removed; `Some(None)`
/// when the removal carried no time.
pub async fn removal(conn: &mut WriteConn, id: &str) -> Result<Option<Option<String>>, sqlx::Error> {
    sqlx::query_scalar("SELECT updated_at FROM linear_removed_issues WHERE id = $1").bind(id).fetch_optional(&mut *conn).await
}

/// Forgets the removals of issues that are cached again (found in Linear since).
pub async fn forget_found_removals(conn: &mut WriteConn) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM linear_removed_issues WHERE id IN (SELECT id FROM linear_issues)").execute(&mut *conn).await.map(|_| ())
}

/// Forgets removals older than `before` (past Linear's last retry of a delivery).
pub async fn forget_old_removals(conn: &mut WriteConn, before: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM linear_removed_issues WHERE removed_at < $1").bind(before).execute(&mut *conn).await.map(|_| ())
}

/// The issue's state after a move on the board; `updated_at` is Linear's time of the change.
pub async fn set_issue_state(
    conn: &mut WriteConn,
    id: &str,
    state: &WorkflowState,
    updated_at: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE linear_issues SET state_id = $2, state_name = $3, state_type = $4, team_id = COALESCE(team_id, $5), \
         updated_at = COALESCE($6, updated_at), synced_at = $7 WHERE id = $1",
    )
    .bind(id)
    .bind(&state.id)
    .bind(&state.name)
    .bind(&state.kind)
    .bind(Some(&state.team_id).filter(|t| !t.is_empty()))
    .bind(updated_at)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

/// Links the issue to the agent task working it (assignTask); nothing when it is not cached.
pub async fn link_task(conn: &mut WriteConn, issue_id: &str, task_id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE linear_issues SET agent_task_id = $2, synced_at = $3 WHERE id = $1")
        .bind(issue_id)
        .bind(task_id)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

/// The ids of the cached rows of `table` synced before `before`, which a sync that did not see
/// them removes. Issues only of the projects given (a sync reads the issues of its projects,
/// so an issue kept without a project, or of a project not synced, is not its to remove).
pub async fn synced_before(conn: &mut WriteConn, table: Table, before: i64, projects: &[String]) -> Result<Vec<String>, sqlx::Error> {
    let name = table.name();
    let rows: Vec<(String, Option<String>)> = match table {
        Table::Issues => {
            sqlx::query_as("SELECT id, project_id FROM linear_issues WHERE synced_at < $1").bind(before).fetch_all(&mut *conn).await?
        }
        _ => {
            sqlx::query_as(sql!("SELECT id, CAST(NULL AS TEXT) FROM {name} WHERE synced_at < $1"))
                .bind(before)
                .fetch_all(&mut *conn)
                .await?
        }
    };
    let in_scope = |project: &Option<String>| table != Table::Issues || project.as_ref().is_some_and(|p| projects.contains(p));
    Ok(rows.into_iter().filter(|(_, project)| in_scope(project)).map(|(id, _)| id).collect())
}

pub async fn delete_rows(conn: &mut WriteConn, table: Table, ids: &[String]) -> Result<(), sqlx::Error> {
    let name = table.name();
    for id in ids {
        sqlx::query(sql!("DELETE FROM {name} WHERE id = $1")).bind(id).execute(&mut *conn).await?;
    }
    Ok(())
}

/// The cache's tables, for removing what a sync no longer saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Teams,
    States,
    Projects,
    Issues,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Teams => "linear_teams",
            Table::States => "linear_workflow_states",
            Table::Projects => "linear_projects",
            Table::Issues => "linear_issues",
        }
    }
}

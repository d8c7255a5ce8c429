//! Projects: rows appear when an agent first reports a project (fixes decisions.md#work-items).

use crate::db::WriteConn;
use serde::Serialize;
use serde_json::json;

use crate::domain::agents::{MAX_COST_TOTAL, MAX_TOKENS_TOTAL};

use super::events::{self, NewEvent};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub color: Option<String>,
    pub created_at: i64,
}

/// Records `id` as a project if it is new (and announces it); empty ids are ignored.
pub async fn ensure(conn: &mut WriteConn, id: Option<&str>, now: i64) -> Result<(), sqlx::Error> {
    let Some(id) = id.filter(|id| !id.is_empty()) else {
        return Ok(());
    };
    let created = sqlx::query_as::<_, Project>(
        "INSERT INTO projects (id, name, created_at, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING \
         RETURNING id, name, description, color, created_at",
    )
    .bind(id)
    .bind(id)
    .bind(now)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(project) = created {
        events::append(conn, now, NewEvent::new("project:updated", Some(id), &json!({"project": project, "action": "created"}))).await?;
    }
    Ok(())
}

/// Token and cost totals of the agent tasks of each project. Summed as floating point (an
/// integer sum of many capped totals could overflow) and capped like every total.
pub async fn usage(pool: &sqlx::AnyPool) -> Result<Vec<(String, i64, i64, f64)>, sqlx::Error> {
    let rows: Vec<(String, f64, f64, f64)> = sqlx::query_as(
        "SELECT project_id, CAST(COALESCE(SUM(CAST(tokens_in AS DOUBLE PRECISION)), 0) AS DOUBLE PRECISION), \
         CAST(COALESCE(SUM(CAST(tokens_out AS DOUBLE PRECISION)), 0) AS DOUBLE PRECISION), \
         CAST(COALESCE(SUM(cost_usd), 0) AS DOUBLE PRECISION) FROM agent_tasks WHERE project_id IS NOT NULL GROUP BY project_id",
    )
    .fetch_all(pool)
    .await?;
    let tokens = |sum: f64| sum.min(MAX_TOKENS_TOTAL as f64) as i64;
    Ok(rows.into_iter().map(|(id, tin, tout, cost)| (id, tokens(tin), tokens(tout), cost.min(MAX_COST_TOTAL))).collect())
}

pub async fn list(pool: &sqlx::AnyPool) -> Result<Vec<Project>, sqlx::Error> {
    sqlx::query_as("SELECT id, name, description, color, created_at FROM projects ORDER BY created_at DESC, id DESC").fetch_all(pool).await
}

pub async fn get(conn: &mut WriteConn, id: &str) -> Result<Option<Project>, sqlx::Error> {
    sqlx::query_as("SELECT id, name, description, color, created_at FROM projects WHERE id = $1").bind(id).fetch_optional(&mut *conn).await
}

pub async fn insert(conn: &mut WriteConn, p: &Project) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO projects (id, name, description, color, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&p.id)
        .bind(&p.name)
        .bind(&p.description)
        .bind(&p.color)
        .bind(p.created_at)
        .bind(p.created_at)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

pub async fn save(conn: &mut WriteConn, p: &Project, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE projects SET name = $2, description = $3, color = $4, updated_at = $5 WHERE id = $1")
        .bind(&p.id)
        .bind(&p.name)
        .bind(&p.description)
        .bind(&p.color)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

pub async fn delete(conn: &mut WriteConn, id: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM projects WHERE id = $1").bind(id).execute(&mut *conn).await?.rows_affected() > 0)
}

/// Kinds of objects that carry a project, for the project-scope checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owned {
    Todo,
    Session,
    AgentTask,
    Sprint,
    Agent,
}

/// The project of an object: `None` when the object does not exist, `Some(None)` when it has
/// no project.
pub async fn project_of(pool: &sqlx::AnyPool, kind: Owned, id: &str) -> Result<Option<Option<String>>, sqlx::Error> {
    let query = match kind {
        Owned::Todo => "SELECT project FROM todos WHERE id = $1",
        Owned::Session => "SELECT project_id FROM sessions WHERE id = $1",
        Owned::AgentTask => "SELECT project_id FROM agent_tasks WHERE id = $1",
        Owned::Sprint => "SELECT project_id FROM sprints WHERE id = $1",
        Owned::Agent => "SELECT project_id FROM agents WHERE id = $1",
    };
    sqlx::query_scalar(query).bind(id).fetch_optional(pool).await
}

/// How many of an agent's tasks are not in `project` (without one counts as elsewhere).
pub async fn agent_tasks_elsewhere(pool: &sqlx::AnyPool, agent_id: &str, project: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM agent_tasks WHERE agent_id = $1 AND (project_id IS NULL OR project_id <> $2)")
        .bind(agent_id)
        .bind(project)
        .fetch_one(pool)
        .await
}

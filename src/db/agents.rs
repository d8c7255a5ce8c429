//! Agents and their tasks.

use crate::db::WriteConn;
use serde::Serialize;
use sqlx::AnyPool;

use crate::domain::Priority;
use crate::domain::agents::{AgentStatus, AgentTaskStatus, AgentType, MAX_COST_TOTAL, MAX_TOKENS_TOTAL};

pub const AGENT_COLUMNS: &str = "id, name, type, parent_agent_id, status, soul_md, skills, current_task_id, created_at, last_heartbeat, config, \
    last_activity_at, tokens_in, tokens_out, cost_usd, project_id";
pub const TASK_COLUMNS: &str = "id, agent_id, linear_issue_id, project_id, title, status, priority, blocked_reason, blocked_at, started_at, \
    completed_at, created_at, updated_at, last_activity_at, tokens_in, tokens_out, cost_usd";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Agent {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    pub kind: AgentType,
    pub parent_agent_id: Option<String>,
    pub status: AgentStatus,
    pub soul_md: Option<String>,
    pub skills: Option<String>,
    pub current_task_id: Option<String>,
    pub created_at: i64,
    pub last_heartbeat: Option<i64>,
    pub config: Option<String>,
    /// Changed only by `record_activity` (never by `save`).
    pub last_activity_at: Option<i64>,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_usd: f64,
    /// The project the agent works for; none = shared (see migration 0008).
    pub project_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AgentTask {
    pub id: String,
    pub agent_id: String,
    pub linear_issue_id: Option<String>,
    pub project_id: Option<String>,
    pub title: String,
    pub status: AgentTaskStatus,
    pub priority: Priority,
    pub blocked_reason: Option<String>,
    pub blocked_at: Option<i64>,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Changed only by `record_activity` (never by `save_task`).
    pub last_activity_at: Option<i64>,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_usd: f64,
}

impl AgentTask {
    /// A new pending task of `agent_id`, created at `now`.
    pub fn pending(id: String, agent_id: String, title: String, priority: Priority, now: i64) -> AgentTask {
        AgentTask {
            id,
            agent_id,
            linear_issue_id: None,
            project_id: None,
            title,
            status: AgentTaskStatus::Pending,
            priority,
            blocked_reason: None,
            blocked_at: None,
            started_at: None,
            completed_at: None,
            created_at: now,
            updated_at: now,
            last_activity_at: None,
            tokens_in: 0,
            tokens_out: 0,
            cost_usd: 0.0,
        }
    }
}

/// Token and cost deltas an agent reports (added to the stored totals).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub tokens_in: Option<i64>,
    #[serde(default)]
    pub tokens_out: Option<i64>,
    #[serde(default)]
    pub cost_usd: Option<f64>,
}

impl Usage {
    pub fn is_empty(&self) -> bool {
        self.tokens_in.is_none() && self.tokens_out.is_none() && self.cost_usd.is_none()
    }
}

/// `SET` clauses adding the deltas `$2`–`$4` to the totals. Each delta is bounded where the
/// body is parsed (http/limits.rs), and each total stops at its ceiling instead of
/// overflowing (SQLite would turn an overflowing integer into a float, PostgreSQL would fail).
macro_rules! add_usage {
    () => {
        "tokens_in = CASE WHEN tokens_in + $2 > $6 THEN $6 ELSE tokens_in + $2 END, \
     tokens_out = CASE WHEN tokens_out + $3 > $6 THEN $6 ELSE tokens_out + $3 END, \
     cost_usd = CASE WHEN cost_usd + $4 > $7 THEN $7 ELSE cost_usd + $4 END"
    };
}

/// Real progress: moves `last_activity_at` of the agent (and its task) and adds the usage.
pub async fn record_activity(
    conn: &mut WriteConn,
    agent_id: &str,
    task_id: Option<&str>,
    usage: Usage,
    now: i64,
) -> Result<(), sqlx::Error> {
    let (tin, tout, cost) = (usage.tokens_in.unwrap_or(0), usage.tokens_out.unwrap_or(0), usage.cost_usd.unwrap_or(0.0));
    sqlx::query(concat!("UPDATE agents SET last_activity_at = $1, ", add_usage!(), " WHERE id = $5"))
        .bind(now)
        .bind(tin)
        .bind(tout)
        .bind(cost)
        .bind(agent_id)
        .bind(MAX_TOKENS_TOTAL)
        .bind(MAX_COST_TOTAL)
        .execute(&mut *conn)
        .await?;
    if let Some(task_id) = task_id {
        sqlx::query(concat!("UPDATE agent_tasks SET last_activity_at = $1, ", add_usage!(), " WHERE id = $5 AND agent_id = $8"))
            .bind(now)
            .bind(tin)
            .bind(tout)
            .bind(cost)
            .bind(task_id)
            .bind(MAX_TOKENS_TOTAL)
            .bind(MAX_COST_TOTAL)
            .bind(agent_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn get(conn: &mut WriteConn, id: &str) -> Result<Option<Agent>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1")).bind(id).fetch_optional(&mut *conn).await
}

/// The agents among `ids` that exist (at most `IN_CHUNK` ids).
pub async fn get_many(conn: &mut WriteConn, ids: &[String]) -> Result<Vec<Agent>, sqlx::Error> {
    let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id IN ({})", super::placeholders(1, ids.len()));
    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(id.as_str());
    }
    query.fetch_all(&mut *conn).await
}

pub async fn find(pool: &AnyPool, id: &str) -> Result<Option<Agent>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1")).bind(id).fetch_optional(pool).await
}

pub async fn list(pool: &AnyPool, filter: &super::todos::Filter) -> Result<Vec<Agent>, sqlx::Error> {
    sqlx::query_as_with(
        sql!("SELECT {AGENT_COLUMNS} FROM agents WHERE {} ORDER BY created_at DESC, id DESC", filter.sql()),
        filter.arguments(),
    )
    .fetch_all(pool)
    .await
}

/// Every agent's id and name, newest first (who may take a Linear issue).
pub async fn names(pool: &AnyPool) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, name FROM agents ORDER BY created_at DESC, id DESC").fetch_all(pool).await
}

/// Whether `ancestor` is `start` or one of its parents, grand-parents… (a loop already in the
/// data ends the walk).
pub async fn is_ancestor(conn: &mut WriteConn, ancestor: &str, start: &str) -> Result<bool, sqlx::Error> {
    let mut seen = std::collections::HashSet::new();
    let mut at = Some(start.to_string());
    while let Some(id) = at {
        if id == ancestor {
            return Ok(true);
        }
        if !seen.insert(id.clone()) {
            return Ok(false);
        }
        at = sqlx::query_scalar::<_, Option<String>>("SELECT parent_agent_id FROM agents WHERE id = $1")
            .bind(&id)
            .fetch_optional(&mut *conn)
            .await?
            .flatten();
    }
    Ok(false)
}

pub async fn sub_agents(pool: &AnyPool, id: &str) -> Result<Vec<Agent>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {AGENT_COLUMNS} FROM agents WHERE parent_agent_id = $1 ORDER BY created_at DESC, id DESC"))
        .bind(id)
        .fetch_all(pool)
        .await
}

pub async fn insert(conn: &mut WriteConn, a: &Agent) -> Result<(), sqlx::Error> {
    sqlx::query(sql!("INSERT INTO agents ({AGENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"))
        .bind(&a.id)
        .bind(&a.name)
        .bind(a.kind)
        .bind(&a.parent_agent_id)
        .bind(a.status)
        .bind(&a.soul_md)
        .bind(&a.skills)
        .bind(&a.current_task_id)
        .bind(a.created_at)
        .bind(a.last_heartbeat)
        .bind(&a.config)
        .bind(a.last_activity_at)
        .bind(a.tokens_in)
        .bind(a.tokens_out)
        .bind(a.cost_usd)
        .bind(&a.project_id)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

pub async fn save(conn: &mut WriteConn, a: &Agent) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE agents SET name = $2, type = $3, parent_agent_id = $4, status = $5, soul_md = $6, skills = $7, current_task_id = $8, \
         last_heartbeat = $9, config = $10, project_id = $11 WHERE id = $1",
    )
    .bind(&a.id)
    .bind(&a.name)
    .bind(a.kind)
    .bind(&a.parent_agent_id)
    .bind(a.status)
    .bind(&a.soul_md)
    .bind(&a.skills)
    .bind(&a.current_task_id)
    .bind(a.last_heartbeat)
    .bind(&a.config)
    .bind(&a.project_id)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

/// Why a sleeping agent sleeps (`schedule`, `error_threshold`, `manual`), for the wake rules.
pub async fn set_sleep_reason(conn: &mut WriteConn, id: &str, reason: Option<&str>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE agents SET sleep_reason = $2 WHERE id = $1").bind(id).bind(reason).execute(&mut *conn).await.map(|_| ())
}

pub async fn delete(conn: &mut WriteConn, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM agent_error_windows WHERE agent_id = $1").bind(id).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM agent_tasks WHERE agent_id = $1").bind(id).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM agent_activity WHERE agent_id = $1").bind(id).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM agents WHERE id = $1").bind(id).execute(&mut *conn).await.map(|_| ())
}

pub async fn count_sub_agents(conn: &mut WriteConn, id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM agents WHERE parent_agent_id = $1").bind(id).fetch_one(&mut *conn).await
}

pub async fn get_task(conn: &mut WriteConn, id: &str) -> Result<Option<AgentTask>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {TASK_COLUMNS} FROM agent_tasks WHERE id = $1")).bind(id).fetch_optional(&mut *conn).await
}

pub async fn tasks(pool: &AnyPool, agent_id: &str) -> Result<Vec<AgentTask>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {TASK_COLUMNS} FROM agent_tasks WHERE agent_id = $1 ORDER BY created_at DESC, id DESC"))
        .bind(agent_id)
        .fetch_all(pool)
        .await
}

/// The agent's newest task in one of `statuses`.
pub async fn newest_task_in(conn: &mut WriteConn, agent_id: &str, statuses: &[&str]) -> Result<Option<AgentTask>, sqlx::Error> {
    let mut query = sqlx::query_as(sql!(
        "SELECT {TASK_COLUMNS} FROM agent_tasks WHERE agent_id = $1 AND status IN ({}) ORDER BY created_at DESC, id DESC LIMIT 1",
        super::placeholders(2, statuses.len())
    ))
    .bind(agent_id.to_string());
    for s in statuses {
        query = query.bind(s.to_string());
    }
    query.fetch_optional(&mut *conn).await
}

pub async fn has_pending_tasks(conn: &mut WriteConn, agent_id: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM agent_tasks WHERE agent_id = $1 AND status = 'pending'")
        .bind(agent_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(n > 0)
}

pub async fn insert_task(conn: &mut WriteConn, t: &AgentTask) -> Result<(), sqlx::Error> {
    sqlx::query(sql!(
        "INSERT INTO agent_tasks ({TASK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
    ))
    .bind(&t.id)
    .bind(&t.agent_id)
    .bind(&t.linear_issue_id)
    .bind(&t.project_id)
    .bind(&t.title)
    .bind(t.status)
    .bind(t.priority)
    .bind(&t.blocked_reason)
    .bind(t.blocked_at)
    .bind(t.started_at)
    .bind(t.completed_at)
    .bind(t.created_at)
    .bind(t.updated_at)
    .bind(t.last_activity_at)
    .bind(t.tokens_in)
    .bind(t.tokens_out)
    .bind(t.cost_usd)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

pub async fn save_task(conn: &mut WriteConn, t: &AgentTask) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE agent_tasks SET linear_issue_id = $2, project_id = $3, title = $4, status = $5, priority = $6, blocked_reason = $7, \
         blocked_at = $8, started_at = $9, completed_at = $10, updated_at = $11 WHERE id = $1",
    )
    .bind(&t.id)
    .bind(&t.linear_issue_id)
    .bind(&t.project_id)
    .bind(&t.title)
    .bind(t.status)
    .bind(t.priority)
    .bind(&t.blocked_reason)
    .bind(t.blocked_at)
    .bind(t.started_at)
    .bind(t.completed_at)
    .bind(t.updated_at)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

/// In-progress tasks of an agent.
pub async fn tasks_in(conn: &mut WriteConn, agent_id: &str, status: &str) -> Result<Vec<AgentTask>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {TASK_COLUMNS} FROM agent_tasks WHERE agent_id = $1 AND status = $2 ORDER BY created_at DESC, id DESC"))
        .bind(agent_id)
        .bind(status)
        .fetch_all(&mut *conn)
        .await
}

/// Current tasks (by `current_task_id`) of the listed agents, and their sub-agent counts.
pub async fn current_tasks(pool: &AnyPool, ids: &[String]) -> Result<Vec<AgentTask>, sqlx::Error> {
    let mut tasks = Vec::new();
    for chunk in ids.chunks(super::IN_CHUNK) {
        let mut query = sqlx::query_as(sql!(
            "SELECT {} FROM agent_tasks t JOIN agents a ON a.current_task_id = t.id WHERE a.id IN ({})",
            TASK_COLUMNS.split(", ").map(|c| format!("t.{c}")).collect::<Vec<_>>().join(", "),
            super::placeholders(1, chunk.len())
        ));
        for id in chunk {
            query = query.bind(id.clone());
        }
        tasks.extend(query.fetch_all(pool).await?);
    }
    Ok(tasks)
}

pub async fn sub_agent_counts(pool: &AnyPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT parent_agent_id, COUNT(*) FROM agents WHERE parent_agent_id IS NOT NULL GROUP BY parent_agent_id")
        .fetch_all(pool)
        .await
}

/// Every agent's parent and own token and cost totals.
pub async fn usage_rows(pool: &AnyPool) -> Result<Vec<(String, Option<String>, crate::domain::agents::Totals)>, sqlx::Error> {
    let rows: Vec<(String, Option<String>, i64, i64, f64)> =
        sqlx::query_as("SELECT id, parent_agent_id, tokens_in, tokens_out, cost_usd FROM agents").fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|(id, parent, tokens_in, tokens_out, cost_usd)| {
            (id, parent, crate::domain::agents::Totals { tokens_in, tokens_out, cost_usd })
        })
        .collect())
}

/// Publishes `agent:status` with `payload`, under `project` (the agent's or the task's).
pub async fn announce(conn: &mut WriteConn, project: Option<&str>, payload: serde_json::Value, now: i64) -> Result<(), sqlx::Error> {
    super::events::append(conn, now, super::events::NewEvent::new("agent:status", project, &payload)).await.map(|_| ())
}

/// What a heartbeat needs to know after recording itself.
#[derive(Debug, Clone)]
pub struct Beat {
    pub current_task_id: Option<String>,
    /// Whether any command is queued or delivered for the agent.
    pub open_commands: bool,
}

/// Records a heartbeat in one statement, which also names the current task and says whether
/// any command is open — most beats need nothing more. `None` for an unknown agent.
pub async fn beat(conn: &mut WriteConn, id: &str, now: i64) -> Result<Option<Beat>, sqlx::Error> {
    let row: Option<(Option<String>, i64)> = sqlx::query_as(
        "UPDATE agents SET last_heartbeat = $1 WHERE id = $2 RETURNING current_task_id, \
         CAST(CASE WHEN EXISTS (SELECT 1 FROM commands WHERE agent_id = $2 AND status IN ('queued', 'delivered')) \
         THEN 1 ELSE 0 END AS BIGINT)",
    )
    .bind(now)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(current_task_id, open)| Beat { current_task_id, open_commands: open != 0 }))
}

//! Todos, their status history, comments and sprint links.

use std::collections::HashSet;

use crate::db::WriteConn;
use serde::Serialize;
use sqlx::any::AnyArguments;
use sqlx::{AnyPool, Arguments, Row};

use super::{Backend, placeholders};
use crate::domain::hierarchy::{MAX_DEPTH, ParentChain};
use crate::domain::todos::{StatusChange, Todo};
use crate::domain::velocity::PointsTodo;

pub const COLUMNS: &str =
    "id, name, session_id, content, status, priority, agent, project, parent_id, completed_at, created_at, updated_at";

pub async fn get(conn: &mut WriteConn, id: &str) -> Result<Option<Todo>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {COLUMNS} FROM todos WHERE id = $1")).bind(id).fetch_optional(&mut *conn).await
}

pub async fn find(pool: &AnyPool, id: &str) -> Result<Option<Todo>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {COLUMNS} FROM todos WHERE id = $1")).bind(id).fetch_optional(pool).await
}

/// The proposed parent and its ancestors, walked until the root, a repeat or past the depth limit.
pub async fn parent_chain(conn: &mut WriteConn, parent_id: &str) -> Result<ParentChain, sqlx::Error> {
    let mut chain = Vec::new();
    let mut seen = HashSet::new();
    let mut next = Some(parent_id.to_string());
    while let Some(id) = next {
        if !seen.insert(id.clone()) {
            return Ok(ParentChain { chain: Some(chain), looped: true });
        }
        if chain.len() > MAX_DEPTH + 1 {
            // Already deeper than any allowed tree: enough to refuse.
            break;
        }
        let row = sqlx::query("SELECT parent_id FROM todos WHERE id = $1").bind(&id).fetch_optional(&mut *conn).await?;
        let Some(row) = row else {
            return Ok(ParentChain { chain: if chain.is_empty() { None } else { Some(chain) }, looped: false });
        };
        chain.push(id);
        next = row.try_get::<Option<String>, _>(0)?;
    }
    Ok(ParentChain { chain: Some(chain), looped: false })
}

/// Levels below `id` (0 for a leaf), counted up to one more than the limit allows.
pub async fn subtree_height(conn: &mut WriteConn, id: &str) -> Result<usize, sqlx::Error> {
    let mut level = vec![id.to_string()];
    let mut height = 0;
    while height <= MAX_DEPTH {
        let mut below: Vec<String> = Vec::new();
        for chunk in level.chunks(super::IN_CHUNK) {
            let sql = format!("SELECT id FROM todos WHERE parent_id IN ({})", placeholders(1, chunk.len()));
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id.clone());
            }
            for row in query.fetch_all(&mut *conn).await? {
                below.push(row.try_get(0)?);
            }
        }
        if below.is_empty() {
            break;
        }
        level = below;
        height += 1;
    }
    Ok(height)
}

pub async fn insert(conn: &mut WriteConn, t: &Todo) -> Result<(), sqlx::Error> {
    sqlx::query(sql!("INSERT INTO todos ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"))
        .bind(&t.id)
        .bind(&t.name)
        .bind(&t.session_id)
        .bind(&t.content)
        .bind(t.status)
        .bind(t.priority)
        .bind(&t.agent)
        .bind(&t.project)
        .bind(&t.parent_id)
        .bind(t.completed_at)
        .bind(t.created_at)
        .bind(t.updated_at)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

/// Writes the columns in which `new` differs from `stored` (nothing when none does). Setting a
/// column, even to the value it holds, rewrites every index on it; hooks re-send the same
/// project, session and parent with each update, so naming only what changed spares three
/// index rewrites per update (measured: 2.4× faster updates on SQLite).
pub async fn update(conn: &mut WriteConn, stored: &Todo, new: &Todo) -> Result<(), sqlx::Error> {
    let mut arguments = AnyArguments::default();
    let mut sets = Vec::new();
    macro_rules! set_changed {
        ($($column:ident),+) => {$(
            if stored.$column != new.$column {
                arguments.add(&new.$column).map_err(sqlx::Error::Encode)?;
                sets.push(format!(concat!(stringify!($column), " = ${}"), arguments.len()));
            }
        )+};
    }
    set_changed!(name, session_id, content, status, priority, agent, project, parent_id, completed_at, updated_at);
    if sets.is_empty() {
        return Ok(());
    }
    arguments.add(&new.id).map_err(sqlx::Error::Encode)?;
    let statement = format!("UPDATE todos SET {} WHERE id = ${}", sets.join(", "), arguments.len());
    sqlx::query_with(sqlx::AssertSqlSafe(statement), arguments).execute(&mut *conn).await.map(|_| ())
}

pub async fn record_status(conn: &mut WriteConn, todo_id: &str, c: &StatusChange, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO todo_status_history (todo_id, old_status, new_status, changed_by, changed_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(todo_id)
        .bind(c.old)
        .bind(c.new)
        .bind(&c.by)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

pub async fn delete(conn: &mut WriteConn, id: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM todos WHERE id = $1").bind(id).execute(&mut *conn).await?.rows_affected() > 0)
}

/// Links a todo to a sprint; linking twice changes nothing.
pub async fn link_sprint(conn: &mut WriteConn, todo_id: &str, sprint_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO todo_sprints (todo_id, sprint_id) VALUES ($1, $2) ON CONFLICT (todo_id, sprint_id) DO NOTHING")
        .bind(todo_id)
        .bind(sprint_id)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

pub async fn unlink_sprint(conn: &mut WriteConn, todo_id: &str, sprint_id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM todo_sprints WHERE todo_id = $1 AND sprint_id = $2")
        .bind(todo_id)
        .bind(sprint_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// A dynamic WHERE clause with its bound values.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    clauses: Vec<String>,
    args: Vec<Arg>,
}

#[derive(Debug, Clone)]
enum Arg {
    Text(String),
    Int(i64),
}

impl Filter {
    /// Adds `template` where `?` stands for the next placeholder.
    fn push(&mut self, template: &str, arg: Arg) {
        self.args.push(arg);
        self.clauses.push(template.replace('?', &format!("${}", self.args.len())));
    }

    pub fn text(&mut self, template: &str, value: &str) {
        self.push(template, Arg::Text(value.to_string()));
    }

    pub fn int(&mut self, template: &str, value: i64) {
        self.push(template, Arg::Int(value));
    }

    /// `column IN (…)` over `values` (an empty list matches nothing).
    pub fn any_of(&mut self, column: &str, values: &[&str]) {
        if values.is_empty() {
            self.clauses.push("1 = 0".into());
            return;
        }
        let start = self.args.len() + 1;
        self.args.extend(values.iter().map(|v| Arg::Text(v.to_string())));
        self.clauses.push(format!("{column} IN ({})", placeholders(start, values.len())));
    }

    pub fn raw(&mut self, clause: &str) {
        self.clauses.push(clause.to_string());
    }

    pub fn sql(&self) -> String {
        if self.clauses.is_empty() { "1 = 1".into() } else { self.clauses.join(" AND ") }
    }

    pub fn arguments(&self) -> AnyArguments {
        let mut args = AnyArguments::default();
        for arg in &self.args {
            // Adding a text or integer to Any arguments cannot fail.
            let _ = match arg {
                Arg::Text(s) => args.add(s.clone()),
                Arg::Int(i) => args.add(*i),
            };
        }
        args
    }
}

/// The todo list as a JSON array text, built by the database: each todo's row plus
/// `comment_count` and `sprints: [{id, name}]` (newest sprint first), newest todo first.
/// One row comes back instead of a thousand, which is what makes large lists fast.
pub async fn list_json(pool: &AnyPool, backend: Backend, filter: &Filter) -> Result<String, sqlx::Error> {
    let sql = match backend {
        // json_object values keep their JSON subtype only inside one expression, so the
        // aggregate is ordered in place and sprints are nested without a re-parse.
        Backend::Sqlite => sql!(
            "SELECT COALESCE(json_group_array(json_object(
                 'id', t.id, 'name', t.name, 'session_id', t.session_id, 'content', t.content, 'status', t.status,
                 'priority', t.priority, 'agent', t.agent, 'project', t.project, 'parent_id', t.parent_id,
                 'completed_at', t.completed_at, 'created_at', t.created_at, 'updated_at', t.updated_at,
                 'comment_count', (SELECT COUNT(*) FROM todo_comments c WHERE c.todo_id = t.id),
                 'sprints', CASE WHEN EXISTS (SELECT 1 FROM todo_sprints e WHERE e.todo_id = t.id)
                   THEN json((SELECT json_group_array(json_object('id', s.id, 'name', s.name) ORDER BY s.start_date DESC, s.created_at DESC)
                              FROM todo_sprints ts JOIN sprints s ON s.id = ts.sprint_id WHERE ts.todo_id = t.id))
                   ELSE json_array() END
               ) ORDER BY t.created_at DESC, t.id DESC), '[]')
             FROM todos t WHERE {}",
            filter.sql()
        ),
        // json_agg over a row (keys = column names) is about a third cheaper than a
        // json_build_object per row; the per-todo subqueries stay parameterized by the filter.
        Backend::Postgres => sql!(
            "SELECT COALESCE(json_agg(r ORDER BY r.created_at DESC, r.id DESC), '[]'::json)::text FROM (
               SELECT t.id, t.name, t.session_id, t.content, t.status, t.priority, t.agent, t.project, t.parent_id,
                 t.completed_at, t.created_at, t.updated_at,
                 (SELECT COUNT(*) FROM todo_comments c WHERE c.todo_id = t.id) AS comment_count,
                 COALESCE((SELECT json_agg(json_build_object('id', s.id, 'name', s.name) ORDER BY s.start_date DESC, s.created_at DESC)
                     FROM todo_sprints ts JOIN sprints s ON s.id = ts.sprint_id WHERE ts.todo_id = t.id), '[]'::json) AS sprints
               FROM todos t WHERE {}) r",
            filter.sql()
        ),
    };
    sqlx::query_scalar_with(sql, filter.arguments()).fetch_one(pool).await
}

/// Raw rows matching `filter`, newest first.
pub async fn rows(pool: &AnyPool, filter: &Filter) -> Result<Vec<Todo>, sqlx::Error> {
    sqlx::query_as_with(sql!("SELECT {COLUMNS} FROM todos WHERE {} ORDER BY created_at DESC, id DESC", filter.sql()), filter.arguments())
        .fetch_all(pool)
        .await
}

pub async fn children(pool: &AnyPool, parent_id: &str) -> Result<Vec<Todo>, sqlx::Error> {
    sqlx::query_as(sql!("SELECT {COLUMNS} FROM todos WHERE parent_id = $1 ORDER BY created_at DESC, id DESC"))
        .bind(parent_id)
        .fetch_all(pool)
        .await
}

/// Status-history rows of the todos matching `filter`.
pub async fn history(pool: &AnyPool, filter: &Filter) -> Result<Vec<crate::domain::analytics::HistoryRow>, sqlx::Error> {
    sqlx::query_as_with(
        sql!("SELECT id, todo_id, new_status, changed_at FROM todo_status_history WHERE todo_id IN (SELECT id FROM todos WHERE {}) ORDER BY id", filter.sql()),
        filter.arguments(),
    )
    .fetch_all(pool)
    .await
}

/// The todos of a sprint, for its points; only those of `project` when one is given (a
/// project's view of a shared sprint counts its own work only).
pub async fn points_of_sprint(pool: &AnyPool, sprint_id: &str, project: Option<&str>) -> Result<Vec<PointsTodo>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.priority, t.status, t.completed_at FROM todos t JOIN todo_sprints ts ON ts.todo_id = t.id \
         WHERE ts.sprint_id = $1 AND ($2 IS NULL OR t.project = $2)",
    )
    .bind(sprint_id)
    .bind(project)
    .fetch_all(pool)
    .await
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Comment {
    pub id: i64,
    pub todo_id: String,
    pub body: String,
    pub author: String,
    pub project_id: Option<String>,
    pub created_at: i64,
}

pub async fn comments(pool: &AnyPool, todo_id: &str) -> Result<Vec<Comment>, sqlx::Error> {
    sqlx::query_as("SELECT id, todo_id, body, author, project_id, created_at FROM todo_comments WHERE todo_id = $1 ORDER BY created_at, id")
        .bind(todo_id)
        .fetch_all(pool)
        .await
}

pub async fn add_comment(conn: &mut WriteConn, todo: &Todo, body: &str, author: &str, now: i64) -> Result<Comment, sqlx::Error> {
    let comment: Comment = sqlx::query_as(
        "INSERT INTO todo_comments (todo_id, body, author, project_id, created_at) VALUES ($1, $2, $3, $4, $5) \
         RETURNING id, todo_id, body, author, project_id, created_at",
    )
    .bind(&todo.id)
    .bind(body)
    .bind(author)
    .bind(&todo.project)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(comment)
}

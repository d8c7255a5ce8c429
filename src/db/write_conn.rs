//! The writer's own connection (decisions.md#writer-connection). On SQLite it is a synchronous
//! connection (rusqlite, over the same bundled SQLite that sqlx's read pool uses) owned by the
//! writer thread: a statement runs where the unit runs, with no hand-off to a worker thread and
//! back. On PostgreSQL it is one sqlx connection, reopened when it breaks.
//!
//! Both speak sqlx's `Executor` for the `Any` database, so every write function keeps its one SQL
//! text and its sqlx query builders (`sqlx::query(..).bind(..).execute(&mut *c)`), and every row
//! type keeps its `sqlx::FromRow`. On SQLite this module binds the query's arguments itself and
//! hands back rows in the shape sqlx's own SQLite driver gives the `Any` driver: a non-null value
//! is typed by its storage class (integer → `BigInt`, real → `Double`, text, blob).

use std::borrow::Cow;
use std::sync::Arc;

use futures_util::future::{self, BoxFuture, FutureExt};
use futures_util::stream::{self, BoxStream, StreamExt};
use rusqlite::types::{ToSqlOutput, ValueRef};
use sqlx::any::{AnyQueryResult, AnyRow, AnyStatement, AnyTypeInfo, AnyTypeInfoKind};
use sqlx::{Any, AnyConnection, Connection, Either, Execute, Executor, SqlStr};
use sqlx_core::any::{AnyArguments, AnyColumn, AnyValue, AnyValueKind};
use sqlx_core::ext::ustr::UStr;

use super::events::NOTIFY_CHANNEL;
use super::writer::EVENTS_LOCK_KEY;

/// Prepared statements kept per connection (least recently used go): the fixed write statements
/// and transaction control stay; rare shapes (a todo update of an unusual set of columns) come and go.
const STATEMENT_CACHE: usize = 256;

#[derive(Debug)]
pub struct WriteConn(Link);

#[derive(Debug)]
enum Link {
    Sqlite(rusqlite::Connection),
    /// `None` after the connection broke and could not be reopened yet; the next transaction retries.
    Postgres {
        url: String,
        conn: Option<AnyConnection>,
    },
}

impl WriteConn {
    /// Opens the SQLite database file with the read pool's settings (`SQLITE_SETTINGS`).
    pub(super) fn open_sqlite(path: &std::path::Path) -> Result<WriteConn, String> {
        let open = || -> rusqlite::Result<rusqlite::Connection> {
            let conn = rusqlite::Connection::open(path)?;
            conn.execute_batch(super::SQLITE_SETTINGS)?;
            // Each unit of a group runs under a savepoint, whose undo pages SQLite keeps in a
            // sub-journal: in memory, not a temporary file written on every change (measured:
            // the file's writes were a quarter of the writer's time under batch upserts).
            conn.pragma_update(None, "temp_store", "MEMORY")?;
            conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            Ok(conn)
        };
        open().map(|conn| WriteConn(Link::Sqlite(conn))).map_err(|e| format!("cannot open the database: {e}"))
    }

    pub(super) async fn open_postgres(url: String) -> Result<WriteConn, String> {
        let conn = connect_postgres(&url).await.map_err(|e| format!("cannot open the database: {e}"))?;
        Ok(WriteConn(Link::Postgres { url, conn: Some(conn) }))
    }

    // Transaction control is the writer's alone (`pub(super)`): a unit that committed or rolled
    // back would take its neighbours' work with it.

    /// Starts the group's transaction, and with `isolate_units` the first unit's savepoint.
    /// SQLite: IMMEDIATE takes the write lock at once, so a concurrent writer elsewhere (a CLI
    /// command) makes BEGIN wait out the busy timeout instead of failing a statement halfway.
    /// PostgreSQL: the transaction first takes the events lock, so event ids follow commit order
    /// (decisions.md#event-ordering) — all in one round trip. A connection that is missing or found
    /// lost here (the server restarted, or ended the session) is reopened and the transaction
    /// started again: nothing of the group has run yet. Connecting and BEGIN give up after
    /// `PG_WAIT`, so a dead server fails the group instead of stalling every write.
    pub(super) async fn begin(&mut self, isolate_units: bool) -> Result<(), sqlx::Error> {
        match &mut self.0 {
            Link::Sqlite(conn) => {
                run_prepared(conn, "BEGIN IMMEDIATE")?;
                if isolate_units {
                    run_prepared(conn, "SAVEPOINT unit")?;
                }
                Ok(())
            }
            Link::Postgres { url, conn } => {
                let savepoint = if isolate_units { "; SAVEPOINT unit" } else { "" };
                let script = format!("BEGIN; SELECT pg_advisory_xact_lock({EVENTS_LOCK_KEY}){savepoint}");
                if let Some(open) = conn {
                    match within_pg_wait(run_script(open, &script)).await {
                        Err(e) if is_connection_lost(&e) => tracing::warn!(error = %e, "the write connection is lost; reopening it"),
                        done => return done,
                    }
                }
                *conn = None;
                let open = conn.insert(connect_postgres(url).await?);
                let begun = within_pg_wait(run_script(open, &script)).await;
                if begun.is_err() {
                    *conn = None;
                }
                begun
            }
        }
    }

    /// Commits; on PostgreSQL the commit also wakes the stream of every replica (the notification
    /// never carries data) in the same round trip.
    pub(super) async fn commit(&mut self) -> Result<(), sqlx::Error> {
        self.control(&["COMMIT"], &format!("SELECT pg_notify('{NOTIFY_CHANNEL}', ''); COMMIT")).await
    }

    pub(super) async fn rollback(&mut self) -> Result<(), sqlx::Error> {
        self.control(&["ROLLBACK"], "ROLLBACK").await
    }

    /// Isolates the next unit of a group: releases its predecessor's savepoint and opens its own
    /// (one round trip on PostgreSQL). A released savepoint's name is free again, so every unit
    /// uses the same name and SQLite keeps both statements prepared.
    pub(super) async fn next_unit(&mut self) -> Result<(), sqlx::Error> {
        self.control(&["RELEASE SAVEPOINT unit", "SAVEPOINT unit"], "RELEASE SAVEPOINT unit; SAVEPOINT unit").await
    }

    /// Undoes the current unit only.
    pub(super) async fn rollback_unit(&mut self) -> Result<(), sqlx::Error> {
        self.control(&["ROLLBACK TO SAVEPOINT unit"], "ROLLBACK TO SAVEPOINT unit").await
    }

    /// Transaction control inside a begun transaction: SQLite's statements run one by one, kept
    /// prepared; PostgreSQL's script goes in one round trip. Never reconnects: on a new session
    /// a COMMIT would "succeed" with nothing to commit.
    async fn control(&mut self, sqlite: &[&str], postgres: &str) -> Result<(), sqlx::Error> {
        match &mut self.0 {
            Link::Sqlite(conn) => sqlite.iter().try_for_each(|statement| run_prepared(conn, statement)),
            Link::Postgres { conn: Some(open), .. } => run_script(open, postgres).await,
            Link::Postgres { conn: None, .. } => Err(lost()),
        }
    }

    /// Leaves whatever transaction a failed group left open. On PostgreSQL a connection that
    /// cannot even roll back is dropped, to be reopened by the next transaction.
    pub(super) async fn abandon_transaction(&mut self) {
        match &mut self.0 {
            Link::Sqlite(conn) => {
                if !conn.is_autocommit()
                    && let Err(e) = run_prepared(conn, "ROLLBACK")
                {
                    tracing::error!(error = %e, "cannot roll back the failed group");
                }
            }
            Link::Postgres { conn, .. } => {
                if let Some(open) = conn
                    && let Err(e) = within_pg_wait(run_script(open, "ROLLBACK")).await
                {
                    tracing::warn!(error = %e, "the write connection is lost; it is reopened for the next group");
                    *conn = None;
                }
            }
        }
    }
}

impl<'c> Executor<'c> for &'c mut WriteConn {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match &mut self.0 {
            Link::Sqlite(conn) => {
                let steps = match run_sqlite(conn, query) {
                    Ok((rows, done)) => rows.into_iter().map(|row| Ok(Either::Right(row))).chain([Ok(Either::Left(done))]).collect(),
                    Err(e) => vec![Err(e)],
                };
                stream::iter(steps).boxed()
            }
            Link::Postgres { conn: Some(conn), .. } => conn.fetch_many(query),
            Link::Postgres { conn: None, .. } => stream::once(future::ready(Err(lost()))).boxed(),
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match &mut self.0 {
            Link::Sqlite(conn) => future::ready(run_sqlite(conn, query).map(|(rows, _)| rows.into_iter().next())).boxed(),
            Link::Postgres { conn: Some(conn), .. } => conn.fetch_optional(query),
            Link::Postgres { conn: None, .. } => future::ready(Err(lost())).boxed(),
        }
    }

    fn prepare_with<'e>(self, sql: SqlStr, parameters: &'e [AnyTypeInfo]) -> BoxFuture<'e, Result<AnyStatement, sqlx::Error>>
    where
        'c: 'e,
    {
        match &mut self.0 {
            Link::Postgres { conn: Some(conn), .. } => conn.prepare_with(sql, parameters),
            _ => future::ready(Err(unsupported("preparing a statement by hand"))).boxed(),
        }
    }

    // Required while sqlx-core's "offline" feature is on (sqlx's "macros" turn it on); ocd never
    // describes queries at run time.
    fn describe<'e>(self, _sql: SqlStr) -> BoxFuture<'e, Result<sqlx_core::describe::Describe<Any>, sqlx::Error>>
    where
        'c: 'e,
    {
        future::ready(Err(unsupported("describing a query"))).boxed()
    }
}

/// How long the writer waits to connect to PostgreSQL or to start a transaction (the old pool's
/// acquire timeout).
const PG_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

async fn connect_postgres(url: &str) -> Result<AnyConnection, sqlx::Error> {
    within_pg_wait(AnyConnection::connect(url)).await
}

async fn within_pg_wait<T>(work: impl std::future::Future<Output = Result<T, sqlx::Error>>) -> Result<T, sqlx::Error> {
    tokio::time::timeout(PG_WAIT, work).await.unwrap_or_else(|_| Err(sqlx::Error::PoolTimedOut))
}

async fn run_script(conn: &mut AnyConnection, script: &str) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(script.to_string())).execute(conn).await.map(|_| ())
}

fn run_prepared(conn: &rusqlite::Connection, statement: &str) -> Result<(), sqlx::Error> {
    conn.prepare_cached(statement).and_then(|mut prepared| prepared.raw_execute()).map(|_| ()).map_err(from_sqlite)
}

/// The session is gone, not the statement refused: the socket failed, the stream broke, a
/// timeout fired, or the server ended the session (SQLSTATE class 08, connection exception, or
/// 57, operator intervention — e.g. `pg_terminate_backend`, a shutdown).
fn is_connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|code| code.starts_with("08") || code.starts_with("57")),
        _ => false,
    }
}

fn lost() -> sqlx::Error {
    sqlx::Error::Protocol("the write connection to the database is lost".into())
}

fn unsupported(what: &str) -> sqlx::Error {
    sqlx::Error::Protocol(format!("{what} is not supported on the writer's connection"))
}

/// Runs one statement to completion: its rows, then how many rows it changed.
fn run_sqlite<'q, E: Execute<'q, Any>>(conn: &rusqlite::Connection, mut query: E) -> Result<(Vec<AnyRow>, AnyQueryResult), sqlx::Error> {
    let arguments = query.take_arguments().map_err(sqlx::Error::Encode)?;
    let sql = query.sql();
    let mut statement = conn.prepare_cached(sql.as_str()).map_err(from_sqlite)?;
    bind(&mut statement, arguments.as_ref())?;
    let columns = Columns::of(&statement);
    let mut rows = Vec::new();
    let mut stepping = statement.raw_query();
    while let Some(row) = stepping.next().map_err(from_sqlite)? {
        rows.push(columns.row(row)?);
    }
    drop(stepping);
    let rows_affected = if statement.readonly() { 0 } else { conn.changes() };
    Ok((rows, AnyQueryResult { rows_affected, last_insert_id: Some(conn.last_insert_rowid()) }))
}

/// Binds `$n` (and `?n`) placeholders to the n-th argument, as sqlx's SQLite driver does: a
/// placeholder used twice is one SQLite parameter bound once.
fn bind(statement: &mut rusqlite::Statement<'_>, arguments: Option<&AnyArguments>) -> Result<(), sqlx::Error> {
    let values = arguments.map(|a| a.values.0.as_slice()).unwrap_or_default();
    for parameter in 1..=statement.parameter_count() {
        let argument = match statement.parameter_name(parameter) {
            None => parameter - 1,
            Some(name) => match name.strip_prefix(['$', '?']).and_then(|n| n.parse::<usize>().ok()) {
                Some(n) if n >= 1 => n - 1,
                _ => return Err(sqlx::Error::Protocol(format!("unsupported placeholder {name}"))),
            },
        };
        let value = values.get(argument).ok_or_else(|| sqlx::Error::Protocol(format!("no argument for placeholder {parameter}")))?;
        statement.raw_bind_parameter(parameter, sqlite_value(value)?).map_err(from_sqlite)?;
    }
    Ok(())
}

fn sqlite_value(value: &AnyValueKind) -> Result<ToSqlOutput<'_>, sqlx::Error> {
    Ok(ToSqlOutput::Borrowed(match value {
        AnyValueKind::Null(_) => ValueRef::Null,
        AnyValueKind::Bool(b) => ValueRef::Integer(i64::from(*b)),
        AnyValueKind::SmallInt(i) => ValueRef::Integer(i64::from(*i)),
        AnyValueKind::Integer(i) => ValueRef::Integer(i64::from(*i)),
        AnyValueKind::BigInt(i) => ValueRef::Integer(*i),
        AnyValueKind::Real(f) => ValueRef::Real(f64::from(*f)),
        AnyValueKind::Double(f) => ValueRef::Real(*f),
        AnyValueKind::Text(s) => ValueRef::Text(s.as_bytes()),
        AnyValueKind::TextSlice(s) => ValueRef::Text(s.as_bytes()),
        AnyValueKind::Blob(b) => ValueRef::Blob(b.as_slice()),
        other => return Err(sqlx::Error::Protocol(format!("cannot bind {other:?}"))),
    }))
}

/// A statement's column names, shared by all its rows.
struct Columns {
    names: Arc<sqlx_core::HashMap<UStr, usize>>,
    columns: Vec<AnyColumn>,
}

impl Columns {
    fn of(statement: &rusqlite::Statement<'_>) -> Columns {
        let columns: Vec<AnyColumn> = (statement.column_names().into_iter().enumerate())
            .map(|(ordinal, name)| AnyColumn { ordinal, name: UStr::new(name), type_info: AnyTypeInfo { kind: AnyTypeInfoKind::Null } })
            .collect();
        let names = columns.iter().map(|c| (c.name.clone(), c.ordinal)).collect();
        Columns { names: Arc::new(names), columns }
    }

    fn row(&self, row: &rusqlite::Row<'_>) -> Result<AnyRow, sqlx::Error> {
        let values = (0..self.columns.len())
            .map(|i| {
                let kind = match row.get_ref(i).map_err(from_sqlite)? {
                    ValueRef::Null => AnyValueKind::Null(AnyTypeInfoKind::Null),
                    ValueRef::Integer(i) => AnyValueKind::BigInt(i),
                    ValueRef::Real(f) => AnyValueKind::Double(f),
                    ValueRef::Text(bytes) => {
                        AnyValueKind::Text(Arc::new(String::from_utf8(bytes.to_vec()).map_err(|e| sqlx::Error::Decode(Box::new(e)))?))
                    }
                    ValueRef::Blob(bytes) => AnyValueKind::Blob(Arc::new(bytes.to_vec())),
                };
                Ok(AnyValue { kind })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(AnyRow { column_names: self.names.clone(), columns: self.columns.clone(), values })
    }
}

/// SQLite's own failures become database errors (so a unique violation still answers 409, see
/// error.rs); anything else rusqlite reports is a driver error.
fn from_sqlite(e: rusqlite::Error) -> sqlx::Error {
    match e {
        rusqlite::Error::SqliteFailure(failure, message) => {
            let message = message.unwrap_or_else(|| failure.to_string());
            sqlx::Error::Database(Box::new(SqliteFailure { code: failure.extended_code, message }))
        }
        other => sqlx::Error::AnyDriverError(Box::new(other)),
    }
}

#[derive(Debug)]
struct SqliteFailure {
    code: std::os::raw::c_int,
    message: String,
}

impl std::fmt::Display for SqliteFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (SQLite code {})", self.message, self.code)
    }
}

impl std::error::Error for SqliteFailure {}

impl sqlx::error::DatabaseError for SqliteFailure {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Owned(self.code.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        use rusqlite::ffi;
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => sqlx::error::ErrorKind::UniqueViolation,
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => sqlx::error::ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => sqlx::error::ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => sqlx::error::ErrorKind::CheckViolation,
            _ => sqlx::error::ErrorKind::Other,
        }
    }
}

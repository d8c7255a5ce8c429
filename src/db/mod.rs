//! Storage: a pool of read connections and one group-commit writer, over SQLite or
//! PostgreSQL through sqlx's `Any` driver. One file per table group.

/// SQL assembled with `format!` from constant fragments and `$n` placeholders only — never
/// from input, which is always bound.
macro_rules! sql {
    ($($arg:tt)*) => { sqlx::AssertSqlSafe(format!($($arg)*)) };
}

pub mod activity;
pub mod affinity;
pub mod agents;
pub mod alert_queue;
pub mod alert_rules;
pub mod alerts;
pub mod api_keys;
pub mod approvals;
pub mod auth_sessions;
pub mod backup;
pub mod board;
pub mod channels;
pub mod commands;
pub mod deliveries;
pub mod error_windows;
pub mod events;
pub mod ingest_keys;
pub mod invites;
pub mod linear;
pub mod linear_webhooks;
pub mod messages;
pub mod otlp_series;
pub mod projects;
pub mod sessions;
pub mod settings;
pub mod sprints;
pub mod sweeps;
pub mod timers;
pub mod todos;
pub mod users;
pub mod v2;
pub mod workflows;
mod write_conn;
mod writer;

use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

use crate::error::AppResult;
pub use write_conn::WriteConn;
pub use writer::WriteStats;
use writer::Writer;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Db {
    pub read: AnyPool,
    pub backend: Backend,
    writer: Writer,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Db {
    /// Connects, applies pending migrations and starts the writer.
    pub async fn connect(url: &str, writer_cpu: affinity::WriterCpu) -> Result<Db, String> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url).ok_or_else(|| "DATABASE_URL must start with sqlite: or postgres://".to_string())?;
        if backend == Backend::Sqlite {
            if url.contains(":memory:") || url.contains("mode=memory") {
                return Err("DATABASE_URL: an in-memory SQLite database cannot be shared by the writer and the readers; name a file".into());
            }
            owner_only_sqlite_files(url).map_err(|e| format!("cannot prepare the database file: {e}"))?;
        }
        let url = match backend {
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_string(),
        };
        // The writer owns its connection on a thread of its own (see writer.rs) and applies
        // the migrations before anything reads.
        let writer = Writer::start(url.clone(), backend, writer_cpu).await?;
        let readers = match backend {
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        };
        let read = pool_options(backend, readers).connect(&url).await.map_err(|e| format!("cannot open the database: {e}"))?;
        Ok(Db { read, backend, writer })
    }

    /// Runs `unit` inside the writer's transaction under its own savepoint and answers once
    /// the group it joined has committed (decisions.md#group-commit, decisions.md#acknowledged-writes). A failing unit is rolled back alone.
    pub async fn write<T, F>(&self, unit: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut WriteConn) -> BoxFuture<'c, AppResult<T>> + Send + 'static,
    {
        self.writer.write(unit).await
    }

    /// Number of groups committed by this process's writer so far.
    pub fn commit_count(&self) -> u64 {
        *self.writer.subscribe().borrow()
    }

    pub fn write_stats(&self) -> WriteStats {
        self.writer.stats()
    }

    /// Resolves when a group that appended events has committed (the stream's wake-up).
    pub fn subscribe_commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.writer.subscribe()
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.read).await.map(|_| ())
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.writer.close().await;
    }
}

/// Every SQLite connection's settings, the writer's included. WAL with synchronous=NORMAL: a
/// committed write survives a process crash (decisions.md#acknowledged-writes).
pub(crate) const SQLITE_SETTINGS: &str =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;";

pub(crate) fn pool_options(backend: Backend, max: u32) -> AnyPoolOptions {
    let options = AnyPoolOptions::new().max_connections(max).acquire_timeout(Duration::from_secs(10));
    match backend {
        Backend::Sqlite => options.after_connect(|conn, _| Box::pin(async move { conn.execute(SQLITE_SETTINGS).await.map(|_| ()) })),
        Backend::Postgres => options,
    }
}

pub(crate) async fn migrate(pool: &AnyPool, backend: Backend) -> Result<(), String> {
    let migrator = match backend {
        Backend::Sqlite => &SQLITE_MIGRATIONS,
        Backend::Postgres => &POSTGRES_MIGRATIONS,
    };
    migrator.run(pool).await.map_err(|e| format!("database migration failed: {e}"))
}

/// The SQLite database holds every secret's hash and the sealed messages: it (and the WAL and
/// shared-memory files SQLite creates with the database file's mode) is readable by its owner
/// only. The file is created empty with that mode before SQLite opens it.
fn owner_only_sqlite_files(url: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path.starts_with(':') {
        return Ok(());
    }
    std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{path}{suffix}");
        if std::path::Path::new(&file).exists() {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

/// The most values one `IN (…)` list binds: SQLite allows at most 32,766 variables in a
/// statement and PostgreSQL 65,535, so longer lists are sent in chunks of this size.
pub const IN_CHUNK: usize = 1_000;

/// Placeholder list `$from, $from+1, …` for `IN (…)` clauses.
pub fn placeholders(from: usize, count: usize) -> String {
    (from..from + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

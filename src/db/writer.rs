//! The group-commit writer (decisions.md#group-commit): one task owns the write connection, drains the
//! queued units, runs each under its own SAVEPOINT inside one transaction, commits once and
//! answers every caller after the commit.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, oneshot, watch};

use super::Backend;
use super::write_conn::WriteConn;
use crate::error::{AppError, AppResult};

/// Called with the group's commit outcome.
type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;
type Unit = Box<dyn for<'c> FnOnce(&'c mut WriteConn) -> BoxFuture<'c, (bool, Completion)> + Send>;

const QUEUE: usize = 8192;
const MAX_GROUP: usize = 512;
/// Key of the advisory lock that makes PostgreSQL assign event ids in commit order (decisions.md#event-ordering).
pub const EVENTS_LOCK_KEY: i64 = 0x6f63_645f_6576;

#[derive(Clone, Debug)]
pub struct Writer {
    queue: mpsc::Sender<Unit>,
    stats: Arc<Counters>,
    commits: watch::Receiver<u64>,
    stop: Arc<watch::Sender<bool>>,
    thread: Arc<std::sync::Mutex<Option<std::thread::JoinHandle<()>>>>,
}

#[derive(Debug, Default)]
struct Counters {
    groups: AtomicU64,
    units: AtomicU64,
    /// Histogram of group sizes: buckets 1, 2, 4, … 512.
    size_buckets: [AtomicU64; 10],
}

/// Figures for `/metrics`.
#[derive(Debug, Clone)]
pub struct WriteStats {
    pub groups: u64,
    pub units: u64,
    /// (upper bound, cumulative count)
    pub size_buckets: Vec<(u64, u64)>,
    /// Units waiting for the writer now.
    pub queued: usize,
}

impl Writer {
    /// Opens the write connection, applies migrations, and runs the writer on a dedicated
    /// thread with its own single-threaded runtime: each unit is a chain of statement
    /// round-trips, and on the shared runtime every wake-up would queue behind the request
    /// tasks (measured: about half the throughput).
    pub async fn start(url: String, backend: Backend, cpu: super::affinity::WriterCpu) -> Result<Writer, String> {
        let (queue, rx) = mpsc::channel(QUEUE);
        let (commit_tx, commits) = watch::channel(0);
        let (stop, stopped) = watch::channel(false);
        let stats = Arc::new(Counters::default());
        let (ready_tx, ready) = oneshot::channel::<Result<(), String>>();
        let thread_stats = stats.clone();
        let thread = std::thread::Builder::new()
            .name("ocd-writer".into())
            .spawn(move || {
                // First, so the migration pool's worker thread starts on the same core.
                match super::affinity::pin_current_thread(cpu) {
                    Ok(Some(core)) => tracing::info!(core, "the writer runs on one core"),
                    Ok(None) => {}
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                }
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("cannot start the writer: {e}")));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let mut conn = match open(&url, backend).await {
                        Ok(conn) => conn,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    run(&mut conn, rx, thread_stats, commit_tx, stopped).await;
                });
            })
            .map_err(|e| format!("cannot start the writer thread: {e}"))?;
        ready.await.map_err(|_| "the writer thread ended during start-up".to_string())??;
        Ok(Writer { queue, stats, commits, stop: Arc::new(stop), thread: Arc::new(std::sync::Mutex::new(Some(thread))) })
    }

    pub async fn write<T, F>(&self, unit: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut WriteConn) -> BoxFuture<'c, AppResult<T>> + Send + 'static,
    {
        let (done, answer) = oneshot::channel::<AppResult<T>>();
        let boxed: Unit = Box::new(move |conn| {
            Box::pin(async move {
                let result = unit(conn).await;
                let ok = result.is_ok();
                let completion: Completion = Box::new(move |commit| {
                    let outcome = match (result, commit) {
                        (Ok(value), Ok(())) => Ok(value),
                        (Err(e), _) => Err(e),
                        (Ok(_), Err(cause)) => Err(AppError::Internal(cause)),
                    };
                    let _ = done.send(outcome);
                });
                (ok, completion)
            })
        });
        self.queue.send(boxed).await.map_err(|_| AppError::Unavailable)?;
        answer.await.map_err(|_| AppError::internal("the write was abandoned (database failure, see the log)"))?
    }

    pub fn stats(&self) -> WriteStats {
        let mut cumulative = 0;
        let size_buckets = self
            .stats
            .size_buckets
            .iter()
            .enumerate()
            .map(|(i, c)| {
                cumulative += c.load(Ordering::Relaxed);
                (1u64 << i, cumulative)
            })
            .collect();
        WriteStats {
            groups: self.stats.groups.load(Ordering::Relaxed),
            units: self.stats.units.load(Ordering::Relaxed),
            size_buckets,
            queued: self.queued(),
        }
    }

    /// Units waiting for the writer.
    fn queued(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.commits.clone()
    }

    /// Stops the writer; call after the server has drained its requests, so nothing is queued.
    pub async fn close(&self) {
        self.stop.send_replace(true);
        let thread = match self.thread.lock() {
            Ok(mut guard) => guard.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

/// Applies the migrations (through sqlx, which owns them), then opens the writer's connection.
async fn open(url: &str, backend: Backend) -> Result<WriteConn, String> {
    let pool = super::pool_options(backend, 1).connect(url).await.map_err(|e| format!("cannot open the database: {e}"))?;
    super::migrate(&pool, backend).await?;
    // Dropped, not closed: its connection ends in the background while the writer's opens
    // (waiting for it would only delay the start).
    drop(pool);
    match backend {
        Backend::Sqlite => {
            let options: sqlx::sqlite::SqliteConnectOptions = url.parse().map_err(|e| format!("DATABASE_URL: {e}"))?;
            WriteConn::open_sqlite(options.get_filename())
        }
        Backend::Postgres => WriteConn::open_postgres(url.to_string()).await,
    }
}

async fn run(
    conn: &mut WriteConn,
    mut rx: mpsc::Receiver<Unit>,
    stats: Arc<Counters>,
    commits: watch::Sender<u64>,
    mut stop: watch::Receiver<bool>,
) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    loop {
        let first = tokio::select! {
            unit = rx.recv() => match unit {
                Some(unit) => unit,
                None => return,
            },
            _ = stop.changed() => return,
        };
        group.push(first);
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(unit) => group.push(unit),
                Err(_) => break,
            }
        }
        let size = group.len() as u64;
        let mut completions = Vec::with_capacity(group.len());
        let outcome = run_group(conn, &mut group, &mut completions).await;
        if outcome.is_err() {
            conn.abandon_transaction().await;
        }
        // Units that never ran (the transaction failed before them) are dropped: their
        // callers get an error, and nothing of theirs was written.
        group.clear();
        let commit = outcome.map_err(|e| {
            tracing::error!(error = %e, "group commit failed");
            format!("group commit failed: {e}")
        });
        if commit.is_ok() {
            stats.groups.fetch_add(1, Ordering::Relaxed);
            stats.units.fetch_add(size, Ordering::Relaxed);
            let bucket = (64 - (size.max(1) - 1).leading_zeros()) as usize;
            stats.size_buckets[bucket.min(9)].fetch_add(1, Ordering::Relaxed);
            commits.send_modify(|n| *n += 1);
        }
        for completion in completions {
            completion(commit.clone());
        }
    }
}

/// Runs the group in one transaction.
async fn run_group(conn: &mut WriteConn, group: &mut Vec<Unit>, completions: &mut Vec<Completion>) -> Result<(), sqlx::Error> {
    conn.begin(group.len() > 1).await?;
    if group.len() == 1 {
        // Alone in its group: the transaction itself isolates the unit, no savepoint needed.
        if let Some(unit) = group.pop() {
            match AssertUnwindSafe(unit(conn)).catch_unwind().await {
                Ok((true, completion)) => completions.push(completion),
                Ok((false, completion)) => {
                    completions.push(completion);
                    return conn.rollback().await;
                }
                Err(_) => {
                    tracing::error!("a write unit panicked; it was rolled back");
                    return conn.rollback().await;
                }
            }
        }
    } else {
        for (i, unit) in group.drain(..).enumerate() {
            if i > 0 {
                conn.next_unit().await?;
            }
            let (ok, completion) = match AssertUnwindSafe(unit(conn)).catch_unwind().await {
                Ok(done) => (done.0, Some(done.1)),
                Err(_) => {
                    tracing::error!("a write unit panicked; it was rolled back");
                    (false, None)
                }
            };
            if !ok {
                conn.rollback_unit().await?;
            }
            completions.extend(completion);
        }
    }
    conn.commit().await
}

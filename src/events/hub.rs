//! The hub: tails the `events` table after every local commit, on a PostgreSQL NOTIFY from
//! another replica, and once a second regardless (a missed wake-up only delays), and
//! broadcasts each event once, pre-framed, to every subscribed stream.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{Notify, broadcast, watch};

use crate::crypto::Sealer;
use crate::db::Db;
use crate::db::events::{self, StoredEvent};

const PAGE: i64 = 1000;
const POLL: Duration = Duration::from_secs(1);
/// PostgreSQL channel that carries the wake-up (never data).
pub use crate::db::events::NOTIFY_CHANNEL as CHANNEL;

/// One event as streams send it.
#[derive(Debug)]
pub struct Frame {
    pub id: i64,
    pub project: Option<String>,
    pub bytes: Bytes,
}

impl Frame {
    pub fn of(event: &StoredEvent) -> Frame {
        Frame { id: event.id, project: event.project.clone(), bytes: frame(Some(event.id), &event.name, &event.payload.to_string()) }
    }
}

/// `id:`/`event:`/`data:` lines of one server-sent event.
pub fn frame(id: Option<i64>, name: &str, data: &str) -> Bytes {
    let mut out = String::with_capacity(data.len() + name.len() + 32);
    if let Some(id) = id {
        out.push_str("id: ");
        out.push_str(&id.to_string());
        out.push('\n');
    }
    out.push_str("event: ");
    out.push_str(name);
    out.push_str("\ndata: ");
    // A JSON text has no raw newlines, so one data line carries it.
    out.push_str(data);
    out.push_str("\n\n");
    Bytes::from(out)
}

pub struct Hub {
    sender: broadcast::Sender<Arc<Frame>>,
    /// Id of the newest event broadcast so far.
    last: AtomicI64,
    wake: Notify,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").field("last", &self.last).finish_non_exhaustive()
    }
}

impl Hub {
    /// Starts tailing from the newest event already stored.
    pub async fn start(db: Db, sealer: Sealer, database_url: Option<String>, buffer: usize) -> Result<Arc<Hub>, String> {
        let last = events::latest_id(&db.read).await.map_err(|e| format!("cannot read the event log: {e}"))?;
        let (sender, _) = broadcast::channel(buffer);
        let hub = Arc::new(Hub { sender, last: AtomicI64::new(last), wake: Notify::new() });
        if let Some(url) = database_url.filter(|_| db.backend == crate::db::Backend::Postgres) {
            tokio::spawn(listen(url, Arc::downgrade(&hub)));
        }
        tokio::spawn(tail(db.clone(), sealer, db.subscribe_commits(), Arc::downgrade(&hub)));
        Ok(hub)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Frame>> {
        self.sender.subscribe()
    }

    pub fn last_id(&self) -> i64 {
        self.last.load(Ordering::SeqCst)
    }

    pub fn streams(&self) -> usize {
        self.sender.receiver_count()
    }
}

/// How a wait for an event ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woken {
    /// A matching event arrived, or events were missed (the receiver lagged): look again.
    LookAgain,
    /// The deadline passed first.
    Deadline,
    /// The hub is gone (shutting down): nothing will wake the waiter any more.
    Closed,
}

/// Waits on `live` until an event whose frame text `matches` arrives, or `deadline`. Subscribe
/// before looking at the state the event would change, so a change in between still wakes.
/// This is how requests wait for something without a thread or a query of their own (a
/// long-polled command, a held permission request).
pub async fn wait_for(live: &mut broadcast::Receiver<Arc<Frame>>, deadline: tokio::time::Instant, matches: impl Fn(&str) -> bool) -> Woken {
    let woken = tokio::time::timeout_at(deadline, async {
        loop {
            match live.recv().await {
                Ok(frame) if matches(&String::from_utf8_lossy(&frame.bytes)) => return Woken::LookAgain,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => return Woken::LookAgain,
                Err(broadcast::error::RecvError::Closed) => return Woken::Closed,
            }
        }
    })
    .await;
    woken.unwrap_or(Woken::Deadline)
}

/// Reads and broadcasts every event after the last one, page by page.
async fn drain(db: &Db, sealer: &Sealer, hub: &Hub) {
    loop {
        let after = hub.last.load(Ordering::SeqCst);
        let page = match events::after(&db.read, sealer, after, PAGE).await {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!(error = %e, "stream: reading the event log failed; retrying");
                return;
            }
        };
        for event in &page {
            hub.last.store(event.id, Ordering::SeqCst);
            // No receivers is fine: nobody is listening.
            let _ = hub.sender.send(Arc::new(Frame::of(event)));
        }
        if (page.len() as i64) < PAGE {
            return;
        }
    }
}

async fn tail(db: Db, sealer: Sealer, mut commits: watch::Receiver<u64>, hub: std::sync::Weak<Hub>) {
    loop {
        let Some(strong) = hub.upgrade() else { return };
        drain(&db, &sealer, &strong).await;
        tokio::select! {
            changed = commits.changed() => if changed.is_err() { return },
            () = strong.wake.notified() => {},
            () = tokio::time::sleep(POLL) => {},
        }
    }
}

/// Wakes the tailer on every NOTIFY from any replica; reconnects after errors.
async fn listen(url: String, hub: std::sync::Weak<Hub>) {
    loop {
        match sqlx::postgres::PgListener::connect(&url).await {
            Ok(mut listener) => {
                if let Err(e) = listener.listen(CHANNEL).await {
                    tracing::warn!(error = %e, "stream: LISTEN failed");
                } else {
                    loop {
                        match listener.recv().await {
                            Ok(_) => match hub.upgrade() {
                                Some(hub) => hub.wake.notify_one(),
                                None => return,
                            },
                            Err(e) => {
                                tracing::warn!(error = %e, "stream: notification connection lost");
                                break;
                            }
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "stream: cannot connect for notifications"),
        }
        if hub.upgrade().is_none() {
            return;
        }
        tokio::time::sleep(POLL).await;
    }
}

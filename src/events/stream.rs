//! `GET /api/stream`: Server-Sent Events (decisions.md#stream-resumption, decisions.md#stream-resumption). `connected` first; with `Last-Event-ID`
//! (header or `?last_event_id=`) the missed events are replayed from the log and the stream
//! continues live with nothing lost or repeated; `reset` when that id is no longer in the
//! log; `ping` keeps the connection alive; `?project=` narrows it to one project (decisions.md#project-filter).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{broadcast, watch};

use super::hub::{Frame, frame};
use crate::db::events;
use crate::error::{AppError, AppResult};
use crate::http::json::Params;
use crate::state::App;

const PAGE: i64 = 500;
/// Live frames sent together at most, when several are already waiting.
const BATCH: usize = 64;

pub async fn stream(State(app): State<App>, params: Params, headers: HeaderMap) -> AppResult<Response> {
    let resume = last_event_id(&headers, &params)?;
    let project = params.non_empty("project").map(String::from);
    // Subscribe before reading the log, so whatever commits from here on arrives live.
    let live = app.hub.subscribe();
    let latest = events::latest_id(&app.db.read).await?;
    let mut pending = VecDeque::from([frame(None, "connected", r#"{"connected":true}"#)]);
    let (last, replaying) = match resume {
        None => (latest, false),
        Some(id) => {
            let pruned = events::pruned_through(&app.db.read).await?;
            if id < pruned || id > latest {
                let reason = if id > latest { "unknown event id" } else { "events since that id were pruned" };
                pending.push_back(frame(Some(latest), "reset", &serde_json::json!({ "reason": reason }).to_string()));
                (latest, false)
            } else {
                (id, true)
            }
        }
    };
    let period = Duration::from_secs(app.config.stream_ping_seconds.max(1));
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let state = StreamState { shutdown: app.shutdown.subscribe(), app, live, last, project, replaying, ending: false, pending, ping };
    let body = futures_util::stream::unfold(state, |mut s| async move { s.next().await.map(|b| (Ok::<Bytes, Infallible>(b), s)) });
    let mut response = Response::new(Body::from_stream(body));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

fn last_event_id(headers: &HeaderMap, params: &Params) -> AppResult<Option<i64>> {
    let bad = || AppError::BadRequest("Last-Event-ID must be an event id".into());
    // A header that is not visible ASCII is as wrong as `abc`, not absent.
    let header = match headers.get("last-event-id") {
        Some(v) => Some(v.to_str().map_err(|_| bad())?),
        None => None,
    };
    let raw = header.or_else(|| params.get("last_event_id"));
    match raw.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse::<i64>().ok().filter(|id| *id >= 0).map(Some).ok_or_else(bad),
    }
}

struct StreamState {
    app: App,
    live: broadcast::Receiver<Arc<Frame>>,
    /// Newest event id this stream has passed (sent or filtered out).
    last: i64,
    project: Option<String>,
    replaying: bool,
    /// Set when the stream must end once `pending` is sent (a replay failed).
    ending: bool,
    pending: VecDeque<Bytes>,
    ping: tokio::time::Interval,
    shutdown: watch::Receiver<bool>,
}

impl StreamState {
    fn wants(&self, project: Option<&str>) -> bool {
        match &self.project {
            None => true,
            Some(p) => project == Some(p.as_str()),
        }
    }

    /// Queues a live frame unless it was already passed or belongs to another project.
    fn accept(&mut self, f: &Frame) {
        if f.id > self.last {
            self.last = f.id;
            if self.wants(f.project.as_deref()) {
                self.pending.push_back(f.bytes.clone());
            }
        }
    }

    /// The next bytes to send, or `None` to end the stream.
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some(bytes) = self.pending.pop_front() {
                return Some(bytes);
            }
            if *self.shutdown.borrow() || self.ending {
                return None;
            }
            if self.replaying {
                let page = match events::after(&self.app.db.read, &self.app.sealer, self.last, PAGE).await {
                    Ok(page) => page,
                    Err(e) => {
                        // Say why the stream ends; the client resumes from its last id.
                        tracing::warn!(error = %e, last = self.last, "stream replay failed; ending the stream");
                        let reason = serde_json::json!({"error": "Replay failed; reconnect to resume", "last_event_id": self.last});
                        self.pending.push_back(frame(None, "error", &reason.to_string()));
                        self.ending = true;
                        continue;
                    }
                };
                self.replaying = page.len() as i64 == PAGE;
                for event in &page {
                    self.last = event.id;
                    if self.wants(event.project.as_deref()) {
                        self.pending.push_back(Frame::of(event).bytes);
                    }
                }
                continue;
            }
            tokio::select! {
                biased;
                _ = self.shutdown.changed() => return None,
                received = self.live.recv() => match received {
                    Ok(f) => {
                        self.accept(&f);
                        // Whatever else is already waiting goes out in the same write.
                        while self.pending.len() < BATCH {
                            match self.live.try_recv() {
                                Ok(f) => self.accept(&f),
                                Err(TryRecvError::Lagged(missed)) => {
                                    tracing::info!(missed, last = self.last, "stream fell behind and was disconnected");
                                    return None;
                                }
                                Err(_) => break,
                            }
                        }
                        if !self.pending.is_empty() {
                            let mut out = BytesMut::new();
                            for bytes in self.pending.drain(..) {
                                out.extend_from_slice(&bytes);
                            }
                            return Some(out.freeze());
                        }
                    }
                    Err(RecvError::Lagged(missed)) => {
                        // Too slow: end the stream; the client resumes from its last id.
                        tracing::info!(missed, last = self.last, "stream fell behind and was disconnected");
                        return None;
                    }
                    Err(RecvError::Closed) => return None,
                },
                _ = self.ping.tick() => return Some(frame(None, "ping", "{}")),
            }
        }
    }
}

//! The accept loop. axum's own `serve` sets no timer and no cap, so a client could hold
//! connections open forever; here:
//! - at most `max_connections` are open at once (streams and long-polls included); more are
//!   closed at once, with a log line;
//! - a connection must send its first byte within `first_byte` and each request's headers
//!   within `headers`; a request body that sends nothing for `body_stall` fails;
//! - shutdown drains connections gracefully.
//!
//! Streams, long-polls and held requests have no total-duration limit.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::response::Response;
use bytes::Bytes;
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_service::Service;

/// How long shutdown waits for open connections before it lets them go.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The connection limits (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub first_byte: Duration,
    pub headers: Duration,
    pub body_stall: Duration,
    pub max_connections: usize,
}

/// The router, with the peer address every request of one connection carries and the
/// request body guarded against stalls.
#[derive(Clone)]
struct WithPeer {
    router: Router,
    peer: SocketAddr,
    body_stall: Duration,
}

impl Service<Request<Incoming>> for WithPeer {
    type Response = Response;
    type Error = Infallible;
    type Future = <Router as Service<Request<StallGuard>>>::Future;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Incoming>) -> Self::Future {
        let mut req = req.map(|body| StallGuard { inner: body, stall: self.body_stall, timer: None, received: 0 });
        req.extensions_mut().insert(ConnectInfo(self.peer));
        self.router.call(req)
    }
}

/// A request body that fails when it makes too little progress while it is being read: less
/// than `MIN_PROGRESS_BYTES` within `stall` (and not finished). A client that stops sending,
/// or trickles a byte now and then to hold the connection, is cut off; any real upload sends
/// far more than that in the time.
struct StallGuard {
    inner: Incoming,
    stall: Duration,
    /// Runs from the last time enough arrived; bytes received since then.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    received: usize,
}

/// The least a body must send per stall window to count as moving.
const MIN_PROGRESS_BYTES: usize = 1024;

impl hyper::body::Body for StallGuard {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let stall = this.stall;
        let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.received += frame.data_ref().map_or(0, |d| d.len());
                if this.received >= MIN_PROGRESS_BYTES {
                    // Enough arrived: a new window starts.
                    this.received = 0;
                    this.timer = None;
                } else if timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Some(Err("the request body is too slow".into())));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(other) => Poll::Ready(other.map(|f| f.map_err(Into::into))),
            Poll::Pending => match timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err("the request body stalled".into()))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// The open-file limit of this process (`/proc/self/limits`), if it can be read.
fn descriptor_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Descriptors kept free for the database, log files and the listener.
const RESERVED_DESCRIPTORS: usize = 64;

/// Serves `router` until `shutdown` resolves, then calls `on_shutdown` (which ends streams)
/// and waits for open connections to finish.
pub async fn serve(listener: TcpListener, router: Router, limits: Limits, shutdown: impl Future<Output = ()>, on_shutdown: impl FnOnce()) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.headers);
    let graceful = GracefulShutdown::new();
    let max = match descriptor_limit() {
        Some(fds) if fds.saturating_sub(RESERVED_DESCRIPTORS) < limits.max_connections => {
            let max = fds.saturating_sub(RESERVED_DESCRIPTORS).max(1);
            tracing::warn!(max_connections = max, "MAX_CONNECTIONS lowered below the open-file limit ({fds})");
            max
        }
        _ => limits.max_connections,
    };
    let slots = Arc::new(Semaphore::new(max));
    let mut last_refusal_log = None::<Instant>;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // At the cap: close at once. One log line a second at most, however many arrive.
            if last_refusal_log.is_none_or(|at: Instant| at.elapsed() >= Duration::from_secs(1)) {
                tracing::warn!(max_connections = max, %peer, "connection refused: MAX_CONNECTIONS reached");
                last_refusal_log = Some(Instant::now());
            }
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(WithPeer { router: router.clone(), peer, body_stall: limits.body_stall });
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _slot = slot;
            // A client that connects and sends nothing is closed (peek leaves the byte to hyper).
            match tokio::time::timeout(limits.first_byte, stream.peek(&mut [0u8; 1])).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return,
            }
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            let _ = watcher.watch(connection).await;
        });
    }
    drop(listener);
    on_shutdown();
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after {DRAIN_TIMEOUT:?}; closing them");
    }
}

//! The state every part of the server shares: storage, clock, configuration, the event hub,
//! caches and limiters. Built once by `app.rs`; handlers, the gate, jobs and pages read it.

use std::sync::Arc;

use tokio::sync::watch;

use crate::auth::authenticate::Authenticator;
use crate::auth::github::GitHub;
use crate::clock::SharedClock;
use crate::config::{Config, IpNet};
use crate::crypto::Sealer;
use crate::db::Db;
use crate::events::hub::Hub;
use crate::http::access::Rule;
use crate::http::list_cache::ListCache;
use crate::http::metrics::Metrics;
use crate::http::ratelimit::RateLimiter;

pub struct AppState {
    pub db: Db,
    pub clock: SharedClock,
    pub sealer: Sealer,
    pub config: Config,
    pub auth: Authenticator,
    pub github: GitHub,
    pub base_path: String,
    pub allowed_origins: Vec<String>,
    pub trusted_proxies: Vec<IpNet>,
    pub limiter: RateLimiter,
    pub metrics: Metrics,
    pub routes: Vec<Rule>,
    pub hub: Arc<Hub>,
    pub list_cache: ListCache,
    /// Agents whose heartbeat or usage changed, for the coalesced `agent:usage` events.
    pub usage: crate::events::usage::UsageFeed,
    /// Turns true when the server starts shutting down: streams and jobs end.
    pub shutdown: watch::Sender<bool>,
    /// `http://address:port` of the listening socket, once serving.
    pub listening: std::sync::OnceLock<String>,
    /// Host names served with DISABLE_AUTH (`None`: any), see http/open_mode.rs.
    pub open_mode_hosts: Option<Vec<String>>,
    /// Failed authentications per client address (`AUTH_FAILURE_LIMIT_PER_MINUTE`).
    pub auth_failures: RateLimiter,
    /// The client notifications are sent with (notify/).
    pub notify_http: reqwest::Client,
    /// Linear's API (configured by LINEAR_API_KEY and LINEAR_API_URL).
    pub linear: crate::linear::Linear,
    /// Held while this process syncs Linear: one sync at a time.
    pub linear_sync: tokio::sync::Mutex<()>,
    /// The VAPID key pair, loaded from the database on first use (notify::vapid).
    pub vapid: tokio::sync::OnceCell<Arc<crate::notify::webpush::Vapid>>,
}

impl AppState {
    /// The absolute address of `path` (which starts with `/`) on this server, for links sent
    /// outside the dashboard (notifications): PUBLIC_URL's origin, else the listening address,
    /// plus BASE_PATH.
    pub fn site_url(&self, path: &str) -> String {
        let origin = crate::auth::csrf::site_origin(self.config.public_url.as_deref(), &self.listen_origin());
        format!("{origin}{}{path}", self.base_path)
    }

    /// Where ocd listens, for links it sends browsers to when no PUBLIC_URL is set.
    pub fn listen_origin(&self) -> String {
        match self.listening.get() {
            Some(origin) => origin.clone(),
            None => format!("http://{}:{}", self.config.host, self.config.port),
        }
    }
}

pub type App = Arc<AppState>;

impl AppState {
    /// Runs `task` every `period` in the background until the server shuts down; a failed run
    /// is logged as `what` and the next one goes ahead.
    pub fn every<F, Fut>(self: &Arc<Self>, period: std::time::Duration, what: &'static str, task: F)
    where
        F: Fn(App) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = crate::error::AppResult<()>> + Send,
    {
        let app = self.clone();
        tokio::spawn(async move {
            let mut shutdown = app.shutdown.subscribe();
            loop {
                tokio::select! {
                    _ = shutdown.changed() => return,
                    () = tokio::time::sleep(period) => {},
                }
                if let Err(e) = task(app.clone()).await {
                    tracing::warn!(error = %e, "{what} failed");
                }
            }
        });
    }
}

//! Building and serving the application: the shared state (`state.rs`) wired up, the router,
//! graceful shutdown.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::authenticate::Authenticator;
use crate::auth::cookies::Cookies;
use crate::auth::github::GitHub;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::crypto::Sealer;
use crate::datadir::{BootstrapKey, DataDir};
use crate::db::Db;
use crate::events::hub::Hub;
use crate::http::list_cache::ListCache;
use crate::http::metrics::Metrics;
use crate::http::ratelimit::RateLimiter;
pub use crate::state::{App, AppState};

/// A built application, ready to serve.
pub struct Built {
    pub app: App,
    pub bootstrap: BootstrapKey,
    pub data_dir: DataDir,
}

/// The data directory (decisions.md#data-directory), created if needed, and the database URL the configuration names.
pub fn storage(config: &Config) -> Result<(DataDir, String), String> {
    let dir = config.data_dir();
    let data_dir = DataDir::open(&dir).map_err(|e| format!("cannot use data dir {}: {e}", dir.display()))?;
    let url = config.database_url.clone().unwrap_or_else(|| data_dir.database_url());
    Ok((data_dir, url))
}

impl Built {
    pub async fn new(config: Config, clock: SharedClock) -> Result<Built, String> {
        let (data_dir, url) = storage(&config)?;
        let key = data_dir.secret_key().map_err(|e| format!("cannot read secret.key: {e}"))?;
        let bootstrap = data_dir.bootstrap_key(config.dashboard_api_key.as_deref()).map_err(|e| format!("cannot read api.key: {e}"))?;
        let db = Db::connect(&url, config.writer_cpu).await?;
        let sealer = Sealer::new(&key);
        let hub = Hub::start(db.clone(), sealer.clone(), Some(url.clone()), config.stream_buffer_events as usize).await?;
        let trusted_proxies = config.trusted_proxies()?;
        let github = GitHub::new(
            &config.github_oauth_url,
            &config.github_api_url,
            config.github_client_id.as_deref(),
            config.github_client_secret.as_deref(),
        )?;
        let app = Arc::new(AppState {
            db,
            clock,
            sealer,
            hub,
            list_cache: ListCache::default(),
            usage: Default::default(),
            shutdown: watch::channel(false).0,
            auth: Authenticator {
                bootstrap_key: bootstrap.key.clone(),
                disable_auth: config.disable_auth,
                cookies: Cookies { secure: config.public_url.as_deref().is_some_and(|u| u.starts_with("https://")) },
            },
            github,
            base_path: config.base_path(),
            allowed_origins: config.allowed_origins(),
            trusted_proxies,
            limiter: RateLimiter::new(config.rate_limit_window_ms, config.rate_limit_max_requests),
            auth_failures: RateLimiter::new(60_000, config.auth_failure_limit_per_minute),
            listening: std::sync::OnceLock::new(),
            open_mode_hosts: crate::http::open_mode::own_hosts(config.host, config.public_url.as_deref()),
            metrics: Metrics::default(),
            notify_http: crate::notify::http_client()?,
            linear: crate::linear::Linear::new(&config.linear_api_url, config.linear_api_key.as_deref())?,
            linear_sync: tokio::sync::Mutex::new(()),
            vapid: tokio::sync::OnceCell::new(),
            routes: crate::routes::rules(),
            config,
        });
        if app.config.disable_auth && app.open_mode_hosts.is_none() {
            tracing::warn!("DISABLE_AUTH on a wildcard address without PUBLIC_URL: requests naming any host are served");
        }
        crate::events::prune::spawn(app.clone());
        crate::service::usage::spawn(app.clone());
        crate::service::alert_rules::seed(&app).await.map_err(|e| format!("cannot seed the alert rules: {e}"))?;
        crate::jobs::spawn(app.clone());
        Ok(Built { app, bootstrap, data_dir })
    }

    pub fn router(&self) -> Router {
        let app = self.app.clone();
        let routes = crate::routes::router().with_state(app.clone());
        let base = app.base_path.clone();
        let router = if base.is_empty() {
            routes
        } else {
            // axum's nest serves the base path itself ("/ocd") but not "/ocd/", the board's
            // address that every page links to.
            let root = Router::new().route(&format!("{base}/"), axum::routing::get(crate::web::board::show)).with_state(app.clone());
            Router::new().nest(&base, routes).merge(root)
        };
        let router = router
            .fallback(|| async { crate::error::AppError::NotFound("Not found".into()) })
            .layer(DefaultBodyLimit::max(app.config.body_limit_bytes))
            .layer(axum::middleware::from_fn_with_state(app, crate::http::gate::gate));
        // gzip when the client asks for it; the default predicate leaves event streams, images
        // and tiny answers alone.
        let router = router.layer(tower_http::compression::CompressionLayer::new().gzip(true));
        crate::http::headers::secured(router)
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests and closes storage.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let router = self.router();
        let app = self.app.clone();
        if let Ok(address) = listener.local_addr() {
            let _ = app.listening.set(format!("http://{address}"));
            if address.ip().is_unspecified() && app.config.public_url.is_none() {
                tracing::warn!(
                    "listening on a wildcard address without PUBLIC_URL: set PUBLIC_URL so sign-in links point at an address browsers can reach"
                );
            }
        }
        // Streams and background jobs end when shutdown begins, so the drain can finish.
        let config = &self.app.config;
        let limits = crate::http::serve::Limits {
            first_byte: std::time::Duration::from_secs(config.conn_first_byte_seconds),
            headers: std::time::Duration::from_secs(config.conn_header_seconds),
            body_stall: std::time::Duration::from_secs(config.conn_body_stall_seconds),
            max_connections: usize::try_from(config.max_connections).unwrap_or(usize::MAX),
        };
        crate::http::serve::serve(listener, router, limits, shutdown, move || {
            app.shutdown.send_replace(true);
        })
        .await;
        self.app.db.close().await;
        Ok(())
    }
}

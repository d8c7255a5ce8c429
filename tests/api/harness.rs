//! `TestApp`: the real server on 127.0.0.1 port 0 with a fresh database (a temporary SQLite
//! file, or a new PostgreSQL database from `TEST_DATABASE_URL`) and a manual clock.

use std::path::PathBuf;
use std::sync::Arc;

use ocd::app::{App, Built};
use ocd::clock::ManualClock;
use ocd::config::Config;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::Connection;

/// 2026-02-16 00:00:00 UTC, a Monday.
pub const T0: i64 = 1_771_200_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub key: String,
    pub clock: Arc<ManualClock>,
    pub app: App,
    client: reqwest::Client,
    data_dir: PathBuf,
    /// Whether dropping this app removes the data directory (a replica leaves it to the first).
    owns_data: bool,
    config: Config,
    _database: Option<PgDatabase>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// A fresh PostgreSQL database on the `TEST_DATABASE_URL` server, dropped with this value.
pub struct PgDatabase {
    pub url: String,
    admin: String,
    name: String,
}

impl PgDatabase {
    pub async fn create() -> PgDatabase {
        let admin = pg_admin_url();
        let name = format!("ocd_test_{}", random_suffix());
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap_or_else(|e| {
            panic!("the PostgreSQL variant needs a server ({e}): set TEST_DATABASE_URL, or run ./scripts/test, which skips these variants and says so")
        });
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.expect("create test database");
        let _ = conn.close().await;
        PgDatabase { url: with_database(&admin, &name), admin, name }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Dropped on a thread of its own: Drop cannot await, and the test's runtime may be ending.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async move {
                if let Ok(mut conn) = sqlx::AnyConnection::connect(&admin).await {
                    let _ =
                        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).execute(&mut conn).await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

/// A JSON object's fields as a form body (`application/x-www-form-urlencoded`), the way a
/// page's form sends them: strings as they are, anything else as its JSON text.
pub fn form_body(json: &Value) -> String {
    let pairs: Vec<(String, String)> = json
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), String::from))).collect())
        .unwrap_or_default();
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// Whether `path` (a route pattern or a concrete path) is a page or a page's form, which
/// take form bodies and answer in HTML.
pub fn is_page(path: &str) -> bool {
    !(path.starts_with("/api/") || path == "/healthz" || path == "/metrics")
}

/// A response: status, headers and the body parsed as JSON (`Null` if it is not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// An HTTP client for tests that shows redirects instead of following them. reqwest is built
/// without a bundled crypto provider (ocd installs ring when it builds its GitHub client); a
/// test may build its client first.
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("HTTP client")
}

fn random_suffix() -> String {
    ocd::crypto::random_hex(6)
}

/// The admin URL of the PostgreSQL server tests create databases on: `TEST_DATABASE_URL`, else
/// the local server. A PostgreSQL variant never passes without running: `scripts/test` leaves
/// these variants out (and says so) when no server is reachable.
fn pg_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// `admin` with its database name replaced by `name`.
fn with_database(admin: &str, name: &str) -> String {
    let (without_query, query) = match admin.split_once('?') {
        Some((u, q)) => (u, format!("?{q}")),
        None => (admin, String::new()),
    };
    let base = match without_query.rsplit_once('/') {
        Some((base, _)) if base.contains("//") && base.len() > "postgres://".len() => base.to_string(),
        _ => without_query.trim_end_matches('/').to_string(),
    };
    format!("{base}/{name}{query}")
}

impl TestApp {
    /// Always `Some` (the `Option` lets helpers that start more services share its shape).
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        TestApp::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Option<TestApp> {
        let data_dir = std::env::temp_dir().join(format!("ocd-test-{}", random_suffix()));
        let mut config = Config::defaults();
        config.port = 0;
        config.data_dir = Some(data_dir.clone());
        config.dashboard_api_key = Some(format!("test-key-{}", random_suffix()));
        // Tests move the clock and run the scheduler themselves (decisions.md#injected-clock).
        config.scheduler_tick_ms = 0;
        // The fake push service speaks plain http on 127.0.0.1.
        config.push_allow_http = true;
        // Suites call with wrong credentials on purpose, many times; hardening.rs tests the limit.
        config.auth_failure_limit_per_minute = 1_000_000;
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let db = PgDatabase::create().await;
                config.database_url = Some(db.url.clone());
                Some(db)
            }
        };
        configure(&mut config);
        Some(TestApp::start(config, ManualClock::new(T0), database, true).await)
    }

    async fn start(config: Config, clock: Arc<ManualClock>, database: Option<PgDatabase>, owns_data: bool) -> TestApp {
        let data_dir = config.data_dir.clone().expect("tests name their data directory");
        let built = Built::new(config.clone(), clock.clone()).await.expect("build app");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let base_path = built.app.base_path.clone();
        let app = built.app.clone();
        let key = built.bootstrap.key.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = built
                .serve(listener, async move {
                    let _ = rx.await;
                })
                .await;
        });
        TestApp {
            base: format!("http://{addr}{base_path}"),
            key,
            clock,
            app,
            client: crate::harness::client(),
            data_dir,
            owns_data,
            config,
            _database: database,
            shutdown: Some(tx),
        }
    }

    /// The data directory (SQLite: where the database is).
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// A second instance on the same database, data directory and clock (a replica).
    pub async fn replica(&self) -> TestApp {
        TestApp::start(self.config.clone(), self.clock.clone(), None, false).await
    }

    /// Stops this instance and starts a new one on the same database and clock (a restart).
    pub async fn restart(mut self) -> TestApp {
        self.owns_data = false;
        let database = self._database.take();
        let (config, clock) = (self.config.clone(), self.clock.clone());
        drop(self);
        TestApp::start(config, clock, database, true).await
    }

    pub async fn request(&self, method: Method, path: &str, body: Option<&Value>, auth: Option<&str>) -> Reply {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = auth {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body.to_string());
        }
        self.send(req).await
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        Reply { status, headers, body: serde_json::from_str(&text).unwrap_or(Value::Null) }
    }

    /// Sends `req` and returns status and headers without reading the body of a success (a
    /// stream); an error's body is read.
    pub async fn send_head(&self, req: reqwest::RequestBuilder) -> Reply {
        let res = req.send().await.expect("request");
        let (status, headers) = (res.status(), res.headers().clone());
        let body = if status.is_success() { Value::Null } else { res.json().await.unwrap_or(Value::Null) };
        Reply { status, headers, body }
    }

    /// Sends `body` exactly as the original hooks do (bearer key, JSON content type, raw
    /// text) and requires a 2xx, as the hooks do.
    pub async fn hook(&self, method: Method, path: &str, body: &str) -> Reply {
        let req = self.raw(method, path).bearer_auth(&self.key).header("content-type", "application/json").body(body.to_string());
        let reply = self.send(req).await;
        assert!(reply.status.is_success(), "{path} answered {}: {}", reply.status, reply.body);
        reply
    }

    /// A raw request builder for `path` (no credentials).
    pub fn raw(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path, None, Some(&self.key.clone())).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.request(Method::POST, path, Some(&body), Some(&self.key.clone())).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.request(Method::PUT, path, Some(&body), Some(&self.key.clone())).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.request(Method::PATCH, path, Some(&body), Some(&self.key.clone())).await
    }

    pub async fn delete(&self, path: &str, body: Value) -> Reply {
        self.request(Method::DELETE, path, Some(&body), Some(&self.key.clone())).await
    }

    /// One pass of the durable-timer scheduler at the test clock.
    pub async fn tick(&self) {
        ocd::jobs::tick(&self.app).await.expect("scheduler tick");
    }

    /// Every event in the log, oldest first, payloads decrypted.
    pub async fn events(&self) -> Vec<ocd::db::events::StoredEvent> {
        ocd::db::events::after(&self.app.db.read, &self.app.sealer, 0, 100_000).await.expect("read events")
    }

    /// One pass of the alert engine and the delivery worker at the test clock.
    pub async fn alerts(&self) {
        ocd::jobs::alerts::run(&self.app).await.expect("alert pass");
    }

    /// A new admin key limited to `project` (which must exist), made as `ocd install --project` makes it.
    pub async fn scoped_key(&self, project: &str) -> String {
        let new = ocd::service::keys::NewKey {
            name: format!("{project} agents"),
            role: ocd::auth::principal::Role::Admin,
            project: Some(project.to_string()),
            expires_in_days: None,
        };
        ocd::service::keys::create(&self.app, None, new).await.expect("scoped key").1
    }

    /// The text of `/metrics` (not JSON).
    pub async fn metrics(&self) -> String {
        let res = self.raw(Method::GET, "/metrics").bearer_auth(&self.key).send().await.expect("request");
        res.text().await.expect("body")
    }

    /// The todos of `session` as `"content: status"`, sorted (what the board shows of it).
    pub async fn session_todos(&self, session: &str) -> Vec<String> {
        let todos = self.get(&format!("/api/todos?session_id={}", ocd::percent::encode(session))).await.body;
        let mut seen: Vec<String> = todos["todos"]
            .as_array()
            .map(|list| {
                list.iter().map(|t| format!("{}: {}", t["content"].as_str().unwrap_or(""), t["status"].as_str().unwrap_or(""))).collect()
            })
            .unwrap_or_default();
        seen.sort();
        seen
    }

    /// Number of rows in `table` (test helper over the read pool).
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"))).fetch_one(&self.app.db.read).await.expect("count")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if self.owns_data {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

/// Runs each listed `async fn(TestApp)` once per backend: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::harness::TestApp::spawn($crate::harness::Backend::Sqlite).await.expect("sqlite app");
                    super::$name(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::harness::TestApp::spawn($crate::harness::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            }
        )+
    };
}

#[test]
fn database_urls_are_rewritten_to_the_test_database() {
    assert_eq!(with_database("postgres://postgres@127.0.0.1:5432/test", "x"), "postgres://postgres@127.0.0.1:5432/x");
    assert_eq!(with_database("postgres://u@h/test?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
}

/// One server-sent event as a client sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sse {
    pub id: Option<i64>,
    pub event: String,
    pub data: Value,
}

/// A live `/api/stream` connection.
pub struct StreamClient {
    response: reqwest::Response,
    buffer: String,
    pub ended: bool,
}

impl StreamClient {
    pub async fn connect(base: &str, key: &str, query: &str, last_event_id: Option<i64>) -> StreamClient {
        let mut req = crate::harness::client().get(format!("{base}/api/stream{query}")).bearer_auth(key);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id.to_string());
        }
        let response = req.send().await.expect("stream request");
        assert_eq!(response.status(), StatusCode::OK, "stream refused");
        assert_eq!(response.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("text/event-stream"));
        StreamClient { response, buffer: String::new(), ended: false }
    }

    /// The next event, or `None` when the server ended the stream or nothing came for 10 s
    /// (a failure guard only: events normally arrive within milliseconds).
    pub async fn next(&mut self) -> Option<Sse> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut sse = Sse { id: None, event: "message".into(), data: Value::Null };
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        sse.id = v.parse().ok();
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        sse.event = v.to_string();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        sse.data = serde_json::from_str(v).unwrap_or(Value::String(v.to_string()));
                    }
                }
                return Some(sse);
            }
            if self.ended {
                return None;
            }
            match tokio::time::timeout(std::time::Duration::from_secs(10), self.response.chunk()).await {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(_) => self.ended = true,
                Err(_) => return None,
            }
        }
    }

    /// The next event other than `ping`.
    pub async fn next_event(&mut self) -> Option<Sse> {
        loop {
            let e = self.next().await?;
            if e.event != "ping" {
                return Some(e);
            }
        }
    }
}

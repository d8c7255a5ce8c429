//! The `ocd` binary: parse configuration, then serve (default) or migrate.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;

use ocd::app::Built;
use ocd::auth::links::{self, LinkFor};
use ocd::auth::principal::Role;
use ocd::clock::{Clock, OffsetClock, SystemClock};
use ocd::config::{Command, Config, LogFormat};

/// Prints a line on stdout; a reader that went away (`ocd login-link | head -1`) is not an
/// error worth a panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

#[tokio::main]
async fn main() -> ExitCode {
    // A hook runs beside an agent: read before the server's configuration (whose parsing may
    // refuse a setting meant for the server), no logging set-up, no database, always exit 0.
    if std::env::args_os().nth(1).is_some_and(|a| a == "hook") {
        ocd::client::hook::run_from_args(std::env::args_os().skip(2).map(|a| a.to_string_lossy().into_owned()).collect()).await;
        // Exit now: a stdin the agent never closed may still be read by a blocking thread the
        // runtime would wait for.
        std::process::exit(0);
    }
    let cli = Config::load();
    init_logging(cli.config.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Migrate => migrate(cli.config).await,
        Command::LoginLink { role, user } => login_link(cli.config, role, user).await,
        Command::Backup { file } => backup(cli.config, &file).await,
        // Handled above, before the configuration is read.
        Command::Hook { .. } => Ok(()),
        Command::Install { tool, print, url, key, project, dir } => {
            let target = match project.map(|p| p.trim().to_string()).filter(|p| !p.is_empty()) {
                None => ocd::client::install::Target::User,
                Some(project) => {
                    // An unreadable current directory leaves `.`, which is the same place.
                    let dir = dir.or_else(|| std::env::current_dir().ok()).unwrap_or_else(|| ".".into());
                    ocd::client::install::Target::Repository { dir, project }
                }
            };
            install(cli.config, tool, &target, print, url.zip(key)).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ocd: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour codes only for a person at a terminal: a service's log file stays plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

async fn migrate(config: Config) -> Result<(), String> {
    let built = Built::new(config, Arc::new(SystemClock)).await?;
    built.app.db.close().await;
    say!("ocd: database is up to date");
    Ok(())
}

/// `ocd login-link [--role R] [--user NAME]` (decisions.md#login-links): writes the link to the database the server
/// uses and prints its URL.
async fn login_link(config: Config, role: Role, user: Option<String>) -> Result<(), String> {
    let (_, url) = ocd::app::storage(&config)?;
    // A one-off command: its writer need not be pinned.
    let db = ocd::db::Db::connect(&url, ocd::config::WriterCpu::Off).await?;
    let whom = match &user {
        Some(name) => LinkFor::Existing(name),
        None => LinkFor::NewUser(role),
    };
    let path = links::create(&db, whom, SystemClock.now()).await;
    db.close().await;
    let path = path?;
    say!("{}{}{path}", config.public_url(config.port), config.base_path());
    say!("(single use, valid for 15 minutes)");
    Ok(())
}

/// `ocd install TOOL`: a key (made in this server's database unless one is given), the client
/// settings and the agent's configuration — for the user, or for one repository and project.
async fn install(
    config: Config,
    tool: ocd::client::install::Tool,
    target: &ocd::client::install::Target,
    print: bool,
    given: Option<(String, String)>,
) -> Result<(), String> {
    use ocd::client::install::{self, Target};
    let project = match target {
        Target::User => None,
        Target::Repository { project, .. } => Some(project.clone()),
    };
    let (url, key) = match given {
        Some((url, key)) => (url.trim_end_matches('/').to_string(), key),
        None => {
            let (_, db_url) = ocd::app::storage(&config)?;
            let db = ocd::db::Db::connect(&db_url, ocd::config::WriterCpu::Off).await?;
            let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "this machine".into());
            let new = ocd::service::keys::NewKey {
                name: match &project {
                    Some(p) => format!("{} integration for {p} ({host})", tool_label(tool)),
                    None => format!("{} integration ({host})", tool_label(tool)),
                },
                role: Role::Admin,
                project: project.clone(),
                expires_in_days: None,
            };
            let now = SystemClock.now();
            let created = match &project {
                Some(p) => ocd::service::projects::ensure_on(&db, now, p).await.map_err(|e| e.to_string()),
                None => Ok(()),
            };
            let created = match created {
                Ok(()) => ocd::service::keys::create_on(&db, now, None, new).await.map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            db.close().await;
            let (_, token) = created?;
            (format!("{}{}", config.public_url(config.port), config.base_path()), token)
        }
    };
    let ocd = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "ocd".into());
    let files = install::plan(tool, target, &url, &key, &ocd)?;
    if print {
        for file in &files {
            say!("== {}\n{}", file.path.display(), file.text);
        }
        return Ok(());
    }
    for line in install::write(&files)? {
        say!("{line}");
    }
    for note in [install::overlap(tool, target), install::unexcluded(target)].into_iter().flatten() {
        say!("note: {note}");
    }
    match project {
        Some(p) => say!("ocd: {} in this repository now reports to {url}, project {p}", tool_label(tool)),
        None => say!("ocd: {} now reports to {url}", tool_label(tool)),
    }
    Ok(())
}

fn tool_label(tool: ocd::client::install::Tool) -> &'static str {
    match tool {
        ocd::client::install::Tool::Opencode => "OpenCode",
        ocd::client::install::Tool::ClaudeCode => "Claude Code",
        ocd::client::install::Tool::Codex => "Codex",
    }
}

/// `ocd backup FILE`: a consistent copy of the running SQLite database.
async fn backup(config: Config, file: &std::path::Path) -> Result<(), String> {
    let (_, url) = ocd::app::storage(&config)?;
    ocd::db::backup::backup(&url, file).await?;
    say!("ocd: database copied to {}", file.display());
    Ok(())
}

async fn serve(config: Config) -> Result<(), String> {
    let addr = std::net::SocketAddr::new(config.host, config.port);
    let clock: Arc<dyn Clock> = match config.clock_offset_secs {
        0 => Arc::new(SystemClock),
        offset => Arc::new(OffsetClock { offset_ms: offset.saturating_mul(1000) }),
    };
    let built = Built::new(config, clock).await?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let base = built.app.config.public_url(port);
    // Printed to stdout once, for the person starting ocd; never written to the log (decisions.md#api-keys).
    say!("ocd is running at {base}{}/", built.app.base_path);
    say!("database: {}", built.app.db.backend.name());
    match (&built.bootstrap.stored_at, built.bootstrap.generated) {
        (Some(path), true) => say!("API key (generated, shown once; kept in {}):\n  {}", path.display(), built.bootstrap.key),
        (Some(path), false) => say!("API key: in {}", path.display()),
        (None, _) => say!("API key: from DASHBOARD_API_KEY"),
    }
    // decisions.md#setup-link: until someone has signed in, every start prints a fresh one-time setup link.
    if let Some(path) = links::setup_link(&built.app.db, built.app.clock.now()).await? {
        say!("Claim ocd as its owner with this one-time link (valid 15 minutes):\n  {base}{}{path}", built.app.base_path);
    }
    if built.app.config.disable_auth {
        say!("warning: DISABLE_AUTH=true: anyone who can reach this port is the owner");
    }
    built.serve(listener, shutdown_signal()).await.map_err(|e| e.to_string())?;
    tracing::info!("shut down cleanly");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested: finishing in-flight requests");
}

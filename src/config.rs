//! Every setting in one struct: each flag also reads an environment variable with the
//! original's name, and a `.env` file in the working directory is read first if present.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::domain::roles::Role;

#[derive(Debug, Parser)]
#[command(name = "ocd", version, about = "A self-hosted, real-time dashboard for AI coding agents")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Serve the dashboard and its API (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Write a consistent copy of the SQLite database to FILE while ocd runs (see README).
    Backup {
        /// Where to write the copy (must not exist).
        file: PathBuf,
    },
    /// Forward a hook payload (stdin, or the last argument) to ocd; always exits 0.
    Hook {
        /// The agent the payload comes from.
        #[arg(value_enum)]
        tool: crate::client::hook::HookTool,
        /// The payload, when the agent passes it as an argument (Codex's `notify`).
        payload: Option<String>,
    },
    /// Connect an agent on this machine to ocd: a key (made in this server's database, or
    /// --url/--key), ~/.config/ocd/client.json and the agent's configuration (backups kept);
    /// with --project, one repository with a key scoped to that project.
    Install {
        #[arg(value_enum)]
        tool: crate::client::install::Tool,
        /// Show what would be written instead of writing it.
        #[arg(long)]
        print: bool,
        /// The ocd to report to (with --key: no database is opened).
        #[arg(long, requires = "key")]
        url: Option<String>,
        /// The API key to use (with --url).
        #[arg(long, requires = "url")]
        key: Option<String>,
        /// Connect one repository instead, reporting into project P with a key scoped to it
        /// (the project is created when missing).
        #[arg(long, value_name = "P")]
        project: Option<String>,
        /// The repository (with --project; default: the current directory).
        #[arg(long, value_name = "DIR", requires = "project")]
        dir: Option<std::path::PathBuf>,
    },
    /// Print a one-time sign-in link (single use, valid 15 minutes).
    LoginLink {
        /// Role of the new local user the link creates.
        #[arg(long, value_enum, default_value_t = Role::Owner)]
        role: Role,
        /// Sign in this existing user (local name or GitHub login) instead of creating one.
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
    },
}

/// The `WRITER_CPU` setting: which core the writer runs on (see `db/affinity.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriterCpu {
    /// With two or more cores allowed: the last allowed core. Otherwise not pinned.
    Auto,
    /// Never pinned.
    Off,
    /// This core (it must be one the process may use).
    Core(usize),
}

impl std::str::FromStr for WriterCpu {
    type Err = String;

    fn from_str(text: &str) -> Result<WriterCpu, String> {
        match text.trim() {
            "auto" => Ok(WriterCpu::Auto),
            "off" => Ok(WriterCpu::Off),
            other => other.parse().map(WriterCpu::Core).map_err(|_| format!("must be auto, off or a core number, not `{other}`")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to bind.
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to bind (0 picks a free one).
    #[arg(long, env = "PORT", default_value_t = 3000)]
    pub port: u16,
    /// Bootstrap API key (role admin). Unset: one is generated on first start and kept in DATA_DIR/api.key.
    #[arg(long, env = "DASHBOARD_API_KEY", hide_env_values = true)]
    pub dashboard_api_key: Option<String>,
    /// Comma-separated origins allowed by CORS.
    #[arg(long, env = "ALLOWED_ORIGINS", default_value = "http://127.0.0.1:3000,http://localhost:3000")]
    pub allowed_origins: String,
    /// Rate-limit window for write requests, in milliseconds.
    #[arg(long, env = "RATE_LIMIT_WINDOW_MS", default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub rate_limit_window_ms: u64,
    /// Write requests allowed per principal (per IP for anonymous callers) in one window.
    #[arg(long, env = "RATE_LIMIT_MAX_REQUESTS", default_value_t = 12_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub rate_limit_max_requests: u64,
    /// Where ocd keeps its database and keys. Default: $XDG_DATA_HOME/ocd or ~/.local/share/ocd.
    #[arg(long, env = "DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// URL prefix every route is served under, e.g. /opencode.
    #[arg(long, env = "BASE_PATH", default_value = "")]
    pub base_path: String,
    /// Treat requests without an Authorization header as the local owner. Only for private networks.
    #[arg(long, env = "DISABLE_AUTH", default_value_t = false)]
    pub disable_auth: bool,
    /// Database: sqlite://path or postgres://… Default: SQLite in DATA_DIR/ocd.db.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Comma-separated proxy addresses or CIDR ranges whose X-Forwarded-For is trusted.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// Public base URL (alias NEXT_PUBLIC_SITE_URL). Default: http://HOST:PORT.
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "BODY_LIMIT_BYTES", default_value_t = 1_048_576)]
    pub body_limit_bytes: usize,
    /// Events older than this are pruned from the event log.
    #[arg(long, env = "EVENT_RETENTION_HOURS", default_value_t = 168)]
    pub event_retention_hours: u64,
    /// At most this many events are kept in the event log.
    #[arg(long, env = "EVENT_RETENTION_ROWS", default_value_t = 1_000_000)]
    pub event_retention_rows: u64,
    /// Seconds between keep-alive pings on the live stream.
    #[arg(long, env = "STREAM_PING_SECONDS", default_value_t = 30)]
    pub stream_ping_seconds: u64,
    /// Events a live stream may fall behind by before it is disconnected (it can resume).
    #[arg(long, env = "STREAM_BUFFER_EVENTS", default_value_t = 4096, value_parser = clap::value_parser!(u64).range(16..=1_000_000))]
    pub stream_buffer_events: u64,
    /// Milliseconds between runs of the durable-timer scheduler; 0 turns the background
    /// scheduler off (tests drive `jobs::tick` themselves).
    #[arg(long, env = "SCHEDULER_TICK_MS", default_value_t = 5000)]
    pub scheduler_tick_ms: u64,
    /// Shifts ocd's clock by this many seconds (tests of time-based rules on the real binary).
    #[arg(long, env = "CLOCK_OFFSET_SECS", default_value_t = 0, hide = true)]
    pub clock_offset_secs: i64,
    /// A working agent without real progress for this long is stalled.
    #[arg(long, env = "STALL_AFTER_SECONDS", default_value_t = 600)]
    pub stall_after_seconds: u64,
    /// An integration's agent (OpenCode, Claude Code, Codex session) silent this long goes offline.
    #[arg(long, env = "AGENT_OFFLINE_AFTER_SECONDS", default_value_t = 1800)]
    pub agent_offline_after_seconds: u64,
    /// An integration's agent offline this many days is removed (its todos stay).
    #[arg(long, env = "AGENT_RETENTION_DAYS", default_value_t = 30)]
    pub agent_retention_days: u64,
    /// Steering commands expire after this many seconds.
    #[arg(long, env = "COMMAND_TTL_SECONDS", default_value_t = 3600)]
    pub command_ttl_seconds: u64,
    /// How long a Claude Code or Codex permission request is held open waiting for a person
    /// before it falls back to the terminal (docs/decisions.md#approvals).
    #[arg(long, env = "APPROVAL_WAIT_SECONDS", default_value_t = 300)]
    pub approval_wait_seconds: u64,
    /// A delivered, unacknowledged command is delivered again after this many seconds.
    #[arg(long, env = "COMMAND_REDELIVER_SECONDS", default_value_t = 60)]
    pub command_redeliver_seconds: u64,
    /// The contact push services see in VAPID tokens (`mailto:you@example.com` or an https
    /// URL); default: PUBLIC_URL when it is https, else `mailto:ocd@localhost`.
    #[arg(long, env = "VAPID_SUBJECT")]
    pub vapid_subject: Option<String>,
    /// Accepts plain-http push endpoints (tests' fake push service). Real push services are
    /// https; refusing others keeps a browser subscription from pointing ocd at internal addresses.
    #[arg(long, env = "PUSH_ALLOW_HTTP", default_value_t = false, hide = true)]
    pub push_allow_http: bool,
    /// GitHub OAuth app client id; with the secret, enables "Sign in with GitHub".
    #[arg(long, env = "GITHUB_CLIENT_ID", hide_env_values = true)]
    pub github_client_id: Option<String>,
    /// GitHub OAuth app client secret.
    #[arg(long, env = "GITHUB_CLIENT_SECRET", hide_env_values = true)]
    pub github_client_secret: Option<String>,
    /// GitHub's OAuth base URL (tests point it at a fake).
    #[arg(long, env = "GITHUB_OAUTH_URL", default_value = "https://github.com")]
    pub github_oauth_url: String,
    /// GitHub's API base URL (tests point it at a fake).
    #[arg(long, env = "GITHUB_API_URL", default_value = "https://api.github.com")]
    pub github_api_url: String,
    /// Linear's GraphQL endpoint.
    #[arg(long, env = "LINEAR_API_URL", default_value = "https://api.linear.app/graphql")]
    pub linear_api_url: String,
    /// A Linear personal API key (Settings → Account → Security & access); turns on the sync,
    /// the board's moves and webhook registration.
    #[arg(long, env = "LINEAR_API_KEY", hide_env_values = true)]
    pub linear_api_key: Option<String>,
    /// The signing secret of a webhook made by hand in Linear's settings. Webhooks ocd
    /// registers itself carry their own secret and need none.
    #[arg(long, env = "LINEAR_WEBHOOK_SECRET", hide_env_values = true)]
    pub linear_webhook_secret: Option<String>,
    /// Seconds between background syncs of the Linear cache (with LINEAR_API_KEY); 0 turns them off.
    #[arg(long, env = "LINEAR_SYNC_INTERVAL_SECONDS", default_value_t = 300)]
    pub linear_sync_interval_seconds: u64,
    /// Failed authentications one client address may make per minute before it gets 429.
    #[arg(long, env = "AUTH_FAILURE_LIMIT_PER_MINUTE", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub auth_failure_limit_per_minute: u64,
    /// A connection that sends no byte within this many seconds is closed.
    #[arg(long, env = "CONN_FIRST_BYTE_SECONDS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..))]
    pub conn_first_byte_seconds: u64,
    /// A request whose headers are not complete within this many seconds is closed.
    #[arg(long, env = "CONN_HEADER_SECONDS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..))]
    pub conn_header_seconds: u64,
    /// A request body that sends nothing for this many seconds is closed.
    #[arg(long, env = "CONN_BODY_STALL_SECONDS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..))]
    pub conn_body_stall_seconds: u64,
    /// Open connections at most (streams and long-polls included); more are refused. Kept
    /// below the process's file-descriptor limit at start.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 16_384, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: u64,
    /// The core the database writer runs on: auto (the last core, when there are two or more),
    /// off, or a core number.
    #[arg(long, env = "WRITER_CPU", default_value = "auto")]
    pub writer_cpu: WriterCpu,
    /// Log output: text or json.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

impl Config {
    /// Parses the process arguments and environment, after loading `.env` if present.
    pub fn load() -> Cli {
        // A missing .env file is normal; a malformed one is reported but not fatal.
        if let Err(e) = dotenvy::dotenv()
            && !e.not_found()
        {
            eprintln!("warning: could not read .env: {e}");
        }
        let mut cli = Cli::parse();
        if cli.config.public_url.is_none() {
            cli.config.public_url = std::env::var("NEXT_PUBLIC_SITE_URL").ok().filter(|v| !v.is_empty());
        }
        cli
    }

    /// Configuration for tests and embedding: every default, nothing read from the environment.
    pub fn defaults() -> Config {
        Cli::parse_from(["ocd"]).config
    }

    pub fn allowed_origins(&self) -> Vec<String> {
        split_list(&self.allowed_origins)
    }

    pub fn trusted_proxies(&self) -> Result<Vec<IpNet>, String> {
        split_list(&self.trusted_proxies).iter().map(|s| IpNet::parse(s)).collect()
    }

    /// The base path without a trailing slash ("" or "/prefix").
    pub fn base_path(&self) -> String {
        let trimmed = self.base_path.trim().trim_end_matches('/');
        if trimmed.is_empty() {
            String::new()
        } else if trimmed.starts_with('/') {
            trimmed.to_string()
        } else {
            format!("/{trimmed}")
        }
    }

    pub fn public_url(&self, bound_port: u16) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}:{}", self.host, bound_port),
        }
    }

    /// LINEAR_WEBHOOK_SECRET when set to something.
    pub fn linear_webhook_secret(&self) -> Option<&str> {
        self.linear_webhook_secret.as_deref().filter(|s| !s.is_empty())
    }

    /// The data directory (decisions.md#data-directory): DATA_DIR, else $XDG_DATA_HOME/ocd, else ~/.local/share/ocd.
    pub fn data_dir(&self) -> PathBuf {
        if let Some(dir) = &self.data_dir {
            return dir.clone();
        }
        if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            return PathBuf::from(xdg).join("ocd");
        }
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
        home.join(".local").join("share").join("ocd")
    }
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|e| !e.is_empty()).map(String::from).collect()
}

/// An address range: `10.0.0.0/8`, `::1/128`, or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn parse(s: &str) -> Result<IpNet, String> {
        let (addr_part, prefix_part) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr_part.parse().map_err(|_| format!("TRUSTED_PROXIES: `{s}` is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix_part {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| format!("TRUSTED_PROXIES: bad prefix in `{s}`"))?,
            None => max,
        };
        Ok(IpNet { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V4(ip)) => prefix_eq(&net.octets(), &ip.to_ipv6_mapped().octets(), self.prefix),
            (IpAddr::V4(_), IpAddr::V6(ip)) => ip.to_ipv4_mapped().is_some_and(|v4| self.contains(IpAddr::V4(v4))),
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if a[..full] != b[..full] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    (a[full] & mask) == (b[full] & mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_ranges_match_only_their_addresses() {
        let net = IpNet::parse("10.1.0.0/16").unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        let one = IpNet::parse("127.0.0.1").unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        assert!(IpNet::parse("10.0.0.0/33").is_err());
        assert!(IpNet::parse("nope").is_err());
    }

    #[test]
    fn base_path_is_normalised() {
        let mut c = Config::defaults();
        c.base_path = "opencode/".into();
        assert_eq!(c.base_path(), "/opencode");
        c.base_path = "".into();
        assert_eq!(c.base_path(), "");
    }
}

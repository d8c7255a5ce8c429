//! The `ocd` commands that talk to an ocd server as a client (on a developer's machine, beside
//! the agents): `ocd hook`. Where the server is and the key come from OCD_URL (or
//! DASHBOARD_URL) and OCD_API_KEY (or DASHBOARD_API_KEY), else `~/.config/ocd/client.json`
//! `{"url", "key"}` — the same settings the OpenCode plugin reads.

pub mod hook;

use std::path::PathBuf;

/// Where an ocd server is, and the key to use.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub url: String,
    pub key: String,
    pub project: Option<String>,
}

/// `~/.config/ocd/client.json` (or under XDG_CONFIG_HOME).
pub fn client_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("ocd").join("client.json"))
}

fn env(names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
}

/// The environment first, then the client file; `None` when either part is missing.
pub fn settings() -> Option<ClientSettings> {
    let file: serde_json::Value =
        client_file().and_then(|p| std::fs::read_to_string(p).ok()).and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default();
    let from_file = |k: &str| file.get(k).and_then(serde_json::Value::as_str).map(String::from);
    let url = env(&["OCD_URL", "DASHBOARD_URL"]).or_else(|| from_file("url"))?;
    let key = env(&["OCD_API_KEY", "DASHBOARD_API_KEY"]).or_else(|| from_file("key"))?;
    Some(ClientSettings {
        url: url.trim_end_matches('/').to_string(),
        key,
        project: env(&["OCD_PROJECT"]).or_else(|| from_file("project")),
    })
}

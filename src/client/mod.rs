//! The `ocd` commands that talk to an ocd server as a client (on a developer's machine, beside
//! the agents): `ocd hook`. Where the server is and the key come from OCD_URL (or
//! DASHBOARD_URL) and OCD_API_KEY (or DASHBOARD_API_KEY); else the repository's
//! `.ocd/client.json` `{"url", "key", "project"}` (found from the agent's working directory
//! upwards; `ocd install --project` writes it with a key scoped to that project); else the
//! user's `~/.config/ocd/client.json` — the same order the OpenCode plugin follows.

pub mod hook;
pub mod install;

use std::path::{Path, PathBuf};

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

/// A repository's client file, relative to its root.
pub const REPO_CLIENT_FILE: &str = ".ocd/client.json";

/// The nearest repository client file at `dir` or above it.
fn repo_client_file(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().map(|d| d.join(REPO_CLIENT_FILE)).find(|f| f.is_file())
}

/// The settings of an agent working in `dir`: the environment's URL and key together, else
/// the repository's client file, else the user's (never a key from one place sent to a URL
/// from another); `None` when none has both. OCD_PROJECT wins over a file's project.
pub fn settings(dir: Option<&Path>) -> Option<ClientSettings> {
    let project = env(&["OCD_PROJECT"]);
    if let (Some(url), Some(key)) = (env(&["OCD_URL", "DASHBOARD_URL"]), env(&["OCD_API_KEY", "DASHBOARD_API_KEY"])) {
        return Some(ClientSettings { url: url.trim_end_matches('/').to_string(), key, project });
    }
    [dir.and_then(repo_client_file), client_file()].into_iter().flatten().find_map(|file| {
        let file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(file).ok()?).ok()?;
        let text = |k: &str| file.get(k).and_then(serde_json::Value::as_str).filter(|v| !v.is_empty()).map(String::from);
        Some(ClientSettings {
            url: text("url")?.trim_end_matches('/').to_string(),
            key: text("key")?,
            project: project.clone().or_else(|| text("project")),
        })
    })
}

//! `/settings/integrations` (admins): copy-paste set-up for the OpenCode plugin, Claude Code's
//! hooks, Codex and the original dashboard hook, filled in with this server's address. An owner
//! signed in can make a key for an integration right here; the page then fills it into every
//! snippet (it is shown this once, like any new key).

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde_json::{Map, Value};

use super::{Section, Tab, is_owner_in_person, tabs};
use crate::client::install::claude_settings;
use crate::error::{AppError, AppResult};
use crate::state::App;
use crate::web::page;
use crate::web::shell::{Nav, Shell, Visit};
use crate::web::theme::Theme;

/// What every snippet says where the key goes; the page replaces it with a key made here.
pub const KEY_PLACEHOLDER: &str = "YOUR_OCD_KEY";

/// One integration's set-up: what to do, and the text to paste.
pub struct Snippet {
    pub id: &'static str,
    pub title: &'static str,
    pub intro: &'static str,
    /// Where the text goes (a file, or a shell).
    pub target: &'static str,
    pub code: String,
}

#[derive(Template)]
#[template(path = "settings_integrations.html")]
struct IntegrationsPage {
    shell: Shell,
    tabs: Vec<Tab>,
    url: String,
    snippets: Vec<Snippet>,
    can_make_keys: bool,
    placeholder: &'static str,
}

/// Shell commands that write `~/.config/ocd/client.json` (what the plugin and `ocd hook` read)
/// for `url` and `key`; the file holds the key, so only its owner may read it.
pub fn client_file(url: &str, key: &str) -> String {
    format!(
        "mkdir -p ~/.config/ocd\n(umask 077; printf '{{\"url\": \"%s\", \"key\": \"%s\"}}\\n' \\\n  '{url}' '{key}' > ~/.config/ocd/client.json)"
    )
}

/// The set-up snippets for a server at `url` (its origin and base path).
pub fn snippets(url: &str, plugin_url: &str) -> AppResult<Vec<Snippet>> {
    let key = KEY_PLACEHOLDER;
    let claude = claude_settings(Map::new(), url, key, "ocd").map_err(AppError::internal)?;
    let claude = serde_json::to_string_pretty(&Value::Object(claude)).map_err(AppError::internal)?;
    let client = client_file(url, key);
    Ok(vec![
        Snippet {
            id: "install",
            title: "Any agent, with the ocd binary",
            intro: "On the machine the agent runs on: writes the agent's configuration, keeping a .bak of every file it changes.",
            target: "shell",
            code: format!("ocd install opencode --url {url} --key {key}    # or: claude-code, codex"),
        },
        Snippet {
            id: "opencode",
            title: "OpenCode",
            intro: "The plugin reports sessions, sub-agents, todos, tool calls, tokens and cost, and carries out what you ask of the agent here.",
            target: "shell",
            code: format!("{client}\nmkdir -p ~/.config/opencode/plugins\ncurl -fsS {plugin_url} -o ~/.config/opencode/plugins/ocd.ts"),
        },
        Snippet {
            id: "claude-code",
            title: "Claude Code",
            intro: "Merge into ~/.claude/settings.json (or a repository's .claude/settings.local.json): the hooks report each step, the env section turns the telemetry export on. SessionStart runs `ocd hook claude-code`, so the ocd binary must be on the PATH.",
            target: "~/.claude/settings.json",
            code: claude,
        },
        Snippet {
            id: "codex",
            title: "Codex",
            intro: "Codex calls ocd after each turn; `ocd hook codex` reads the address and key from ~/.config/ocd/client.json.",
            target: "shell",
            code: format!(
                "{client}\necho 'notify = [\"ocd\", \"hook\", \"codex\"]' >> ~/.codex/config.toml   # top level, before any [table]"
            ),
        },
        Snippet {
            id: "original-hook",
            title: "The original dashboard hooks",
            intro: "dashboard-hook.ts and agent-hook.ts work unchanged: point their dashboard address at this server and give them the key.",
            target: "the hooks' environment",
            code: format!(
                "DASHBOARD_API_KEY={key}\n# dashboard address: {url}\ncurl -s {url}/api/todos -H \"Authorization: Bearer $DASHBOARD_API_KEY\"   # check: lists the todos"
            ),
        },
    ])
}

/// `GET /settings/integrations`.
pub async fn show(State(app): State<App>, visit: Visit) -> AppResult<Response> {
    let shell = Shell::build(&app, &visit, "Integrations", Nav::Settings).await?.with_script(&app, "settings.js");
    let url = app.site_url("");
    let plugin_url = app.site_url("/static/ocd.ts");
    let snippets = snippets(&url, &plugin_url)?;
    let tabs = tabs(&app, &visit.principal, Section::Integrations);
    let can_make_keys = is_owner_in_person(&visit.principal);
    Ok(page(&IntegrationsPage { shell, tabs, url, snippets, can_make_keys, placeholder: KEY_PLACEHOLDER }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_snippet_names_the_server_and_the_key() {
        let list = snippets("https://ocd.example.com/ocd", "https://ocd.example.com/ocd/static/ocd.ts").unwrap_or_default();
        assert_eq!(list.len(), 5);
        for s in &list {
            assert!(s.code.contains("https://ocd.example.com/ocd"), "{}", s.id);
            assert!(s.code.contains(KEY_PLACEHOLDER), "{}", s.id);
        }
        let claude: Value = serde_json::from_str(&list[2].code).unwrap_or_default();
        assert_eq!(claude["hooks"]["SessionStart"][0]["hooks"][0]["command"], "ocd hook claude-code");
        assert_eq!(claude["hooks"]["PreToolUse"][0]["hooks"][0]["url"], "https://ocd.example.com/ocd/api/ingest/claude-code");
    }

    #[cfg(unix)]
    #[test]
    fn the_client_file_commands_write_a_private_json_file() {
        use std::os::unix::fs::PermissionsExt;
        let home = std::env::temp_dir().join(format!("ocd-snippet-{}", std::process::id()));
        std::fs::create_dir_all(&home).unwrap_or_default();
        let commands = client_file("http://127.0.0.1:3000", "ocdk_test");
        let status = std::process::Command::new("sh").arg("-c").arg(&commands).env("HOME", &home).status();
        assert!(status.is_ok_and(|s| s.success()), "{commands}");
        let path = home.join(".config/ocd/client.json");
        let written: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_default()).unwrap_or_default();
        assert_eq!(written, serde_json::json!({"url": "http://127.0.0.1:3000", "key": "ocdk_test"}));
        let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777).unwrap_or_default();
        assert_eq!(mode, 0o600);
        let _ = std::fs::remove_dir_all(&home);
    }
}

//! `ocd install opencode|claude-code|codex`: connects an agent on this machine to ocd. Run
//! where the server's data lives, it creates a named admin key in the database (like
//! `ocd login-link`); with `--url URL --key KEY` it uses those and touches no database. It
//! writes `~/.config/ocd/client.json` (0600) and the agent's configuration — the OpenCode
//! plugin, Claude Code's hooks and telemetry settings, Codex's `notify` — keeping a backup of
//! every file it changes (`.bak`), or with `--print` only shows what it would write.
//!
//! With `--project P` it connects one repository instead (the current directory, or `--dir`):
//! the key is scoped to P, the client file is the repository's `.ocd/client.json`, the OpenCode
//! plugin goes to `.opencode/plugins/`, Claude Code's settings to `.claude/settings.local.json`
//! (Codex has no per-repository `notify`: the user's is set, and `ocd hook` picks the
//! repository's key by the working directory). Both files with the key are kept out of git
//! through `.git/info/exclude`, never through the repository's own `.gitignore`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

/// The plugin and the settings, as shipped in `integrations/`.
const OPENCODE_PLUGIN: &str = include_str!("../../integrations/opencode/ocd.ts");
const CLAUDE_SETTINGS: &str = include_str!("../../integrations/claude-code/settings.json");
/// Where the ready-made files point before `install` fills in this server.
const SHIPPED_URL: &str = "http://127.0.0.1:3000";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Tool {
    Opencode,
    ClaudeCode,
    Codex,
}

/// One file to write: where, what, and whether it holds the key (then 0600).
#[derive(Debug)]
pub struct Planned {
    pub path: PathBuf,
    pub text: String,
    pub secret: bool,
}

fn home() -> Result<PathBuf, String> {
    std::env::var_os("HOME").map(PathBuf::from).ok_or_else(|| "HOME is not set".to_string())
}

fn config_dir() -> Result<PathBuf, String> {
    match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => Ok(home()?.join(".config")),
    }
}

fn read_json(path: &Path) -> Result<Map<String, Value>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(Map::new()),
        Ok(text) => match serde_json::from_str(&text) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(format!("{} is not a JSON object; fix or move it, then run again", path.display())),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Whether a Claude Code hook entry is one of ocd's (so a second install replaces it).
fn is_ocds(entry: &Value) -> bool {
    entry["hooks"].as_array().is_some_and(|hooks| {
        hooks.iter().any(|h| {
            h["url"].as_str().is_some_and(|u| u.contains("/api/ingest/claude-code"))
                || h["command"].as_str().is_some_and(|c| c.contains("hook claude-code"))
        })
    })
}

/// Claude Code's user settings with ocd's hooks (earlier ones of ocd replaced, others kept) and
/// the telemetry export pointed at ocd.
pub fn claude_settings(existing: Map<String, Value>, url: &str, key: &str, ocd: &str) -> Result<Map<String, Value>, String> {
    let shipped: Value = serde_json::from_str(&CLAUDE_SETTINGS.replace(SHIPPED_URL, url)).map_err(|e| e.to_string())?;
    let mut settings = existing;
    let hooks = settings.entry("hooks").or_insert_with(|| json!({}));
    let Some(hooks) = hooks.as_object_mut() else { return Err("the `hooks` of the Claude Code settings is not an object".into()) };
    for (event, entries) in shipped["hooks"].as_object().into_iter().flatten() {
        let list = hooks.entry(event.clone()).or_insert_with(|| json!([]));
        let Some(list) = list.as_array_mut() else { return Err(format!("hooks.{event} is not a list")) };
        list.retain(|e| !is_ocds(e));
        for entry in entries.as_array().into_iter().flatten() {
            let mut entry = entry.clone();
            for hook in entry["hooks"].as_array_mut().into_iter().flatten() {
                if hook["type"] == "http" {
                    // The user's own settings file (0600): the key is written in, so hooks work
                    // whatever the environment Claude Code starts in.
                    hook["headers"] = json!({"Authorization": format!("Bearer {key}")});
                    if let Some(h) = hook.as_object_mut() {
                        h.remove("allowedEnvVars");
                    }
                } else {
                    hook["command"] = Value::from(format!("{ocd} hook claude-code"));
                }
            }
            list.push(entry);
        }
    }
    let env = settings.entry("env").or_insert_with(|| json!({}));
    let Some(env) = env.as_object_mut() else { return Err("the `env` of the Claude Code settings is not an object".into()) };
    for (k, v) in [
        ("CLAUDE_CODE_ENABLE_TELEMETRY", "1".to_string()),
        ("OTEL_METRICS_EXPORTER", "otlp".into()),
        ("OTEL_LOGS_EXPORTER", "otlp".into()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json".into()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("{url}/api/ingest/otlp")),
        ("OTEL_EXPORTER_OTLP_HEADERS", format!("Authorization=Bearer {key}")),
    ] {
        env.insert(k.to_string(), Value::from(v));
    }
    Ok(settings)
}

/// Codex's config with `notify` set to `ocd hook codex` (an earlier `notify` line replaced).
pub fn codex_config(existing: &str, ocd: &str) -> String {
    let line = format!("notify = [\"{ocd}\", \"hook\", \"codex\"]");
    let mut replaced = false;
    let mut lines: Vec<String> = Vec::new();
    let mut in_table = false;
    for l in existing.lines() {
        let trimmed = l.trim_start();
        if trimmed.starts_with('[') {
            in_table = true;
        }
        if !in_table && (trimmed.starts_with("notify =") || trimmed.starts_with("notify=")) {
            lines.push(line.clone());
            replaced = true;
        } else {
            lines.push(l.to_string());
        }
    }
    if !replaced {
        // Top-level keys go before the first table.
        let at = lines.iter().position(|l| l.trim_start().starts_with('[')).unwrap_or(lines.len());
        lines.insert(at, line);
    }
    lines.join("\n") + "\n"
}

/// Where `install` connects the agent: for the user (every repository), or for one repository
/// with a key scoped to its project.
#[derive(Debug, Clone)]
pub enum Target {
    User,
    Repository { dir: PathBuf, project: String },
}

/// Repository files that hold the key and must never be committed (the settings' `.bak` too).
const REPO_SECRETS: [&str; 2] = [".ocd/", ".claude/settings.local.json*"];

/// What `install` writes for `tool`.
pub fn plan(tool: Tool, target: &Target, url: &str, key: &str, ocd: &str) -> Result<Vec<Planned>, String> {
    let mut files = Vec::new();
    match target {
        Target::User => {
            let client = json!({"url": url, "key": key});
            files.push(Planned { path: config_dir()?.join("ocd").join("client.json"), text: format!("{client:#}\n"), secret: true });
        }
        Target::Repository { dir, project } => {
            let client = json!({"url": url, "key": key, "project": project});
            files.push(Planned { path: dir.join(super::REPO_CLIENT_FILE), text: format!("{client:#}\n"), secret: true });
            files.extend(git_exclude(dir)?);
        }
    }
    let repository = match target {
        Target::User => None,
        Target::Repository { dir, .. } => Some(dir),
    };
    match tool {
        Tool::Opencode => {
            let plugins = match repository {
                Some(dir) => dir.join(".opencode"),
                None => config_dir()?.join("opencode"),
            };
            files.push(Planned { path: plugins.join("plugins").join("ocd.ts"), text: OPENCODE_PLUGIN.to_string(), secret: false });
        }
        Tool::ClaudeCode => {
            let path = match repository {
                Some(dir) => dir.join(".claude").join("settings.local.json"),
                None => home()?.join(".claude").join("settings.json"),
            };
            let settings = claude_settings(read_json(&path)?, url, key, ocd)?;
            files.push(Planned { path, text: format!("{:#}\n", Value::Object(settings)), secret: true });
        }
        Tool::Codex => {
            let path = home()?.join(".codex").join("config.toml");
            let existing = std::fs::read_to_string(&path).unwrap_or_default();
            files.push(Planned { path, text: codex_config(&existing, ocd), secret: false });
        }
    }
    Ok(files)
}

/// The repository's `.git/info/exclude` with the files holding the key added (nothing when the
/// directory is not a git repository's root, or they are already excluded).
fn git_exclude(dir: &Path) -> Result<Option<Planned>, String> {
    let git = dir.join(".git");
    if !git.is_dir() {
        return Ok(None);
    }
    let path = git.join("info").join("exclude");
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let missing: Vec<&str> = REPO_SECRETS.iter().copied().filter(|line| !existing.lines().any(|l| l.trim() == *line)).collect();
    if missing.is_empty() {
        return Ok(None);
    }
    let mut text = existing;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("# ocd install: these hold an API key\n");
    for line in missing {
        text.push_str(line);
        text.push('\n');
    }
    Ok(Some(Planned { path, text, secret: false }))
}

/// A warning when the files holding the key cannot be kept out of git here: `dir` is not a
/// repository's root with a `.git` folder (a sub-folder, a worktree or submodule, no git).
pub fn unexcluded(target: &Target) -> Option<String> {
    let Target::Repository { dir, .. } = target else { return None };
    (!dir.join(".git").is_dir()).then(|| {
        format!(
            "{} has no .git folder (a sub-folder, worktree or submodule?): keep .ocd/ and .claude/settings.local.json* out of version control yourself",
            dir.display()
        )
    })
}

/// A warning when the agent will also report through an install for the user: Claude Code runs
/// the hooks of every settings file, so in this repository both would report (the user's
/// unscoped key naming the directory's project). The OpenCode plugin runs once either way.
pub fn overlap(tool: Tool, target: &Target) -> Option<String> {
    let (Tool::ClaudeCode, Target::Repository { .. }) = (tool, target) else { return None };
    let user = home().ok()?.join(".claude").join("settings.json");
    let settings = read_json(&user).ok()?;
    let hooks = settings.get("hooks")?.as_object()?;
    hooks.values().filter_map(Value::as_array).flatten().any(is_ocds).then(|| {
        format!("{} also sends Claude Code's hooks to ocd; remove ocd's hooks there so this repository reports once", user.display())
    })
}

/// Writes each file (0600 when it holds the key), keeping `<file>.bak` of one it changes.
pub fn write(files: &[Planned]) -> Result<Vec<String>, String> {
    let mut done = Vec::new();
    for file in files {
        if let Some(dir) = file.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        match std::fs::read_to_string(&file.path) {
            Ok(old) if old == file.text => {
                done.push(format!("unchanged {}", file.path.display()));
                continue;
            }
            Ok(_) => {
                let backup = PathBuf::from(format!("{}.bak", file.path.display()));
                std::fs::copy(&file.path, &backup).map_err(|e| format!("cannot back up {}: {e}", file.path.display()))?;
            }
            Err(_) => {}
        }
        std::fs::write(&file.path, &file.text).map_err(|e| format!("cannot write {}: {e}", file.path.display()))?;
        if file.secret {
            restrict(&file.path)?;
        }
        done.push(format!("wrote {}", file.path.display()));
    }
    Ok(done)
}

#[cfg(unix)]
fn restrict(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| format!("cannot restrict {}: {e}", path.display()))
}

#[cfg(not(unix))]
fn restrict(_path: &Path) -> Result<(), String> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_settings_keep_the_users_hooks_and_replace_ocds() {
        let existing: Map<String, Value> = serde_json::from_value(json!({
            "model": "opus",
            "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "my-linter"}]},
                                      {"matcher": "*", "hooks": [{"type": "http", "url": "http://old/api/ingest/claude-code"}]}]}
        }))
        .unwrap();
        let merged = claude_settings(existing, "https://ocd.example", "ocdk_1", "/usr/bin/ocd").unwrap();
        assert_eq!(merged["model"], "opus");
        let pre = merged["hooks"]["PreToolUse"].as_array().unwrap();
        assert_eq!(pre.len(), 2, "the user's linter and one ocd hook: {pre:?}");
        assert_eq!(pre[0]["hooks"][0]["command"], "my-linter");
        assert_eq!(pre[1]["hooks"][0]["url"], "https://ocd.example/api/ingest/claude-code");
        assert_eq!(pre[1]["hooks"][0]["headers"]["Authorization"], "Bearer ocdk_1");
        assert_eq!(merged["hooks"]["SessionStart"][0]["hooks"][0]["command"], "/usr/bin/ocd hook claude-code");
        assert_eq!(merged["env"]["OTEL_EXPORTER_OTLP_ENDPOINT"], "https://ocd.example/api/ingest/otlp");
        let again = claude_settings(merged.clone(), "https://ocd.example", "ocdk_1", "/usr/bin/ocd").unwrap();
        assert_eq!(again, merged, "installing twice changes nothing");
    }

    #[test]
    fn codex_notify_is_set_at_the_top_level() {
        assert_eq!(codex_config("", "ocd"), "notify = [\"ocd\", \"hook\", \"codex\"]\n");
        let existing = "model = \"o3\"\nnotify = [\"old\"]\n[profiles.x]\nnotify = \"not top level\"\n";
        assert_eq!(
            codex_config(existing, "ocd"),
            "model = \"o3\"\nnotify = [\"ocd\", \"hook\", \"codex\"]\n[profiles.x]\nnotify = \"not top level\"\n"
        );
        let tables = "[tui]\nx = 1\n";
        assert_eq!(codex_config(tables, "ocd"), "notify = [\"ocd\", \"hook\", \"codex\"]\n[tui]\nx = 1\n");
    }
}

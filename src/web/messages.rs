//! `/messages`: the feed of what agents reported (completions, errors, state changes, work
//! logs), newest first, unread ones highlighted; filter by type and session; mark read one by
//! one or all at once. The feed is the live region (`?fragment=1`).

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::shell::{Nav, Shell, Visit};
use super::theme::Theme;
use super::time::Clock;
use super::{markdown, page_or_fragment};
use crate::db::messages::{self, Message};
use crate::db::todos::Filter;
use crate::domain::MessageType;
use crate::error::AppResult;
use crate::http::json::Params;
use crate::state::App;

/// The newest messages a page shows.
const SHOWN: i64 = 200;

pub const TYPES: [(&str, &str); 5] =
    [("task_complete", "Completed"), ("error", "Error"), ("state_change", "State change"), ("worklog", "Work log"), ("custom", "Note")];

/// A message with its work-log metadata (`[author:… | tags:… | summary_id:…]`) taken apart,
/// and the agent an alert is about (linked to its page).
pub struct MessageView {
    pub message: Message,
    pub body_html: String,
    pub meta: Vec<(String, String)>,
    pub icon: &'static str,
    pub agent: Option<String>,
}

fn icon(kind: MessageType) -> &'static str {
    match kind {
        MessageType::TaskComplete => "✓",
        MessageType::Error => "⚠",
        MessageType::StateChange => "⇄",
        MessageType::Worklog => "✎",
        MessageType::Custom => "•",
    }
}

/// Splits the metadata line the API appends from the text.
fn split_meta(content: &str) -> (&str, Vec<(String, String)>) {
    if let Some((text, last)) = content.rsplit_once('\n')
        && let Some(inner) = last.strip_prefix('[').and_then(|l| l.strip_suffix(']'))
    {
        let meta: Vec<(String, String)> =
            inner.split(" | ").filter_map(|part| part.split_once(':')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if !meta.is_empty() {
            return (text, meta);
        }
    }
    (content, Vec::new())
}

pub struct Feed {
    pub messages: Vec<MessageView>,
    pub unread: usize,
    pub kind: String,
    pub session: String,
    pub sessions: Vec<String>,
    pub clock: Clock,
    pub types: [(&'static str, &'static str); 5],
}

async fn load(app: &App, project: Option<&str>, params: &Params) -> AppResult<Feed> {
    let mut filter = Filter::default();
    if let Some(p) = project {
        filter.text("project_id = ?", p);
    }
    let all_sessions = messages::list(&app.db.read, &app.sealer, &filter, Some(SHOWN)).await?;
    let mut sessions: Vec<String> = all_sessions.iter().filter_map(|m| m.session_id.clone()).collect();
    sessions.sort();
    sessions.dedup();
    let kind = params.get("type").unwrap_or_default().to_string();
    let session = params.get("session").unwrap_or_default().to_string();
    if !kind.is_empty() {
        filter.text("type = ?", &kind);
    }
    if !session.is_empty() {
        filter.text("session_id = ?", &session);
    }
    let list = messages::list(&app.db.read, &app.sealer, &filter, Some(SHOWN)).await?;
    let unread = list.iter().filter(|m| m.read == 0).count();
    let base = app.base_path.clone();
    let messages = list
        .into_iter()
        .map(|message| {
            let (text, meta) = split_meta(&message.content);
            let agent = message.metadata.as_ref().and_then(|m| m["agent_id"].as_str()).map(String::from);
            MessageView { body_html: markdown::render(text, &base), meta, icon: icon(message.kind), agent, message }
        })
        .collect();
    Ok(Feed { messages, unread, kind, session, sessions, clock: Clock { now: app.clock.now() }, types: TYPES })
}

#[derive(Template)]
#[template(path = "messages.html")]
struct MessagesPage {
    shell: Shell,
    feed: Feed,
}

#[derive(Template)]
#[template(path = "messages_live.html")]
struct MessagesLive {
    shell: Shell,
    feed: Feed,
}

/// `GET /messages[?type=&session=][&fragment=1]`.
pub async fn show(State(app): State<App>, visit: Visit) -> AppResult<Response> {
    let params = &visit.params;
    let mut shell = Shell::build(&app, &visit, "Messages", Nav::Messages).await?;
    shell.live = Some("messages");
    let feed = load(&app, shell.project.as_deref(), params).await?;
    Ok(page_or_fragment(params, (shell, feed), |(shell, feed)| MessagesPage { shell, feed }, |(shell, feed)| MessagesLive { shell, feed }))
}

#[cfg(test)]
mod tests {
    use super::split_meta;

    #[test]
    fn work_log_metadata_is_taken_apart() {
        let (text, meta) = split_meta("Did things\n[author:bot | tags:a,b | summary_id:s1]");
        assert_eq!(text, "Did things");
        assert_eq!(meta, [("author".into(), "bot".into()), ("tags".into(), "a,b".into()), ("summary_id".into(), "s1".into())]);
        assert_eq!(split_meta("plain [not meta]").1, []);
    }
}

//! One send of a notification to one channel, shaped as each receiver expects
//! (`../shared/reference/external-apis.md`, K27). Every request carries `X-Ocd-Delivery`, the
//! id receivers deduplicate on: sends are at least once.

use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use super::webpush::{self, Vapid};
use crate::domain::Priority;
use crate::domain::alerts::{ApprovalNote, Notification};
use crate::domain::channels::ChannelType;

/// How long one send may take.
pub const SEND_TIMEOUT_SECS: u64 = 10;
/// Discord refuses messages longer than this.
const DISCORD_LIMIT: usize = 2000;
/// ntfy turns longer messages into attachments (or refuses them).
const NTFY_MESSAGE_LIMIT: usize = 4096;
/// The largest plaintext one Web Push record carries (RFC 8291 with a 4096-byte record).
const PUSH_PAYLOAD_LIMIT: usize = 3993;

/// What the receiver answered.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub status: u16,
    /// `Retry-After` in seconds, when the receiver asked for a pause.
    pub retry_after: Option<i64>,
}

fn text<'a>(config: &'a Map<String, Value>, key: &str) -> &'a str {
    config.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Sends `note`; `Err` is a failure without an answer (connection, timeout, bad configuration).
pub async fn send(
    http: &reqwest::Client,
    vapid: Option<&Vapid>,
    kind: ChannelType,
    config: &Map<String, Value>,
    delivery_id: &str,
    note: &Notification,
    now: i64,
) -> Result<Answer, String> {
    let request = match kind {
        ChannelType::Ntfy => ntfy(http, config, note),
        ChannelType::Slack => http.post(text(config, "url")).json(&json!({"text": slack_text(note)})),
        ChannelType::Discord => http.post(text(config, "url")).json(&json!({
            "content": discord_text(note),
            "username": "ocd",
            // Agent text never pings anyone.
            "allowed_mentions": {"parse": []},
        })),
        ChannelType::Webhook => webhook(http, config, note, now),
        ChannelType::WebPush => web_push(http, vapid.ok_or("no VAPID key")?, config, note, now)?,
    };
    let answer = request
        .header("X-Ocd-Delivery", delivery_id)
        .timeout(std::time::Duration::from_secs(SEND_TIMEOUT_SECS))
        .send()
        .await
        .map_err(describe)?;
    let retry_after = answer
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|s| *s >= 0);
    Ok(Answer { status: answer.status().as_u16(), retry_after })
}

/// A failure's cause without the URL (which may hold a secret, as Slack's and Discord's do).
fn describe(e: reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_builder() {
        "invalid URL"
    } else {
        "request failed"
    };
    format!("{what}: {}", e.without_url())
}

fn ntfy_priority(p: Priority) -> u8 {
    match p {
        Priority::High => 4,
        Priority::Medium => 3,
        Priority::Low => 2,
    }
}

/// ntfy's JSON publishing: POST to the server root with the topic in the body (UTF-8 titles
/// need no header encoding).
fn ntfy(http: &reqwest::Client, config: &Map<String, Value>, note: &Notification) -> reqwest::RequestBuilder {
    let server = text(config, "server").trim_end_matches('/');
    let mut body = json!({
        "topic": text(config, "topic"),
        "title": note.title,
        "message": truncate_bytes(&note.body, NTFY_MESSAGE_LIMIT),
        "priority": ntfy_priority(note.priority),
        "tags": [note.tag.split('-').next().unwrap_or("ocd")],
        "click": note.url,
    });
    if let Some(approval) = &note.approval {
        body["actions"] = ntfy_actions(approval);
    }
    let request = http.post(format!("{server}/")).json(&body);
    match config.get("token").and_then(Value::as_str) {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
}

/// ntfy's HTTP action buttons: each POSTs its decision to the decision link (K30), and the
/// notification clears once answered.
fn ntfy_actions(approval: &ApprovalNote) -> Value {
    let button = |label: &str, decision: &str| {
        json!({
            "action": "http",
            "label": label,
            "url": approval.decide_url,
            "method": "POST",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            "body": format!("decision={decision}"),
            "clear": true,
        })
    };
    json!([button("Approve", "once"), button("Reject", "reject")])
}

/// Slack's mrkdwn: `&`, `<` and `>` are escaped; the link is `<url|label>`. An approval adds
/// its approve and reject links (each opens a confirm page: chat apps unfurl links).
fn slack_text(note: &Notification) -> String {
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let answers = match &note.approval {
        Some(a) => format!("\n<{}|Approve> · <{}|Reject>", a.approve_url, a.reject_url),
        None => String::new(),
    };
    format!("*{}*\n{}{answers}\n<{}|Open in ocd>", escape(&note.title), escape(&note.body), note.url)
}

fn discord_text(note: &Notification) -> String {
    let answers = match &note.approval {
        Some(a) => format!("\nApprove: {}\nReject: {}", a.approve_url, a.reject_url),
        None => String::new(),
    };
    let link = format!("{answers}\n{}", note.url);
    let head = format!("**{}**\n", note.title);
    let room = DISCORD_LIMIT.saturating_sub(head.chars().count() + link.chars().count());
    format!("{head}{}{link}", truncate_chars(&note.body, room))
}

/// `s` cut to at most `max` bytes on a character boundary, with `…` when cut.
fn truncate_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The signature a webhook receiver checks: hex HMAC-SHA256 of `"<timestamp>.<raw body>"`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    // HMAC takes a key of any length.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    mac.update(format!("{timestamp}.{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn webhook(http: &reqwest::Client, config: &Map<String, Value>, note: &Notification, now: i64) -> reqwest::RequestBuilder {
    let body = note.data.to_string();
    let mut request =
        http.post(text(config, "url")).header(reqwest::header::CONTENT_TYPE, "application/json").header("X-Ocd-Timestamp", now.to_string());
    if let Some(secret) = config.get("secret").and_then(Value::as_str) {
        request = request.header("X-Ocd-Signature", format!("sha256={}", signature(secret, now, &body)));
    }
    request.body(body)
}

/// `{title, body, url, tag}` within one push record: the body, then the title, are shortened
/// until it fits (a few rounds at most: each cuts a quarter). An approval adds `approvalId`,
/// the `actions` the service worker shows and the `decideUrl` it posts the chosen one to.
fn push_payload(note: &Notification) -> String {
    let (mut title, mut body) = (note.title.clone(), note.body.clone());
    loop {
        let mut payload = json!({"title": title, "body": body, "url": note.url, "tag": note.tag});
        if let Some(a) = &note.approval {
            payload["approvalId"] = json!(a.id);
            payload["actions"] = json!([{"action": "once", "title": "Approve"}, {"action": "reject", "title": "Reject"}]);
            payload["decideUrl"] = json!(a.decide_url);
        }
        let payload = payload.to_string();
        if payload.len() <= PUSH_PAYLOAD_LIMIT || (title.is_empty() && body.is_empty()) {
            return payload;
        }
        if body.chars().count() > 1 {
            body = truncate_chars(&body, body.chars().count() * 3 / 4);
        } else if !body.is_empty() {
            body.clear();
        } else if title.chars().count() > 1 {
            title = truncate_chars(&title, title.chars().count() * 3 / 4);
        } else {
            title.clear();
        }
    }
}

/// The browser's notification: `{title, body, url, tag}`, encrypted, with the body cut to fit one record.
fn web_push(
    http: &reqwest::Client,
    vapid: &Vapid,
    config: &Map<String, Value>,
    note: &Notification,
    now: i64,
) -> Result<reqwest::RequestBuilder, String> {
    let endpoint = text(config, "endpoint");
    let payload = push_payload(note);
    let encrypted = webpush::encrypt(text(config, "p256dh"), text(config, "auth"), payload.as_bytes())?;
    let urgency = if note.priority == Priority::High { "high" } else { "normal" };
    Ok(http
        .post(endpoint)
        .header(reqwest::header::AUTHORIZATION, vapid.authorization(endpoint, now)?)
        .header("TTL", "86400")
        .header("Urgency", urgency)
        .header(reqwest::header::CONTENT_ENCODING, "aes128gcm")
        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
        .body(encrypted))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPECTED_SIGNATURE: &str = "38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789";

    #[test]
    fn receivers_get_text_in_their_format() {
        let note = Notification {
            title: "a <b> & c".into(),
            body: "x".repeat(3000),
            url: "https://ocd.example/agents/a".into(),
            tag: "alert-1".into(),
            priority: Priority::High,
            data: json!({}),
            approval: None,
        };
        assert!(slack_text(&note).starts_with("*a &lt;b&gt; &amp; c*\n"));
        let discord = discord_text(&note);
        assert_eq!(discord.chars().count(), DISCORD_LIMIT);
        assert!(discord.ends_with("\nhttps://ocd.example/agents/a"));
        // HMAC-SHA256("whsec_test", "1700000000.{\"a\":1}"), computed independently (Python's hmac).
        assert_eq!(signature("whsec_test", 1_700_000_000, r#"{"a":1}"#), EXPECTED_SIGNATURE);
        assert_eq!(truncate_bytes("héllo", 4), "h…");
        assert_eq!(truncate_bytes("hello", 5), "hello");
        let huge = Notification { title: "t".repeat(10_000), url: "u".repeat(5_000), ..note };
        assert!(push_payload(&huge).len() > PUSH_PAYLOAD_LIMIT, "a URL too long to fit still ends the loop");
        let long = Notification { body: "b".repeat(10_000), url: "https://x".into(), ..huge };
        assert!(push_payload(&long).len() <= PUSH_PAYLOAD_LIMIT);
    }
}

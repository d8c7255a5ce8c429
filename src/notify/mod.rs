//! Sending notifications outside the app (docs/decisions.md#deliveries): the worker claims due
//! deliveries with a lease, sends each to its channel, and records the attempt — delivered,
//! retried later with backoff, failed for good, or gone (a push subscription the push service
//! no longer knows, whose channel is then removed).

pub mod send;
pub mod webpush;

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::db::channels::{self, StoredChannel};
use crate::db::deliveries::{self, Attempt, Claimed};
use crate::db::settings;
use crate::domain::alerts::Notification;
use crate::domain::channels::{ChannelType, MAX_ATTEMPTS, Outcome, outcome, retry_delay_ms};
use crate::error::{AppError, AppResult};
use crate::state::App;
use webpush::Vapid;

/// How long a claimed delivery is reserved for the replica sending it.
const LEASE_MS: i64 = 60_000;
/// Deliveries sent per pass (concurrently).
const BATCH: i64 = 20;
/// Where the sealed VAPID private key is kept.
const VAPID_SETTING: &str = "vapid_private_key";

/// The client every send uses.
pub fn http_client() -> Result<reqwest::Client, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .user_agent(concat!("ocd/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build the notification client: {e}"))
}

/// The server's VAPID key pair: made once, kept sealed in the database (the first replica to
/// get here writes it; the others read the same one), cached for the process.
pub async fn vapid(app: &App) -> AppResult<Arc<Vapid>> {
    let made = app
        .vapid
        .get_or_try_init(|| async {
            let sealer = app.sealer.clone();
            let stored = app
                .db
                .write(move |c| {
                    Box::pin(async move {
                        if let Some(stored) = settings::get(&mut *c, VAPID_SETTING).await? {
                            return Ok(stored);
                        }
                        let sealed = hex::encode(sealer.seal(&Vapid::generate_secret()));
                        settings::put(c, VAPID_SETTING, &sealed, 0).await?;
                        Ok(sealed)
                    })
                })
                .await?;
            let sealed = hex::decode(stored).map_err(AppError::internal)?;
            let secret =
                app.sealer.open(&sealed).map_err(|_| AppError::internal("the stored VAPID key cannot be opened with secret.key"))?;
            Vapid::from_secret(&secret, vapid_subject(app)).map(Arc::new).map_err(AppError::internal)
        })
        .await?;
    Ok(made.clone())
}

/// The VAPID `sub`: VAPID_SUBJECT, else PUBLIC_URL when it is https, else a mailto: address.
fn vapid_subject(app: &App) -> String {
    if let Some(subject) = app.config.vapid_subject.clone().filter(|s| !s.is_empty()) {
        return subject;
    }
    match app.config.public_url.as_deref() {
        Some(url) if url.starts_with("https://") => url.trim_end_matches('/').to_string(),
        _ => {
            tracing::warn!(
                "VAPID_SUBJECT is not set and PUBLIC_URL is not https: push services see mailto:ocd@localhost as the contact; some refuse it"
            );
            "mailto:ocd@localhost".into()
        }
    }
}

/// A channel's configuration, opened.
pub fn open_config(app: &App, channel: &StoredChannel) -> AppResult<Map<String, Value>> {
    let text =
        app.sealer.open_str(&channel.config).map_err(|_| AppError::internal(format!("channel {} config cannot be opened", channel.id)))?;
    serde_json::from_str(&text).map_err(AppError::internal)
}

/// One pass: claims what is due, sends it, records every attempt. Returns how many were sent.
pub async fn deliver_due(app: &App) -> AppResult<usize> {
    let now_ms = app.clock.now_ms();
    let backend = app.db.backend;
    let claimed = app
        .db
        .write(move |c| Box::pin(async move { Ok(deliveries::claim_due(c, backend, now_ms, now_ms + LEASE_MS, BATCH).await?) }))
        .await?;
    send_and_record(app, claimed).await
}

/// Sends delivery `id` now if it is still waiting (the "send test" button).
pub async fn deliver_one(app: &App, id: String) -> AppResult<usize> {
    let now_ms = app.clock.now_ms();
    let claimed =
        app.db.write(move |c| Box::pin(async move { Ok(deliveries::claim_one(c, &id, now_ms, now_ms + LEASE_MS).await?) })).await?;
    send_and_record(app, claimed.into_iter().collect()).await
}

async fn send_and_record(app: &App, claimed: Vec<Claimed>) -> AppResult<usize> {
    if claimed.is_empty() {
        return Ok(0);
    }
    let results = futures_util::future::join_all(claimed.iter().map(|d| attempt(app, d))).await;
    let count = results.len();
    let now_ms = app.clock.now_ms();
    app.db
        .write(move |c| {
            Box::pin(async move {
                for (delivery, result) in results {
                    let attempts = delivery.attempts + 1;
                    let (status, next, error) = match result.outcome {
                        Outcome::Delivered => ("delivered", None, None),
                        Outcome::Gone => {
                            channels::delete(c, &delivery.channel_id).await?;
                            ("gone", None, result.error)
                        }
                        Outcome::Failed => ("failed", None, result.error),
                        Outcome::Retry if attempts >= MAX_ATTEMPTS => {
                            ("failed", None, Some(format!("gave up after {attempts} attempts: {}", result.error.unwrap_or_default())))
                        }
                        Outcome::Retry => {
                            let wait = retry_delay_ms(attempts, result.retry_after, rand::random::<f64>());
                            ("pending", Some(now_ms + wait), result.error)
                        }
                    };
                    let row = Attempt {
                        attempt: attempts,
                        status,
                        http_status: result.http_status,
                        error: error.as_deref(),
                        next_attempt_ms: next,
                    };
                    deliveries::record(c, &delivery.id, &row, now_ms).await?;
                }
                Ok(())
            })
        })
        .await?;
    Ok(count)
}

/// What one send came to.
struct Tried {
    outcome: Outcome,
    http_status: Option<i64>,
    retry_after: Option<i64>,
    error: Option<String>,
}

impl Tried {
    fn without_answer(outcome: Outcome, error: String) -> Tried {
        Tried { outcome, http_status: None, retry_after: None, error: Some(error) }
    }
}

async fn attempt(app: &App, delivery: &Claimed) -> (Claimed, Tried) {
    let tried = match try_send(app, delivery).await {
        Ok(tried) => tried,
        // A failure on our side (a read, the key, the writer) is passing: try again later.
        Err(e) => {
            tracing::warn!(delivery = %delivery.id, error = %e, "delivery could not be prepared");
            Tried::without_answer(Outcome::Retry, "ocd could not prepare the send (see the log); it will try again".into())
        }
    };
    if tried.outcome != Outcome::Delivered {
        tracing::warn!(delivery = %delivery.id, channel = %delivery.channel_id, status = tried.http_status, error = tried.error.as_deref(), "delivery not accepted");
    }
    (delivery.clone(), tried)
}

async fn try_send(app: &App, delivery: &Claimed) -> AppResult<Tried> {
    let Some(channel) = channels::get(&app.db.read, &delivery.channel_id).await? else {
        return Ok(Tried::without_answer(Outcome::Failed, "the channel was removed".into()));
    };
    if !channel.enabled {
        return Ok(Tried::without_answer(Outcome::Failed, "the channel is disabled".into()));
    }
    let config = open_config(app, &channel)?;
    let note: Notification = app
        .sealer
        .open(&delivery.payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| AppError::internal("delivery payload cannot be opened"))?;
    let vapid = match channel.kind {
        ChannelType::WebPush => Some(vapid(app).await?),
        _ => None,
    };
    let sent = send::send(&app.notify_http, vapid.as_deref(), channel.kind, &config, &delivery.id, &note, app.clock.now()).await;
    Ok(match sent {
        Ok(answer) => {
            let result = outcome(channel.kind, Some(answer.status));
            let error = (result != Outcome::Delivered).then(|| format!("answered HTTP {}", answer.status));
            Tried { outcome: result, http_status: Some(i64::from(answer.status)), retry_after: answer.retry_after, error }
        }
        Err(error) => Tried::without_answer(outcome(channel.kind, None), error),
    })
}

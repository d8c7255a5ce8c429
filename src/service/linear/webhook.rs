//! Linear's webhook deliveries (L3). A delivery is checked — its signature (HMAC-SHA256 of
//! the raw body, with the secret of the webhook ocd registered or `LINEAR_WEBHOOK_SECRET`),
//! its `webhookTimestamp` (within 60 s of now) and its shape — then stored once per
//! `Linear-Delivery` and answered; applying it to the cache happens right after the answer.
//! A delivery stored but never applied (the server stopped) is applied by the scheduler.

use bytes::Bytes;
use serde_json::{Value, json};

use crate::db::WriteConn;
use crate::db::linear as cache;
use crate::db::linear_webhooks::{self as store, StoredDelivery};
use crate::domain::linear::{Delivery, is_before_removal, issue_from, project_from, signature_matches, timestamp_fresh};
use crate::error::{AppError, AppResult};
use crate::state::App;

/// A delivery as it arrived.
pub struct Incoming {
    pub signature: Option<String>,
    /// `Linear-Delivery`; a delivery without one is known by its body's hash.
    pub delivery_id: Option<String>,
    pub body: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Stored; apply it next.
    New(String),
    /// This delivery was received before: nothing to do.
    Repeated,
}

/// The secrets a delivery may be signed with: its registered webhook's, then the configured one.
async fn secrets(app: &App, webhook_id: Option<&str>) -> AppResult<Vec<String>> {
    let mut secrets = Vec::new();
    // (Only an id of the shape Linear gives is looked up: the body is not verified yet.)
    let plausible = |id: &&str| id.len() <= 100 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if let Some(id) = webhook_id.filter(plausible)
        && let Some(sealed) = store::secret(&app.db.read, id).await?
    {
        secrets.push(app.sealer.open_str(&sealed).map_err(|_| AppError::internal("a Linear webhook secret does not open"))?);
    }
    if let Some(secret) = app.config.linear_webhook_secret() {
        secrets.push(secret.to_string());
    }
    if secrets.is_empty() && store::webhooks(&app.db.read).await?.is_empty() {
        return Err(AppError::NotConfigured(
            "LINEAR_WEBHOOK_SECRET environment variable is required (or register the webhook from Settings → Linear)".into(),
        ));
    }
    Ok(secrets)
}

/// Checks and stores a delivery.
pub async fn receive(app: &App, incoming: Incoming) -> AppResult<Received> {
    let body: Option<Value> = serde_json::from_slice(&incoming.body).ok();
    let webhook_id = body.as_ref().and_then(|b| b.get("webhookId")).and_then(Value::as_str).map(String::from);
    let secrets = secrets(app, webhook_id.as_deref()).await?;
    let signature =
        incoming.signature.filter(|s| !s.is_empty()).ok_or_else(|| AppError::UnauthorizedBecause("Missing Linear signature".into()))?;
    if !secrets.iter().any(|secret| signature_matches(secret, &incoming.body, &signature)) {
        return Err(AppError::UnauthorizedBecause("Invalid Linear signature".into()));
    }
    let body = body.ok_or_else(|| AppError::BadRequest("Invalid webhook payload".into()))?;
    let delivery = Delivery::parse(&body).map_err(|m| AppError::BadRequest(m.into()))?;
    let timestamp = delivery.timestamp_ms.ok_or_else(|| AppError::BadRequest("webhookTimestamp is required".into()))?;
    if !timestamp_fresh(timestamp, app.clock.now_ms()) {
        return Err(AppError::UnauthorizedBecause("Linear webhook timestamp is more than 60 s from now".into()));
    }
    let body_hash = crate::crypto::sha256_hex(&String::from_utf8_lossy(&incoming.body));
    let id = incoming.delivery_id.filter(|d| !d.is_empty()).unwrap_or_else(|| body_hash.clone());
    let now = app.clock.now();
    let stored = StoredDelivery {
        id: crate::domain::clip(&id, 200),
        body_hash,
        webhook_id: delivery.webhook_id.clone(),
        kind: delivery.kind.clone(),
        action: delivery.action.clone(),
        body: body.to_string(),
        received_at: now,
    };
    let id = stored.id.clone();
    let new = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let new = store::receive(c, &stored).await?;
                if new && let Some(webhook) = &stored.webhook_id {
                    store::delivered(c, webhook, now).await?;
                }
                Ok(new)
            })
        })
        .await?;
    Ok(if new { Received::New(id) } else { Received::Repeated })
}

/// Applies a stored delivery right after its answer, in the background.
pub fn apply_soon(app: &App, id: String) {
    let app = app.clone();
    tokio::spawn(async move {
        if let Err(e) = apply(&app, &id).await {
            tracing::warn!(delivery = %id, error = %e, "Linear delivery not applied");
        }
    });
}

/// What applying a delivery changed that needs a follow-up.
enum Applied {
    Issue(String),
    Other,
}

/// Applies a stored delivery once (whoever claims it first: the answer's follow-up or the
/// scheduler), then offers a changed issue to the agents.
pub async fn apply(app: &App, id: &str) -> AppResult<()> {
    let now = app.clock.now();
    let key = id.to_string();
    let outcome = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let Some(stored) = store::claim(c, &key, now).await? else { return Ok(None) };
                let applied = match serde_json::from_str::<Value>(&stored.body).ok().and_then(|b| Delivery::parse(&b).ok()) {
                    Some(delivery) => apply_in(c, &delivery, now).await?,
                    None => {
                        store::failed(c, &key, "the stored body no longer parses").await?;
                        Applied::Other
                    }
                };
                Ok(Some((applied, json!({"delivery": stored.id, "type": stored.kind, "action": stored.action}))))
            })
        })
        .await?;
    let Some((applied, done)) = outcome else { return Ok(()) };
    // (The delivery is applied either way; an assignment that failed is in the log.)
    if let Applied::Issue(issue) = applied
        && let Err(e) = super::assign::consider(app, &issue).await
    {
        tracing::warn!(issue = %issue, error = %e, "Linear issue not assigned to its agent");
    }
    // Announced last: whoever waits for a delivery sees everything it caused.
    app.db.write(move |c| Box::pin(async move { super::publish(c, "linear:webhook", done, now).await })).await
}

async fn apply_in(c: &mut WriteConn, d: &Delivery, now: i64) -> AppResult<Applied> {
    let data = Value::Object(d.data.clone());
    match (d.kind.as_str(), d.is_removal()) {
        ("Issue", true) => {
            cache::delete_issue(c, d.id()).await?;
            let removed_at = data.get("updatedAt").and_then(Value::as_str);
            cache::remember_removal(c, d.id(), removed_at, now).await?;
            super::publish(c, "todo:updated", json!({"issue_id": d.id(), "action": "remove"}), now).await?;
            Ok(Applied::Other)
        }
        ("Issue", false) => {
            let cached = cache::issue(&mut *c, d.id()).await?;
            let state_id = data.get("stateId").and_then(Value::as_str).map(String::from);
            let state = match state_id {
                Some(id) => cache::state(&mut *c, &id).await?,
                None => None,
            };
            let task = cached.as_ref().and_then(|i| i.agent_task_id.clone());
            let issue = issue_from(&data, state.as_ref(), task, now);
            let removal = cache::removal(c, &issue.id).await?;
            if is_before_removal(issue.updated_at.as_deref(), removal.as_ref().map(Option::as_deref)) {
                // A late, older update of an issue removed since: it stays removed.
                return Ok(Applied::Other);
            }
            if cache::upsert_issue(c, &issue).await? {
                cache::forget_found_removals(c).await?;
                super::issue_changed(c, &issue, now).await?;
            }
            Ok(Applied::Issue(issue.id))
        }
        ("Project", true) => {
            cache::delete_project(c, d.id()).await?;
            super::publish(c, "project:updated", json!({"project_id": d.id(), "action": "remove"}), now).await?;
            Ok(Applied::Other)
        }
        ("Project", false) => {
            let teams = cache::teams(&mut *c).await?;
            let project = project_from(&data, |id| teams.iter().find(|t| t.id == id).map(|t| t.name.clone()), now);
            cache::upsert_project(c, &project).await?;
            super::publish(c, "project:updated", json!({ "project": project }), now).await?;
            Ok(Applied::Other)
        }
        (kind @ ("Cycle" | "Comment"), _) => {
            tracing::info!(kind, action = %d.action, id = d.id(), "Linear {kind} event");
            let payload = json!({"type": kind, "action": d.action, "id": d.id(), "data": summary(&data)});
            super::publish(c, "linear:updated", payload, now).await?;
            Ok(Applied::Other)
        }
        _ => Ok(Applied::Other),
    }
}

/// The parts of a Cycle or Comment worth showing live (never the whole body).
fn summary(data: &Value) -> Value {
    let pick = |k: &str| data.get(k).cloned().unwrap_or(Value::Null);
    json!({"name": pick("name"), "number": pick("number"), "issueId": pick("issueId"), "body": pick("body").as_str().map(|b| crate::domain::clip(b, 280))})
}

/// Applies deliveries stored more than a minute ago and never applied (after a restart), and
/// forgets applied ones older than Linear's last retry (three days).
pub async fn recover(app: &App, now: i64) -> AppResult<()> {
    let stuck = app.db.write(move |c| Box::pin(async move { Ok(store::unprocessed(c, now - 60).await?) })).await?;
    for id in stuck {
        // The others go on. A storage failure may pass: the delivery is tried again next
        // minute; any other failure would repeat, so that delivery is set aside with its reason.
        match apply(app, &id).await {
            Ok(()) => {}
            Err(e @ (AppError::Database(_) | AppError::Unavailable | AppError::Internal(_))) => {
                tracing::warn!(delivery = %id, error = %e, "Linear delivery not applied yet");
            }
            Err(e) => {
                tracing::warn!(delivery = %id, error = %e, "Linear delivery set aside");
                let reason = e.to_string();
                app.db.write(move |c| Box::pin(async move { Ok(store::give_up(c, &id, &reason, now).await?) })).await?;
            }
        }
    }
    app.db
        .write(move |c| {
            Box::pin(async move {
                store::prune(c, now - 3 * 86_400).await?;
                Ok(cache::forget_old_removals(c, now - 3 * 86_400).await?)
            })
        })
        .await
}

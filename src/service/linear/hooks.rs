//! Registering ocd's webhook in Linear (L6): `webhookCreate` for Issue, Project, Cycle and
//! Comment events of all public teams, signed with a secret ocd makes and keeps sealed; its
//! state as Linear reports it; and its removal in Linear and here.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::linear_webhooks::{self as store, Webhook};
use crate::error::{AppError, AppResult};
use crate::linear::LinearError;
use crate::linear::queries::{WEBHOOK, WEBHOOK_CREATE, WEBHOOK_DELETE};
use crate::state::App;

/// The events ocd subscribes to.
pub const RESOURCE_TYPES: [&str; 4] = ["Issue", "Project", "Cycle", "Comment"];
const URL_LIMIT: usize = 2000;

/// The address Linear should post to: the given one, else this server's public address.
/// Linear cannot reach a loopback address, so without PUBLIC_URL a url must be given.
fn target_url(app: &App, given: Option<String>) -> AppResult<String> {
    let url = match given.map(|u| u.trim().to_string()).filter(|u| !u.is_empty()) {
        Some(url) => url,
        None if app.config.public_url.is_some() => app.site_url("/api/linear/webhook"),
        None => return Err(AppError::field("invalid_string", "url", "url: is required when PUBLIC_URL is not set (Linear must reach it)")),
    };
    let parsed = reqwest::Url::parse(&url).ok().filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if parsed.is_none() || url.len() > URL_LIMIT {
        return Err(AppError::field("invalid_string", "url", "url: must be an http(s) address of at most 2000 characters"));
    }
    Ok(url)
}

/// A webhook as Linear reports it.
#[derive(Debug, Deserialize)]
struct LinearHook {
    id: String,
    enabled: bool,
}

/// `webhookCreate`'s answer.
#[derive(Debug, Deserialize)]
struct Created {
    #[serde(rename = "webhookCreate")]
    webhook_create: CreatePayload,
}

#[derive(Debug, Deserialize)]
struct CreatePayload {
    success: bool,
    webhook: Option<LinearHook>,
}

/// `webhook(id)`'s answer.
#[derive(Debug, Deserialize)]
struct Seen {
    webhook: Option<LinearHook>,
}

/// Registers a webhook in Linear and keeps its secret.
pub async fn register(app: &App, url: Option<String>, by: String) -> AppResult<Webhook> {
    let url = target_url(app, url)?;
    let secret = crate::crypto::random_hex(32);
    let input = json!({
        "url": url, "resourceTypes": RESOURCE_TYPES, "allPublicTeams": true, "secret": secret, "label": "ocd", "enabled": true,
    });
    let answer: Created = app.linear.query(WEBHOOK_CREATE, json!({ "input": input })).await?;
    let Some(hook) = answer.webhook_create.webhook.filter(|_| answer.webhook_create.success) else {
        return Err(AppError::BadGateway("Linear did not create the webhook".into()));
    };
    let webhook = Webhook {
        id: hook.id,
        url,
        enabled: i64::from(hook.enabled),
        resource_types: RESOURCE_TYPES.join(","),
        created_by: Some(by),
        created_at: app.clock.now(),
        last_delivery_at: None,
    };
    let sealed = app.sealer.seal_str(&secret);
    let stored = webhook.clone();
    app.db.write(move |c| Box::pin(async move { Ok(store::register(c, &stored, sealed).await?) })).await?;
    tracing::info!(webhook = %webhook.id, "Linear webhook registered");
    Ok(webhook)
}

/// A registered webhook and what Linear says of it now.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookState {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `enabled`, `disabled` (Linear turned it off, e.g. after failed deliveries), `missing`
    /// (removed in Linear) or `unknown` (Linear could not be asked).
    pub status: &'static str,
    pub error: Option<String>,
}

/// How long a list waits for Linear's view of one webhook before showing `unknown`.
const STATE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The registered webhooks with Linear's view of each, asked all at once and never waited for
/// long (a page shows them).
pub async fn list(app: &App) -> AppResult<Vec<WebhookState>> {
    let webhooks = store::webhooks(&app.db.read).await?;
    let asks = webhooks.iter().map(|w| tokio::time::timeout(STATE_WAIT, app.linear.query::<Seen>(WEBHOOK, json!({"id": w.id}))));
    let answers = futures_util::future::join_all(asks).await;
    Ok(webhooks
        .into_iter()
        .zip(answers)
        .map(|(webhook, answer)| {
            let (status, error) = match answer {
                Ok(Ok(Seen { webhook: Some(LinearHook { enabled: true, .. }) })) => ("enabled", None),
                Ok(Ok(Seen { webhook: Some(_) })) => ("disabled", None),
                Ok(Ok(Seen { webhook: None })) => ("missing", None),
                Ok(Err(LinearError::InvalidInput(_))) => ("missing", None),
                Ok(Err(e)) => ("unknown", Some(e.to_string())),
                Err(_) => ("unknown", Some("Linear did not answer in time".to_string())),
            };
            WebhookState { webhook, status, error }
        })
        .collect())
}

/// Removes a webhook in Linear (one Linear no longer has is fine) and here.
pub async fn remove(app: &App, id: String) -> AppResult<()> {
    if store::webhook(&app.db.read, &id).await?.is_none() {
        return Err(AppError::not_found("Webhook"));
    }
    match app.linear.run(WEBHOOK_DELETE, json!({"id": id})).await {
        Ok(_) | Err(LinearError::InvalidInput(_)) => {}
        Err(e) => return Err(e.into()),
    }
    app.db.write(move |c| Box::pin(async move { Ok(store::unregister(c, &id).await.map(|_| ())?) })).await
}

//! Registering ocd's webhook in Linear (L6): `webhookCreate` for Issue, Project, Cycle and
//! Comment events of all public teams, signed with a secret ocd makes and keeps sealed; its
//! state as Linear reports it; and its removal in Linear and here.

use serde::Serialize;
use serde_json::{Value, json};

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

/// Registers a webhook in Linear and keeps its secret.
pub async fn register(app: &App, url: Option<String>, by: String) -> AppResult<Webhook> {
    let url = target_url(app, url)?;
    let secret = crate::crypto::random_hex(32);
    let input = json!({
        "url": url, "resourceTypes": RESOURCE_TYPES, "allPublicTeams": true, "secret": secret, "label": "ocd", "enabled": true,
    });
    let data = app.linear.run(WEBHOOK_CREATE, json!({ "input": input })).await?;
    let created = data.get("webhookCreate").cloned().unwrap_or(Value::Null);
    let hook = created.get("webhook").filter(|_| created.get("success").and_then(Value::as_bool) == Some(true));
    let Some(id) = hook.and_then(|h| h.get("id")).and_then(Value::as_str).map(String::from) else {
        return Err(AppError::BadGateway("Linear did not create the webhook".into()));
    };
    let webhook = Webhook {
        id,
        url,
        enabled: i64::from(hook.and_then(|h| h.get("enabled")).and_then(Value::as_bool).unwrap_or(true)),
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

pub async fn list(app: &App) -> AppResult<Vec<WebhookState>> {
    let mut states = Vec::new();
    for webhook in store::webhooks(&app.db.read).await? {
        let (status, error) = match app.linear.run(WEBHOOK, json!({"id": webhook.id})).await {
            Ok(data) => match data.get("webhook").and_then(|w| w.get("enabled")).and_then(Value::as_bool) {
                Some(true) => ("enabled", None),
                Some(false) => ("disabled", None),
                None => ("missing", None),
            },
            Err(LinearError::InvalidInput(_)) => ("missing", None),
            Err(e) => ("unknown", Some(e.to_string())),
        };
        if matches!(status, "enabled" | "disabled") && (status == "enabled") != (webhook.enabled == 1) {
            let (id, enabled) = (webhook.id.clone(), status == "enabled");
            app.db.write(move |c| Box::pin(async move { Ok(store::set_enabled(c, &id, enabled).await?) })).await?;
        }
        states.push(WebhookState { webhook, status, error });
    }
    Ok(states)
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

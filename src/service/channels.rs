//! Notification channels (K27, K30): the owner adds ntfy, Slack, Discord and webhook channels;
//! each signed-in person adds their own browser's push subscription. Configuration is sealed at
//! rest and shown masked.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::crypto::random_hex;
use crate::db::channels::{self, StoredChannel};
use crate::domain::alerts::Notification;
use crate::domain::channels::{ChannelType, Filters, check_config, masked};
use crate::domain::{Field, non_null};
use crate::error::{AppError, AppResult, Checks};
use crate::notify::webpush;
use crate::service::alerting::{self, Links};
use crate::state::App;

/// A channel as the API shows it: secrets masked.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ChannelType,
    pub name: String,
    pub config: Map<String, Value>,
    pub filters: Filters,
    pub enabled: bool,
    pub user_id: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A channel whose configuration cannot be opened (another `secret.key`, a damaged row) is
/// listed with an empty configuration rather than failing the list.
fn view(app: &App, c: &StoredChannel) -> AppResult<ChannelView> {
    let config = crate::notify::open_config(app, c).unwrap_or_else(|e| {
        tracing::warn!(channel = %c.id, error = %e, "channel configuration unreadable");
        Map::new()
    });
    Ok(ChannelView {
        id: c.id.clone(),
        kind: c.kind,
        name: c.name.clone(),
        config: masked(c.kind, &config),
        filters: alerting::filters_of(c),
        enabled: c.enabled,
        user_id: c.user_id,
        created_at: c.created_at,
        updated_at: c.updated_at,
    })
}

pub async fn list(app: &App) -> AppResult<Vec<ChannelView>> {
    channels::list(&app.db.read).await?.iter().map(|c| view(app, c)).collect()
}

fn not_found() -> AppError {
    AppError::NotFound("Channel not found".into())
}

async fn stored(app: &App, id: &str) -> AppResult<StoredChannel> {
    channels::get(&app.db.read, id).await?.ok_or_else(not_found)
}

fn check_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    Checks::new().min1("name", name).require(name.chars().count() <= 100, "too_big", "name", "must be at most 100 characters").finish()?;
    Ok(name.to_string())
}

fn checked_config(kind: ChannelType, config: &Map<String, Value>) -> AppResult<()> {
    check_config(kind, config).map_err(|(field, message)| AppError::field("invalid_value", &field, format!("{field} {message}")))
}

fn seal_config(app: &App, config: &Map<String, Value>) -> Vec<u8> {
    app.sealer.seal_str(&Value::Object(config.clone()).to_string())
}

fn filters_text(filters: &Filters) -> AppResult<String> {
    serde_json::to_string(filters).map_err(AppError::internal)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewChannel {
    #[serde(rename = "type")]
    pub kind: ChannelType,
    pub name: String,
    pub config: Map<String, Value>,
    #[serde(default, deserialize_with = "non_null")]
    pub filters: Option<Filters>,
    #[serde(default, deserialize_with = "non_null")]
    pub enabled: Option<bool>,
}

pub async fn create(app: &App, new: NewChannel) -> AppResult<ChannelView> {
    if new.kind == ChannelType::WebPush {
        return Err(AppError::field(
            "invalid_value",
            "type",
            "web_push channels are a browser's subscription: the browser creates one with POST /api/push/subscriptions",
        ));
    }
    let name = check_name(&new.name)?;
    checked_config(new.kind, &new.config)?;
    let now = app.clock.now();
    let channel = StoredChannel {
        id: format!("ch_{}", random_hex(8)),
        kind: new.kind,
        name,
        config: seal_config(app, &new.config),
        filters: filters_text(&new.filters.unwrap_or_default())?,
        enabled: new.enabled.unwrap_or(true),
        user_id: None,
        created_at: now,
        updated_at: now,
    };
    let saved = channel.clone();
    app.db.write(move |c| Box::pin(async move { Ok(channels::insert(c, &saved, None).await?) })).await?;
    view(app, &channel)
}

/// A change: only the keys sent change. `config` keys replace stored ones (a secret not sent
/// is kept, since the API never shows it in full); `null` removes an optional key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelChange {
    #[serde(default, deserialize_with = "non_null")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    pub config: Option<Map<String, Value>>,
    #[serde(default)]
    pub filters: Field<Filters>,
    #[serde(default, deserialize_with = "non_null")]
    pub enabled: Option<bool>,
}

pub async fn update(app: &App, id: String, change: ChannelChange) -> AppResult<ChannelView> {
    let name = change.name.as_deref().map(check_name).transpose()?;
    let filters = match &change.filters {
        Field::Absent => None,
        Field::Null => Some(filters_text(&Filters::default())?),
        Field::Value(f) => Some(filters_text(f)?),
    };
    let sealer = app.sealer.clone();
    let now = app.clock.now();
    // Read, merge and save in one unit: a concurrent change or removal is never overwritten.
    let channel = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let mut channel = channels::get(&mut *c, &id).await?.ok_or_else(not_found)?;
                if let Some(sent) = change.config {
                    if channel.kind == ChannelType::WebPush {
                        return Err(AppError::field(
                            "invalid_value",
                            "config",
                            "a browser's subscription changes only when the browser subscribes again",
                        ));
                    }
                    let text = sealer.open_str(&channel.config).map_err(|_| AppError::internal("channel config cannot be opened"))?;
                    let mut config: Map<String, Value> = serde_json::from_str(&text).map_err(AppError::internal)?;
                    for (key, value) in sent {
                        match value {
                            Value::Null => config.remove(&key),
                            value => config.insert(key, value),
                        };
                    }
                    checked_config(channel.kind, &config)?;
                    channel.config = sealer.seal_str(&Value::Object(config).to_string());
                }
                if let Some(name) = name {
                    channel.name = name;
                }
                if let Some(filters) = filters {
                    channel.filters = filters;
                }
                if let Some(enabled) = change.enabled {
                    channel.enabled = enabled;
                }
                channel.updated_at = now;
                channels::save(c, &channel).await?;
                Ok(channel)
            })
        })
        .await?;
    view(app, &channel)
}

pub async fn delete(app: &App, id: String) -> AppResult<()> {
    let removed = app.db.write(move |c| Box::pin(async move { Ok(channels::delete(c, &id).await?) })).await?;
    if removed { Ok(()) } else { Err(not_found()) }
}

/// Queues the "send test" message for a channel (filters do not apply); returns the delivery id.
pub async fn queue_test(app: &App, id: String) -> AppResult<String> {
    let channel = stored(app, &id).await?;
    let links = Links::of(app);
    let note = Notification::test(&channel.name, &links.feed());
    let sealer = app.sealer.clone();
    let now_ms = app.clock.now_ms();
    app.db.write(move |c| Box::pin(async move { alerting::add_delivery(c, &sealer, &channel.id, &note, None, "test", now_ms).await })).await
}

/// Browsers one person may subscribe (each alert is one push per browser).
const MAX_SUBSCRIPTIONS_PER_USER: i64 = 10;

/// A browser's push subscription, as `JSON.stringify(subscription)` gives it.
#[derive(Debug, Deserialize)]
pub struct Subscription {
    pub endpoint: String,
    pub keys: SubscriptionKeys,
    #[serde(default, rename = "expirationTime")]
    pub expiration_time: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct SubscriptionKeys {
    pub p256dh: String,
    pub auth: String,
}

/// Saves the signed-in person's browser subscription as a web_push channel; the same browser
/// subscribing again updates its channel. Returns the channel and whether it is new.
pub async fn subscribe(app: &App, user_id: i64, sub: Subscription) -> AppResult<(ChannelView, bool)> {
    let mut config = Map::new();
    config.insert("endpoint".into(), Value::from(sub.endpoint.trim()));
    config.insert("p256dh".into(), Value::from(sub.keys.p256dh.trim()));
    config.insert("auth".into(), Value::from(sub.keys.auth.trim()));
    checked_config(ChannelType::WebPush, &config)?;
    if !sub.endpoint.trim().starts_with("https://") && !app.config.push_allow_http {
        return Err(AppError::field("invalid_value", "endpoint", "endpoint must be the push service's https:// URL"));
    }
    if !webpush::valid_keys(&sub.keys.p256dh, &sub.keys.auth) {
        return Err(AppError::field(
            "invalid_value",
            "keys",
            "keys must be the subscription's p256dh (a P-256 point) and auth (16 bytes), base64url",
        ));
    }
    let user = crate::db::users::get(&app.db.read, user_id).await?.ok_or(AppError::Unauthorized)?;
    let endpoint_hash = crate::crypto::sha256_hex(sub.endpoint.trim());
    let now = app.clock.now();
    let sealed = seal_config(app, &config);
    let name = format!("Browser of {}", user.username);
    let (channel, created) = app
        .db
        .write(move |c| {
            Box::pin(async move {
                if let Some(mut existing) = channels::by_endpoint(c, &endpoint_hash).await? {
                    // The same browser again (possibly after another person used it).
                    existing.config = sealed;
                    existing.user_id = Some(user_id);
                    existing.enabled = true;
                    existing.updated_at = now;
                    channels::save(c, &existing).await?;
                    return Ok((existing, false));
                }
                if channels::count_of_user(c, user_id).await? >= MAX_SUBSCRIPTIONS_PER_USER {
                    return Err(AppError::Conflict(format!(
                        "at most {MAX_SUBSCRIPTIONS_PER_USER} browsers per person receive pushes; remove one first"
                    )));
                }
                let channel = StoredChannel {
                    id: format!("ch_{}", random_hex(8)),
                    kind: ChannelType::WebPush,
                    name,
                    config: sealed,
                    filters: "{}".into(),
                    enabled: true,
                    user_id: Some(user_id),
                    created_at: now,
                    updated_at: now,
                };
                channels::insert(c, &channel, Some(&endpoint_hash)).await?;
                Ok((channel, true))
            })
        })
        .await?;
    Ok((view(app, &channel)?, created))
}

/// Removes one of the person's own push subscriptions; another person's is "not found".
pub async fn unsubscribe(app: &App, user_id: i64, id: String) -> AppResult<()> {
    let channel = stored(app, &id).await?;
    if channel.kind != ChannelType::WebPush || channel.user_id != Some(user_id) {
        return Err(AppError::NotFound("Subscription not found".into()));
    }
    delete(app, id).await
}

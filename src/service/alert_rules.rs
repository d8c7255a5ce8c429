//! Alert rules (api-compat §14, §17): admins read them, the owner changes, deletes and resets
//! them (K2). The defaults are seeded when the table is empty at start-up.

use serde::Deserialize;

use crate::db::alert_rules::{self, RuleChange};
use crate::domain::alerts::{AlertChannel, AlertRule, MAX_DELAY_MS, is_default};
use crate::domain::{Int, non_null};
use crate::error::{AppError, AppResult, Issue};
use crate::state::App;

/// The `updates` of a rule: unknown keys are dropped; `trigger` and `priority_filter` cannot change.
#[derive(Debug, Default, Deserialize)]
pub struct RuleUpdates {
    #[serde(default, deserialize_with = "non_null")]
    pub delay_ms: Option<Int>,
    #[serde(default, deserialize_with = "non_null")]
    pub channel: Option<AlertChannel>,
    #[serde(default, deserialize_with = "non_null")]
    pub enabled: Option<Int>,
}

impl RuleUpdates {
    /// Checks the values; at least one key must be present (the original's `custom` issue).
    fn checked(self) -> AppResult<RuleChange> {
        if self.delay_ms.is_none() && self.channel.is_none() && self.enabled.is_none() {
            return Err(AppError::InvalidBody(vec![Issue::new("custom", "", "At least one update field is required")]));
        }
        if let Some(Int(d)) = self.delay_ms
            && !(0..=MAX_DELAY_MS).contains(&d)
        {
            let code = if d < 0 { "too_small" } else { "too_big" };
            return Err(AppError::field(code, "delay_ms", format!("delay_ms must be between 0 and {MAX_DELAY_MS} (30 days)")));
        }
        if let Some(Int(e)) = self.enabled
            && e != 0
            && e != 1
        {
            return Err(AppError::field("invalid_value", "enabled", "enabled must be the number 0 or 1"));
        }
        Ok(RuleChange { delay_ms: self.delay_ms.map(|d| d.0), channel: self.channel, enabled: self.enabled.map(|e| e.0) })
    }
}

pub async fn list(app: &App) -> AppResult<Vec<AlertRule>> {
    Ok(alert_rules::list(&app.db.read).await?)
}

pub async fn get(app: &App, id: &str) -> AppResult<AlertRule> {
    alert_rules::get(&app.db.read, id).await?.ok_or_else(not_found)
}

fn not_found() -> AppError {
    AppError::NotFound("Alert rule not found".into())
}

/// Changes a rule. Pending alerts keep the due time they were given.
pub async fn update(app: &App, id: String, updates: RuleUpdates) -> AppResult<AlertRule> {
    let change = updates.checked()?;
    let now = app.clock.now();
    app.db.write(move |c| Box::pin(async move { alert_rules::update(c, &id, &change, now).await?.ok_or_else(not_found) })).await
}

/// Deletes a rule; the answer warns when it was one of the defaults.
pub async fn delete(app: &App, id: String) -> AppResult<Option<&'static str>> {
    let default = is_default(&id);
    let existed = app.db.write(move |c| Box::pin(async move { Ok(alert_rules::delete(c, &id).await?) })).await?;
    if !existed {
        return Err(not_found());
    }
    Ok(default.then_some("Deleted default alert rule. Consider recreating it if this was unintentional."))
}

/// Restores the default rules to their default values (other rules stay).
pub async fn reset_defaults(app: &App) -> AppResult<Vec<AlertRule>> {
    let now = app.clock.now();
    app.db.write(move |c| Box::pin(async move { Ok(alert_rules::put_defaults(c, now).await?) })).await?;
    list(app).await
}

/// Seeds the defaults when there is no rule (start-up); a start with rules writes nothing.
pub async fn seed(app: &App) -> AppResult<()> {
    if !alert_rules::list(&app.db.read).await?.is_empty() {
        return Ok(());
    }
    let now = app.clock.now();
    app.db.write(move |c| Box::pin(async move { Ok(alert_rules::seed_if_empty(c, now).await?) })).await
}

//! Linear (issue 17, L1–L6, docs/decisions.md#linear): the cache's sync, the board's moves,
//! webhook deliveries, agent assignment and webhook registration — every caller (the API,
//! the pages, the scheduler) goes through these operations.

pub mod assign;
pub mod board;
pub mod hooks;
pub mod sync;
pub mod webhook;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::db::WriteConn;
use crate::db::events::{self, NewEvent};
use crate::db::settings;
use crate::domain::linear::{LinearIssue, LinearSettings};
use crate::error::AppResult;
use crate::state::App;

const SETTINGS_KEY: &str = "linear_settings";
const LAST_SYNC_KEY: &str = "linear_last_sync";

/// The owner's Linear settings (defaults until saved).
pub async fn settings(conn: impl sqlx::Executor<'_, Database = sqlx::Any>) -> AppResult<LinearSettings> {
    let stored = settings::get(conn, SETTINGS_KEY).await?;
    Ok(stored.and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default())
}

pub async fn save_settings(app: &App, new: LinearSettings) -> AppResult<LinearSettings> {
    let now = app.clock.now();
    let text = serde_json::to_string(&new).map_err(crate::error::AppError::internal)?;
    app.db.write(move |c| Box::pin(async move { Ok(settings::put(c, SETTINGS_KEY, &text, now).await?) })).await?;
    Ok(new)
}

/// How the last sync went, for Settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncStatus {
    /// When it finished (epoch seconds).
    pub at: i64,
    pub duration_ms: u64,
    /// `manual` (the API or the page) or `schedule`.
    pub trigger: String,
    pub projects: usize,
    pub issues: usize,
    pub states: usize,
    /// Why it failed; none when it succeeded.
    pub error: Option<String>,
}

pub async fn last_sync(conn: impl sqlx::Executor<'_, Database = sqlx::Any>) -> AppResult<Option<SyncStatus>> {
    let stored = settings::get(conn, LAST_SYNC_KEY).await?;
    Ok(stored.and_then(|text| serde_json::from_str(&text).ok()))
}

/// Keeps how the sync went, and says so on the stream (`linear:sync`, for the pages).
async fn record_sync(app: &App, status: SyncStatus) -> AppResult<()> {
    let now = app.clock.now();
    let text = serde_json::to_string(&status).map_err(crate::error::AppError::internal)?;
    app.db
        .write(move |c| {
            Box::pin(async move {
                settings::put(c, LAST_SYNC_KEY, &text, now).await?;
                publish(c, "linear:sync", json!({ "sync": status }), now).await
            })
        })
        .await
}

/// `todo:updated {issue}`: a card changed (the original's event for the Linear board).
async fn issue_changed(c: &mut WriteConn, issue: &LinearIssue, now: i64) -> AppResult<()> {
    publish(c, "todo:updated", json!({ "issue": issue }), now).await
}

/// Linear's events are about the Linear workspace, not one of ocd's projects: everyone sees them.
async fn publish(c: &mut WriteConn, name: &'static str, payload: Value, now: i64) -> AppResult<()> {
    events::append(c, now, NewEvent::new(name, None, &payload)).await?;
    Ok(())
}

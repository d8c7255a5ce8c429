//! Hourly clean-up of sign-in state: expired sessions (they are already refused, this only
//! removes the rows) and sign-in links that were used or have expired.

use crate::db::auth_sessions;
use crate::error::AppResult;
use crate::state::App;

pub async fn run(app: &App, now: i64) -> AppResult<()> {
    let removed = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let sessions = auth_sessions::purge_expired(c, now).await?;
                sqlx::query("DELETE FROM login_links WHERE used_at IS NOT NULL OR expires_at <= $1").bind(now).execute(&mut *c).await?;
                Ok(sessions)
            })
        })
        .await?;
    if removed > 0 {
        tracing::info!(removed, "expired sessions purged");
    }
    Ok(())
}

//! Hourly clean-up of sign-in state: expired sessions (they are already refused, this only
//! removes the rows) and sign-in links that were used or have expired.

use crate::db::{auth_sessions, invites};
use crate::error::AppResult;
use crate::state::App;

pub async fn run(app: &App, now: i64) -> AppResult<()> {
    let removed = app
        .db
        .write(move |c| {
            Box::pin(async move {
                let sessions = auth_sessions::purge_expired(c, now).await?;
                invites::purge_login_links(c, now).await?;
                Ok(sessions)
            })
        })
        .await?;
    if removed > 0 {
        tracing::info!(removed, "expired sessions purged");
    }
    Ok(())
}

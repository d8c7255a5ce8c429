//! The scheduled Linear sync: a recurring timer, so one replica runs it per period. A sync
//! that fails is recorded for Settings and tried again next period; it never stops the
//! scheduler's other timers.

use crate::service::linear::sync;
use crate::state::App;

pub async fn sync(app: &App) {
    if let Err(e) = sync::run(app, None, "schedule").await {
        tracing::warn!(error = %e, "scheduled Linear sync failed");
    }
}

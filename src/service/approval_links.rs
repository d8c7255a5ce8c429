//! Decision links (K30, docs/decisions.md#approvals): the links a notification carries, one
//! per approval and channel. A link is single use, expires with its approval and acts only on
//! it; its token is stored as a hash.

use super::approvals::{Answer, Decided, Unit, decide_in};
use crate::db::approvals::{self as store};
use crate::domain::approvals::{Approval, ApprovalStatus, Decision};
use crate::error::{AppError, AppResult};
use crate::state::App;

/// A new decision link for `approval` sent to channel `channel_id`; returns its token (only
/// its hash is kept).
pub async fn issue(c: &mut crate::db::WriteConn, approval: &Approval, channel_id: &str) -> AppResult<String> {
    let token = crate::crypto::random_hex(32);
    store::insert_link(c, &crate::crypto::sha256_hex(&token), &approval.id, channel_id, approval.expires_at).await?;
    Ok(token)
}

/// A decision link no longer usable.
const LINK_SPENT: &str = "This decision link was already used.";
const LINK_EXPIRED: &str = "This decision link has expired: the request was not answered in time.";
const LINK_UNKNOWN: &str = "This decision link is not valid.";

/// The approval a decision link (K30) stands for, if the link may still be used: a link is
/// refused once used, once its approval's time is over, and for any other approval.
pub async fn by_link(app: &App, token: &str) -> AppResult<Approval> {
    let link =
        store::link(&app.db.read, &crate::crypto::sha256_hex(token)).await?.ok_or_else(|| AppError::NotFound(LINK_UNKNOWN.into()))?;
    let approval = store::get(&app.db.read, &link.approval_id).await?.ok_or_else(|| AppError::NotFound(LINK_UNKNOWN.into()))?;
    check_link(&link, &approval, app.clock.now())?;
    Ok(approval)
}

fn check_link(link: &store::Link, approval: &Approval, now: i64) -> AppResult<()> {
    if link.used_at.is_some() {
        return Err(AppError::Gone(LINK_SPENT.into()));
    }
    if link.expires_at <= now || approval.status == ApprovalStatus::Expired {
        return Err(AppError::Gone(LINK_EXPIRED.into()));
    }
    Ok(())
}

/// Decides through a decision link: the link is spent and the decision made in one unit, so
/// a link acts once. `for_approval` (what the page or the service worker thinks it answers)
/// must be the link's own approval. `by` is the signed-in person, else `link:<channel id>`.
pub async fn decide_by_link(
    app: &App,
    token: &str,
    for_approval: Option<String>,
    decision: Decision,
    message: Option<String>,
    person: Option<String>,
) -> AppResult<Decided> {
    let hash = crate::crypto::sha256_hex(token);
    let unit = Unit::of(app);
    let now = unit.now;
    app.db
        .write(move |c| {
            Box::pin(async move {
                let link = store::link(&mut *c, &hash).await?.ok_or_else(|| AppError::NotFound(LINK_UNKNOWN.into()))?;
                if for_approval.as_deref().is_some_and(|id| id != link.approval_id) {
                    return Err(AppError::ForbiddenBecause("This decision link belongs to another request.".into()));
                }
                let approval = store::get(&mut *c, &link.approval_id).await?.ok_or_else(|| AppError::NotFound(LINK_UNKNOWN.into()))?;
                check_link(&link, &approval, now)?;
                if !approval.is_pending() {
                    return Ok(Decided::Already(approval));
                }
                if !store::use_link(c, &hash, now).await? {
                    return Err(AppError::Gone(LINK_SPENT.into()));
                }
                let by = person.unwrap_or_else(|| format!("link:{}", link.channel_id));
                decide_in(c, unit, &approval.id, &Answer { decision, message, by }).await
            })
        })
        .await
}

//! The alert engine (docs/decisions.md#alerting, api-compat §17): pending alerts are rows with a
//! due time; when one comes due its condition is checked again, and if it still holds it fires
//! once — a feed message, a `message:created` event and, for `push`/`both`, one delivery per
//! matching channel — all in one write unit, so a restart or a second replica can neither lose
//! it nor fire it twice.

use serde_json::json;

use crate::crypto::Sealer;
use crate::db::WriteConn;
use crate::db::agents;
use crate::db::alert_queue::{self, DueAlert};
use crate::db::channels::{self, StoredChannel};
use crate::db::deliveries::{self, NewDelivery};
use crate::db::events::{self, NewEvent};
use crate::db::messages::{self, NewMessage};
use crate::domain::agents::{AgentStatus, AgentTaskStatus};
use crate::domain::alerts::{self, AlertFacts, ApprovalNote, Notification, Resolved, Trigger};
use crate::domain::approvals::Approval;
use crate::domain::channels::Filters;
use crate::error::AppResult;
use crate::state::App;

/// How many due alerts one pass fires at most (the rest fire in the next pass).
const FIRE_LIMIT: i64 = 200;

/// Absolute links put into notifications.
#[derive(Debug, Clone)]
pub struct Links {
    site: String,
}

impl Links {
    pub fn of(app: &App) -> Links {
        Links { site: app.site_url("") }
    }

    pub fn agent(&self, agent_id: &str) -> String {
        format!("{}/agents/{}", self.site, crate::percent::encode(agent_id))
    }

    pub fn feed(&self) -> String {
        format!("{}/messages", self.site)
    }

    /// A decision link (K30): public, authorized by its token alone.
    pub fn decide(&self, token: &str) -> String {
        format!("{}/approvals/decide/{token}", self.site)
    }
}

/// Fires every alert due at the app's clock, each (or each batch) in a unit of its own, then
/// the digest whose window has ended. An alert that cannot fire (a failing write) is set aside
/// and logged, so it never holds up the others. Returns how many alerts fired.
pub async fn fire_due(app: &App) -> AppResult<usize> {
    let mut fired = 0;
    for _ in 0..FIRE_LIMIT {
        let now_ms = app.clock.now_ms();
        let Some(id) = alert_queue::next_due_id(&app.db.read, now_ms).await? else { break };
        match fire_one(app, id, now_ms).await {
            Ok(count) => fired += count,
            Err(e) => {
                tracing::error!(alert = id, error = %e, "alert could not fire; set aside");
                app.db.write(move |c| Box::pin(async move { Ok(alert_queue::set_aside(c, id).await?) })).await?;
            }
        }
    }
    let sealer = app.sealer.clone();
    let links = Links::of(app);
    let now_ms = app.clock.now_ms();
    app.db.write(move |c| Box::pin(async move { send_digest(c, &sealer, &links, now_ms).await })).await?;
    Ok(fired)
}

/// Fires alert `id` if it is still pending and due (another replica may have fired it since
/// it was read); a batched completion fires with every batched completion that is due.
async fn fire_one(app: &App, id: i64, now_ms: i64) -> AppResult<usize> {
    let sealer = app.sealer.clone();
    let links = Links::of(app);
    app.db
        .write(move |c| {
            Box::pin(async move {
                let Some(alert) = alert_queue::pending_due(c, id, now_ms).await? else { return Ok(0) };
                if alert.batched == 1 {
                    let batch = alert_queue::due_batch(c, now_ms).await?;
                    fire(c, &sealer, &links, &batch, now_ms).await?;
                    return Ok(batch.len());
                }
                if !still_holds(c, &alert).await? {
                    alert_queue::drop_cleared(c, alert.id).await?;
                    return Ok(0);
                }
                fire(c, &sealer, &links, &[alert], now_ms).await?;
                Ok(1)
            })
        })
        .await
}

/// Whether the alert's condition still holds when it comes due (a delayed alert whose
/// condition cleared first is dropped): the same block episode, the same silence, the same stall.
async fn still_holds(c: &mut WriteConn, a: &DueAlert) -> AppResult<bool> {
    let facts = &a.facts;
    match facts.trigger {
        Trigger::Error | Trigger::Completed => Ok(true),
        Trigger::ApprovalNeeded => {
            let Some(id) = &a.approval_id else { return Ok(false) };
            Ok(crate::db::approvals::get(&mut *c, id).await?.is_some_and(|a| a.is_pending()))
        }
        Trigger::Blocked | Trigger::StaleTask => {
            let Some(task_id) = &facts.task_id else { return Ok(true) };
            let task = agents::get_task(c, task_id).await?;
            Ok(task.is_some_and(|t| t.status == AgentTaskStatus::Blocked && (a.since.is_none() || t.blocked_at == a.since)))
        }
        Trigger::IdleTooLong => {
            let agent = agents::get(c, &facts.agent_id).await?;
            Ok(agent.is_some_and(|g| {
                !matches!(g.status, AgentStatus::Sleeping | AgentStatus::Offline)
                    && a.since.is_none_or(|since| g.last_heartbeat.unwrap_or(g.created_at) == since)
            }))
        }
        Trigger::Stalled => {
            let agent = agents::get(c, &facts.agent_id).await?;
            Ok(agent.is_some_and(|g| {
                g.status == AgentStatus::Working && a.since.is_none_or(|since| g.last_activity_at.unwrap_or(g.created_at) == since)
            }))
        }
    }
}

/// Fires one alert, or a batch of completions as one message.
async fn fire(c: &mut WriteConn, sealer: &Sealer, links: &Links, group: &[DueAlert], now_ms: i64) -> AppResult<()> {
    let Some(first) = group.first() else { return Ok(()) };
    let facts: Vec<AlertFacts> = group.iter().map(|a| a.facts.clone()).collect();
    let about = &first.facts;
    let (recent, pushed, pushed_for_agent) = alert_queue::recent_counts(c, &about.agent_id, now_ms).await?;
    let resolved = if about.trigger.is_exempt_from_throttles() {
        Resolved { channel: first.wanted_channel, held: None }
    } else {
        alerts::resolve(first.wanted_channel, recent, pushed, pushed_for_agent)
    };
    let digest_mode = alerts::digest_mode(recent);
    let is_batch = first.batched == 1;
    let content = if is_batch { alerts::batch_content(&facts) } else { alerts::content(&facts[0]) };
    let url = links.agent(&about.agent_id);
    let new = NewMessage {
        kind: alerts::message_type(about.trigger),
        content: content.clone(),
        todo_id: None,
        session_id: None,
        project_id: about.project_id.clone(),
        summary_id: None,
        metadata: Some(json!({
            "alert_id": first.id,
            "rule_id": first.rule_id,
            "trigger": about.trigger,
            "agent_id": about.agent_id,
            "task_id": about.task_id,
            "url": url,
            "channel": resolved.channel,
            "held": resolved.held.map(|h| h.as_str()),
        })),
    };
    let now = now_ms.div_euclid(1000);
    crate::db::projects::ensure(c, about.project_id.as_deref(), now).await?;
    let message = messages::insert(c, sealer, &new, now).await?;
    for alert in group {
        alert_queue::mark_fired(c, alert.id, resolved, message.id, now_ms).await?;
    }
    let payload = if is_batch {
        json!({"batch": true, "count": group.len(), "digestMode": digest_mode, "message": message})
    } else {
        json!({"alert": facts[0], "channel": resolved.channel, "digestMode": digest_mode, "message": message})
    };
    events::append(c, now, NewEvent::sealed("message:created", about.project_id.as_deref(), &payload, sealer)).await?;
    if resolved.channel.pushes() {
        // The approval an approval alert asks for, read once for every channel.
        let approval = match &first.approval_id {
            Some(id) => crate::db::approvals::get(&mut *c, id).await?,
            None => None,
        };
        // Each channel hears only about the alerts its filters want (a batch is cut to them).
        for channel in channels::enabled(c).await? {
            let filters = filters_of(&channel);
            let wanted: Vec<(AlertFacts, String)> =
                facts.iter().filter(|f| filters.wants(f)).map(|f| (f.clone(), links.agent(&f.agent_id))).collect();
            let Some((one, _)) = wanted.first() else { continue };
            let mut note = if is_batch { Notification::batch(&wanted, first.id) } else { Notification::alert(one, first.id, &url) };
            if let Some(approval) = &approval
                && let Some(answers) = approval_note(c, links, &channel, approval).await?
            {
                note = note.with_approval(answers);
            }
            add_delivery(c, sealer, &channel.id, &note, Some(first.id), "alert", now_ms).await?;
        }
    }
    log_fired(first, group.len(), resolved);
    Ok(())
}

/// The answers a channel's notification about `approval` carries: a decision link of its own
/// (so `decided_by` names the channel). A browser of someone who may not decide (below admin,
/// K30) gets the notification without them.
async fn approval_note(c: &mut WriteConn, links: &Links, channel: &StoredChannel, approval: &Approval) -> AppResult<Option<ApprovalNote>> {
    if let Some(user_id) = channel.user_id {
        let user = crate::db::users::get(&mut *c, user_id).await?;
        if user.is_none_or(|u| u.role < crate::domain::roles::Role::Admin) {
            return Ok(None);
        }
    }
    let token = crate::service::approval_links::issue(c, approval, &channel.id).await?;
    let tool = crate::domain::agents::tool_label(&approval.tool);
    Ok(Some(ApprovalNote::new(&approval.id, tool, &approval.summary, &links.decide(&token))))
}

fn log_fired(first: &DueAlert, count: usize, resolved: Resolved) {
    tracing::info!(
        alert = first.id,
        rule = %first.rule_id,
        agent = %first.facts.agent_id,
        count,
        channel = %resolved.channel,
        held = resolved.held.map(|h| h.as_str()),
        "alert fired"
    );
}

/// At the end of a digest window, one message per channel lists the held alerts it wants.
async fn send_digest(c: &mut WriteConn, sealer: &Sealer, links: &Links, now_ms: i64) -> AppResult<()> {
    let held = alert_queue::take_digest(c, now_ms).await?;
    if held.is_empty() {
        return Ok(());
    }
    for channel in channels::enabled(c).await? {
        let filters = filters_of(&channel);
        let wanted: Vec<(AlertFacts, String)> =
            held.iter().map(|a| &a.facts).filter(|f| filters.wants(f)).map(|f| (f.clone(), links.agent(&f.agent_id))).collect();
        if wanted.is_empty() {
            continue;
        }
        let note = Notification::digest(&wanted, &links.feed());
        add_delivery(c, sealer, &channel.id, &note, None, "digest", now_ms).await?;
    }
    tracing::info!(alerts = held.len(), "alert digest sent");
    Ok(())
}

/// A channel's filters; a stored value ocd cannot read means "everything" (and is logged), so
/// a bad row never silences alerts.
pub fn filters_of(channel: &StoredChannel) -> Filters {
    serde_json::from_str(&channel.filters).unwrap_or_else(|e| {
        tracing::warn!(channel = %channel.id, error = %e, "channel filters unreadable; sending everything");
        Filters::default()
    })
}

/// Queues one send of `note` to a channel; returns the delivery id.
pub async fn add_delivery(
    c: &mut WriteConn,
    sealer: &Sealer,
    channel_id: &str,
    note: &Notification,
    alert_id: Option<i64>,
    kind: &str,
    now_ms: i64,
) -> AppResult<String> {
    let id = format!("dl_{}", crate::crypto::random_hex(12));
    let payload = sealer.seal(&serde_json::to_vec(note).map_err(crate::error::AppError::internal)?);
    deliveries::insert(c, &NewDelivery { id: &id, channel_id, alert_id, kind, payload }, now_ms).await?;
    Ok(id)
}

//! Approvals (K28, docs/decisions.md#approvals): an agent's permission request becomes an
//! approval that waits for a person; the first decision wins and reaches the agent — a
//! `permission` command for OpenCode, the held hook's answer for Claude Code and Codex. A
//! request nobody answers expires and the agent asks in its terminal as it would without ocd.

use std::time::Duration;

use crate::events::hub::{Woken, wait_for};
use serde_json::{Value, json};

use crate::auth::principal::Principal;
use crate::crypto::Sealer;
use crate::db::WriteConn;
use crate::db::activity::{self, Subject};
use crate::db::alerts::{self, NewAlert};
use crate::db::approvals::{self as store};
use crate::db::events::{self, NewEvent};
use crate::domain::Priority;
use crate::domain::agents::CommandKind;
use crate::domain::alerts::Trigger;
use crate::domain::approvals::{Approval, ApprovalStatus, Decision, MESSAGE_LIMIT, opencode_command};
use crate::domain::ids;
use crate::error::{AppError, AppResult};
use crate::state::App;

/// `decided_by` of a request answered at the agent (its terminal) before anyone in ocd.
const ANSWERED_AT_THE_AGENT: &str = "terminal";

/// A permission request as an integration reports it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request's own key at its tool, so a replay finds the same approval.
    pub source_key: String,
    pub agent_id: String,
    pub session_id: String,
    pub tool: &'static str,
    /// The id the tool's reply names (OpenCode's permission id).
    pub request_id: Option<String>,
    pub summary: String,
    pub detail: Value,
    pub project: Option<String>,
    /// How long it may wait for a person, in seconds.
    pub wait_secs: i64,
    /// The tool's key is not unique per request (a Claude Code payload has no id: the same
    /// command asked again has the same content): once the earlier approval is closed, a
    /// request with its key is a new one, never answered by the old decision.
    pub repeatable: bool,
}

/// Records the request (once per source key): an `approval:requested` event, a timeline row
/// and the `approval_needed` alert. Returns the approval, new or already known.
pub async fn request(app: &App, req: Request) -> AppResult<Approval> {
    let now = app.clock.now();
    let approval = Approval {
        id: ids::generate("apr", app.clock.now_ms()),
        agent_id: req.agent_id,
        session_id: req.session_id,
        tool: req.tool.to_string(),
        request_id: req.request_id,
        summary: crate::domain::clip(&req.summary, 300),
        detail: req.detail.to_string(),
        project: req.project,
        status: ApprovalStatus::Pending,
        decision: None,
        message: None,
        decided_by: None,
        decided_at: None,
        created_at: now,
        expires_at: now + req.wait_secs.max(1),
    };
    let sealer = app.sealer.clone();
    let (key, repeatable) = (req.source_key, req.repeatable);
    app.db
        .write(move |c| {
            Box::pin(async move {
                let (mut stored, mut new) = store::insert(c, &approval, &key).await?;
                if !new && repeatable && !stored.is_pending() {
                    (stored, new) = store::insert(c, &approval, &format!("{key}#{}", approval.id)).await?;
                }
                if new {
                    // (The integration's own "permission" row is the timeline's record of the ask.)
                    announce(c, &sealer, "approval:requested", &stored, now).await?;
                    raise_alert(c, &stored, now).await?;
                }
                Ok(stored)
            })
        })
        .await
}

/// The `approval_needed` alert: the rule's channel decides where it goes; its notification
/// carries the request and, for people who may decide, the answers.
async fn raise_alert(c: &mut WriteConn, a: &Approval, now: i64) -> AppResult<()> {
    let alert = NewAlert {
        trigger: Trigger::ApprovalNeeded,
        agent_id: a.agent_id.clone(),
        task_id: None,
        title: Some(crate::domain::agents::tool_label(&a.tool).to_string()),
        priority: Priority::High,
        reason: Some(a.summary.clone()),
        project: a.project.clone(),
        since: None,
        approval_id: Some(a.id.clone()),
    };
    alerts::raise(c, &alert, &format!("approval:{}", a.id), now).await?;
    Ok(())
}

/// An `approval:*` event in the approval's project; sealed, as the request may quote a command.
async fn announce(c: &mut WriteConn, sealer: &Sealer, name: &'static str, a: &Approval, now: i64) -> AppResult<()> {
    events::append(c, now, NewEvent::sealed(name, a.project.as_deref(), &json!({ "approval": a }), sealer)).await?;
    Ok(())
}

/// What a decision came to.
#[derive(Debug, Clone)]
pub enum Decided {
    /// This decision is the one that counts.
    Now(Approval),
    /// Someone (or something) answered first: the standing outcome.
    Already(Approval),
}

/// How the people and links who decide are named in `decided_by`.
pub async fn name_of(app: &App, principal: &Principal) -> AppResult<String> {
    Ok(match principal {
        Principal::User { id, .. } => {
            crate::db::users::get(&app.db.read, *id).await?.map_or_else(|| format!("user {id}"), |u| u.shown_name().to_string())
        }
        Principal::ApiKey { id: Some(id), .. } => format!("key:{id}"),
        Principal::ApiKey { id: None, .. } => "api key".into(),
        Principal::LocalOwner => "local owner".into(),
        Principal::Anonymous => "anonymous".into(),
    })
}

/// Checks a decision's message: optional, at most MESSAGE_LIMIT characters, blank is none.
pub fn checked_message(message: Option<String>) -> AppResult<Option<String>> {
    let message = message.map(|m| m.trim().to_string()).filter(|m| !m.is_empty());
    if message.as_ref().is_some_and(|m| m.chars().count() > MESSAGE_LIMIT) {
        return Err(AppError::field("too_big", "message", format!("message: at most {MESSAGE_LIMIT} characters")));
    }
    Ok(message)
}

/// Decides approval `id`; the first decision wins. The decision reaches OpenCode as a
/// `permission` command; a held Claude Code hook hears it through the event.
pub async fn decide(app: &App, id: String, answer: Answer) -> AppResult<Decided> {
    let unit = Unit::of(app);
    app.db.write(move |c| Box::pin(async move { decide_in(c, unit, &id, &answer).await })).await
}

/// A person's answer: the decision, their optional message, and who they are (`decided_by`).
#[derive(Debug, Clone)]
pub struct Answer {
    pub decision: Decision,
    pub message: Option<String>,
    pub by: String,
}

/// What a decision's write unit needs besides the answer: made outside it (the clock, a
/// command id), used inside.
pub(super) struct Unit {
    sealer: Sealer,
    command: crate::db::commands::Command,
    pub(super) now: i64,
}

impl Unit {
    pub(super) fn of(app: &App) -> Unit {
        Unit {
            sealer: app.sealer.clone(),
            command: crate::service::commands::queued(app, "", CommandKind::Permission, None),
            now: app.clock.now(),
        }
    }
}

pub(super) async fn decide_in(c: &mut WriteConn, unit: Unit, id: &str, answer: &Answer) -> AppResult<Decided> {
    let Unit { sealer, mut command, now } = unit;
    let (decision, message, by) = (answer.decision, answer.message.as_deref(), answer.by.as_str());
    // The close only takes a pending approval: whoever closes it first decided.
    let closed = store::close(c, id, decision.status(), Some(decision), message, Some(by), now).await?;
    let approval = store::get(&mut *c, id).await?.ok_or_else(|| AppError::not_found("Approval"))?;
    if !closed {
        return Ok(Decided::Already(approval));
    }
    let decided = approval;
    if let (crate::domain::agents::OPENCODE, Some(request)) = (decided.tool.as_str(), decided.request_id.as_deref()) {
        command.agent_id = decided.agent_id.clone();
        command.text = Some(opencode_command(request, decision, message));
        crate::db::commands::create(c, &command).await?;
    }
    let at = Subject { agent_id: &decided.agent_id, task_id: None, project_id: decided.project.as_deref() };
    activity::record(c, at, "approval", Some(&format!("{} by {by}: {}", decision.label(), decided.summary)), now).await?;
    announce(c, &sealer, "approval:decided", &decided, now).await?;
    Ok(Decided::Now(decided))
}

/// Ends approval `id` without a decision from ocd if it is still pending: `expired`, or
/// `answered_elsewhere` (with the answer given there). Returns it as it then stands.
pub async fn close_undecided(
    c: &mut WriteConn,
    sealer: &Sealer,
    id: &str,
    status: ApprovalStatus,
    answer: Option<Decision>,
    now: i64,
) -> AppResult<Option<Approval>> {
    let by = (status == ApprovalStatus::AnsweredElsewhere).then_some(ANSWERED_AT_THE_AGENT);
    let closed = store::close(c, id, status, answer, None, by, now).await?;
    let approval = store::get(&mut *c, id).await?;
    if let (true, Some(a)) = (closed, &approval) {
        let name = if status == ApprovalStatus::Expired { "approval:expired" } else { "approval:decided" };
        let what = if status == ApprovalStatus::Expired { "expired" } else { "answered in the terminal" };
        let at = Subject { agent_id: &a.agent_id, task_id: None, project_id: a.project.as_deref() };
        activity::record(c, at, "approval", Some(&format!("{what}: {}", a.summary)), now).await?;
        announce(c, sealer, name, a, now).await?;
    }
    Ok(approval)
}

/// The request was answered at the agent first (OpenCode's `permission.replied`).
pub async fn answered_elsewhere(app: &App, source_key: String, reply: Option<Decision>) -> AppResult<()> {
    let now = app.clock.now();
    let sealer = app.sealer.clone();
    app.db
        .write(move |c| {
            Box::pin(async move {
                match store::by_source(c, &source_key).await? {
                    Some(a) => close_undecided(c, &sealer, &a.id, ApprovalStatus::AnsweredElsewhere, reply, now).await.map(|_| ()),
                    None => Ok(()),
                }
            })
        })
        .await
}

/// Expires the agent's pending approvals (its session went idle, was aborted or ended). Idle
/// is reported often: nothing is written when nothing is pending.
pub async fn expire_for_agent(app: &App, agent_id: &str) -> AppResult<()> {
    let pending = store::Which { status: Some(ApprovalStatus::Pending), agent: Some(agent_id), project: None };
    if store::list(&app.db.read, pending, 1).await?.is_empty() {
        return Ok(());
    }
    let now = app.clock.now();
    let sealer = app.sealer.clone();
    let agent_id = agent_id.to_string();
    app.db
        .write(move |c| {
            Box::pin(async move {
                for a in store::pending_of_agent(c, &agent_id).await? {
                    close_undecided(c, &sealer, &a.id, ApprovalStatus::Expired, None, now).await?;
                }
                Ok(())
            })
        })
        .await
}

/// Expires every pending approval past its time (the sweep).
pub async fn expire_due(app: &App) -> AppResult<usize> {
    let now = app.clock.now();
    let sealer = app.sealer.clone();
    app.db
        .write(move |c| {
            Box::pin(async move {
                let due = store::pending_past(c, now).await?;
                for a in &due {
                    close_undecided(c, &sealer, &a.id, ApprovalStatus::Expired, None, now).await?;
                }
                Ok(due.len())
            })
        })
        .await
}

/// Waits until approval `id` is no longer pending, or `wait` has passed; returns it as it
/// then stands. Costs no thread: it sleeps on the event hub, which hears decisions made on
/// any replica through the event log.
pub async fn wait_for_decision(app: &App, id: &str, wait: Duration) -> AppResult<Approval> {
    let deadline = tokio::time::Instant::now() + wait;
    // Subscribed before looking, so a decision made in between still wakes us.
    let mut live = app.hub.subscribe();
    loop {
        let approval = store::get(&app.db.read, id).await?.ok_or_else(|| AppError::not_found("Approval"))?;
        if !approval.is_pending() || tokio::time::Instant::now() >= deadline {
            return Ok(approval);
        }
        let about_it = |text: &str| text.contains("event: approval:") && text.contains(id);
        if wait_for(&mut live, deadline, about_it).await != Woken::LookAgain {
            return store::get(&app.db.read, id).await?.ok_or_else(|| AppError::not_found("Approval"));
        }
    }
}

/// Holds a hook's request until a person decides or `APPROVAL_WAIT_SECONDS` pass; an
/// unanswered request expires, so the agent asks in its terminal.
pub async fn hold(app: &App, approval: Approval) -> AppResult<Approval> {
    // The agent may hang up first (its own timeout, Ctrl-C): then nobody can hear an answer,
    // so the approval expires instead of waiting to be "answered" in vain.
    let mut hung_up = ExpireIfHungUp { app: app.clone(), id: Some(approval.id.clone()) };
    let wait = Duration::from_secs(u64::try_from(approval.expires_at - app.clock.now()).unwrap_or(0));
    let standing = wait_for_decision(app, &approval.id, wait).await;
    hung_up.id = None;
    let standing = standing?;
    if !standing.is_pending() {
        return Ok(standing);
    }
    expire(app, standing.id.clone()).await
}

/// Expires approval `id` if it is still pending; returns it as it then stands.
async fn expire(app: &App, id: String) -> AppResult<Approval> {
    let now = app.clock.now();
    let sealer = app.sealer.clone();
    app.db
        .write(move |c| {
            Box::pin(async move {
                close_undecided(c, &sealer, &id, ApprovalStatus::Expired, None, now).await?.ok_or_else(|| AppError::not_found("Approval"))
            })
        })
        .await
}

/// Expires a held approval whose request was dropped before an answer (the connection closed).
struct ExpireIfHungUp {
    app: App,
    id: Option<String>,
}

impl Drop for ExpireIfHungUp {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        let app = self.app.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = expire(&app, id).await {
                    tracing::warn!(error = %e, "a dropped permission request could not be expired; the sweep will");
                }
            });
        }
    }
}

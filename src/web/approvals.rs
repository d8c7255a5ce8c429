//! `/approvals`: agents' permission requests waiting for a person, with Approve once / Always /
//! Reject and an optional message for admins, and the recent answers (who decided what).
//! `/approvals/decide/{token}`: a notification's decision link (K30) — its GET only shows the
//! request and the buttons (chat apps unfurl links), its POST decides.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::shell::{Nav, Shell, Visit};
use super::theme::Theme;
use super::time::Clock;
use super::{page_or_fragment, see_other};
use crate::api::auth::safe_redirect;
use crate::auth::principal::Principal;
use crate::db::approvals::{self, Which};
use crate::domain::approvals::{Approval, Decision};
use crate::error::{AppError, AppResult};
use crate::http::json::{Form, Params};
use crate::service::approvals::{self as service, Answer, Decided};
use crate::state::App;

/// How many answered requests the page lists under the pending ones.
const RECENT: usize = 50;
/// The newest requests the page reads (a long-pending one older than these is on the API).
const SHOWN: i64 = 500;

/// An approval as the pages show it.
pub struct ApprovalView {
    pub approval: Approval,
    pub tool: &'static str,
    /// How it ended, in words; empty while pending.
    pub outcome: String,
    /// A few lines of what the agent sent (the command, the file, the patterns).
    pub detail: Vec<(String, String)>,
}

impl ApprovalView {
    pub fn of(approval: Approval) -> ApprovalView {
        let outcome = if approval.is_pending() { String::new() } else { approval.outcome() };
        let detail = detail_lines(&approval);
        ApprovalView { tool: crate::domain::agents::tool_label(&approval.tool), outcome, detail, approval }
    }

    pub fn decisions(&self) -> &'static [Decision] {
        Decision::ALL
    }
}

/// The request's input as short `key: value` lines (strings only, each clipped).
fn detail_lines(a: &Approval) -> Vec<(String, String)> {
    let detail = a.detail_json();
    let input = detail.get("tool_input").or_else(|| detail.get("metadata")).cloned().unwrap_or_default();
    let mut lines: Vec<(String, String)> = input
        .as_object()
        .map(|o| o.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), crate::domain::clip(s, 400)))).take(6).collect())
        .unwrap_or_default();
    if let Some(patterns) = detail.get("patterns").and_then(|p| p.as_array()) {
        let list: Vec<&str> = patterns.iter().filter_map(|p| p.as_str()).collect();
        let patterns = crate::domain::clip(&list.join(" "), 400);
        // Often the command itself: shown once.
        if !list.is_empty() && !lines.iter().any(|(_, v)| *v == patterns) {
            lines.push(("patterns".into(), patterns));
        }
    }
    lines
}

pub struct ApprovalList {
    pub pending: Vec<ApprovalView>,
    pub recent: Vec<ApprovalView>,
    pub clock: Clock,
}

#[derive(Template)]
#[template(path = "approvals.html")]
struct ApprovalsPage {
    shell: Shell,
    list: ApprovalList,
}

#[derive(Template)]
#[template(path = "approvals_live.html")]
struct ApprovalsLive {
    shell: Shell,
    list: ApprovalList,
}

/// The page's lists, narrowed to the selected project: what waits, then the newest answers.
async fn load(app: &App, project: Option<&str>) -> AppResult<ApprovalList> {
    let all = approvals::list(&app.db.read, Which { project, ..Which::default() }, SHOWN).await?;
    let (pending, answered): (Vec<Approval>, Vec<Approval>) = all.into_iter().partition(Approval::is_pending);
    Ok(ApprovalList {
        pending: pending.into_iter().map(ApprovalView::of).collect(),
        recent: answered.into_iter().take(RECENT).map(ApprovalView::of).collect(),
        clock: Clock { now: app.clock.now() },
    })
}

pub async fn show(State(app): State<App>, visit: Visit) -> AppResult<Response> {
    let mut shell = Shell::build(&app, &visit, "Approvals", Nav::Approvals).await?;
    shell.live = Some("approvals");
    let list = load(&app, shell.project.as_deref()).await?;
    Ok(page_or_fragment(
        &visit.params,
        (shell, list),
        |(shell, list)| ApprovalsPage { shell, list },
        |(shell, list)| ApprovalsLive { shell, list },
    ))
}

#[derive(Debug, Deserialize)]
pub struct DecideForm {
    decision: Decision,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    back: Option<String>,
}

/// `POST /approvals/{id}`: a decision from the page (admin+). Too late is a 409 naming the
/// standing answer.
pub async fn decide(
    State(app): State<App>,
    principal: Principal,
    Path(id): Path<String>,
    Form(form): Form<DecideForm>,
) -> AppResult<Response> {
    let message = service::checked_message(form.message)?;
    let by = service::name_of(&app, &principal).await?;
    match service::decide(&app, id, Answer { decision: form.decision, message, by }).await? {
        Decided::Now(_) => Ok(see_other(safe_redirect(form.back.as_deref(), &app.base_path))),
        Decided::Already(a) => Err(AppError::Conflict(format!("This request was already {}", a.outcome()))),
    }
}

#[derive(Template)]
#[template(path = "approval_link.html")]
struct LinkPage {
    title: String,
    css: String,
    view: ApprovalView,
    /// The answer the link was opened for (`?decision=`), offered first.
    chosen: Option<Decision>,
    /// Set once decided: what happened.
    done: Option<String>,
    clock: Clock,
}

impl LinkPage {
    fn is_chosen(&self, d: &Decision) -> bool {
        self.chosen == Some(*d)
    }
}

fn link_page(app: &App, status: StatusCode, title: &str, view: ApprovalView, chosen: Option<Decision>, done: Option<String>) -> Response {
    let page = LinkPage {
        title: title.to_string(),
        css: super::assets::url(&app.base_path, "app.css"),
        view,
        chosen,
        done,
        clock: Clock { now: app.clock.now() },
    };
    let mut response = crate::http::html::render(status, &page);
    response.headers_mut().insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    response
}

/// `GET /approvals/decide/{token}`: shows the request and the buttons; never decides.
pub async fn link_confirm(State(app): State<App>, Path(token): Path<String>, params: Params) -> AppResult<Response> {
    let approval = crate::service::approval_links::by_link(&app, &token).await?;
    let chosen = params.non_empty("decision").and_then(Decision::parse);
    if !approval.is_pending() {
        let view = ApprovalView::of(approval);
        let done = Some(format!("This request was already {}.", view.outcome));
        return Ok(link_page(&app, StatusCode::OK, "Already answered", view, None, done));
    }
    Ok(link_page(&app, StatusCode::OK, "An agent asks for approval", ApprovalView::of(approval), chosen, None))
}

/// What a decision link's POST carries: a form (the confirm page, ntfy's buttons) or JSON
/// (the service worker, which also names the approval it means).
#[derive(Debug, Deserialize)]
pub struct LinkBody {
    decision: Decision,
    #[serde(default)]
    message: Option<String>,
    #[serde(default, alias = "approvalId")]
    approval_id: Option<String>,
}

/// `POST /approvals/decide/{token}`: decides once. A form gets a page; JSON (the service worker)
/// gets the approval as JSON on success, and a refusal in the pages' error format (it only
/// looks at the status).
pub async fn link_decide(
    State(app): State<App>,
    principal: Principal,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    let is_json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("application/json"));
    let body: LinkBody = if is_json {
        crate::http::json::parse(&body)?
    } else {
        serde_urlencoded::from_bytes(&body)
            .map_err(|_| AppError::field("invalid_enum_value", "decision", "decision must be once, always or reject"))?
    };
    let message = service::checked_message(body.message)?;
    let person = match principal {
        Principal::User { .. } => Some(service::name_of(&app, &principal).await?),
        _ => None,
    };
    let decided = crate::service::approval_links::decide_by_link(&app, &token, body.approval_id, body.decision, message, person).await?;
    if is_json {
        return Ok(crate::api::approvals::answer(decided).into_response());
    }
    Ok(match decided {
        Decided::Now(a) => {
            let view = ApprovalView::of(a);
            let done = Some(format!("Done: {}. The agent has been told.", view.outcome));
            link_page(&app, StatusCode::OK, "Answered", view, None, done)
        }
        Decided::Already(a) => {
            let view = ApprovalView::of(a);
            let done = Some(format!("Too late: this request was already {}.", view.outcome));
            link_page(&app, StatusCode::CONFLICT, "Already answered", view, None, done)
        }
    })
}

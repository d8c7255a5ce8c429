//! `/api/approvals` (K28, K30): agents' permission requests. Everyone signed in sees them;
//! admins and owners decide, and the first decision wins (a later one gets 409 with the
//! standing decision).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::principal::Principal;
use crate::db::approvals::{self, Which};
use crate::domain::approvals::{Approval, ApprovalStatus, Decision};
use crate::error::{AppError, AppResult};
use crate::http::json::{Body, Params, non_null};
use crate::service::approvals::{self as service, Answer, Decided};
use crate::state::App;

/// A project-scoped key sees only its project's approvals (decisions.md#project-scoped-keys);
/// another's is "not found", as every object outside its project is.
fn check_scope(principal: &Principal, approval: &Approval) -> AppResult<()> {
    match principal.scope() {
        Some(scope) if approval.project.as_deref() != Some(scope) => Err(AppError::not_found("Approval")),
        _ => Ok(()),
    }
}

/// `?status=pending|approved|denied|expired|answered_elsewhere`, `?agent=`, `?project=`, `?limit=` (1–500,
/// default 100).
pub async fn list(State(app): State<App>, principal: Principal, params: Params) -> AppResult<Json<Value>> {
    let status =
        match params.non_empty("status") {
            None => None,
            Some(text) => Some(ApprovalStatus::parse(text).ok_or_else(|| {
                AppError::BadRequest("status must be one of pending, approved, denied, expired, answered_elsewhere".into())
            })?),
        };
    // A scoped key lists its own project's only.
    let project = principal.scope().or_else(|| params.non_empty("project"));
    let which = Which { status, agent: params.non_empty("agent"), project };
    let list = approvals::list(&app.db.read, which, params.limit(100)?).await?;
    Ok(Json(json!({ "approvals": list })))
}

pub async fn get(State(app): State<App>, principal: Principal, Path(id): Path<String>) -> AppResult<Json<Value>> {
    let approval = approvals::get(&app.db.read, &id).await?.ok_or_else(|| AppError::not_found("Approval"))?;
    check_scope(&principal, &approval)?;
    Ok(Json(json!({ "approval": approval })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    decision: Decision,
    #[serde(default, deserialize_with = "non_null")]
    message: Option<String>,
}

/// The answer to a decision: 200 with the approval, or 409 with the standing one.
pub fn answer(decided: Decided) -> (StatusCode, Json<Value>) {
    match decided {
        Decided::Now(approval) => (StatusCode::OK, Json(json!({ "approval": approval }))),
        Decided::Already(approval) => {
            let error = format!("This request was already {}", approval.outcome());
            (StatusCode::CONFLICT, Json(json!({ "error": error, "approval": approval })))
        }
    }
}

pub async fn decide(
    State(app): State<App>,
    principal: Principal,
    Path(id): Path<String>,
    Body(body): Body<DecisionBody>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let message = service::checked_message(body.message)?;
    // (Project-scoped keys are agents' keys: the gate refuses them here.)
    let by = service::name_of(&app, &principal).await?;
    Ok(answer(service::decide(&app, id, Answer { decision: body.decision, message, by }).await?))
}

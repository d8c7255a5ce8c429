//! `/api/agents/{id}/workflow` and `/workflow/signal`: the task workflow of decisions.md#workflow
//! (rules in `service::workflows`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::agents::WorkflowStatus;
use crate::error::AppResult;
use crate::http::json::{Body, Params, non_null};
use crate::service::workflows::{self as service, Signal};
use crate::state::App;

pub async fn start(
    State(app): State<App>,
    Path(id): Path<String>,
    Body(body): Body<super::agent_actions::AssignmentBody>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let workflow = service::start(&app, id, body.checked()?).await?;
    Ok((StatusCode::CREATED, Json(json!({"workflowId": workflow.id, "runId": workflow.run_id}))))
}

pub async fn query(State(app): State<App>, Path(id): Path<String>, params: Params) -> AppResult<Json<Value>> {
    let (w, reason) = service::query(&app, id, params.get("taskId").map(String::from)).await?;
    let mut progress = json!({"status": w.status, "taskTitle": w.title});
    if w.status == WorkflowStatus::Blocked
        && let Some(reason) = reason
    {
        progress["blockedReason"] = Value::from(reason);
    }
    if let Some(result) = &w.result {
        progress["result"] = Value::from(result.as_str());
    }
    Ok(Json(json!({"status": w.status, "progress": progress})))
}

#[derive(Debug, Deserialize)]
pub struct SignalBody {
    signal: Signal,
    #[serde(default, deserialize_with = "non_null")]
    reason: Option<String>,
    #[serde(default, rename = "taskId", deserialize_with = "non_null")]
    task_id: Option<String>,
}

pub async fn signal(State(app): State<App>, Path(id): Path<String>, Body(body): Body<SignalBody>) -> AppResult<Json<Value>> {
    service::signal(&app, id, body.task_id, body.signal, body.reason).await?;
    Ok(Json(json!({"success": true})))
}

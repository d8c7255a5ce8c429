//! What agents report and what people do to them: `/api/agents/{id}/actions`, `assign`,
//! `block`, `complete`, `error`, `heartbeat`, `activity`. Each handler parses, calls the
//! operation in `service/agents.rs` and replies.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::db::agents::{self, Usage};
use crate::domain::Priority;
use crate::domain::agents::{AgentAction, BlockSource};
use crate::error::{AppError, AppResult};
use crate::http::json::{Body, Checks, non_null, parse};
use crate::service::agents::{self as service, Activity, NewAssignment};
use crate::state::App;

/// An unknown agent is a 404 before its body is looked at (the contract's order).
async fn require_agent(app: &App, id: &str) -> AppResult<()> {
    agents::find(&app.db.read, id).await?.map(|_| ()).ok_or_else(|| AppError::not_found("Agent"))
}

#[derive(Debug, Deserialize)]
pub struct ActionBody {
    action: AgentAction,
}

pub async fn action(State(app): State<App>, Path(id): Path<String>, Body(body): Body<ActionBody>) -> AppResult<Json<Value>> {
    let agent = service::act(&app, id, body.action).await?;
    Ok(Json(json!({"agent": agent, "action": body.action})))
}

/// The body of `assign` and of a workflow start: a task to give the agent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentBody {
    #[serde(rename = "taskId")]
    task_id: String,
    title: String,
    #[serde(default, deserialize_with = "non_null")]
    priority: Option<Priority>,
    #[serde(default, rename = "linearIssueId", deserialize_with = "non_null")]
    linear_issue_id: Option<String>,
    #[serde(default, rename = "projectId", deserialize_with = "non_null")]
    project_id: Option<String>,
}

impl AssignmentBody {
    pub fn checked(self) -> AppResult<NewAssignment> {
        Checks::new().min1("taskId", &self.task_id).min1("title", &self.title).finish()?;
        Ok(NewAssignment {
            task_id: self.task_id,
            title: self.title,
            priority: self.priority.unwrap_or(Priority::Medium),
            linear_issue_id: self.linear_issue_id,
            project_id: self.project_id,
        })
    }
}

pub async fn assign(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> AppResult<(StatusCode, Json<Value>)> {
    require_agent(&app, &id).await?;
    let new = parse::<AssignmentBody>(&body)?.checked()?;
    let task = service::assign(&app, id, new).await?;
    Ok((StatusCode::CREATED, Json(json!({ "task": task }))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockBody {
    #[serde(rename = "taskId")]
    task_id: String,
    source: BlockSource,
    reason: String,
}

pub async fn block(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> AppResult<Json<Value>> {
    require_agent(&app, &id).await?;
    let body: BlockBody = parse(&body)?;
    Checks::new().min1("taskId", &body.task_id).min1("reason", &body.reason).finish()?;
    service::block(&app, id, body.task_id, body.source, body.reason).await?;
    Ok(Json(json!({"success": true})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskRef {
    #[serde(rename = "taskId")]
    task_id: String,
}

/// The `taskId` of a report, checked.
async fn task_ref(app: &App, id: &str, body: &[u8]) -> AppResult<String> {
    require_agent(app, id).await?;
    let body: TaskRef = parse(body)?;
    Checks::new().min1("taskId", &body.task_id).finish()?;
    Ok(body.task_id)
}

pub async fn complete(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> AppResult<Json<Value>> {
    let task_id = task_ref(&app, &id, &body).await?;
    service::complete(&app, id, task_id).await?;
    Ok(Json(json!({"success": true})))
}

/// An error report: the original's `{taskId}`, plus ocd's optional `message` (what went wrong,
/// carried into the `error` alert).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorReport {
    #[serde(rename = "taskId")]
    task_id: String,
    #[serde(default, deserialize_with = "non_null")]
    message: Option<String>,
}

pub async fn error(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> AppResult<Json<Value>> {
    require_agent(&app, &id).await?;
    let report: ErrorReport = parse(&body)?;
    Checks::new().min1("taskId", &report.task_id).finish()?;
    let message = report.message.map(|m| m.trim().to_string()).filter(|m| !m.is_empty());
    let triggered = service::error(&app, id, report.task_id, message).await?;
    Ok(Json(json!({ "triggered": triggered })))
}

#[derive(Debug, Default, Deserialize)]
pub struct HeartbeatBody {
    #[serde(flatten)]
    usage: Usage,
}

/// The body may be empty or `{}` (the hook's). The reply carries the agent's due commands
/// (decisions.md#commands); old clients ignore the extra key.
pub async fn heartbeat(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> AppResult<Json<Value>> {
    let body: HeartbeatBody = crate::http::json::parse_optional(&body)?;
    let due = service::heartbeat(&app, id, body.usage).await?;
    Ok(Json(json!({"success": true, "commands": due})))
}

#[derive(Debug, Deserialize)]
pub struct ActivityBody {
    kind: String,
    #[serde(default, deserialize_with = "non_null")]
    summary: Option<String>,
    #[serde(default, rename = "taskId", alias = "task_id", deserialize_with = "non_null")]
    task_id: Option<String>,
    #[serde(flatten)]
    usage: Usage,
}

/// Real progress (decisions.md#stalls-and-usage).
pub async fn activity(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> AppResult<Json<Value>> {
    require_agent(&app, &id).await?;
    let body: ActivityBody = parse(&body)?;
    Checks::new().min1("kind", &body.kind).finish()?;
    let activity = Activity { kind: body.kind, summary: body.summary, task_id: body.task_id, usage: body.usage, once: None };
    service::activity(&app, id, activity).await?;
    Ok(Json(json!({"success": true})))
}

//! OpenTelemetry from Claude Code and Codex (`POST /api/ingest/otlp/v1/metrics` and `/v1/logs`,
//! OTLP/HTTP JSON, K29). Cost and token metrics are the source of an agent's totals (hooks
//! carry none, so nothing is counted twice); each data point is attributed by its
//! `session.id` and counted once — delta points by a key, cumulative points by how much
//! their series grew. `api_request` log records become timeline rows (their tokens are in the
//! metrics already).

use serde_json::Value;

use super::reporter::Reporter;
use super::{Sender, clip};
use crate::db::agents::Usage;
use crate::error::AppResult;
use crate::service::agents::{self, Counted};
use crate::state::App;

/// OTLP's aggregation temporality for cumulative sums (1 is delta).
const CUMULATIVE: i64 = 2;

/// The tool a resource belongs to, as ocd names its agents.
fn tool_of(resource: &Value) -> &'static str {
    match attribute(resource.get("attributes"), "service.name").as_deref() {
        Some(name) if name.contains("codex") => "codex",
        _ => "claude-code",
    }
}

/// An attribute's value as text (`stringValue`, or a number).
fn attribute(attributes: Option<&Value>, key: &str) -> Option<String> {
    let found = attributes?.as_array()?.iter().find(|a| a.get("key").and_then(Value::as_str) == Some(key))?;
    let value = found.get("value")?;
    if let Some(s) = value.get("stringValue").and_then(Value::as_str) {
        return Some(s.to_string());
    }
    ["intValue", "doubleValue", "boolValue"].iter().find_map(|k| value.get(*k)).map(|v| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// The session a point belongs to: `session.id` (Claude Code), else `conversation.id` (Codex).
fn session_of(attributes: Option<&Value>) -> Option<String> {
    attribute(attributes, "session.id").or_else(|| attribute(attributes, "conversation.id")).filter(|s| !s.is_empty())
}

/// A number OTLP JSON may send as a number or (int64) as a string.
fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite() && *n >= 0.0)
}

/// What a metric adds to: cost, input or output tokens; other metrics count nothing.
fn usage_of(metric: &str, point: &Value) -> Option<fn(f64) -> Usage> {
    if metric.ends_with("cost.usage") {
        return Some(|v| Usage { cost_usd: Some(v), ..Usage::default() });
    }
    if metric.ends_with("token.usage") {
        return match attribute(point.get("attributes"), "type").as_deref() {
            Some("output") => Some(|v| Usage { tokens_out: Some(v.round() as i64), ..Usage::default() }),
            _ => Some(|v| Usage { tokens_in: Some(v.round() as i64), ..Usage::default() }),
        };
    }
    None
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// Applies an OTLP metrics export; returns how many data points counted.
pub async fn metrics(app: &App, sender: &Sender, body: &Value) -> AppResult<usize> {
    let mut counted = 0;
    for resource in list(body, "resourceMetrics") {
        let tool = tool_of(resource.get("resource").unwrap_or(&Value::Null));
        let mut to = Reporter::new(app, tool, sender);
        for scope in list(resource, "scopeMetrics") {
            for metric in list(scope, "metrics") {
                let name = metric.get("name").and_then(Value::as_str).unwrap_or_default();
                let Some(sum) = metric.get("sum") else { continue };
                let temporality = match sum.get("aggregationTemporality") {
                    Some(Value::String(name)) if name.ends_with("DELTA") => 1,
                    Some(v) => v.as_i64().unwrap_or(CUMULATIVE),
                    None => CUMULATIVE,
                };
                for point in list(sum, "dataPoints") {
                    let Some(session) = session_of(point.get("attributes")) else { continue };
                    let (Some(add), Some(value)) =
                        (usage_of(name, point), number(point.get("asDouble")).or_else(|| number(point.get("asInt"))))
                    else {
                        continue;
                    };
                    let series = format!(
                        "{tool}:{name}:{}",
                        crate::crypto::sha256_hex(&point.get("attributes").cloned().unwrap_or_default().to_string())
                    );
                    let start = point.get("startTimeUnixNano").map(|v| v.to_string()).unwrap_or_default();
                    let how = if temporality == CUMULATIVE {
                        Counted::Cumulative { series, start_ns: start }
                    } else {
                        let time = point.get("timeUnixNano").map(|v| v.to_string()).unwrap_or_default();
                        Counted::Delta { key: format!("otlp:{series}:{start}:{time}") }
                    };
                    to.ensure(&session).await?;
                    agents::telemetry_usage(app, to.agent_id(&session), how, value, add).await?;
                    counted += 1;
                }
            }
        }
    }
    Ok(counted)
}

/// Applies an OTLP logs export: each `api_request` record is a timeline row; returns how many.
pub async fn logs(app: &App, sender: &Sender, body: &Value) -> AppResult<usize> {
    let mut noted = 0;
    for resource in list(body, "resourceLogs") {
        let tool = tool_of(resource.get("resource").unwrap_or(&Value::Null));
        let mut to = Reporter::new(app, tool, sender);
        for scope in list(resource, "scopeLogs") {
            for record in list(scope, "logRecords") {
                let attributes = record.get("attributes");
                let name = attribute(attributes, "event.name").unwrap_or_default();
                let (true, Some(session)) = (name.ends_with("api_request"), session_of(attributes)) else { continue };
                let get = |k: &str| attribute(attributes, k).unwrap_or_default();
                let summary = clip(
                    &format!(
                        "model call ({}): {} tokens in, {} out, ${}",
                        get("model"),
                        get("input_tokens"),
                        get("output_tokens"),
                        get("cost_usd")
                    ),
                    300,
                );
                let key = format!("otlp-log:{tool}:{session}:{}", crate::crypto::sha256_hex(&record.to_string()));
                to.note(&session, key, "model", summary).await?;
                noted += 1;
            }
        }
    }
    Ok(noted)
}

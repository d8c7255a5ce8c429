//! OpenTelemetry ingest (K29): OTLP/HTTP JSON shaped as Claude Code 2.1.197 exports it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::TestApp;

crate::on_both_backends!(telemetry_totals_count_each_point_once, api_request_logs_land_on_the_timeline);

const SESSION: &str = "86f0a634-5739-42b0-8cdd-bf6c7cb7604c";

fn attr(key: &str, value: &str) -> Value {
    json!({"key": key, "value": {"stringValue": value}})
}

fn point(kind: Option<&str>, start: &str, time: &str, value: f64) -> Value {
    let mut attributes = vec![attr("user.id", "u1"), attr("session.id", SESSION), attr("model", "claude-opus-4-8")];
    if let Some(kind) = kind {
        attributes.push(attr("type", kind));
    }
    json!({"attributes": attributes, "startTimeUnixNano": start, "timeUnixNano": time, "asDouble": value})
}

fn export(temporality: i64, metrics: Vec<(&str, Vec<Value>)>) -> Value {
    let metrics: Vec<Value> = metrics
        .into_iter()
        .map(|(name, points)| json!({"name": name, "unit": "", "sum": {"aggregationTemporality": temporality, "isMonotonic": true, "dataPoints": points}}))
        .collect();
    json!({"resourceMetrics": [{
        "resource": {"attributes": [attr("service.name", "claude-code"), attr("service.version", "2.1.197")]},
        "scopeMetrics": [{"scope": {"name": "com.anthropic.claude_code", "version": "2.1.197"}, "metrics": metrics}]
    }]})
}

async fn totals(app: &TestApp) -> (i64, i64, f64) {
    let a = app.get(&format!("/api/agents/claude-code-{SESSION}")).await.body;
    (a["agent"]["tokens_in"].as_i64().unwrap(), a["agent"]["tokens_out"].as_i64().unwrap(), a["agent"]["cost_usd"].as_f64().unwrap())
}

async fn telemetry_totals_count_each_point_once(app: TestApp) {
    // Claude Code's own export: delta sums.
    let delta = export(
        1,
        vec![
            ("claude_code.session.count", vec![point(None, "1", "2", 1.0)]),
            ("claude_code.cost.usage", vec![point(None, "100", "200", 0.25)]),
            (
                "claude_code.token.usage",
                vec![
                    point(Some("input"), "100", "200", 100.0),
                    point(Some("output"), "100", "200", 20.0),
                    point(Some("cacheRead"), "100", "200", 5.0),
                ],
            ),
        ],
    );
    let r = app.post("/api/ingest/otlp/v1/metrics", delta.clone()).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::OK, json!({"partialSuccess": {}})));
    assert_eq!(totals(&app).await, (105, 20, 0.25));
    app.post("/api/ingest/otlp/v1/metrics", delta).await;
    assert_eq!(totals(&app).await, (105, 20, 0.25), "a re-sent export counts nothing");

    // A cumulative exporter: only the growth counts; a new run of the series counts whole.
    let cumulative =
        |start: &str, time: &str, value: f64| export(2, vec![("claude_code.cost.usage", vec![point(None, start, time, value)])]);
    app.post("/api/ingest/otlp/v1/metrics", cumulative("500", "600", 1.0)).await;
    app.post("/api/ingest/otlp/v1/metrics", cumulative("500", "700", 1.5)).await;
    app.post("/api/ingest/otlp/v1/metrics", cumulative("500", "700", 1.5)).await;
    app.post("/api/ingest/otlp/v1/metrics", cumulative("500", "650", 1.2)).await;
    let (_, _, cost) = totals(&app).await;
    assert!((cost - 1.75).abs() < 1e-9, "0.25 + 1.5: {cost}");
    app.post("/api/ingest/otlp/v1/metrics", cumulative("900", "950", 0.5)).await;
    let (_, _, cost) = totals(&app).await;
    assert!((cost - 2.25).abs() < 1e-9, "a restarted series: {cost}");
    // Points without a session, and other shapes, are ignored.
    let r = app
        .post("/api/ingest/otlp/v1/metrics", json!({"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "x", "gauge": {}}]}]}]}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

async fn api_request_logs_land_on_the_timeline(app: TestApp) {
    let record = |sequence: i64| {
        json!({"timeUnixNano": "1796289266550000000", "body": {"stringValue": "claude_code.api_request"}, "attributes": [
            attr("session.id", SESSION), attr("event.name", "api_request"), {"key": "event.sequence", "value": {"intValue": sequence}},
            attr("model", "claude-opus-4-8"), {"key": "input_tokens", "value": {"intValue": "100"}}, {"key": "output_tokens", "value": {"intValue": 20}},
            {"key": "cost_usd", "value": {"doubleValue": 0.001}}, attr("request_id", "req_1")]})
    };
    let body = json!({"resourceLogs": [{"resource": {"attributes": [attr("service.name", "claude-code")]}, "scopeLogs": [{"logRecords": [record(34),
        {"body": {"stringValue": "claude_code.hook_registered"}, "attributes": [attr("session.id", SESSION), attr("event.name", "hook_registered")]}]}]}]});
    app.post("/api/ingest/otlp/v1/logs", body.clone()).await;
    app.post("/api/ingest/otlp/v1/logs", body).await;
    let timeline = app.get(&format!("/api/agents/claude-code-{SESSION}/activity")).await.body;
    let rows: Vec<&Value> = timeline["activity"].as_array().unwrap().iter().filter(|a| a["kind"] == "model").collect();
    assert_eq!(rows.len(), 1, "{timeline}");
    assert_eq!(rows[0]["summary"], "model call (claude-opus-4-8): 100 tokens in, 20 out, $0.001");
    assert_eq!(totals(&app).await, (0, 0, 0.0), "logs never add to the totals (the metrics do)");
}

//! A scripted OpenAI-compatible model on 127.0.0.1 (`POST /v1/chat/completions`, streamed as
//! server-sent events like OpenAI's), so the real opencode runs offline and always does the
//! same: write todos, delegate to a sub-agent, finish the todos in mixed states, then fail a
//! model call. Prompt words change the script: SUBAGENT (a plain answer), LONGRUN (an answer
//! that streams for a minute, to be stopped), FAIL400 (the first call fails).

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

pub struct FakeModel {
    /// `http://127.0.0.1:port/v1`
    pub base_url: String,
}

impl FakeModel {
    pub async fn start() -> FakeModel {
        let router = Router::new()
            .route("/v1/models", get(|| async { Json(json!({"object": "list", "data": [{"id": "fake", "object": "model"}]})) }))
            .route("/v1/chat/completions", post(complete));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake model");
        let base_url = format!("http://{}/v1", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeModel { base_url }
    }
}

enum Step {
    Text(&'static str),
    Tool(&'static str, &'static str, Value),
    Slow,
    Fail,
}

fn text_of(message: &Value) -> String {
    match &message["content"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join(" "),
        _ => String::new(),
    }
}

fn decide(body: &Value) -> Step {
    let offers_tools = body["tools"].as_array().is_some_and(|t| !t.is_empty());
    if !offers_tools {
        return Step::Text("E2E session title");
    }
    let last = body["messages"].as_array().and_then(|m| m.last()).cloned().unwrap_or(Value::Null);
    match last["role"].as_str() {
        Some("user") => {
            let said = text_of(&last);
            if said.contains("SUBAGENT") {
                Step::Text("hi from the sub-agent")
            } else if said.contains("LONGRUN") {
                Step::Slow
            } else if said.contains("FAIL400") {
                Step::Fail
            } else if said.contains("RUNBASH") {
                // A command that needs permission where bash is `ask`; its marker shows it ran.
                Step::Tool("call_bash1", "bash", json!({"command": "touch approved-marker.txt", "description": "Touch a marker"}))
            } else {
                Step::Tool(
                    "call_todo1",
                    "todowrite",
                    json!({"todos": [
                        {"content": "Inspect repo", "status": "in_progress", "priority": "high"},
                        {"content": "Delegate to sub-agent", "status": "pending", "priority": "medium"},
                        {"content": "Summarize", "status": "pending", "priority": "low"},
                    ]}),
                )
            }
        }
        Some("tool") => match last["tool_call_id"].as_str() {
            Some("call_todo1") => Step::Tool(
                "call_task1",
                "task",
                json!({"description": "E2E sub-agent", "prompt": "SUBAGENT: reply with one word", "subagent_type": "general"}),
            ),
            Some("call_task1") => Step::Tool(
                "call_todo2",
                "todowrite",
                json!({"todos": [
                    {"content": "Inspect repo", "status": "completed", "priority": "high"},
                    {"content": "Delegate to sub-agent", "status": "completed", "priority": "medium"},
                    {"content": "Summarize", "status": "cancelled", "priority": "low"},
                ]}),
            ),
            Some("call_todo2") => Step::Fail,
            _ => Step::Text("All done."),
        },
        _ => Step::Text("ok"),
    }
}

fn chunk(delta: Value, finish: Option<&str>) -> String {
    let c = json!({"id": "chatcmpl-e2e", "object": "chat.completion.chunk", "created": 1, "model": "fake",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    format!("data: {c}\n\n")
}

fn usage() -> String {
    let c = json!({"id": "chatcmpl-e2e", "object": "chat.completion.chunk", "created": 1, "model": "fake", "choices": [],
        "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150}});
    format!("data: {c}\n\n")
}

fn stream(body: Body) -> Response {
    ([(header::CONTENT_TYPE, "text/event-stream"), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

async fn complete(Json(body): Json<Value>) -> Response {
    match decide(&body) {
        Step::Fail => {
            let error = json!({"error": {"message": "scripted failure", "type": "invalid_request_error"}});
            (StatusCode::BAD_REQUEST, Json(error)).into_response()
        }
        Step::Text(text) => {
            let sse = [
                chunk(json!({"role": "assistant", "content": ""}), None),
                chunk(json!({"content": text}), None),
                chunk(json!({}), Some("stop")),
                usage(),
                "data: [DONE]\n\n".to_string(),
            ];
            stream(Body::from(sse.concat()))
        }
        Step::Tool(id, name, args) => {
            let call = json!([{"index": 0, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]);
            let sse = [
                chunk(json!({"role": "assistant", "content": null, "tool_calls": call}), None),
                chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": args.to_string()}}]}), None),
                chunk(json!({}), Some("tool_calls")),
                usage(),
                "data: [DONE]\n\n".to_string(),
            ];
            stream(Body::from(sse.concat()))
        }
        Step::Slow => {
            // A word every 100 ms for a minute: long enough to be stopped from ocd.
            let first =
                futures_util::stream::once(async { Ok::<_, std::io::Error>(chunk(json!({"role": "assistant", "content": ""}), None)) });
            let words = futures_util::stream::unfold(0u32, |n| async move {
                if n >= 600 {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                Some((Ok::<_, std::io::Error>(chunk(json!({"content": "working "}), None)), n + 1))
            });
            use futures_util::StreamExt;
            stream(Body::from_stream(first.chain(words)))
        }
    }
}

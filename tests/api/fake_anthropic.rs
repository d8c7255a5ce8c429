//! A scripted Anthropic Messages API on 127.0.0.1 (`POST /v1/messages`, streamed as Anthropic
//! streams it: message_start, content_block_start/delta/stop, message_delta with usage,
//! message_stop), so the real Claude Code CLI runs offline and always does the same. The main
//! session starts a sub-agent, then runs a command that fails, then answers; the sub-agent
//! (its prompt says SUBAGENT) runs `echo sub` and answers. Requests without tools (titles and
//! other side questions) get a short text.

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use serde_json::{Value, json};

pub struct FakeAnthropic {
    /// `http://127.0.0.1:port`
    pub url: String,
}

impl FakeAnthropic {
    pub async fn start() -> FakeAnthropic {
        let router = Router::new().route("/v1/messages", post(messages)).route("/", any(|| async { "" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake Anthropic");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeAnthropic { url }
    }
}

fn all_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => {
            blocks.iter().map(|b| all_text(b.get("text").or(b.get("content")).unwrap_or(&Value::Null))).collect::<Vec<_>>().join("\n")
        }
        _ => String::new(),
    }
}

/// The ids of the tool results in the last user message (Claude Code may add system messages
/// after it, and merges turns, so the script follows the results, not a turn count).
fn answered(messages: &[Value]) -> Vec<String> {
    let last = messages.iter().rev().find(|m| m["role"] == "user");
    let blocks = last.and_then(|m| m["content"].as_array()).cloned().unwrap_or_default();
    blocks.iter().filter(|b| b["type"] == "tool_result").filter_map(|b| b["tool_use_id"].as_str().map(String::from)).collect()
}

/// The reply's content blocks and stop reason.
fn plan(body: &Value) -> (Vec<Value>, &'static str) {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let tools: Vec<&str> = body["tools"].as_array().map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect()).unwrap_or_default();
    let first = messages.iter().find(|m| m["role"] == "user").map(|m| all_text(&m["content"])).unwrap_or_default();
    let text = |t: &str| vec![json!({"type": "text", "text": t})];
    if tools.is_empty() || !first.contains("E2E") {
        return (text("ok"), "end_turn");
    }
    let tool = |id: &str, name: &str, input: Value| {
        vec![json!({"type": "text", "text": "Working on it."}), json!({"type": "tool_use", "id": id, "name": name, "input": input})]
    };
    let results = answered(&messages);
    let after = |id: &str| results.iter().any(|r| r == id);
    if first.contains("PERMISSION") {
        // A write that needs permission in the default mode; its marker shows whether it ran.
        return if after("toolu_perm") {
            (text("Finished."), "end_turn")
        } else {
            (tool("toolu_perm", "Bash", json!({"command": "touch ocd_approved.txt", "description": "Touch the marker"})), "tool_use")
        };
    }
    if first.contains("SUBAGENT") {
        return if after("toolu_sub_bash") {
            (text("The sub-agent is done."), "end_turn")
        } else {
            (tool("toolu_sub_bash", "Bash", json!({"command": "echo sub", "description": "Print sub"})), "tool_use")
        };
    }
    if after("toolu_main_fail") {
        (text("All done, one command failed."), "end_turn")
    } else if after("toolu_main_agent") {
        (tool("toolu_main_fail", "Bash", json!({"command": "ls /definitely/not/here", "description": "List a missing folder"})), "tool_use")
    } else {
        let agent = if tools.contains(&"Agent") { "Agent" } else { "Task" };
        let input = json!({"description": "Check the callers", "prompt": "E2E SUBAGENT: run echo sub and report", "subagent_type": "general-purpose"});
        (tool("toolu_main_agent", agent, input), "tool_use")
    }
}

fn event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

async fn messages(Json(body): Json<Value>) -> Response {
    let (blocks, stop) = plan(&body);
    let usage = json!({"input_tokens": 100, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0});
    let model = body["model"].as_str().unwrap_or("claude-fake").to_string();
    if body["stream"] != true {
        let reply = json!({"id": "msg_e2e", "type": "message", "role": "assistant", "model": model, "content": blocks,
            "stop_reason": stop, "stop_sequence": null, "usage": {"input_tokens": 100, "output_tokens": 20}});
        return Json(reply).into_response();
    }
    let mut sse = event(
        "message_start",
        json!({"type": "message_start", "message": {"id": "msg_e2e", "type": "message", "role": "assistant",
        "model": model, "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage}}),
    );
    for (i, block) in blocks.iter().enumerate() {
        if block["type"] == "text" {
            sse += &event(
                "content_block_start",
                json!({"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}}),
            );
            sse += &event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": block["text"]}}),
            );
        } else {
            let start = json!({"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}});
            sse += &event("content_block_start", json!({"type": "content_block_start", "index": i, "content_block": start}));
            let partial = block["input"].to_string();
            sse += &event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": partial}}),
            );
        }
        sse += &event("content_block_stop", json!({"type": "content_block_stop", "index": i}));
    }
    sse += &event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": 20}}),
    );
    sse += &event("message_stop", json!({"type": "message_stop"}));
    ([(header::CONTENT_TYPE, "text/event-stream"), (header::CACHE_CONTROL, "no-cache")], Body::from(sse)).into_response()
}

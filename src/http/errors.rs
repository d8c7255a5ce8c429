//! Every error answer in the format of its route: JSON `{"error": …}` under `/api/`,
//! `/healthz` and `/metrics`, an HTML page everywhere else (the pages, unknown addresses). Handlers
//! already answer so; this turns the plain-text rejections of the layers below them
//! (path decoding, body limits, extractors) into the same shape.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The longest rejection text read back; they are one line.
const MAX_REJECTION_BYTES: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Html,
}

impl Format {
    /// The format of answers for `path` (without the base path): JSON for the API, health and
    /// metrics, HTML for everything a person opens in a browser.
    pub fn of(path: &str) -> Format {
        let api = path == "/api" || path.starts_with("/api/") || path == "/healthz" || path == "/metrics";
        if api { Format::Json } else { Format::Html }
    }
}

/// Whether `response` must be re-written: a bare rejection (plain text or no body type) always;
/// on a page also the gate's JSON refusals. What handlers answer in their route's format (and
/// the HTML pages some `/api/` routes show) is kept as it is.
fn needs_rewrite(content_type: Option<&HeaderValue>, format: Format) -> bool {
    match content_type.and_then(|v| v.to_str().ok()) {
        None => true,
        Some(v) if v.starts_with("text/plain") => true,
        Some(v) => format == Format::Html && v.starts_with("application/json"),
    }
}

/// A JSON error's text for a page: its `error`, and for an invalid body each field and what
/// is wrong with it (`details[].path` and `.message`).
fn with_details(json: &serde_json::Value) -> String {
    let error = json["error"].as_str().unwrap_or("Error");
    let details: Vec<String> = json["details"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let field: Vec<String> =
                d["path"].as_array().into_iter().flatten().map(|p| p.to_string().trim_matches('"').to_string()).collect();
            format!("{} {}", field.join("."), d["message"].as_str().unwrap_or_default()).trim().to_string()
        })
        .collect();
    if details.is_empty() { error.to_string() } else { format!("{error}: {}", details.join("; ")) }
}

/// `response` (an error) in `format`.
pub async fn in_route_format(response: Response, format: Format, base_path: &str) -> Response {
    if !needs_rewrite(response.headers().get(header::CONTENT_TYPE), format) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_REJECTION_BYTES).await {
        // Said the same way whichever layer noticed it.
        _ if parts.status == StatusCode::PAYLOAD_TOO_LARGE => "Request body too large".to_string(),
        Ok(bytes) if !bytes.is_empty() => match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(json) => with_details(&json),
            Err(_) => String::from_utf8_lossy(&bytes).trim().to_string(),
        },
        _ => parts.status.canonical_reason().unwrap_or("Error").to_string(),
    };
    let mut rewritten = match format {
        Format::Json => axum::Json(json!({ "error": text })).into_response(),
        Format::Html => super::html::message(base_path, parts.status, parts.status.canonical_reason().unwrap_or("Error"), &text),
    };
    *rewritten.status_mut() = parts.status;
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rewritten
}

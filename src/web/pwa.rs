//! The installable app: the web app manifest and the service worker (static/sw.js), both served
//! below the base path so the worker's scope is the whole dashboard. The worker is prefixed with
//! this build's shell files, so every new build installs a new worker that caches them.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::assets;
use crate::state::App;

/// The colour of the app's frame and splash screen (the dark theme's background).
const FRAME_COLOR: &str = "#0f1115";

/// `GET /manifest.webmanifest`.
pub async fn manifest(State(app): State<App>) -> Response {
    let base = &app.base_path;
    let icon =
        |name: &str, size: &str| json!({"src": assets::url(base, name), "sizes": size, "type": "image/png", "purpose": "any maskable"});
    let body = json!({
        "name": "ocd — agent dashboard",
        "short_name": "ocd",
        "description": "Watch and steer your AI coding agents.",
        "id": format!("{base}/"),
        "start_url": format!("{base}/"),
        "scope": format!("{base}/"),
        "display": "standalone",
        "background_color": FRAME_COLOR,
        "theme_color": FRAME_COLOR,
        "icons": [icon("icon-192.png", "192x192"), icon("icon-512.png", "512x512")],
    });
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/manifest+json"), (header::CACHE_CONTROL, "no-cache")], body.to_string())
        .into_response()
}

/// The service worker's text for this build and base path.
pub fn service_worker_text(base_path: &str) -> String {
    let shell = assets::shell(base_path);
    let version = assets::fingerprint(&shell);
    let prelude = json!({"BASE": base_path, "SHELL": shell, "VERSION": version});
    let mut text = String::new();
    for key in ["BASE", "SHELL", "VERSION"] {
        text.push_str(&format!("const {key} = {};\n", prelude[key]));
    }
    text + include_str!("../../static/sw.js")
}

/// What the worker may do (a worker runs under the policy of its own script's answer, not the
/// pages'): fetch from this origin only — the shell files, and the pages it passes through.
const WORKER_POLICY: &str = "default-src 'none'; connect-src 'self'; img-src 'self'";

/// `GET /sw.js`: never cached by the browser's HTTP cache, so a new build is seen at once.
pub async fn service_worker(State(app): State<App>) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, WORKER_POLICY),
        ],
        service_worker_text(&app.base_path),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worker_knows_the_base_path_and_this_builds_files() {
        let text = service_worker_text("/ocd");
        assert!(text.starts_with("const BASE = \"/ocd\";\n"));
        assert!(text.contains(&assets::url("/ocd", "app.css")));
        assert!(text.contains(&assets::url("/ocd", "icon-192.png")));
        assert!(!text.contains("ocd.ts"));
    }
}

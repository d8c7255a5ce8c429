//! The dashboard's pages (design.md "The layers": an adapter like `api/`). Each page is an
//! askama template in `templates/` rendered on the server, so every page shows its data
//! without JavaScript; `static/app.js` adds the live updates, `static/board.js` drag and drop.
//! A page's live region is also served alone (`?fragment=1`) for the live module to swap in.

pub mod agents;
pub mod analytics;
pub mod approvals;
pub mod assets;
pub mod board;
pub mod charts;
pub mod forms;
pub mod invite;
pub mod linear;
pub mod login;
pub mod markdown;
pub mod messages;
pub mod pwa;
pub mod settings;
pub mod shell;
pub mod sprints;
pub mod theme;
pub mod time;
pub mod todo;

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::json::Params;

/// Whether the request asks for the page's live region alone.
pub fn wants_fragment(params: &Params) -> bool {
    params.get("fragment") == Some("1")
}

/// A page (or its live region), never cached: it shows live data.
pub fn page(page: &impl Template) -> Response {
    let mut response = crate::http::html::render(StatusCode::OK, page);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The page, or with `?fragment=1` only its live regions: `full` and `live` are the page's
/// two templates over the same data.
pub fn page_or_fragment<D, P: Template, L: Template>(
    params: &Params,
    data: D,
    full: impl FnOnce(D) -> P,
    live: impl FnOnce(D) -> L,
) -> Response {
    if wants_fragment(params) { page(&live(data)) } else { page(&full(data)) }
}

/// `303 See Other` to `location` (after a form post).
pub fn see_other(location: String) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

//! The colour theme: dark by default, light, or following the system. Kept in a cookie so the
//! server renders the right one at once (no flash), and switched by a form that works
//! without JavaScript (`POST /theme`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::http::json::Form;

use crate::api::auth::safe_redirect;
use crate::state::App;

const COOKIE: &str = "ocd_theme";
const ONE_YEAR_SECS: i64 = 365 * 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    Dark,
    Light,
    System,
}

impl Theme {
    pub fn of(app: &App, headers: &HeaderMap) -> Theme {
        match app.auth.cookies.get(headers, COOKIE).as_deref() {
            Some("light") => Theme::Light,
            Some("system") => Theme::System,
            _ => Theme::Dark,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Theme::Dark => "dark",
            Theme::Light => "light",
            Theme::System => "system",
        }
    }

    /// What the toggle switches to: dark → light → system → dark.
    pub fn next(&self) -> Theme {
        match self {
            Theme::Dark => Theme::Light,
            Theme::Light => Theme::System,
            Theme::System => Theme::Dark,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ThemeForm {
    theme: String,
    #[serde(default)]
    back: Option<String>,
}

/// `POST /theme` (form: `theme`, `back`): stores the choice and returns to the page.
pub async fn set(State(app): State<App>, Form(form): Form<ThemeForm>) -> Response {
    let theme = match form.theme.as_str() {
        "light" => "light",
        "system" => "system",
        _ => "dark",
    };
    let back = safe_redirect(form.back.as_deref(), &app.base_path);
    let cookie = app.auth.cookies.set(COOKIE, theme, ONE_YEAR_SECS);
    (StatusCode::SEE_OTHER, [(header::LOCATION, back)], [(header::SET_COOKIE, cookie)]).into_response()
}

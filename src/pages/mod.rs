//! The server-rendered pages: the invite landing page and the sign-in link confirmation,
//! each an askama template in `templates/` (see `http/html.rs`).

pub mod invite;

use askama::Template;

/// The confirmation shown before a one-time sign-in link is used (a link previewer fetching
/// it does not use it up).
#[derive(Template)]
#[template(path = "link_confirm.html")]
pub struct LinkConfirm<'a> {
    pub title: &'a str,
}

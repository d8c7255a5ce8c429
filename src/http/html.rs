//! HTML answers: every page is an askama template in `templates/` (HTML-escaped by default).
//! The message page here is also what errors outside the API are shown on.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// A page with a title and one paragraph of text.
#[derive(Template)]
#[template(path = "message.html")]
pub struct Message<'a> {
    pub title: &'a str,
    pub text: &'a str,
}

/// `page` answered with `status`; a template that fails to render is a logged 500.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, Html("<!doctype html><title>Error</title><p>Internal server error</p>")).into_response()
        }
    }
}

/// A message page.
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    render(status, &Message { title, text })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        let html = Message { title: "<b>", text: r#"<a href="x">'&'</a>"# }.render().unwrap();
        assert!(html.contains("&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;"), "{html}");
        assert!(!html.contains("<b>"));
    }
}

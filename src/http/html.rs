//! HTML answers: every page is an askama template in `templates/` (HTML-escaped by default).
//! The message page here is also what errors outside the API are shown on.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// A page with a title and one paragraph of text.
#[derive(Template)]
#[template(path = "message.html")]
pub struct Message<'a> {
    pub title: &'a str,
    pub text: &'a str,
    pub css: String,
    pub home: String,
}

/// What a page may load: its own scripts, styles, images (and GitHub avatars), and requests to
/// its own origin; nothing inline (no `unsafe-inline`), no framing, no foreign form targets.
pub const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https://avatars.githubusercontent.com; \
     connect-src 'self'; manifest-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// `page` answered with `status`; a template that fails to render is a logged 500.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => {
            let policy = HeaderValue::from_static(PAGE_POLICY);
            // `same-origin`, not `no-referrer`: with no referrer a browser sends `Origin: null`
            // on the page's own form posts, which the CSRF check must refuse. Other sites
            // still get no referrer.
            let referrer = HeaderValue::from_static("same-origin");
            (status, [(header::CONTENT_SECURITY_POLICY, policy), (header::REFERRER_POLICY, referrer)], Html(html)).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, Html("<!doctype html><title>Error</title><p>Internal server error</p>")).into_response()
        }
    }
}

/// A message page (`base`: the base path, for its stylesheet and the way back).
pub fn message(base: &str, status: StatusCode, title: &str, text: &str) -> Response {
    render(status, &Message { title, text, css: crate::web::assets::url(base, "app.css"), home: format!("{base}/") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        let html = Message { title: "<b>", text: r#"<a href="x">'&'</a>"#, css: String::new(), home: "/".into() }.render().unwrap();
        assert!(html.contains("&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;"), "{html}");
        assert!(!html.contains("<b>"));
    }
}

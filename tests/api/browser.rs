//! A minimal browser for sign-in tests: keeps ocd's cookies (honouring Max-Age=0), does not
//! follow redirects by itself, and sends `Origin` on writes as browsers do for fetch/forms.

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::harness::{Reply, TestApp};

pub struct Browser {
    client: reqwest::Client,
    /// `http://127.0.0.1:port` of the ocd under test.
    pub origin: String,
    base: String,
    pub cookies: HashMap<String, String>,
    /// Sent as `Origin` on writes; `None` sends none.
    pub send_origin: Option<String>,
    /// Sent as `Accept` (a browser navigating asks for `text/html`); `None` sends none.
    pub accept: Option<&'static str>,
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        let client = crate::harness::client();
        let origin = ocd::auth::csrf::url_origin(&app.base).to_string();
        Browser { client, send_origin: Some(origin.clone()), origin, base: app.base.clone(), cookies: HashMap::new(), accept: None }
    }

    /// `target` is a path below ocd's base, or an absolute URL (GitHub, or ocd's own).
    pub async fn go(&mut self, method: Method, target: &str, body: Option<&Value>) -> Reply {
        self.send(method, target, body.map(|b| ("application/json", b.to_string()))).await
    }

    /// Posts a form (`application/x-www-form-urlencoded`), as a page's form does.
    pub async fn form(&mut self, target: &str, fields: &[(&str, &str)]) -> Reply {
        let body = serde_urlencoded::to_string(fields).expect("form body");
        self.send(Method::POST, target, Some(("application/x-www-form-urlencoded", body))).await
    }

    async fn send(&mut self, method: Method, target: &str, body: Option<(&str, String)>) -> Reply {
        let url = if target.starts_with("http") { target.to_string() } else { format!("{}{target}", self.base) };
        let ours = url.starts_with(&self.origin);
        let mut req = self.client.request(method.clone(), &url);
        if ours && !self.cookies.is_empty() {
            let cookie: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.header("cookie", cookie.join("; "));
        }
        if ours
            && method != Method::GET
            && let Some(origin) = &self.send_origin
        {
            req = req.header("origin", origin);
        }
        if let Some(accept) = self.accept {
            req = req.header("accept", accept);
        }
        if let Some((content_type, body)) = body {
            req = req.header("content-type", content_type).body(body);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        if ours {
            for set in headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()) {
                let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
                let (name, value) = pair.split_once('=').expect("cookie pair");
                if attributes.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_string(), value.to_string());
                }
            }
        }
        let text = res.text().await.unwrap_or_default();
        Reply { status, headers, body: serde_json::from_str(&text).unwrap_or(Value::String(text)) }
    }

    pub async fn get(&mut self, target: &str) -> Reply {
        self.go(Method::GET, target, None).await
    }

    /// Follows redirects until an answer that is not one, or one that leaves GitHub for ocd's
    /// start page; returns that last answer.
    pub async fn follow(&mut self, mut reply: Reply) -> Reply {
        for _ in 0..6 {
            if !reply.status.is_redirection() {
                return reply;
            }
            let location = reply.header("location").expect("redirect location").to_string();
            let page = location.trim_start_matches(&self.origin);
            if location.starts_with(&self.origin) && !page.starts_with("/api/") {
                return reply;
            }
            let next = if location.starts_with("http") { location } else { format!("{}{location}", self.origin) };
            reply = self.get(&next).await;
        }
        panic!("too many redirects");
    }

    /// The session cookie's value, if signed in.
    pub fn session(&self) -> Option<&str> {
        self.cookies.get("ocd_session").map(String::as_str)
    }

    pub async fn verify(&mut self) -> Value {
        let r = self.get("/api/auth/verify").await;
        assert_eq!(r.status, StatusCode::OK);
        r.body
    }
}

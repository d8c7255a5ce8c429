//! A small stand-in for GitHub on 127.0.0.1, following `../shared/reference/external-apis.md`:
//! the authorize page answers the browser with `?code&state` (or `?error=access_denied` when
//! the person refuses), the token endpoint answers errors with HTTP 200 and an `error` field,
//! and the API refuses requests without a User-Agent (403) and unknown users (404).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

pub const CLIENT_ID: &str = "Iv1.testclient";
pub const CLIENT_SECRET: &str = "test-client-secret";

#[derive(Default)]
struct World {
    /// GitHub accounts by login.
    accounts: HashMap<String, Value>,
    /// Who is signed in to GitHub in "the browser", and whether they refuse consent.
    signed_in: Option<String>,
    refuse: bool,
    codes: HashMap<String, String>,
    tokens: HashMap<String, String>,
    next: u64,
    /// Requests that lacked a User-Agent (each got a 403).
    without_user_agent: u64,
}

#[derive(Clone)]
pub struct FakeGitHub {
    pub url: String,
    world: Arc<Mutex<World>>,
}

impl FakeGitHub {
    pub async fn start() -> FakeGitHub {
        let world = Arc::new(Mutex::new(World::default()));
        let router = Router::new()
            .route("/login/oauth/authorize", get(authorize))
            .route("/login/oauth/access_token", post(access_token))
            .route("/user", get(current_user))
            .route("/users/{login}", get(user_by_login))
            .with_state(world.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake GitHub");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeGitHub { url, world }
    }

    /// Adds an account; `id` is GitHub's permanent user id.
    pub fn account(&self, id: i64, login: &str, name: Option<&str>) {
        let user = json!({"id": id, "login": login, "name": name, "avatar_url": format!("https://avatars.example/{id}")});
        self.world.lock().unwrap().accounts.insert(login.to_string(), user);
    }

    /// The GitHub account "the browser" is signed in to; `refuse` makes it deny consent.
    pub fn sign_in_as(&self, login: &str, refuse: bool) {
        let mut w = self.world.lock().unwrap();
        w.signed_in = Some(login.to_string());
        w.refuse = refuse;
    }

    pub fn requests_without_user_agent(&self) -> u64 {
        self.world.lock().unwrap().without_user_agent
    }
}

async fn authorize(State(world): State<Arc<Mutex<World>>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut w = world.lock().unwrap();
    let (Some(redirect_uri), Some(state)) = (q.get("redirect_uri"), q.get("state")) else {
        return (StatusCode::BAD_REQUEST, "redirect_uri and state are required").into_response();
    };
    if q.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return (StatusCode::NOT_FOUND, "unknown client").into_response();
    }
    let location = if w.refuse {
        format!("{redirect_uri}?error=access_denied&error_description=The+user+has+denied+your+application+access.&state={state}")
    } else {
        let login = w.signed_in.clone().unwrap_or_default();
        w.next += 1;
        let code = format!("code{}", w.next);
        w.codes.insert(code.clone(), login);
        format!("{redirect_uri}?code={code}&state={state}")
    };
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

async fn access_token(State(world): State<Arc<Mutex<World>>>, headers: HeaderMap, body: String) -> Response {
    let mut w = world.lock().unwrap();
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    if headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) != Some("application/json") {
        return (StatusCode::OK, "error=unsupported_accept").into_response();
    }
    if body["client_id"] != CLIENT_ID || body["client_secret"] != CLIENT_SECRET {
        return Json(json!({"error": "incorrect_client_credentials", "error_description": "The client_id and/or client_secret passed are incorrect."}))
            .into_response();
    }
    // A code works once.
    let Some(login) = body["code"].as_str().and_then(|c| w.codes.remove(c)) else {
        return Json(json!({"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."}))
            .into_response();
    };
    w.next += 1;
    let token = format!("gho_token{}", w.next);
    w.tokens.insert(token.clone(), login);
    Json(json!({"access_token": token, "scope": "read:user", "token_type": "bearer"})).into_response()
}

fn needs_user_agent(w: &mut World, headers: &HeaderMap) -> Option<Response> {
    if headers.contains_key(header::USER_AGENT) {
        return None;
    }
    w.without_user_agent += 1;
    Some(
        (StatusCode::FORBIDDEN, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header")
            .into_response(),
    )
}

async fn current_user(State(world): State<Arc<Mutex<World>>>, headers: HeaderMap) -> Response {
    let mut w = world.lock().unwrap();
    if let Some(refused) = needs_user_agent(&mut w, &headers) {
        return refused;
    }
    let token = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    match token.and_then(|t| w.tokens.get(t)).and_then(|login| w.accounts.get(login)) {
        Some(user) => Json(user.clone()).into_response(),
        None => (StatusCode::UNAUTHORIZED, Json(json!({"message": "Bad credentials"}))).into_response(),
    }
}

async fn user_by_login(State(world): State<Arc<Mutex<World>>>, headers: HeaderMap, Path(login): Path<String>) -> Response {
    let mut w = world.lock().unwrap();
    if let Some(refused) = needs_user_agent(&mut w, &headers) {
        return refused;
    }
    match w.accounts.get(&login) {
        Some(user) => Json(user.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"message": "Not Found"}))).into_response(),
    }
}

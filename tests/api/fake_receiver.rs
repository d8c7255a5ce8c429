//! A stand-in for every service ocd notifies, on 127.0.0.1: ntfy, Slack and Discord webhooks,
//! generic webhooks and a push service. It records each request exactly as it arrived and
//! answers with scripted statuses (default 200), so tests check the bytes, headers and
//! signatures a real receiver would see (`../shared/reference/external-apis.md`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

#[derive(Default)]
struct World {
    received: Vec<Received>,
    /// The next answers, oldest first: status and extra headers.
    answers: VecDeque<(u16, Vec<(String, String)>)>,
}

#[derive(Clone)]
pub struct FakeReceiver {
    /// `http://127.0.0.1:port`
    pub url: String,
    world: Arc<Mutex<World>>,
}

impl FakeReceiver {
    pub async fn start() -> FakeReceiver {
        let world = Arc::new(Mutex::new(World::default()));
        let router = Router::new().fallback(receive).with_state(world.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake receiver");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeReceiver { url, world }
    }

    /// The next request gets `status` (with `headers`); later ones the default 200.
    pub fn answer(&self, status: u16, headers: &[(&str, &str)]) {
        let headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self.world.lock().unwrap().answers.push_back((status, headers));
    }

    pub fn received(&self) -> Vec<Received> {
        self.world.lock().unwrap().received.clone()
    }

    pub fn received_at(&self, path: &str) -> Vec<Received> {
        self.received().into_iter().filter(|r| r.path == path).collect()
    }
}

async fn receive(State(world): State<Arc<Mutex<World>>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let mut world = world.lock().unwrap();
    world.received.push(Received { path: uri.path().to_string(), headers, body });
    let (status, extra) = world.answers.pop_front().unwrap_or((200, Vec::new()));
    let mut response = (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), "ok").into_response();
    for (k, v) in extra {
        response.headers_mut().insert(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    }
    response
}

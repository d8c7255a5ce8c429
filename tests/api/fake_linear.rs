//! A stand-in for Linear's GraphQL API on 127.0.0.1, following
//! `../shared/reference/external-apis.md`: every request — its document and its variables —
//! is validated against Linear's real schema (tests/fixtures/linear/schema.graphql) and
//! refused when it does not validate; the personal key goes in `Authorization` without "Bearer" (anything else is an
//! authentication error); connections page with `first`/`after`; every answer carries the
//! `X-RateLimit-*` headers, and a RATELIMITED error is HTTP 400. It can also sign and send
//! webhook deliveries the way Linear does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

pub const KEY: &str = "lin_api_testkey";

/// Linear's schema, parsed once for the whole test binary.
pub fn schema() -> &'static Valid<Schema> {
    static SCHEMA: OnceLock<Valid<Schema>> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/linear/schema.graphql");
        let text = std::fs::read_to_string(path).expect("Linear's schema");
        // The published schema is taken as it is (Linear's server accepts it); only documents are validated.
        let schema = match Schema::parse(text, "schema.graphql") {
            Ok(schema) => schema,
            Err(with_errors) => with_errors.partial,
        };
        Valid::assume_valid(schema)
    })
}

/// The validation errors of a document, if any.
pub fn invalid(document: &str) -> Option<String> {
    ExecutableDocument::parse_and_validate(schema(), document, "request.graphql").err().map(|e| e.errors.to_string())
}

/// What is wrong with a request — its document, its operation name or its variables (each of
/// the type the schema declares, input objects field by field), if anything.
pub fn invalid_request(document: &str, operation: Option<&str>, variables: &Value) -> Option<String> {
    use apollo_compiler::response::serde_json_bytes::Value as BytesValue;
    let doc = match ExecutableDocument::parse_and_validate(schema(), document, "request.graphql") {
        Ok(doc) => doc,
        Err(e) => return Some(e.errors.to_string()),
    };
    let op = match doc.operations.get(operation) {
        Ok(op) => op,
        Err(e) => return Some(e.message().to_string()),
    };
    let values = match BytesValue::from(variables.clone()) {
        BytesValue::Object(map) => map,
        BytesValue::Null => Default::default(),
        _ => return Some("variables must be an object".into()),
    };
    apollo_compiler::request::coerce_variable_values(schema(), op, &values).err().map(|e| e.message().to_string())
}

#[derive(Debug, Clone)]
pub struct Issue {
    pub project: String,
    pub node: Value,
}

#[derive(Default)]
pub struct World {
    pub teams: Vec<Value>,
    /// Workflow states with their team's id in `team`.
    pub states: Vec<(String, Value)>,
    pub projects: Vec<Value>,
    pub issues: Vec<Issue>,
    pub webhooks: HashMap<String, Value>,
    /// The next this-many requests are answered RATELIMITED.
    pub rate_limited: u32,
    /// How long a RATELIMITED answer says to wait (its reset header), in ms.
    pub reset_after_ms: i64,
    /// The next this-many requests get a bare HTTP 429 (what a proxy in front may send).
    pub too_many: u32,
    /// Issue pages come with an error besides their data (a partial answer, HTTP 200).
    pub partial_issues: bool,
    /// `issueUpdate` answers with this invalid-input error.
    pub refuse_updates: Option<String>,
    /// Operation names in the order they arrived, with when.
    pub log: Vec<(String, Instant)>,
    /// Documents that did not validate against the schema.
    pub invalid_documents: Vec<String>,
    next_id: u64,
}

#[derive(Clone)]
pub struct FakeLinear {
    /// The GraphQL endpoint (LINEAR_API_URL).
    pub url: String,
    pub world: Arc<Mutex<World>>,
}

fn epoch_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl FakeLinear {
    pub async fn start() -> FakeLinear {
        let world = Arc::new(Mutex::new(World { reset_after_ms: 300, ..World::default() }));
        let router = Router::new().route("/graphql", post(graphql)).with_state(world.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake Linear");
        let url = format!("http://{}/graphql", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeLinear { url, world }
    }

    pub fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap()
    }

    pub fn team(&self, id: &str, key: &str, name: &str) {
        self.world().teams.push(json!({"id": id, "key": key, "name": name}));
    }

    pub fn state(&self, team: &str, id: &str, name: &str, kind: &str, position: f64) {
        let node = json!({"id": id, "name": name, "type": kind, "color": "#5e6ad2", "position": position});
        self.world().states.push((team.to_string(), node));
    }

    pub fn project(&self, id: &str, name: &str, team: &str) {
        let team = self.world().teams.iter().find(|t| t["id"] == team).cloned().unwrap_or(Value::Null);
        let node = json!({"id": id, "name": name, "description": format!("{name} work"), "status": {"name": "In Progress"},
            "progress": 0.25, "startDate": "2026-01-05", "targetDate": "2026-03-31", "url": format!("https://linear.app/acme/project/{id}"),
            "teams": {"nodes": [team]}});
        self.world().projects.push(node);
    }

    /// An issue in `project`, in `state` (an id of a state added before). (Each call names
    /// every field of the fixture; a builder would say the same at more length.)
    #[allow(clippy::too_many_arguments)]
    pub fn issue(&self, project: &str, id: &str, identifier: &str, title: &str, state: &str, priority: i64, assignee: Option<&str>) {
        let mut world = self.world();
        let (team, state_node) = world.states.iter().find(|(_, s)| s["id"] == state).cloned().expect("known state");
        let assignee = assignee.map(|name| {
            // Linear's display name is a short handle, unlike the full name webhooks carry.
            let handle = name.split_whitespace().next().unwrap_or(name).to_lowercase();
            json!({"id": format!("user_{}", name.to_lowercase()), "name": name, "displayName": handle, "avatarUrl": format!("https://avatars.example/{name}.png")})
        });
        let node = json!({"id": id, "identifier": identifier, "title": title, "description": format!("About {title}"),
            "url": format!("https://linear.app/acme/issue/{identifier}"), "priority": priority, "estimate": 2.0,
            "updatedAt": "2026-02-15T10:00:00.000Z",
            "state": {"id": state_node["id"], "name": state_node["name"], "type": state_node["type"]}, "team": {"id": team},
            "project": {"id": project},
            "assignee": assignee, "labels": {"nodes": [{"id": "lbl_bug", "name": "Bug"}]}});
        world.issues.push(Issue { project: project.to_string(), node });
    }

    /// Team ENG with four workflow states (Backlog, Todo, In Progress, Done) and its project
    /// `p1` "Checkout": the workspace most tests start from.
    pub fn workspace(&self) {
        self.team("team_eng", "ENG", "Engineering");
        self.state("team_eng", "st_todo", "Todo", "unstarted", 1.0);
        self.state("team_eng", "st_doing", "In Progress", "started", 2.0);
        self.state("team_eng", "st_done", "Done", "completed", 3.0);
        self.state("team_eng", "st_backlog", "Backlog", "backlog", 0.0);
        self.project("p1", "Checkout", "team_eng");
    }

    pub fn operations(&self) -> Vec<String> {
        self.world().log.iter().map(|(name, _)| name.clone()).collect()
    }

    /// Signs and posts a delivery to `url` as Linear does; the body gets the webhook's id and
    /// a fresh timestamp unless it has them.
    pub async fn deliver(&self, url: &str, webhook_id: &str, mut body: Value, timestamp_ms: i64) -> reqwest::Response {
        let secret =
            self.world().webhooks.get(webhook_id).and_then(|w| w["secret"].as_str().map(String::from)).expect("a registered webhook");
        body["webhookId"] = json!(webhook_id);
        body["webhookTimestamp"] = json!(timestamp_ms);
        let raw = body.to_string();
        send_signed(url, &secret, &raw, &format!("dlv_{}", ocd::crypto::random_hex(8))).await
    }
}

/// Posts `raw` to `url` with Linear's headers, signed with `secret`.
pub async fn send_signed(url: &str, secret: &str, raw: &str, delivery: &str) -> reqwest::Response {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(raw.as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    crate::harness::client()
        .post(url)
        .header("content-type", "application/json; charset=utf-8")
        .header("user-agent", "Linear-Webhook")
        .header("linear-delivery", delivery)
        .header("linear-event", "Issue")
        .header("linear-signature", signature)
        .body(raw.to_string())
        .send()
        .await
        .expect("delivery")
}

fn error(status: StatusCode, message: &str, extensions: Value) -> Response {
    (status, Json(json!({"errors": [{"message": message, "extensions": extensions}]}))).into_response()
}

fn not_found(entity: &str) -> Value {
    json!({"errors": [{"message": format!("Entity not found: {entity}"), "extensions": {"type": "invalid input", "code": "INPUT_ERROR", "userPresentableMessage": format!("Could not find referenced {entity}.")}}], "data": null})
}

/// One page of `items` after the cursor `after`, `first` long.
fn page(items: Vec<Value>, vars: &Value, default_first: usize) -> Value {
    let first = vars["first"].as_u64().map_or(default_first, |f| f as usize);
    let start = vars["after"].as_str().and_then(|c| c.parse::<usize>().ok()).unwrap_or(0);
    let end = (start + first).min(items.len());
    let nodes = items.get(start..end).map(<[Value]>::to_vec).unwrap_or_default();
    json!({"nodes": nodes, "pageInfo": {"hasNextPage": end < items.len(), "endCursor": if nodes.is_empty() { Value::Null } else { json!(end.to_string()) }}})
}

async fn graphql(State(world): State<Arc<Mutex<World>>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut reply = answer(&world, &headers, &body);
    let reset = (epoch_ms() + 60_000).to_string();
    for (name, value) in [
        ("x-ratelimit-requests-limit", "5000".to_string()),
        ("x-ratelimit-requests-remaining", "4999".to_string()),
        ("x-ratelimit-requests-reset", reset.clone()),
        ("x-complexity", "120".to_string()),
        ("x-ratelimit-complexity-limit", "3000000".to_string()),
        ("x-ratelimit-complexity-remaining", "2999880".to_string()),
        ("x-ratelimit-complexity-reset", reset),
    ] {
        reply.headers_mut().entry(name).or_insert(HeaderValue::from_str(&value).unwrap());
    }
    reply
}

fn answer(world: &Arc<Mutex<World>>, headers: &HeaderMap, body: &Value) -> Response {
    let query = body["query"].as_str().unwrap_or_default();
    let operation = body["operationName"].as_str().unwrap_or_default().to_string();
    let vars = body["variables"].clone();
    let mut w = world.lock().unwrap();
    w.log.push((operation.clone(), Instant::now()));
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(KEY) {
        return error(
            StatusCode::BAD_REQUEST,
            "Authentication required, not authenticated",
            json!({"type": "authentication error", "code": "AUTHENTICATION_ERROR", "userPresentableMessage": "You need to authenticate to access this operation."}),
        );
    }
    if let Some(errors) = invalid_request(query, Some(operation.as_str()).filter(|o| !o.is_empty()), &vars) {
        w.invalid_documents.push(format!("{operation}: {errors}"));
        return error(StatusCode::BAD_REQUEST, &errors, json!({"code": "GRAPHQL_VALIDATION_FAILED", "type": "graphql error"}));
    }
    if w.too_many > 0 {
        w.too_many -= 1;
        return StatusCode::TOO_MANY_REQUESTS.into_response();
    }
    if w.rate_limited > 0 {
        w.rate_limited -= 1;
        let mut reply = error(
            StatusCode::BAD_REQUEST,
            "Rate limit exceeded",
            json!({"code": "RATELIMITED", "type": "ratelimited", "userPresentableMessage": "Too many requests."}),
        );
        let reset = (epoch_ms() + w.reset_after_ms).to_string();
        reply.headers_mut().insert("x-ratelimit-requests-remaining", HeaderValue::from_static("0"));
        reply.headers_mut().insert("x-ratelimit-requests-reset", HeaderValue::from_str(&reset).unwrap());
        return reply;
    }
    let data = match operation.as_str() {
        "Teams" => json!({"teams": page(w.teams.clone(), &vars, 50)}),
        "WorkflowStates" => {
            let states: Vec<Value> = w
                .states
                .iter()
                .map(|(team, s)| {
                    let mut s = s.clone();
                    s["team"] = json!({"id": team});
                    s
                })
                .collect();
            json!({"workflowStates": page(states, &vars, 50)})
        }
        "Projects" => json!({"projects": page(w.projects.clone(), &vars, 50)}),
        "Project" => match w.projects.iter().find(|p| p["id"] == vars["id"]) {
            Some(p) => json!({"project": p}),
            None => return Json(not_found("Project")).into_response(),
        },
        "Issues" => {
            // The two filters ocd sends: one project's issues, or those in any project.
            let project = vars["filter"]["project"]["id"]["eq"].as_str().map(String::from);
            let any_project = vars["filter"]["project"]["null"] == json!(false);
            let issues: Vec<Value> =
                w.issues.iter().filter(|i| project.as_ref().map_or(any_project, |p| &i.project == p)).map(|i| i.node.clone()).collect();
            if w.partial_issues {
                let errors =
                    json!([{"message": "Cannot return null for non-nullable field Issue.state", "extensions": {"type": "graphql error"}}]);
                return Json(json!({"data": {"issues": page(issues, &vars, 50)}, "errors": errors})).into_response();
            }
            json!({"issues": page(issues, &vars, 50)})
        }
        "IssueSetState" => {
            if let Some(message) = w.refuse_updates.clone() {
                return error(
                    StatusCode::BAD_REQUEST,
                    &message,
                    json!({"type": "invalid input", "code": "INPUT_ERROR", "userPresentableMessage": message}),
                );
            }
            let state = w.states.iter().find(|(_, s)| s["id"] == vars["stateId"]).map(|(_, s)| s.clone());
            let (Some(state), Some(issue)) = (state, w.issues.iter_mut().find(|i| i.node["id"] == vars["id"])) else {
                return Json(not_found("Issue")).into_response();
            };
            issue.node["state"] = json!({"id": state["id"], "name": state["name"], "type": state["type"]});
            issue.node["updatedAt"] = json!("2026-02-16T00:00:05.000Z");
            let n = &issue.node;
            json!({"issueUpdate": {"success": true, "issue": {"id": n["id"], "identifier": n["identifier"], "updatedAt": n["updatedAt"], "state": n["state"]}}})
        }
        "WebhookCreate" => {
            w.next_id += 1;
            let input = &vars["input"];
            let id = format!("wh_{}", w.next_id);
            let hook = json!({"id": id, "url": input["url"], "enabled": true, "resourceTypes": input["resourceTypes"], "secret": input["secret"], "allPublicTeams": input["allPublicTeams"]});
            w.webhooks.insert(id.clone(), hook.clone());
            json!({"webhookCreate": {"success": true, "webhook": {"id": id, "url": hook["url"], "enabled": true, "resourceTypes": hook["resourceTypes"]}}})
        }
        "Webhook" => match w.webhooks.get(vars["id"].as_str().unwrap_or_default()) {
            Some(h) => json!({"webhook": {"id": h["id"], "url": h["url"], "enabled": h["enabled"], "resourceTypes": h["resourceTypes"]}}),
            None => return Json(not_found("Webhook")).into_response(),
        },
        "WebhookDelete" => match w.webhooks.remove(vars["id"].as_str().unwrap_or_default()) {
            Some(_) => json!({"webhookDelete": {"success": true}}),
            None => return Json(not_found("Webhook")).into_response(),
        },
        other => return error(StatusCode::BAD_REQUEST, &format!("the fake does not answer {other}"), json!({"type": "graphql error"})),
    };
    Json(json!({ "data": data })).into_response()
}

//! decisions.md#authorization-matrix: the authorization matrix over the whole route table. For every route and every kind
//! of caller, real objects are seeded so the call can succeed; allowed callers must get a 2xx,
//! the others 401 or 403 (never 404), and a refused call must write nothing.

use ocd::auth::principal::Role;
use ocd::http::access::{Access, Rule};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth_helpers::signed_in;
use crate::fake_linear::FakeLinear;
use crate::harness::{Backend, TestApp};

// Each call below is seeded with several writes by the same keys: the rate limit is lifted.
// Linear is the fake, with one issue to move.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    let linear = linear_workspace().await;
    let app = TestApp::spawn_with(Backend::Sqlite, |c| configure(c, &linear)).await.unwrap();
    every_route_admits_exactly_the_callers_it_should(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    let linear = linear_workspace().await;
    if let Some(app) = TestApp::spawn_with(Backend::Postgres, |c| configure(c, &linear)).await {
        every_route_admits_exactly_the_callers_it_should(app).await;
    }
}

fn configure(c: &mut ocd::config::Config, linear: &FakeLinear) {
    c.rate_limit_max_requests = 1_000_000;
    c.linear_api_url = linear.url.clone();
    c.linear_api_key = Some(crate::fake_linear::KEY.into());
}

async fn linear_workspace() -> FakeLinear {
    let linear = FakeLinear::start().await;
    linear.workspace();
    linear.issue("p1", "li1", "ENG-1", "Cart", "st_todo", 3, None);
    linear
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Nobody,
    WrongKey,
    Viewer,
    Admin,
    Owner,
    ScopedKey,
    BootstrapKey,
}

const CALLERS: [Caller; 7] =
    [Caller::Nobody, Caller::WrongKey, Caller::Viewer, Caller::Admin, Caller::Owner, Caller::ScopedKey, Caller::BootstrapKey];

/// What the rule and decisions.md#roles/K3 say this caller may do.
fn switches_account(rule: &Rule) -> bool {
    rule.path == "/api/auth/switch" || rule.path == "/account"
}

fn allowed(rule: &Rule, caller: Caller) -> bool {
    let write = rule.method != Method::GET;
    // Pages are for people; keys use the API.
    if crate::harness::is_page(rule.path) && matches!(caller, Caller::ScopedKey | Caller::BootstrapKey) {
        return false;
    }
    let shared = rule.scope.object == ocd::http::scope::Object::Shared;
    match (rule.access, caller) {
        (_, Caller::Nobody | Caller::WrongKey) => false,
        (Access::Public | Access::Viewer, Caller::ScopedKey) => !(write && shared),
        (Access::Public | Access::Viewer, _) => true,
        (Access::Admin, Caller::Viewer) => false,
        (Access::Admin, Caller::ScopedKey) => !(write && shared),
        (Access::Admin, _) => true,
        (Access::Owner, Caller::Owner) => true,
        (Access::Owner, _) => false,
        (Access::User, Caller::Viewer | Caller::Admin | Caller::Owner) => true,
        (Access::User, _) => false,
        (Access::People, Caller::Owner) => true,
        (Access::People, _) => false,
    }
}

struct World {
    tokens: Vec<(Caller, Option<String>)>,
    user_ids: Vec<(Caller, i64)>,
}

impl World {
    fn token(&self, caller: Caller) -> Option<String> {
        self.tokens.iter().find(|(c, _)| *c == caller).and_then(|(_, t)| t.clone())
    }
}

async fn every_route_admits_exactly_the_callers_it_should(app: TestApp) {
    assert_eq!(app.post("/api/settings/projects", json!({"id": "p1", "name": "P1"})).await.status, StatusCode::CREATED);
    let mut tokens =
        vec![(Caller::Nobody, None), (Caller::WrongKey, Some("ocdk_wrong".to_string())), (Caller::BootstrapKey, Some(app.key.clone()))];
    let mut user_ids = Vec::new();
    let mut owner = None;
    for (caller, role) in [(Caller::Viewer, Role::Viewer), (Caller::Admin, Role::Admin), (Caller::Owner, Role::Owner)] {
        let mut browser = signed_in(&app, role).await;
        user_ids.push((caller, browser.verify().await["user"]["id"].as_i64().unwrap()));
        tokens.push((caller, browser.session().map(String::from)));
        if caller == Caller::Owner {
            owner = browser.session().map(String::from);
        }
    }
    let owner = owner.unwrap();
    let r = app
        .request(Method::POST, "/api/settings/api-keys", Some(&json!({"name": "p1", "role": "admin", "project": "p1"})), Some(&owner))
        .await;
    tokens.push((Caller::ScopedKey, r.body["token"].as_str().map(String::from)));
    let world = World { tokens, user_ids };
    // One read per key so its last-used time is fresh: later refusals must write nothing.
    for caller in CALLERS {
        app.request(Method::GET, "/api/todos", None, world.token(caller).as_deref()).await;
    }

    let mut n = 0;
    let mut checked = 0;
    for rule in ocd::routes::rules().iter().filter(|r| r.access != Access::Public) {
        for caller in CALLERS {
            n += 1;
            let (path, body) = seed(&app, &world, rule, caller, n, &owner).await;
            let before = (app.app.db.commit_count(), app.count("events").await);
            let token = world.token(caller);
            let req = app.raw(rule.method.clone(), &path);
            let req = match &token {
                Some(t) => req.bearer_auth(t),
                None => req,
            };
            let req = match &body {
                Some(b) if crate::harness::is_page(rule.path) => {
                    req.header("content-type", "application/x-www-form-urlencoded").body(crate::harness::form_body(b))
                }
                Some(b) => req.header("content-type", "application/json").body(b.to_string()),
                None => req,
            };
            let reply = if rule.path == "/api/stream" { app.send_head(req).await } else { app.send(req).await };
            let what = format!("{caller:?} {} {path} {}", rule.method, body.as_ref().map(Value::to_string).unwrap_or_default());
            if allowed(rule, caller) && switches_account(rule) {
                // Admitted; a token sent as Bearer holds no other accounts to switch to.
                assert_eq!(reply.status, StatusCode::NOT_FOUND, "{what}: {}", reply.body);
            } else if allowed(rule, caller) {
                // (the invite page's Accept answers with a redirect to the dashboard)
                let ok = reply.status.is_success() || reply.status == StatusCode::SEE_OTHER;
                assert!(ok, "{what} should succeed, got {}: {}", reply.status, reply.body);
            } else {
                let page_visit = crate::harness::is_page(rule.path) && rule.method == Method::GET;
                let expected = match caller {
                    // a page opened without a session goes to the sign-in page
                    Caller::Nobody | Caller::WrongKey if page_visit => StatusCode::SEE_OTHER,
                    Caller::Nobody | Caller::WrongKey => StatusCode::UNAUTHORIZED,
                    _ => StatusCode::FORBIDDEN,
                };
                assert_eq!(reply.status, expected, "{what}: {}", reply.body);
                let after = (app.app.db.commit_count(), app.count("events").await);
                assert_eq!(before, after, "{what} was refused but wrote something");
            }
            checked += 1;
        }
    }
    assert!(checked > 400, "{checked} calls checked");
    foreign_objects_are_out_of_reach(&app, &world.token(Caller::ScopedKey).unwrap()).await;
}

/// decisions.md#project-scoped-keys over the whole table: the p1 key against objects of project p2 — through a path id, a
/// body id or any object a body refers to — gets 403 on every route and changes nothing.
async fn foreign_objects_are_out_of_reach(app: &TestApp, key: &str) {
    use ocd::http::scope::{IdAt, Object};
    app.post("/api/settings/projects", json!({"id": "p2", "name": "P2"})).await;
    app.post("/api/todos", json!({"id": "foreign-todo", "content": "theirs", "project": "p2"})).await;
    app.post("/api/sessions", json!({"id": "foreign-session", "name": "theirs", "project_id": "p2"})).await;
    app.post("/api/agents", json!({"id": "foreign-agent", "name": "theirs", "project": "p2"})).await;
    app.post("/api/agents/foreign-agent/tasks", json!({"id": "foreign-task", "title": "theirs", "project_id": "p2"})).await;
    let command =
        app.post("/api/agents/foreign-agent/commands", json!({"kind": "message", "text": "hi"})).await.body["command"]["id"].clone();
    let sprint = app.post("/api/sprints", json!({"name": "theirs", "start_date": 1, "end_date": 2, "project_id": "p2"})).await;
    let sprint = sprint.body["sprint"]["id"].as_str().unwrap().to_string();
    let foreign = |object: Object| match object {
        Object::Todo => "foreign-todo".to_string(),
        Object::Session => "foreign-session".to_string(),
        Object::Agent => "foreign-agent".to_string(),
        Object::AgentTask => "foreign-task".to_string(),
        Object::Sprint => sprint.clone(),
        Object::Shared | Object::Free => String::new(),
    };
    let mut calls: Vec<(Method, String, Value)> = Vec::new();
    for rule in ocd::routes::rules().iter().filter(|r| r.access != Access::Public) {
        let id = foreign(rule.scope.object);
        if !id.is_empty() {
            let call = match (rule.scope.id_at, rule.scope.items) {
                (IdAt::Body, Some(items)) => (rule.path.to_string(), json!({ items: [{"id": id, "content": "x"}] })),
                (IdAt::Body, None) => (rule.path.to_string(), json!({"id": id, "content": "x", "name": "x"})),
                (IdAt::Path, _) => {
                    let path = rule.path.replace("{id}", &id).replace("{task_id}", "foreign-task");
                    (path.replace("{command_id}", command.as_str().unwrap_or("x")), json!({}))
                }
            };
            calls.push((rule.method.clone(), call.0, call.1));
        }
        // Each reference to a foreign object, from a request that is otherwise the key's own.
        let own = if rule.scope.object == Object::Agent { "mine-agent" } else { "mine" };
        for (at, object) in rule.scope.refs {
            let mut body =
                json!({"id": "new-one", "content": "x", "name": "x", "type": "todo_update", "payload": {}, "taskId": "mine-task"});
            let mut path = rule.path.replace("{id}", own).replace("{task_id}", "mine-task");
            if let Some(name) = at.strip_prefix('{') {
                path = rule.path.replace("{id}", own).replace(&format!("{{{name}"), &foreign(*object));
            } else {
                let mut node = &mut body;
                let parts: Vec<&str> = at.trim_start_matches('/').split('/').collect();
                for part in &parts[..parts.len() - 1] {
                    node = &mut node[*part];
                }
                node[parts[parts.len() - 1]] = Value::from(foreign(*object));
                if let Some(items) = rule.scope.items {
                    body = json!({ items: [body] });
                }
            }
            calls.push((rule.method.clone(), path, body));
        }
    }
    app.post("/api/todos", json!({"id": "mine", "content": "ours", "project": "p1"})).await;
    app.post("/api/agents", json!({"id": "mine-agent", "name": "ours", "project": "p1"})).await;
    app.post("/api/agents/mine-agent/tasks", json!({"id": "mine-task", "title": "ours", "project_id": "p1"})).await;
    assert!(calls.len() > 30, "{} calls", calls.len());
    for (method, path, body) in calls {
        let before = (app.app.db.commit_count(), app.count("events").await);
        let send = if method == Method::GET { None } else { Some(&body) };
        let r = app.request(method.clone(), &path, send, Some(key)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{method} {path} {body}: {}", r.body);
        assert_eq!(before, (app.app.db.commit_count(), app.count("events").await), "{method} {path} wrote something");
    }
}

/// Seeds what `rule` needs for a call that can succeed (all inside project p1, so the scoped
/// key may use it), and returns the concrete path and body.
async fn seed(app: &TestApp, world: &World, rule: &Rule, caller: Caller, n: usize, owner: &str) -> (String, Option<Value>) {
    let todo = format!("todo-{n}");
    let agent = format!("agent-{n}");
    let needs_todo = rule.path.starts_with("/api/todos/{id}") || rule.path.starts_with("/todos/{id}") || rule.path == "/api/events";
    if needs_todo {
        app.post("/api/todos", json!({"id": todo, "content": "seed", "project": "p1"})).await;
    }
    if rule.path.starts_with("/api/agents/{id}") || rule.path.starts_with("/agents/{id}") {
        assert!(app.post("/api/agents", json!({"id": agent, "name": "seed", "project": "p1"})).await.status.is_success());
        app.post(
            &format!("/api/agents/{agent}/tasks"),
            json!({"id": format!("task-{n}"), "title": "seed", "project_id": "p1", "status": "in_progress"}),
        )
        .await;
    }
    let v2 = if rule.path.starts_with("/api/v2/tasks") && rule.method != Method::GET || rule.path.contains("/api/v2/tasks/{id}") {
        app.post("/api/v2/tasks", json!({"title": "seed"})).await.body["task"]["id"].as_i64().unwrap_or(0)
    } else {
        0
    };
    let path = rule.path.replace("{id}", "ID");
    let m = rule.method.as_str();
    let (path, body): (String, Option<Value>) = match (m, rule.path) {
        ("POST", "/api/events") => (path, Some(json!({"type": "todo_update", "payload": {"id": todo, "status": "completed"}}))),
        ("POST", "/api/todos") => (path, Some(json!({"id": todo, "content": "x"}))),
        // The pages' forms.
        ("POST", "/todos") => (path, Some(json!({"content": "from a form", "project": "p1"}))),
        ("POST", "/todos/{id}") => (path.replace("ID", &todo), Some(json!({"content": "edited", "priority": "low", "status": "pending"}))),
        ("POST", "/todos/{id}/move") => (path.replace("ID", &todo), Some(json!({"status": "completed"}))),
        ("POST", "/todos/{id}/comments") => (path.replace("ID", &todo), Some(json!({"body": "hi"}))),
        ("POST", "/todos/{id}/sprints") => {
            let s = app.post("/api/sprints", json!({"name": "S", "start_date": 1, "end_date": 2, "project_id": "p1"})).await;
            (path.replace("ID", &todo), Some(json!({"sprint_id": s.body["sprint"]["id"]})))
        }
        ("POST", "/sprints") => (path, Some(json!({"name": format!("s{n}"), "start": "2026-02-16", "end": "2026-02-20", "project": "p1"}))),
        ("POST", "/sprints/{id}") => {
            let s = app.post("/api/sprints", json!({"name": "S", "start_date": 1, "end_date": 2, "project_id": "p1"})).await;
            let s = s.body["sprint"]["id"].as_str().unwrap().to_string();
            (path.replace("ID", &s), Some(json!({"name": "renamed", "start": "2026-02-16", "end": "2026-02-20", "status": "active"})))
        }
        ("GET", "/todos/{id}") => (path.replace("ID", &todo), None),
        ("POST", "/messages/read") => (path, Some(json!({"all": "1"}))),
        ("POST", "/agents/{id}/action") => (path.replace("ID", &agent), Some(json!({"action": "sleep"}))),
        ("GET", "/agents/{id}") => (path.replace("ID", &agent), None),
        ("POST", "/account" | "/api/auth/switch") => (path, Some(json!({"session_id": "elsewhere"}))),
        ("PUT", "/api/todos") => (path, Some(json!({"todos": [{"id": todo, "content": "x"}]}))),
        ("POST", "/api/todos/{id}/subtasks") => (path.replace("ID", &todo), Some(json!({"content": "child"}))),
        ("POST", "/api/todos/{id}/comments") => (path.replace("ID", &todo), Some(json!({"body": "hi"}))),
        ("POST", "/api/todos/{id}/sprints") => (path.replace("ID", &todo), Some(json!({"sprint_id": new_sprint(app).await}))),
        ("DELETE", "/api/todos/{id}/sprints") => {
            let s = new_sprint(app).await;
            app.post(&format!("/api/todos/{todo}/sprints"), json!({"sprint_id": s})).await;
            (path.replace("ID", &todo), Some(json!({"sprint_id": s})))
        }
        (_, p) if p.starts_with("/api/todos/{id}") => (path.replace("ID", &todo), None),
        ("POST", "/api/sessions") => (path, Some(json!({"id": format!("session-{n}"), "name": "s"}))),
        ("POST", "/api/messages") => {
            let r = app.post("/api/messages/create", json!({"type": "custom", "content": "m", "project": "p1"})).await;
            (path, Some(json!({"ids": [r.body["message"]["id"].to_string()]})))
        }
        ("POST", "/api/messages/create") => (path, Some(json!({"type": "custom", "content": format!("m{n}")}))),
        ("POST", "/api/sprints") => (path, Some(json!({"name": "S", "start_date": 1, "end_date": 2}))),
        ("PATCH", "/api/sprints/{id}") => (path.replace("ID", &new_sprint(app).await), Some(json!({"name": "renamed"}))),
        (_, "/api/sprints/{id}" | "/api/sprints/{id}/velocity") => (path.replace("ID", &new_sprint(app).await), None),
        ("GET", "/api/analytics") => ("/api/analytics?start=1&end=100".into(), None),
        ("GET", "/analytics.csv") => ("/analytics.csv?chart=status".into(), None),
        ("POST", "/api/v2/tasks") => (path, Some(json!({"title": "t"}))),
        ("PUT", "/api/v2/tasks") => (path, Some(json!({"id": v2, "status": "review"}))),
        ("DELETE", "/api/v2/tasks") => (path, Some(json!({"id": v2}))),
        ("POST", "/api/v2/tasks/validate-deps") => (path, Some(json!({}))),
        ("POST", "/api/v2/tasks/{id}/subtasks") => (path.replace("ID", &v2.to_string()), Some(json!({"title": "sub"}))),
        ("PUT" | "DELETE", "/api/v2/tasks/{id}/subtasks") => {
            app.post(&format!("/api/v2/tasks/{v2}/subtasks"), json!({"title": "sub"})).await;
            let body = if m == "PUT" { json!({"id": 1, "status": "done"}) } else { json!({"id": 1}) };
            (path.replace("ID", &v2.to_string()), Some(body))
        }
        ("GET", "/api/v2/tasks/{id}/subtasks") => (path.replace("ID", &v2.to_string()), None),
        ("POST", "/api/settings/projects") => (path, Some(json!({"id": format!("proj-{n}"), "name": "P"}))),
        ("PATCH" | "DELETE", "/api/settings/projects/{id}") => {
            app.post("/api/settings/projects", json!({"id": format!("proj-{n}"), "name": "P"})).await;
            (path.replace("ID", &format!("proj-{n}")), (m == "PATCH").then(|| json!({"name": "Q"})))
        }
        ("PUT", "/api/settings/sleep-schedule") => (path, Some(json!({"enabled": false}))),
        ("POST", "/api/settings/team/invite") => (path, Some(json!({"mode": "link", "role": "viewer"}))),
        ("DELETE" | "PATCH", "/api/settings/team/{user_id}") => {
            let member = crate::auth_helpers::login_link(app, ocd::auth::links::LinkFor::NewUser(Role::Viewer)).await;
            let mut b = crate::browser::Browser::new(app);
            b.go(Method::POST, &member, None).await;
            let id = b.verify().await["user"]["id"].as_i64().unwrap();
            (rule.path.replace("{user_id}", &id.to_string()), (m == "PATCH").then(|| json!({"role": "admin"})))
        }
        ("POST", "/api/settings/invite/{id}/accept" | "/invite/{id}") => {
            let r =
                app.request(Method::POST, "/api/settings/team/invite", Some(&json!({"mode": "link", "role": "viewer"})), Some(owner)).await;
            (path.replace("ID", r.body["invite"]["id"].as_str().unwrap()), None)
        }
        ("POST", "/api/settings/api-keys") => (path, Some(json!({"name": "k", "role": "viewer"}))),
        ("DELETE", "/api/settings/api-keys/{id}") => {
            let r = app.request(Method::POST, "/api/settings/api-keys", Some(&json!({"name": "k", "role": "viewer"})), Some(owner)).await;
            (path.replace("ID", r.body["key"]["id"].as_str().unwrap()), None)
        }
        ("DELETE", "/api/auth/sessions/{id}") => {
            // a second session of the caller's own (users only; keys are refused before the lookup)
            let id = match world.user_ids.iter().find(|(c, _)| *c == caller) {
                Some((_, user_id)) => extra_session(app, *user_id).await,
                None => "no-session".to_string(),
            };
            (path.replace("ID", &id), None)
        }
        ("POST", "/api/agents") => (path, Some(json!({"id": agent, "name": "a"}))),
        ("PATCH", "/api/agents/{id}") => (path.replace("ID", &agent), Some(json!({"name": "renamed"}))),
        ("POST", "/api/agents/{id}/actions") => (path.replace("ID", &agent), Some(json!({"action": "sleep"}))),
        ("POST", "/api/agents/{id}/assign") => {
            (path.replace("ID", &agent), Some(json!({"taskId": format!("assigned-{n}"), "title": "Do it"})))
        }
        ("POST", "/api/agents/{id}/block") => {
            (path.replace("ID", &agent), Some(json!({"taskId": format!("task-{n}"), "source": "question", "reason": "which DB?"})))
        }
        ("POST", "/api/agents/{id}/complete") => (path.replace("ID", &agent), Some(json!({"taskId": format!("task-{n}")}))),
        ("POST", "/api/agents/{id}/error") => (path.replace("ID", &agent), Some(json!({"taskId": format!("task-{n}")}))),
        ("POST", "/api/agents/{id}/heartbeat") => (path.replace("ID", &agent), Some(json!({}))),
        ("POST", "/api/agents/{id}/activity") => (path.replace("ID", &agent), Some(json!({"kind": "tool", "summary": "ran tests"}))),
        ("POST", "/api/agents/{id}/tasks") => (path.replace("ID", &agent), Some(json!({"title": "more"}))),
        ("PATCH", "/api/agents/{id}/tasks/{task_id}") => {
            (path.replace("ID", &agent).replace("{task_id}", &format!("task-{n}")), Some(json!({"status": "in_progress"})))
        }
        ("POST", "/api/agents/{id}/workflow") => (path.replace("ID", &agent), Some(json!({"taskId": format!("wf-{n}"), "title": "Ship"}))),
        ("POST", "/api/agents/{id}/workflow/signal") => {
            app.post(&format!("/api/agents/{agent}/workflow"), json!({"taskId": format!("wf-{n}"), "title": "Ship", "projectId": "p1"}))
                .await;
            (path.replace("ID", &agent), Some(json!({"signal": "unblock", "reason": "answered"})))
        }
        ("GET", "/api/agents/{id}/workflow") => {
            app.post(&format!("/api/agents/{agent}/workflow"), json!({"taskId": format!("wf-{n}"), "title": "Ship", "projectId": "p1"}))
                .await;
            (path.replace("ID", &agent), None)
        }
        ("POST", "/api/agents/{id}/commands") => (path.replace("ID", &agent), Some(json!({"kind": "message", "text": "rebase"}))),
        ("POST", "/api/agents/{id}/commands/{command_id}/ack") => {
            let r = app.post(&format!("/api/agents/{agent}/commands"), json!({"kind": "message", "text": "rebase"})).await;
            let command = r.body["command"]["id"].as_str().unwrap().to_string();
            (path.replace("ID", &agent).replace("{command_id}", &command), Some(json!({"status": "acknowledged"})))
        }
        ("PUT", "/api/settings/alerts") => (path, Some(json!({"id": "blocked-low", "updates": {"enabled": 1}}))),
        ("GET" | "PATCH", "/api/settings/alerts/{id}") => (path.replace("ID", "blocked-low"), Some(json!({"delay_ms": 3_600_000}))),
        ("DELETE", "/api/settings/alerts/{id}") => {
            app.request(Method::POST, "/api/settings/alerts/reset-defaults", None, Some(owner)).await;
            (path.replace("ID", "stale-all"), None)
        }
        ("POST", "/api/settings/alerts/reset-defaults") => (path, None),
        ("POST", "/api/ingest/otlp/v1/metrics") => (path, Some(json!({"resourceMetrics": []}))),
        ("POST", "/api/ingest/otlp/v1/logs") => (path, Some(json!({"resourceLogs": []}))),
        ("POST", "/api/ingest/codex") => {
            (path, Some(json!({"type": "agent-turn-complete", "thread-id": format!("cx-{n}"), "cwd": "/src/p1"})))
        }
        ("POST", "/api/ingest/claude-code") => {
            (path, Some(json!({"session_id": format!("cc-{n}"), "cwd": "/src/p1", "hook_event_name": "Stop"})))
        }
        ("POST", "/api/ingest/opencode") => (
            path,
            Some(
                json!([{"id": format!("evt_{n}"), "type": "session.status", "properties": {"sessionID": format!("m-{n}"), "status": {"type": "busy"}}}]),
            ),
        ),
        ("POST", "/api/settings/channels") => (path, Some(sample_channel())),
        (_, "/api/settings/channels/{id}" | "/api/settings/channels/{id}/test") => {
            let r = app.request(Method::POST, "/api/settings/channels", Some(&sample_channel()), Some(owner)).await;
            (path.replace("ID", r.body["channel"]["id"].as_str().unwrap()), (m == "PATCH").then(|| json!({"name": "renamed"})))
        }
        ("GET", "/api/approvals/{id}") | ("GET", "/approvals/{id}") => (path.replace("ID", &sample_approval(app, n).await), None),
        ("POST", "/api/approvals/{id}/decision" | "/approvals/{id}") => {
            (path.replace("ID", &sample_approval(app, n).await), Some(json!({"decision": "once"})))
        }
        (_, "/approvals/decide/{token}") => {
            let token = sample_decision_link(app, n).await;
            let path = rule.path.replace("{token}", &token);
            (path, (m == "POST").then(|| json!({"decision": "reject"})))
        }
        ("POST", "/api/linear/sync") => (path, Some(json!({}))),
        ("PATCH", "/api/linear/sync") => {
            app.post("/api/linear/sync", json!({})).await;
            (path, Some(json!({"issueId": "li1", "stateId": if n.is_multiple_of(2) { "st_doing" } else { "st_todo" }})))
        }
        ("POST", "/linear/sync") => (path, Some(json!({"back": "/linear"}))),
        ("POST", "/linear/issues/{id}/move") => {
            app.post("/api/linear/sync", json!({})).await;
            let state = if n.is_multiple_of(2) { "st_doing" } else { "st_todo" };
            (path.replace("ID", "li1"), Some(json!({"status": state, "back": "/linear"})))
        }
        ("POST", "/api/linear/webhooks") => (path, Some(json!({"url": "https://ocd.example/api/linear/webhook"}))),
        ("DELETE", "/api/linear/webhooks/{id}") => {
            let body = json!({"url": "https://ocd.example/api/linear/webhook"});
            let r = app.request(Method::POST, "/api/linear/webhooks", Some(&body), Some(owner)).await;
            (path.replace("ID", r.body["webhook"]["id"].as_str().unwrap()), None)
        }
        ("PUT", "/api/settings/linear") => (path, Some(json!({"complete_on_done": n.is_multiple_of(2)}))),
        ("POST", "/api/push/subscriptions") => (path, Some(sample_subscription(n))),
        ("DELETE", "/api/push/subscriptions/{id}") => {
            // the caller's own subscription (people only; keys are refused before the lookup)
            let id = match world.token(caller).filter(|_| world.user_ids.iter().any(|(c, _)| *c == caller)) {
                Some(token) => {
                    let r = app.request(Method::POST, "/api/push/subscriptions", Some(&sample_subscription(n)), Some(&token)).await;
                    r.body["subscription"]["id"].as_str().unwrap().to_string()
                }
                None => "no-subscription".to_string(),
            };
            (path.replace("ID", &id), None)
        }
        (_, p) if p.starts_with("/api/agents/{id}") => (path.replace("ID", &agent), None),
        ("GET", _) => (path, None),
        _ => panic!("no sample request for {} {}", rule.method, rule.path),
    };
    (path, body)
}

/// A pending approval (an OpenCode permission request in project p1, the scoped key's) of its
/// own; returns its id.
async fn sample_approval(app: &TestApp, n: usize) -> String {
    let asked = json!([{"id": format!("evt_p{n}"), "type": "permission.asked", "properties": {"id": format!("per_{n}"),
        "sessionID": format!("ap-{n}"), "permission": "bash", "patterns": ["ls"]}}]);
    app.post("/api/ingest/opencode", json!({"project": "p1", "events": asked})).await;
    let list = app.get(&format!("/api/approvals?agent=opencode-ap-{n}")).await.body;
    list["approvals"][0]["id"].as_str().expect("the sample approval").to_string()
}

/// A decision link for a sample approval, as a notification carries it; returns its token.
async fn sample_decision_link(app: &TestApp, n: usize) -> String {
    let id = sample_approval(app, n).await;
    let token = ocd::crypto::random_hex(32);
    let hash = ocd::crypto::sha256_hex(&token);
    app.app
        .db
        .write(move |c| Box::pin(async move { Ok(ocd::db::approvals::insert_link(c, &hash, &id, "matrix", i64::MAX / 2).await?) }))
        .await
        .expect("a decision link");
    token
}

/// A webhook channel to a port nobody listens on (a test send fails fast, and is still a 200).
fn sample_channel() -> Value {
    json!({"type": "webhook", "name": "matrix", "config": {"url": "http://127.0.0.1:9/hook"}})
}

/// A browser push subscription with real keys and its own endpoint.
fn sample_subscription(n: usize) -> Value {
    use base64ct::{Base64UrlUnpadded, Encoding};
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let public = p256::SecretKey::random(&mut rand::rngs::OsRng).public_key().to_encoded_point(false);
    json!({"endpoint": format!("http://127.0.0.1:9/push/{n}"), "keys": {
        "p256dh": Base64UrlUnpadded::encode_string(public.as_bytes()),
        "auth": Base64UrlUnpadded::encode_string(&rand::random::<[u8; 16]>()),
    }})
}

async fn new_sprint(app: &TestApp) -> String {
    let r = app.post("/api/sprints", json!({"name": "S", "start_date": 1, "end_date": 2, "project_id": "p1"})).await;
    r.body["sprint"]["id"].as_str().unwrap().to_string()
}

/// Stores one more session for `user_id` and returns its id.
async fn extra_session(app: &TestApp, user_id: i64) -> String {
    let id = ocd::auth::tokens::uuid_v4();
    let hash = ocd::crypto::random_hex(32);
    let session = id.clone();
    app.app
        .db
        .write(move |c| {
            Box::pin(async move {
                let new = ocd::db::auth_sessions::NewSession {
                    id: &session,
                    user_id,
                    token_hash: &hash,
                    expires_at: i64::MAX / 2,
                    user_agent: None,
                };
                Ok(ocd::db::auth_sessions::insert(c, &new, 0).await?)
            })
        })
        .await
        .unwrap();
    id
}

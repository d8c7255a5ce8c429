//! Named API keys (decisions.md#api-keys) and their project scope (decisions.md#project-scoped-keys).

use ocd::auth::principal::Role;
use ocd::clock::Clock;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth_helpers::signed_in;
use crate::harness::TestApp;

crate::on_both_backends!(keys_are_shown_once_used_and_revoked_at_once, a_scoped_key_stays_inside_its_project);

async fn call(app: &TestApp, key: &str, method: Method, path: &str, body: Option<Value>) -> crate::harness::Reply {
    app.request(method, path, body.as_ref(), Some(key)).await
}

async fn keys_are_shown_once_used_and_revoked_at_once(app: TestApp) {
    let mut owner = signed_in(&app, Role::Owner).await;
    let r = owner.go(Method::POST, "/api/settings/api-keys", Some(&json!({"name": "claude on laptop", "role": "admin"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let token = r.body["token"].as_str().unwrap().to_string();
    let id = r.body["key"]["id"].as_str().unwrap().to_string();
    assert!(token.starts_with("ocdk_"));
    assert_eq!(r.body["key"]["last_used_at"], Value::Null);

    // Listed without the secret; stored only as a hash.
    let list = owner.get("/api/settings/api-keys").await;
    assert_eq!(list.body["keys"].as_array().unwrap().len(), 1);
    assert!(!list.body.to_string().contains(&token[5..]), "the key is never shown again");
    let hashes: Vec<String> = sqlx::query_scalar("SELECT key_hash FROM api_keys").fetch_all(&app.app.db.read).await.unwrap();
    assert_eq!(hashes, vec![ocd::crypto::sha256_hex(&token)]);

    // It works as a bearer key with its role, and records when it was last used.
    app.clock.advance_secs(100);
    assert_eq!(
        call(&app, &token, Method::POST, "/api/todos", Some(json!({"id": "k1", "content": "from key"}))).await.status,
        StatusCode::OK
    );
    let list = owner.get("/api/settings/api-keys").await;
    assert_eq!(list.body["keys"][0]["last_used_at"], json!(app.clock.now()));
    // A key cannot manage keys or people.
    let r = call(&app, &token, Method::GET, "/api/settings/api-keys", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Revoked: refused on the very next request.
    let r = owner.go(Method::DELETE, &format!("/api/settings/api-keys/{id}"), None).await;
    assert_eq!(r.body, json!({"success": true}));
    assert_eq!(call(&app, &token, Method::GET, "/api/todos", None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(owner.go(Method::DELETE, &format!("/api/settings/api-keys/{id}"), None).await.status, StatusCode::NOT_FOUND);

    // Roles and expiry.
    let r = owner
        .go(Method::POST, "/api/settings/api-keys", Some(&json!({"name": "wall screen", "role": "viewer", "expires_in_days": 1})))
        .await;
    let viewer = r.body["token"].as_str().unwrap().to_string();
    assert_eq!(call(&app, &viewer, Method::GET, "/api/todos", None).await.status, StatusCode::OK);
    let r = call(&app, &viewer, Method::POST, "/api/todos", Some(json!({"id": "k2", "content": "no"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    app.clock.advance_secs(86_401);
    assert_eq!(call(&app, &viewer, Method::GET, "/api/todos", None).await.status, StatusCode::UNAUTHORIZED);

    // Validation names the field.
    for (body, field) in [
        (json!({"name": "", "role": "admin"}), "name"),
        (json!({"name": "x", "role": "root"}), "role"),
        (json!({"name": "x", "role": "admin", "project": "nope"}), "project"),
        (json!({"name": "x", "role": "admin", "expires_in_days": 0}), "expires_in_days"),
    ] {
        let r = owner.go(Method::POST, "/api/settings/api-keys", Some(&body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(r.body.to_string().contains(field), "{body}: {}", r.body);
    }
    assert_eq!(app.count("api_keys").await, 1);
}

async fn a_scoped_key_stays_inside_its_project(app: TestApp) {
    for id in ["p1", "p2"] {
        assert_eq!(app.post("/api/settings/projects", json!({"id": id, "name": id})).await.status, StatusCode::CREATED);
    }
    app.post("/api/todos", json!({"id": "t2", "content": "theirs", "project": "p2"})).await;
    app.post("/api/agents", json!({"id": "agent-p2", "name": "p2 agent"})).await;
    let r = app.post("/api/agents/agent-p2/tasks", json!({"title": "p2 work", "project_id": "p2"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    let mut owner = signed_in(&app, Role::Owner).await;
    let r = owner.go(Method::POST, "/api/settings/api-keys", Some(&json!({"name": "p1 agents", "role": "admin", "project": "p1"}))).await;
    assert_eq!(r.body["key"]["project_id"], "p1");
    let key = r.body["token"].as_str().unwrap().to_string();

    // A write naming no project is put in P; naming another is refused.
    let r = call(&app, &key, Method::POST, "/api/todos", Some(json!({"id": "t1", "content": "mine"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = call(&app, &key, Method::POST, "/api/todos", Some(json!({"id": "t3", "content": "x", "project": "p2"}))).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::FORBIDDEN, json!({"error": "This API key is limited to project p1"})));
    // Another project's objects can be neither changed nor read through their own paths.
    let r = call(&app, &key, Method::POST, "/api/todos", Some(json!({"id": "t2", "content": "stolen"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(call(&app, &key, Method::GET, "/api/todos/t2/comments", None).await.status, StatusCode::FORBIDDEN);
    let batch = json!({"todos": [{"id": "t4", "content": "ok"}, {"id": "t2", "content": "stolen"}]});
    assert_eq!(call(&app, &key, Method::PUT, "/api/todos", Some(batch)).await.status, StatusCode::FORBIDDEN);
    let theirs = app.get("/api/todos?project=p2").await;
    assert_eq!(theirs.body["todos"][0]["content"], "theirs");
    assert_eq!(app.count("todos").await, 2, "t3 and t4 were not written");

    // Lists are narrowed to P, not refused; asking for another project is.
    let mine = call(&app, &key, Method::GET, "/api/todos", None).await;
    let ids: Vec<Value> = mine.body["todos"].as_array().unwrap().iter().map(|t| t["id"].clone()).collect();
    assert_eq!(ids, vec![json!("t1")]);
    assert_eq!(mine.body["todos"][0]["project"], "p1");
    assert_eq!(call(&app, &key, Method::GET, "/api/todos?project=p2", None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(call(&app, &key, Method::GET, "/api/todos?id=t2", None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(call(&app, &key, Method::GET, "/api/todos?id=t1", None).await.body["content"], "mine");
    let merged = call(&app, &key, Method::GET, "/api/v2/tasks?tag=all", None).await;
    let contents: Vec<Value> = merged.body["tasks"].as_array().unwrap().iter().map(|t| t["title"].clone()).collect();
    assert!(contents.contains(&json!("mine")) && !contents.contains(&json!("theirs")), "{contents:?}");
    // The list cache never hands one principal's list to another.
    let all = app.get("/api/todos").await;
    assert_eq!(all.body["todos"].as_array().unwrap().len(), 2);

    // Sessions and messages are filled in or refused the same way.
    let r = call(&app, &key, Method::POST, "/api/sessions", Some(json!({"id": "s1", "name": "run"}))).await;
    assert_eq!(r.body["session"]["project_id"], "p1", "{}", r.body);
    let r = call(&app, &key, Method::POST, "/api/messages/create", Some(json!({"type": "info", "content": "x", "project_id": "p2"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Agents: one whose work is in another project is out of reach; new work lands in P.
    let r = call(&app, &key, Method::POST, "/api/agents/agent-p2/heartbeat", Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        call(&app, &key, Method::POST, "/api/agents", Some(json!({"id": "agent-p1", "name": "p1 agent"}))).await.status,
        StatusCode::CREATED
    );
    let r = call(&app, &key, Method::POST, "/api/agents/agent-p1/tasks", Some(json!({"title": "p1 work"}))).await;
    assert_eq!(r.body["task"]["project_id"], "p1", "{}", r.body);
    // A workflow it starts keeps the agent in P (its task lands in P).
    let r = call(&app, &key, Method::POST, "/api/agents/agent-p1/workflow", Some(json!({"taskId": "wf", "title": "Ship"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(call(&app, &key, Method::POST, "/api/agents/agent-p1/heartbeat", Some(json!({}))).await.status, StatusCode::OK);
    let agents = call(&app, &key, Method::GET, "/api/agents", None).await;
    let ids: Vec<Value> = agents.body["agents"].as_array().unwrap().iter().map(|a| a["id"].clone()).collect();
    assert_eq!(ids, vec![json!("agent-p1")]);

    let projects = call(&app, &key, Method::GET, "/api/settings/projects", None).await;
    assert_eq!(projects.body["projects"].as_array().unwrap().len(), 1);
    assert_eq!(projects.body["projects"][0]["id"], "p1");

    // A sprint it creates is P's; objects without a project are read-only to it.
    assert_eq!(call(&app, &key, Method::GET, "/api/sprints", None).await.status, StatusCode::OK);
    let r = call(&app, &key, Method::POST, "/api/sprints", Some(json!({"name": "s", "start_date": 1, "end_date": 2}))).await;
    assert_eq!((r.status, r.body["sprint"]["project_id"].clone()), (StatusCode::CREATED, json!("p1")), "{}", r.body);
    let shared = app.post("/api/sprints", json!({"name": "all", "start_date": 1, "end_date": 2})).await.body["sprint"]["id"].clone();
    let shared = shared.as_str().unwrap();
    assert_eq!(call(&app, &key, Method::GET, &format!("/api/sprints/{shared}"), None).await.status, StatusCode::OK);
    let r = call(&app, &key, Method::PATCH, &format!("/api/sprints/{shared}"), Some(json!({"name": "mine now"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(&app, &key, Method::PUT, "/api/settings/sleep-schedule", Some(json!({"enabled": true}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("sprints").await, 2);
}

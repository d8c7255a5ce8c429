//! `/api/settings/projects` (decisions.md#work-items).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::TestApp;

crate::on_both_backends!(projects_crud, reported_projects_come_back);

async fn projects_crud(app: TestApp) {
    let r = app.post("/api/settings/projects", json!({"name": "Billing Service", "color": "#12ab34", "description": "money"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["project"]["id"], "billing-service");
    assert_eq!(app.post("/api/settings/projects", json!({"name": "Billing Service"})).await.status, StatusCode::CONFLICT);
    assert_eq!(app.post("/api/settings/projects", json!({"id": "Bad Id", "name": "x"})).await.body["details"][0]["path"], json!(["id"]));
    assert_eq!(
        app.post("/api/settings/projects", json!({"name": "x", "color": "blue"})).await.body["details"][0]["path"],
        json!(["color"])
    );
    assert_eq!(app.post("/api/settings/projects", json!({"name": "  "})).await.status, StatusCode::BAD_REQUEST);
    let r = app.patch("/api/settings/projects/billing-service", json!({"name": "Billing", "color": null})).await;
    assert_eq!((r.body["project"]["name"].as_str(), &r.body["project"]["color"]), (Some("Billing"), &serde_json::Value::Null));
    assert_eq!(r.body["project"]["description"], "money");
    assert_eq!(app.patch("/api/settings/projects/nope", json!({"name": "x"})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.patch("/api/settings/projects/billing-service", json!({"owner": "x"})).await.status, StatusCode::BAD_REQUEST);
    let listed = app.get("/api/settings/projects").await.body["projects"].clone();
    assert_eq!(listed[0]["name"], "Billing");
    let gone = app.request(Method::DELETE, "/api/settings/projects/billing-service", None, Some(&app.key.clone())).await;
    assert_eq!(gone.body, json!({"success": true}));
    assert_eq!(
        app.request(Method::DELETE, "/api/settings/projects/billing-service", None, Some(&app.key.clone())).await.status,
        StatusCode::NOT_FOUND
    );
    let actions: Vec<String> = app
        .events()
        .await
        .into_iter()
        .filter(|e| e.name == "project:updated")
        .map(|e| e.payload["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, ["created", "updated", "remove"]);
}

async fn reported_projects_come_back(app: TestApp) {
    app.post("/api/todos", json!({"content": "x", "project": "hooked"})).await;
    app.request(Method::DELETE, "/api/settings/projects/hooked", None, Some(&app.key.clone())).await;
    assert_eq!(app.get("/api/settings/projects").await.body["projects"], json!([]));
    assert_eq!(app.get("/api/todos?project=hooked").await.body["todos"].as_array().unwrap().len(), 1, "work items keep their project");
    app.post("/api/todos", json!({"content": "y", "project": "hooked"})).await;
    assert_eq!(app.get("/api/settings/projects").await.body["projects"][0]["id"], "hooked");
    // the agent list narrows to agents working in a project
    app.post("/api/agents", json!({"id": "in", "name": "in"})).await;
    app.post("/api/agents", json!({"id": "out", "name": "out"})).await;
    app.post("/api/agents/in/tasks", json!({"title": "t", "project_id": "hooked"})).await;
    let agents = app.get("/api/agents?project=hooked").await.body["agents"].clone();
    assert_eq!((agents.as_array().unwrap().len(), agents[0]["id"].as_str()), (1, Some("in")));
}

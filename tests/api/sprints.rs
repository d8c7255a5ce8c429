//! `/api/sprints` and velocity.

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{T0, TestApp};

const DAY: i64 = 86_400;

crate::on_both_backends!(sprint_lifecycle, velocity_and_burndown_by_completion_time);

async fn sprint_lifecycle(app: TestApp) {
    let r =
        app.post("/api/sprints", json!({"name": "S1", "start_date": T0, "end_date": T0 + 7 * DAY, "goal": "ship", "id": "ignored"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let sprint = r.body["sprint"].clone();
    let id = sprint["id"].as_str().unwrap();
    assert!(id.starts_with("sprint_"));
    assert_eq!(sprint["status"], "planning");
    assert_eq!(app.get(&format!("/api/sprints/{id}")).await.body["sprint"], sprint);
    app.clock.advance_secs(30);
    let r = app.patch(&format!("/api/sprints/{id}"), json!({"status": "active", "goal": null})).await;
    assert_eq!((r.body["sprint"]["status"].as_str(), &r.body["sprint"]["goal"]), (Some("active"), &serde_json::Value::Null));
    assert_eq!(r.body["sprint"]["updated_at"], T0 + 30);
    assert_eq!(r.body["sprint"]["name"], "S1");
    // a date range made invalid by an update is refused (fixes decisions.md#work-items)
    let r = app.patch(&format!("/api/sprints/{id}"), json!({"end_date": T0 - 1})).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("Invalid sprint range: end_date must be >= start_date"))
    );
    assert_eq!(app.patch("/api/sprints/nope", json!({})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/sprints/nope").await.status, StatusCode::NOT_FOUND);
    let r = app.post("/api/sprints", json!({"name": "bad", "start_date": T0, "end_date": T0 - 1})).await;
    assert_eq!(r.body["error"], "Invalid sprint range: end_date must be >= start_date");
    assert_eq!(app.post("/api/sprints", json!({"name": "", "start_date": 1, "end_date": 2})).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.post("/api/sprints", json!({"name": "x", "start_date": 1.5, "end_date": 2})).await.body["details"][0]["path"],
        json!(["start_date"])
    );
    assert_eq!(
        app.post("/api/sprints", json!({"name": "later", "start_date": T0 + DAY, "end_date": T0 + 2 * DAY})).await.status,
        StatusCode::CREATED
    );
    let names: Vec<String> =
        app.get("/api/sprints").await.body["sprints"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, ["later", "S1"]);
    let events: Vec<String> = app.events().await.into_iter().map(|e| e.name).collect();
    assert_eq!(events, ["sprint:created", "sprint:updated", "sprint:created"]);
}

async fn velocity_and_burndown_by_completion_time(app: TestApp) {
    let id = app.post("/api/sprints", json!({"name": "S", "start_date": T0, "end_date": T0 + 10 * DAY})).await.body["sprint"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (todo, priority) in [("h", "high"), ("m", "medium"), ("l", "low")] {
        app.post("/api/todos", json!({"id": todo, "content": todo, "priority": priority, "sprint_id": id})).await;
    }
    app.clock.set_secs(T0 + 3_600);
    app.post("/api/todos", json!({"id": "h", "status": "completed"})).await;
    app.clock.set_secs(T0 + DAY + 10);
    app.post("/api/todos", json!({"id": "m", "status": "completed"})).await;
    app.clock.set_secs(T0 + 2 * DAY + 10);
    // editing a completed todo later must not move its points (fixes decisions.md#work-items)
    app.post("/api/todos", json!({"id": "h", "content": "renamed"})).await;
    let v = app.get(&format!("/api/sprints/{id}/velocity")).await.body["velocity"].clone();
    assert_eq!(v["total_points"], 9);
    assert_eq!(v["completed_points"], 8);
    assert_eq!(
        v["daily_progress"],
        json!([
            {"date": "2026-02-16", "completed": 5, "remaining": 4},
            {"date": "2026-02-17", "completed": 8, "remaining": 1},
            {"date": "2026-02-18", "completed": 8, "remaining": 1},
        ])
    );
    assert_eq!(app.get("/api/sprints/nope/velocity").await.status, StatusCode::NOT_FOUND);
}

//! `GET /api/analytics` through the API (the figures' arithmetic is unit-tested in domain).

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{T0, TestApp};

const DAY: i64 = 86_400;

crate::on_both_backends!(period_is_validated, figures_from_real_writes);

async fn period_is_validated(app: TestApp) {
    let missing = app.get("/api/analytics?start=1").await;
    assert_eq!(
        (missing.status, missing.body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("Missing required query params: start and end"))
    );
    for q in ["start=abc&end=5", "start=0&end=5", "start=10&end=5"] {
        let r = app.get(&format!("/api/analytics?{q}")).await;
        assert_eq!(r.body["error"], "Invalid start/end query params", "{q}");
    }
}

async fn figures_from_real_writes(app: TestApp) {
    let sprint = app.post("/api/sprints", json!({"name": "S", "start_date": T0, "end_date": T0 + 14 * DAY})).await.body["sprint"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post("/api/todos", json!({"id": "a", "content": "a", "priority": "high", "agent": "ann", "project": "p", "sprint_id": sprint}))
        .await;
    app.post("/api/todos", json!({"id": "b", "content": "b", "agent": "bob", "project": "q"})).await;
    app.clock.set_secs(T0 + DAY);
    app.post("/api/todos", json!({"id": "a", "status": "in_progress"})).await;
    app.clock.set_secs(T0 + 3 * DAY);
    app.post("/api/todos", json!({"id": "a", "status": "completed"})).await;
    app.clock.set_secs(T0 + 8 * DAY);

    let a = app.get(&format!("/api/analytics?start={T0}&end={}", T0 + 13 * DAY)).await.body;
    assert_eq!(a["period"], json!({"start": T0, "end": T0 + 13 * DAY}));
    assert_eq!(a["throughput"]["weekly"], json!([{"week": "2026-W08", "completed": 1}, {"week": "2026-W09", "completed": 0}]));
    assert_eq!(a["created_vs_completed"]["weekly"][0], json!({"week": "2026-W08", "created": 2, "completed": 1}));
    assert_eq!(a["cycle_time"]["entries"], json!([{"todo_id": "a", "seconds": 2 * DAY}]));
    assert_eq!(a["cycle_time"]["median_seconds"], 2 * DAY);
    assert_eq!(a["lead_time"]["average_seconds"], 3 * DAY);
    assert_eq!(a["status_distribution"], json!({"completed": 1, "pending": 1}));
    assert_eq!(a["priority_distribution"], json!({"high": 1, "medium": 1}));
    assert_eq!(a["velocity_trend"], json!([{"sprint_id": sprint, "sprint_name": "S", "total_points": 5, "completed_points": 5}]));

    let scoped = app.get(&format!("/api/analytics?start={T0}&end={}&project=q", T0 + DAY)).await.body;
    assert_eq!(scoped["agent_workload"], json!([{"agent": "bob", "total": 1, "completed": 0, "in_progress": 0}]));
    let by_agent = app.get(&format!("/api/analytics?start={T0}&end={}&agent=ann", T0 + DAY)).await.body;
    assert_eq!(by_agent["status_distribution"], json!({"completed": 1}));
    let by_sprint = app.get(&format!("/api/analytics?start={T0}&end={}&sprint_id=none", T0 + DAY)).await.body;
    assert_eq!((by_sprint["velocity_trend"].clone(), by_sprint["status_distribution"].clone()), (json!([]), json!({})));
}

//! `/healthz` and `/metrics`.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::TestApp;

crate::on_both_backends!(health_and_metrics);

async fn health_and_metrics(app: TestApp) {
    let health = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body["status"], "ok");
    assert_eq!(app.request(Method::GET, "/metrics", None, None).await.status, StatusCode::UNAUTHORIZED);
    for i in 0..3 {
        app.post("/api/todos", json!({"content": format!("{i}")})).await;
    }
    let res = app.raw(Method::GET, "/metrics").bearer_auth(&app.key).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(text.contains(r#"ocd_http_requests_total{route="/api/todos",method="POST",status="200"} 3"#), "{text}");
    assert!(text.contains(r#"ocd_http_request_duration_seconds_count{route="/api/todos"} 3"#), "{text}");
    // the three todos and the first start's seeding of the alert rules
    assert!(text.contains("ocd_db_writes_per_commit_sum 4"), "{text}");
    assert!(text.contains("ocd_db_writes_queued 0"), "{text}");
}

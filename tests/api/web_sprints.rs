//! The sprints page (issue 16): sprints created and changed through its forms, the velocity
//! chart and the active sprint's burndown against the ideal line.

use ocd::auth::principal::Role;
use ocd::clock::Clock;
use ocd::domain::calendar::{DAY, date_label};
use reqwest::StatusCode;
use serde_json::json;

use crate::auth_helpers::signed_in;
use crate::harness::TestApp;

crate::on_both_backends!(sprints_are_planned_and_burn_down_on_their_page);

async fn sprints_are_planned_and_burn_down_on_their_page(app: TestApp) {
    let day0 = app.clock.now();
    let (start, end) = (date_label(day0), date_label(day0 + 4 * DAY));
    let mut admin = signed_in(&app, Role::Admin).await;
    let fields = [
        ("name", "Sprint 7"),
        ("start", start.as_str()),
        ("end", end.as_str()),
        ("status", "active"),
        ("goal", "Ship the charts"),
        ("project", "web"),
        ("back", "/sprints?project=web"),
    ];
    let r = admin.form("/sprints", &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{:?}", r.body);
    let sprints = app.get("/api/sprints").await.body;
    let sprint = &sprints["sprints"][0];
    assert_eq!(
        (sprint["name"].as_str(), sprint["status"].as_str(), sprint["project_id"].as_str()),
        (Some("Sprint 7"), Some("active"), Some("web"))
    );
    assert_eq!(sprint["end_date"], day0 + 5 * DAY - 1, "the end date is a whole day");
    let id = sprint["id"].as_str().unwrap().to_string();
    // 5 + 3 + 1 points; the high one is done on the second day.
    for (todo, priority) in [("t-high", "high"), ("t-medium", "medium"), ("t-low", "low")] {
        let body = json!({"id": todo, "content": todo, "priority": priority, "project": "web", "sprint_id": id});
        assert_eq!(app.post("/api/todos", body).await.status, StatusCode::OK);
    }
    app.clock.advance_secs(DAY + 3600);
    app.post("/api/todos", json!({"id": "t-high", "status": "completed"})).await;

    let page = admin.get("/sprints?project=web").await;
    let page = page.body.as_str().unwrap_or_default().to_string();
    assert!(page.contains("Burndown · Sprint 7") && page.contains("Ship the charts"), "{page}");
    assert!(page.contains(&format!("<title>{start}: 9 remaining</title>")), "day one: all 9 points left");
    assert!(page.contains(&format!("<title>{}: 4 remaining</title>", date_label(day0 + DAY))), "day two: 4 left");
    assert_eq!(page.matches("<circle class=\"dot series-1\"").count(), 2, "no remaining points drawn for days to come");
    assert!(page.contains("class=\"line series-2\""), "the ideal line");
    assert!(
        page.contains("<title>Sprint 7: 9 total_points</title>") && page.contains("<title>Sprint 7: 5 completed_points</title>"),
        "velocity bars"
    );
    assert!(page.contains("5 of 9 points done"));

    // A ticket leaves the sprint from its page, and joins it again.
    app.post("/api/todos", json!({"id": "t-new", "content": "late addition", "priority": "medium", "project": "web", "sprint_id": id}))
        .await;
    assert!(admin.get("/sprints?project=web").await.body.as_str().unwrap_or_default().contains("5 of 12 points done"));
    let r = admin.form("/todos/t-new/sprints", &[("sprint_id", id.as_str()), ("remove", "1"), ("back", "/todos/t-new")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{:?}", r.body);
    assert!(!app.get("/api/todos/t-new/sprints").await.body.to_string().contains(&id), "left the sprint");
    let ticket = admin.get("/todos/t-new").await.body.as_str().unwrap_or_default().to_string();
    assert!(ticket.contains(&format!("<option value=\"{id}\">Sprint 7 (active)</option>")), "the open sprint is offered: {ticket}");
    admin.form("/todos/t-new/sprints", &[("sprint_id", id.as_str())]).await;
    assert!(app.get("/api/todos/t-new/sprints").await.body.to_string().contains(&id), "joined again");
    assert!(admin.get("/sprints?project=web").await.body.as_str().unwrap_or_default().contains("5 of 12 points done"));

    // Edit: the lifecycle moves on; the API shows it.
    let fields = [
        ("name", "Sprint 7"),
        ("start", start.as_str()),
        ("end", end.as_str()),
        ("status", "completed"),
        ("goal", ""),
        ("back", "/sprints"),
    ];
    let r = admin.form(&format!("/sprints/{id}"), &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{:?}", r.body);
    let sprint = app.get(&format!("/api/sprints/{id}")).await.body;
    assert_eq!((sprint["sprint"]["status"].as_str(), sprint["sprint"]["goal"].as_str()), (Some("completed"), None), "{sprint}");
    assert!(
        !admin.get("/sprints?project=web").await.body.as_str().unwrap_or_default().contains("Burndown"),
        "no active sprint, no burndown"
    );

    // Bad input names its field; viewers see no forms and cannot post them.
    let bad = [("name", "x"), ("start", "soon"), ("end", end.as_str())];
    let r = admin.form("/sprints", &bad).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.to_string().contains("start"), "{:?}", r.body);
    let backwards = [("name", "x"), ("start", end.as_str()), ("end", start.as_str())];
    assert_eq!(admin.form("/sprints", &backwards).await.status, StatusCode::BAD_REQUEST);
    let mut viewer = signed_in(&app, Role::Viewer).await;
    let page = viewer.get("/sprints").await.body.as_str().unwrap_or_default().to_string();
    assert!(page.contains("Sprint 7") && !page.contains("New sprint") && !page.contains("<details class=\"edit\""));
    assert_eq!(viewer.form("/sprints", &fields).await.status, StatusCode::FORBIDDEN);
}

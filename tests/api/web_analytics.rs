//! The analytics page (issue 16): every figure of `/api/analytics` drawn as an SVG chart on the
//! server, each chart's CSV equal to what the API says, blocked work aging, filters and the
//! empty state. The browser tests screenshot it in both themes.

use ocd::auth::principal::Role;
use ocd::clock::Clock;
use ocd::domain::calendar::{DAY, date_label};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::auth_helpers::signed_in;
use crate::browser::Browser;
use crate::harness::TestApp;

crate::on_both_backends!(analytics_charts_show_the_apis_figures_and_their_csv_matches);

fn text(reply: &crate::harness::Reply) -> String {
    reply.body.as_str().unwrap_or_default().to_string()
}

/// CSV rows below the header, as `(label, values…)`.
fn csv_rows(csv: &str) -> Vec<Vec<String>> {
    csv.lines().skip(1).map(|l| l.split(',').map(String::from).collect()).collect()
}

/// One chart's CSV download.
async fn csv(viewer: &mut Browser, chart: &str, filters: &str) -> String {
    let path = format!("/analytics.csv?chart={chart}&{filters}");
    let reply = viewer.get(&path).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}");
    assert!(reply.headers["content-disposition"].to_str().unwrap().contains(&format!("ocd-{chart}-")));
    text(&reply)
}

async fn analytics_charts_show_the_apis_figures_and_their_csv_matches(app: TestApp) {
    let start = app.clock.now();
    for id in ["a", "b", "c"] {
        let body = json!({"id": id, "content": format!("week one {id}"), "status": "in_progress", "agent": "alice", "project": "web"});
        assert_eq!(app.post("/api/todos", body).await.status, StatusCode::OK);
    }
    app.clock.advance_secs(3 * 3600);
    for id in ["a", "b", "c"] {
        app.post("/api/todos", json!({"id": id, "status": "completed"})).await;
    }
    let sprint = json!({"name": "Sprint 1", "start_date": start, "end_date": start + 14 * DAY, "project_id": "web"});
    let sprint = app.post("/api/sprints", sprint).await.body["sprint"]["id"].as_str().unwrap().to_string();
    for id in ["a", "b"] {
        assert_eq!(app.post("/api/todos", json!({"id": id, "sprint_id": sprint})).await.status, StatusCode::OK);
    }
    app.clock.advance_secs(7 * DAY);
    app.post("/api/todos", json!({"id": "d", "content": "week two", "status": "completed", "agent": "bob", "project": "web"})).await;
    app.post("/api/todos", json!({"id": "e", "content": "Waiting on the <db> migration", "status": "blocked", "project": "web"})).await;
    app.post("/api/todos", json!({"id": "f", "content": "in flight", "status": "in_progress", "agent": "bob", "project": "web"})).await;
    app.clock.advance_secs(2 * DAY);
    let (from, to) = (date_label(start), date_label(app.clock.now()));
    let api = app.get(&format!("/api/analytics?start={start}&end={}&project=web", app.clock.now())).await.body;

    let mut viewer = signed_in(&app, Role::Viewer).await;
    let filters = format!("from={from}&to={to}&project=web");
    let page = viewer.get(&format!("/analytics?{filters}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let page = text(&page);
    assert_eq!(page.matches("<svg class=\"chart").count(), 9, "every chart has data");
    for week in api["throughput"]["weekly"].as_array().unwrap() {
        let bar = format!("<title>{}: {} completed</title>", week["week"].as_str().unwrap(), week["completed"]);
        assert!(page.contains(&bar), "the throughput bar {bar}");
    }
    assert!(page.contains("Waiting on the &lt;db&gt; migration: 2 d"), "blocked for two days, escaped: {page}");

    let throughput = csv(&mut viewer, "throughput", &filters).await;
    assert!(throughput.starts_with("week,completed\r\n"), "{throughput}");
    let expected: Vec<Vec<String>> = api["throughput"]["weekly"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| vec![w["week"].as_str().unwrap().to_string(), w["completed"].to_string()])
        .collect();
    assert_eq!(csv_rows(&throughput), expected);
    assert_eq!(expected.iter().map(|r| r[1].as_str()).collect::<Vec<_>>(), ["3", "1"]);
    let status = csv(&mut viewer, "status", &filters).await;
    let from_api: Vec<Vec<String>> =
        api["status_distribution"].as_object().unwrap().iter().map(|(k, v)| vec![k.clone(), v.to_string()]).collect();
    assert_eq!(csv_rows(&status), from_api);
    let workload = csv(&mut viewer, "workload", &filters).await;
    assert!(workload.starts_with("agent,total,completed,in_progress\r\n"), "{workload}");
    let api_workload: Vec<Value> = api["agent_workload"].as_array().unwrap().clone();
    assert_eq!(csv_rows(&workload).len(), api_workload.len());

    // An agent filter narrows every chart; a period without work shows the empty state.
    let bob = text(&viewer.get(&format!("/analytics?{filters}&agent=bob")).await);
    assert!(
        !bob.contains(&format!("{}: 3 completed", api["throughput"]["weekly"][0]["week"].as_str().unwrap())),
        "alice's work is not bob's"
    );
    let quiet = text(&viewer.get("/analytics?from=2020-01-01&to=2020-01-31").await);
    let throughput_card = &quiet[quiet.find("id=\"chart-throughput\"").unwrap_or_else(|| panic!("{quiet}"))..];
    let throughput_card = &throughput_card[..throughput_card.find("</section>").unwrap()];
    assert!(throughput_card.contains("No data in this period.") && !throughput_card.contains("<svg"), "{throughput_card}");
    app.post("/api/settings/projects", json!({"id": "new-one", "name": "New one"})).await;
    let nothing = text(&viewer.get("/analytics?project=new-one").await);
    assert!(nothing.contains("Nothing to chart yet") && !nothing.contains("<svg class=\"chart"), "a project without work");

    // Bad filters are refused with the field named.
    let bad = viewer.get("/analytics?from=yesterday").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.to_string().contains("from"), "{}", bad.body);
    let backwards = viewer.get(&format!("/analytics?from={to}&to={from}")).await;
    assert_eq!(backwards.status, StatusCode::BAD_REQUEST);
    let unknown = viewer.get(&format!("/analytics.csv?chart=nope&{filters}")).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
}

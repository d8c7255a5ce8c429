//! The Linear pages in a real Chromium (issue 17): dragging a card changes the issue in
//! Linear (and goes back with Linear's reason when it refuses), a webhook moves a card live,
//! viewers get no controls, both pages read well in both themes and on a phone, and the owner
//! registers the webhook and maps users from Settings → Linear. SQLite only, like the other
//! page tests; Linear is the fake, which validates every document against the real schema.

use ocd::auth::principal::Role;
use serde_json::{Value, json};

use crate::chrome::Chrome;
use crate::fake_linear::{FakeLinear, KEY, send_signed};
use crate::harness::{Backend, TestApp};
use crate::web_browser::{DESKTOP, PHONE, screenshots, sign_in};

const SECRET: &str = "browser-secret";

/// ocd with a synced workspace: project Checkout with cards in each column, one of them worked
/// by the agent Builder.
async fn linear_app() -> (TestApp, FakeLinear) {
    let linear = FakeLinear::start().await;
    linear.workspace();
    linear.project("p2", "Billing", "team_eng");
    for (id, key, title, state, priority, assignee) in [
        ("i1", "ENG-12", "Cart total ignores coupons", "st_todo", 2, Some("Ana Lima")),
        ("i2", "ENG-13", "Checkout button disabled on Safari", "st_doing", 1, Some("Builder")),
        ("i3", "ENG-9", "Remove the legacy payment form", "st_done", 4, None),
        (
            "i4",
            "ENG-15",
            "A long issue title that goes on and on to check that cards wrap nicely on a narrow phone screen",
            "st_backlog",
            0,
            None,
        ),
        ("i5", "ENG-16", "Address autocomplete", "st_todo", 3, Some("Ana Lima")),
    ] {
        linear.issue("p1", id, key, title, state, priority, assignee);
    }
    let url = linear.url.clone();
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.linear_api_url = url;
        c.linear_api_key = Some(KEY.into());
        c.linear_webhook_secret = Some(SECRET.into());
    })
    .await
    .expect("app");
    app.post("/api/agents", json!({"id": "ag-builder", "name": "Builder"})).await;
    assert!(app.post("/api/linear/sync", json!({})).await.status.is_success());
    let r =
        app.post("/api/agents/ag-builder/assign", json!({"taskId": "linear_i2", "title": "Checkout button", "linearIssueId": "i2"})).await;
    assert!(r.status.is_success(), "{}", r.body);
    (app, linear)
}

fn in_column(id: &str, state: &str) -> String {
    format!("return !!document.querySelector('.column[data-status={state}] .card[data-issue={id}]');")
}

fn state_in_linear(linear: &FakeLinear, id: &str) -> Value {
    linear.world().issues.iter().find(|i| i.node["id"] == id).map(|i| i.node["state"]["id"].clone()).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dragging_a_linear_card_moves_the_issue_in_linear() {
    let Some(chrome) = Chrome::start(DESKTOP.0, DESKTOP.1).await else { return };
    let (app, linear) = linear_app().await;
    sign_in(&chrome, &app, Role::Admin).await;
    chrome.goto(&format!("{}/linear", app.base)).await;
    chrome.until("the live connection", "return document.getElementById('live-status').dataset.state === 'live';").await;
    chrome.js("window.notReloaded = true;", vec![]).await;
    let worked = chrome.find(".card[data-issue=i2] .badge.agent").await.text().await.unwrap();
    assert_eq!(worked, "Builder · pending", "the card shows its agent and the task's status");

    // Dragged to In Progress: the card moves at once and Linear changes the issue.
    chrome.js(crate::web_browser::DRAG, vec![json!("i1"), json!("st_doing")]).await;
    chrome.until("the card in In Progress", &in_column("i1", "st_doing")).await;
    let deadline = std::time::Instant::now() + crate::chrome::PATIENCE;
    while state_in_linear(&linear, "i1") != json!("st_doing") {
        assert!(std::time::Instant::now() < deadline, "the drag did not reach Linear");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    chrome.screenshot(&screenshots(), "linear-moved-dark-desktop").await;

    // Linear refuses the next move: the card goes back, with Linear's reason.
    linear.world().refuse_updates = Some("This state belongs to another team.".into());
    chrome.js(crate::web_browser::DRAG, vec![json!("i5"), json!("st_done")]).await;
    chrome.until("the refusal", "return [...document.querySelectorAll('.toast')].some(t => t.textContent.includes('another team'));").await;
    chrome.until("the card back in Todo", &in_column("i5", "st_todo")).await;
    assert_eq!(state_in_linear(&linear, "i5"), json!("st_todo"));
    linear.world().refuse_updates = None;

    // A change made in Linear arrives by webhook and moves the card live.
    let body = json!({"action": "update", "type": "Issue", "webhookTimestamp": ocd::clock::Clock::now_ms(app.clock.as_ref()),
        "data": {"id": "i3", "identifier": "ENG-9", "title": "Remove the legacy payment form", "priority": 4, "projectId": "p1",
            "stateId": "st_todo", "state": {"id": "st_todo", "name": "Todo", "type": "unstarted"}, "teamId": "team_eng",
            "updatedAt": "2026-02-16T00:05:00.000Z"}});
    let r = send_signed(&format!("{}/api/linear/webhook", app.base), SECRET, &body.to_string(), "browser-d1").await;
    assert!(r.status().is_success());
    chrome.until("the webhook's move on the page", &in_column("i3", "st_todo")).await;
    assert_eq!(chrome.js("return window.notReloaded === true;", vec![]).await, json!(true), "no page reload happened");
    chrome.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_linear_pages_read_well_everywhere() {
    let (app, _linear) = linear_app().await;
    let shots = screenshots();
    let pages = [("linear", "/linear"), ("settings-linear", "/settings/linear")];
    for (device, (width, height)) in [("desktop", DESKTOP), ("phone", PHONE)] {
        let Some(chrome) = Chrome::start(width, height).await else { return };
        sign_in(&chrome, &app, Role::Owner).await;
        for theme in ["dark", "light"] {
            chrome.set_theme(theme).await;
            for (name, path) in pages {
                chrome.goto(&format!("{}{path}", app.base)).await;
                chrome.find("main").await;
                chrome.assert_readable(&format!("{name} ({theme}, {device})")).await;
                let sideways =
                    chrome.js("return document.documentElement.scrollWidth - document.documentElement.clientWidth;", vec![]).await;
                assert_eq!(sideways, json!(0), "{name} scrolls sideways ({device})");
                chrome.screenshot(&shots, &format!("{name}-{theme}-{device}")).await;
            }
        }
        chrome.quit().await;
    }
    // Viewers see the board without moving anything.
    let Some(chrome) = Chrome::start(PHONE.0, PHONE.1).await else { return };
    sign_in(&chrome, &app, Role::Viewer).await;
    chrome.goto(&format!("{}/linear", app.base)).await;
    chrome.find(".card[data-issue=i1]").await;
    for control in ["[draggable=true]", ".card-menu", "form[action$='/linear/sync']"] {
        assert!(!chrome.exists(control).await, "a viewer sees {control}");
    }
    chrome.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_connects_linear_from_settings() {
    let Some(chrome) = Chrome::start(DESKTOP.0, DESKTOP.1).await else { return };
    let (app, linear) = linear_app().await;
    sign_in(&chrome, &app, Role::Owner).await;
    chrome.goto(&format!("{}/settings/linear", app.base)).await;
    // Register the webhook at an address Linear can reach.
    let url = chrome.find("input[name=url]").await;
    url.send_keys(&format!("{}/api/linear/webhook", app.base)).await.unwrap();
    chrome.click("form[data-api='/api/linear/webhooks'] button[type=submit]").await;
    chrome
        .until(
            "the registered webhook",
            "return [...document.querySelectorAll('.status-pill')].some(p => p.textContent.trim() === 'enabled');",
        )
        .await;
    assert_eq!(linear.world().webhooks.len(), 1, "registered in Linear");
    // Map Ana to the builder agent and finish issues with their tasks.
    let map = chrome.find("textarea[name=user_map]").await;
    map.send_keys("user_ana lima = ag-builder").await.unwrap();
    chrome.click("input[name=complete_on_done]").await;
    chrome.click("form[data-api='/api/settings/linear'] button[type=submit]").await;
    chrome
        .until(
            "the saved map",
            "return document.querySelector('textarea[name=user_map]').value.includes('ag-builder') && !!document.querySelector('.toast');",
        )
        .await;
    let stored = ocd::service::linear::settings(&app.app.db.read).await.unwrap();
    assert_eq!(stored.user_map.get("user_ana lima").map(String::as_str), Some("ag-builder"));
    assert!(stored.complete_on_done);
    chrome.screenshot(&screenshots(), "settings-linear-connected-dark-desktop").await;
    chrome.quit().await;
}

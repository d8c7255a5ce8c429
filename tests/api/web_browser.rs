//! The dashboard in a real Chromium (issue 13): sign-in, live updates without reloads, moving
//! cards (and the rollback when the server refuses), comments, steering an agent until its
//! command is delivered, a cut stream, what viewers see, phones, contrast, `BASE_PATH`, and
//! screenshots of every page (`OCD_SCREENSHOTS=docs` refreshes docs/screenshots/). SQLite only: the pages read through the same
//! storage code the API suite runs on both backends.

use std::path::PathBuf;

use ocd::auth::links::LinkFor;
use ocd::auth::principal::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth_helpers::{login_link, signed_in};
use crate::chrome::Chrome;
use crate::harness::{Backend, TestApp};
use crate::procs::{OcdProcess, temp_dir};

pub const DESKTOP: (u32, u32) = (1280, 860);

/// Where the screenshots go: `target/screenshots/`, or with `OCD_SCREENSHOTS=docs` the README's
/// `docs/screenshots/` (refreshed on purpose, so test runs leave the repository alone).
pub fn screenshots() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if std::env::var("OCD_SCREENSHOTS").as_deref() == Ok("docs") { root.join("docs/screenshots") } else { root.join("target/screenshots") }
}
pub const PHONE: (u32, u32) = (390, 844);

pub async fn app() -> TestApp {
    TestApp::spawn(Backend::Sqlite).await.expect("sqlite app")
}

/// Signs the browser in with a one-time link for a new user with `role`; returns on the board.
pub async fn sign_in(chrome: &Chrome, app: &TestApp, role: Role) {
    let link = login_link(app, LinkFor::NewUser(role)).await;
    chrome.goto(&format!("{}{link}", app.base)).await;
    chrome.click("button[type=submit]").await;
    chrome.find("body[data-live=board]").await;
}

pub async fn seed(app: &TestApp) {
    for body in [
        json!({"id": "todo_a", "name": "Write the sign-in page", "content": "Explain **links**; see #todo_b", "status": "in_progress", "priority": "high", "agent": "builder", "project": "web", "session_id": "ses_7f3a9c21d4"}),
        json!({"id": "todo_a1", "content": "Style it for phones", "status": "pending", "priority": "low", "project": "web", "parent_id": "todo_a", "session_id": "ses_7f3a9c21d4"}),
        json!({"id": "todo_b", "name": "Live board", "content": "Cards move the moment an agent reports", "status": "pending", "priority": "high", "agent": "builder", "project": "web"}),
        json!({"id": "todo_c", "content": "CI installs chromium when missing", "status": "blocked", "priority": "medium", "agent": "ops-bot", "project": "web"}),
        json!({"id": "todo_d", "content": "Document the account switcher", "status": "completed", "priority": "low", "agent": "writer", "project": "web"}),
        json!({"id": "todo_e", "content": "Offline mode for the service worker", "status": "icebox", "priority": "low", "project": "web"}),
        json!({"id": "todo_f", "content": "A long ticket title that goes on and on to check that cards wrap nicely on a narrow phone screen without overflowing", "status": "pending", "priority": "medium", "agent": "builder", "project": "web"}),
    ] {
        assert_eq!(app.post("/api/todos", body).await.status, StatusCode::OK);
    }
    app.post("/api/todos/todo_a/comments", json!({"body": "Looks good — see `cargo test`. **Ship it**", "author": "olive"})).await;
    // An active sprint that started two days ago, with one of its todos done yesterday.
    let now = ocd::clock::Clock::now(app.clock.as_ref());
    let sprint = json!({"name": "Sprint 12", "start_date": now - 2 * 86_400, "end_date": now + 9 * 86_400, "status": "active",
        "goal": "Pages a team lead can read at a glance", "project_id": "web"});
    let sprint = app.post("/api/sprints", sprint).await.body["sprint"]["id"].as_str().unwrap().to_string();
    for id in ["todo_a", "todo_b", "todo_d", "todo_f"] {
        app.post(&format!("/api/todos/{id}/sprints"), json!({"sprint_id": sprint})).await;
    }
    for message in [
        json!({"type": "task_complete", "content": "Finished the README section on accounts", "todo_id": "todo_d", "project": "web"}),
        json!({"type": "error", "content": "Build failed: `cargo clippy` found 2 warnings", "project": "web"}),
        json!({"type": "worklog", "content": "Wired the board to the stream", "project": "web", "metadata": {"author": "builder", "tags": ["ui", "live"]}}),
    ] {
        app.post("/api/messages/create", message).await;
    }
    app.post("/api/agents", json!({"id": "ag-builder", "name": "builder", "type": "primary", "project": "web"})).await;
    app.post(
        "/api/agents",
        json!({"id": "ag-explore", "name": "explore", "type": "sub-agent", "parent_agent_id": "ag-builder", "project": "web"}),
    )
    .await;
    app.post(
        "/api/agents/ag-builder/assign",
        json!({"taskId": "t-1", "title": "Write the sign-in page", "priority": "high", "projectId": "web"}),
    )
    .await;
    app.post("/api/agents/ag-builder/heartbeat", json!({"tokens_in": 120500, "tokens_out": 8300, "cost_usd": 1.42})).await;
    // An alert in the feed (linked to its agent) and a Claude Code session waiting for a person.
    app.post("/api/agents/ag-builder/error", json!({"taskId": "t-1", "message": "cargo test: 3 tests failed in auth::links"})).await;
    app.alerts().await;
    let waiting = json!({"session_id": "5b1e9c2a-claude", "cwd": "/src/web", "hook_event_name": "Notification",
        "message": "Claude needs your permission to use Bash", "notification_type": "permission_prompt"});
    app.post("/api/ingest/claude-code", waiting).await;
    // OpenCode sessions asking for permission: one waits, one was answered.
    let asked = |id: &str, session: &str, command: &str| {
        json!({"id": format!("evt_{id}"), "type": "permission.asked", "properties": {"id": id, "sessionID": session,
            "permission": "bash", "patterns": [command], "metadata": {"command": command}, "always": ["rm *"]}})
    };
    let batch = json!({"project": "web", "events": [
        asked("per_wait", "ses_deploy", "rm -rf build/ && npm run deploy:staging"),
        asked("per_done", "ses_docs", "git push origin docs"),
    ]});
    assert_eq!(app.post("/api/ingest/opencode", batch).await.status, StatusCode::OK);
    let done = app.get("/api/approvals?agent=opencode-ses_docs").await.body["approvals"][0]["id"].as_str().unwrap().to_string();
    app.post(&format!("/api/approvals/{done}/decision"), json!({"decision": "reject", "message": "push after review"})).await;
}

fn todo_status(list: &Value, id: &str) -> Option<String> {
    list["todos"].as_array()?.iter().find(|t| t["id"] == id).and_then(|t| t["status"].as_str()).map(String::from)
}

/// Waits until the API reports todo `id` in `status` (what the page sent has arrived).
async fn api_shows(app: &TestApp, id: &str, status: &str, what: &str) {
    let deadline = std::time::Instant::now() + crate::chrome::PATIENCE;
    while todo_status(&app.get("/api/todos").await.body, id).as_deref() != Some(status) {
        assert!(std::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Drags card `id` onto the column of `status` the way a mouse does: the page's own
/// dragstart / dragover / drop / dragend handlers run (WebDriver cannot do HTML5 drags).
pub const DRAG: &str = r#"
const [id, status] = arguments;
const card = document.querySelector(`.card[data-id="${id}"]`);
const column = document.querySelector(`.column[data-status="${status}"]`);
const dataTransfer = new DataTransfer();
card.dispatchEvent(new DragEvent('dragstart', { bubbles: true, dataTransfer }));
column.dispatchEvent(new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer }));
column.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer }));
card.dispatchEvent(new DragEvent('dragend', { bubbles: true, dataTransfer }));
"#;

const IN_COLUMN: &str =
    "return document.querySelector(`.column[data-status=\"${arguments[1]}\"] .card[data-id=\"${arguments[0]}\"]`) !== null;";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_is_live_and_moves_cards_through_the_api() {
    let Some(chrome) = Chrome::start(DESKTOP.0, DESKTOP.1).await else { return };
    let app = app().await;
    seed(&app).await;
    sign_in(&chrome, &app, Role::Admin).await;
    chrome.goto(&format!("{}/?project=web", app.base)).await;
    chrome.until("the live connection", "return document.getElementById('live-status').dataset.state === 'live';").await;
    chrome.js("window.notReloaded = true;", vec![]).await;

    // A todo posted through the API appears within a second, without a reload.
    let posted =
        app.post("/api/todos", json!({"id": "todo_new", "content": "Posted by an agent", "status": "pending", "project": "web"})).await;
    assert_eq!(posted.status, StatusCode::OK);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        if chrome.exists(".column[data-status=pending] .card[data-id=todo_new]").await {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the new todo did not appear within 1 s");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    // An agent's report moves a card too.
    app.post("/api/todos", json!({"id": "todo_b", "status": "in_progress"})).await;
    chrome.until("todo_b in progress", "return !!document.querySelector('.column[data-status=in_progress] .card[data-id=todo_b]');").await;

    // Dragging a card to another column changes its status through the API.
    chrome.js(DRAG, vec![json!("todo_new"), json!("completed")]).await;
    chrome.until("the card in Completed", &IN_COLUMN.replace("arguments[0]", "'todo_new'").replace("arguments[1]", "'completed'")).await;
    api_shows(&app, "todo_new", "completed", "the drag did not reach the API").await;

    // The keyboard/menu way: the card's "Move to" menu.
    chrome.click(".card[data-id=todo_c] .card-menu summary").await;
    chrome.click(".card[data-id=todo_c] .card-menu button[value=pending]").await;
    chrome.until("todo_c in Pending", "return !!document.querySelector('.column[data-status=pending] .card[data-id=todo_c]');").await;
    api_shows(&app, "todo_c", "pending", "the menu move did not reach the API").await;
    assert_eq!(chrome.js("return window.notReloaded === true;", vec![]).await, json!(true), "no page reload happened");

    // A move the server refuses goes back, with a message: the person lost edit rights meanwhile.
    let mut owner = signed_in(&app, Role::Owner).await;
    let me = chrome.js("return fetch('/api/auth/verify').then(r => r.json());", vec![]).await;
    let demoted = owner.go(Method::PATCH, &format!("/api/settings/team/{}", me["user"]["id"]), Some(&json!({"role": "viewer"}))).await;
    assert_eq!(demoted.status, StatusCode::OK, "{}", demoted.body);
    chrome.js(DRAG, vec![json!("todo_d"), json!("blocked")]).await;
    chrome
        .until("the refusal toast", "return [...document.querySelectorAll('.toast')].some(t => t.textContent.includes('Could not move'));")
        .await;
    chrome.until("the card back in Completed", &IN_COLUMN.replace("arguments[0]", "'todo_d'").replace("arguments[1]", "'completed'")).await;
    assert_eq!(todo_status(&app.get("/api/todos").await.body, "todo_d").as_deref(), Some("completed"));
    chrome.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_and_steering_reach_their_targets() {
    let Some(chrome) = Chrome::start(DESKTOP.0, DESKTOP.1).await else { return };
    let app = app().await;
    seed(&app).await;
    sign_in(&chrome, &app, Role::Admin).await;

    // From the board, a card opens in the drawer; a comment posted there stays on the board.
    chrome.goto(&format!("{}/?project=web", app.base)).await;
    chrome.js("window.notReloaded = true;", vec![]).await;
    chrome.click(".card[data-id=todo_a] a.card-title").await;
    chrome.until("the drawer", "return !!document.querySelector('.drawer .comment') && document.getElementById('drawer-title').textContent.includes('sign-in page');").await;
    chrome.find(".drawer #comment-body").await.send_keys("From the drawer").await.unwrap();
    chrome.click(".drawer .comment-form button[type=submit]").await;
    chrome
        .until(
            "the comment in the drawer",
            "return [...document.querySelectorAll('.drawer .comment')].some(c => c.textContent.includes('From the drawer'));",
        )
        .await;
    assert_eq!(
        chrome.js("return window.notReloaded === true && location.pathname === '/';", vec![]).await,
        json!(true),
        "still on the board"
    );
    chrome
        .until(
            "the comment count on the card",
            "return document.querySelector('.card[data-id=todo_a] .badge.comments')?.textContent.includes('2 comments');",
        )
        .await;
    chrome.screenshot(&screenshots(), "board-drawer-dark-desktop").await;
    chrome.js("document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));", vec![]).await;
    chrome.until("the drawer closed", "return !document.querySelector('.drawer');").await;

    // On the ticket's own page, the comment form posts in place too.
    chrome.goto(&format!("{}/todos/todo_a", app.base)).await;
    chrome.find("#comment-body").await.send_keys("Reviewed, see #todo_b and **merge**").await.unwrap();
    chrome.click(".comment-form button[type=submit]").await;
    chrome
        .until("the new comment", "return [...document.querySelectorAll('.comment')].some(c => c.textContent.includes('Reviewed'));")
        .await;
    assert!(
        chrome.exists(".comment strong").await && chrome.exists(".comment a.ref[href='/todos/todo_b']").await,
        "rendered markdown-lite"
    );
    let comments = app.get("/api/todos/todo_a/comments").await.body;
    let bodies: Vec<&str> = comments["comments"].as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap()).collect();
    assert_eq!(bodies[1..], ["From the drawer", "Reviewed, see #todo_b and **merge**"]);
    assert_eq!(chrome.js("return document.getElementById('comment-body').value;", vec![]).await, json!(""), "the form is cleared");

    // Stop the agent; the command is queued, and becomes delivered — live on the page — when
    // the agent's heartbeat picks it up.
    chrome.goto(&format!("{}/agents/ag-builder", app.base)).await;
    chrome.until("the live connection", "return document.getElementById('live-status').dataset.state === 'live';").await;
    chrome.click(".actions form:first-child button").await;
    chrome.until("the queued stop", "return [...document.querySelectorAll('.command')].some(c => c.textContent.includes('stop') && c.textContent.includes('queued'));").await;
    let beat = app.post("/api/agents/ag-builder/heartbeat", json!({})).await;
    assert_eq!(beat.body["commands"][0]["kind"], "stop", "{}", beat.body);
    chrome.until("the delivered stop", "return [...document.querySelectorAll('.command')].some(c => c.textContent.includes('stop') && c.textContent.includes('delivered'));").await;
    chrome.find("#agent-message").await.send_keys("use the staging database").await.unwrap();
    chrome.click(".send-message button").await;
    chrome
        .until(
            "the message command",
            "return [...document.querySelectorAll('.command')].some(c => c.textContent.includes('use the staging database'));",
        )
        .await;
    chrome.quit().await;
}

/// An agent's permission request answered from the approvals page: it shows live, the
/// answer with its message reaches the agent as its command, and the card moves to the answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_is_answered_from_the_page() {
    let Some(chrome) = Chrome::start(DESKTOP.0, DESKTOP.1).await else { return };
    let app = app().await;
    seed(&app).await;
    sign_in(&chrome, &app, Role::Admin).await;
    chrome.goto(&format!("{}/approvals", app.base)).await;
    chrome.until("the live connection", "return document.getElementById('live-status').dataset.state === 'live';").await;
    assert_eq!(chrome.js("return document.getElementById('approvals-badge').textContent.trim();", vec![]).await, json!("1 waiting"));
    // A request made now shows without a reload.
    let live = json!([{"id": "evt_live", "type": "permission.asked", "properties": {"id": "per_live", "sessionID": "ses_live",
        "permission": "edit", "patterns": ["../secrets/.env"], "metadata": {"filepath": "../secrets/.env"}}}]);
    app.post("/api/ingest/opencode", live).await;
    chrome.until("the new request", "return document.querySelector('#approvals-live').textContent.includes('../secrets/.env');").await;
    chrome.until("the header's count", "return document.getElementById('approvals-badge').textContent.trim() === '2 waiting';").await;

    let id = app.get("/api/approvals?agent=opencode-ses_deploy").await.body["approvals"][0]["id"].as_str().unwrap().to_string();
    let card = format!("li[data-approval='{id}']");
    chrome.find(&format!("{card} input[name=message]")).await.send_keys("staging only, please").await.unwrap();
    chrome.click(&format!("{card} button[value=once]")).await;
    chrome.until("the card among the answers", &format!("return !!document.querySelector(\"{card}.status-approved\");")).await;
    let approval = app.get(&format!("/api/approvals/{id}")).await.body["approval"].clone();
    assert_eq!((approval["status"].as_str(), approval["decision"].as_str()), (Some("approved"), Some("once")), "{approval}");
    assert_eq!(approval["message"], "staging only, please");
    assert!(approval["decided_by"].as_str().is_some_and(|b| !b.is_empty() && !b.starts_with("link:")), "{approval}");
    let queued = app.get("/api/agents/opencode-ses_deploy/commands?status=queued").await.body;
    assert!(queued.to_string().contains("per_wait"), "the agent's permission command: {queued}");
    chrome.screenshot(&screenshots(), "approvals-answered-dark-desktop").await;

    // The waiting request on its agent's page, answerable there too.
    chrome.goto(&format!("{}/agents/opencode-ses_live", app.base)).await;
    chrome.find("#agent-approvals li[data-approval] button[value=reject]").await;
    chrome.screenshot(&screenshots(), "agent-approval-dark-desktop").await;
    // A notification's decision link: the request and the buttons, nothing decided by opening it.
    let live = app.get("/api/approvals?agent=opencode-ses_live").await.body["approvals"][0].clone();
    let approval: ocd::domain::approvals::Approval =
        ocd::db::approvals::get(&app.app.db.read, live["id"].as_str().unwrap()).await.unwrap().unwrap();
    let token =
        app.app.db.write(move |c| Box::pin(async move { ocd::service::approval_links::issue(c, &approval, "phone").await })).await.unwrap();
    chrome.goto(&format!("{}/approvals/decide/{token}?decision=reject", app.base)).await;
    chrome.find(".approval-answer button[value=reject]").await;
    assert_eq!(app.get(&format!("/api/approvals/{}", live["id"].as_str().unwrap())).await.body["approval"]["status"], "pending");
    chrome.screenshot(&screenshots(), "approval-link-dark-desktop").await;
    chrome.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_get_no_controls_and_phones_no_sideways_scrolling() {
    let Some(chrome) = Chrome::start(360, 780).await else { return };
    let app = app().await;
    seed(&app).await;
    sign_in(&chrome, &app, Role::Viewer).await;
    for path in [
        "/?project=web",
        "/todos/todo_a",
        "/messages",
        "/agents",
        "/agents/ag-builder",
        "/analytics?project=web",
        "/sprints?project=web",
        "/approvals",
    ] {
        chrome.goto(&format!("{}{path}", app.base)).await;
        chrome.find("main").await;
        for control in [
            "[draggable=true]",
            ".card-menu",
            "#new-ticket",
            ".actions",
            ".comment-form",
            ".message-action",
            "details.edit",
            ".approval-answer",
        ] {
            assert!(!chrome.exists(control).await, "{path}: a viewer sees {control}");
        }
        let sideways = chrome.js("return document.documentElement.scrollWidth - document.documentElement.clientWidth;", vec![]).await;
        assert_eq!(sideways, json!(0), "{path} scrolls sideways at 360 px");
    }
    chrome.quit().await;
}

/// Every page in both themes, desktop and phone: AA contrast everywhere, and the
/// screenshots the README shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_has_readable_contrast_in_both_themes() {
    let shots = screenshots();
    let app = app().await;
    seed(&app).await;
    let pages = [
        ("board", "/?project=web"),
        ("ticket", "/todos/todo_a"),
        ("messages", "/messages"),
        ("agents", "/agents"),
        ("agent", "/agents/ag-builder"),
        ("analytics", "/analytics?project=web"),
        ("sprints", "/sprints?project=web"),
        ("approvals", "/approvals"),
    ];
    for (device, (width, height)) in [("desktop", DESKTOP), ("phone", PHONE)] {
        let Some(chrome) = Chrome::start(width, height).await else { return };
        chrome.goto(&format!("{}/login", app.base)).await;
        chrome.find(".plain-card").await;
        chrome.screenshot(&shots, &format!("login-{device}")).await;
        sign_in(&chrome, &app, Role::Admin).await;
        for theme in ["dark", "light"] {
            chrome.set_theme(theme).await;
            for (name, path) in pages {
                chrome.goto(&format!("{}{path}", app.base)).await;
                chrome.find("main").await;
                assert_eq!(chrome.js("return document.documentElement.dataset.theme;", vec![]).await, json!(theme));
                chrome.assert_readable(&format!("{name} ({theme}, {device})")).await;
                chrome.screenshot(&shots, &format!("{name}-{theme}-{device}")).await;
                if name == "analytics" {
                    // The distributions further down the page.
                    chrome.js("document.getElementById('chart-status').scrollIntoView(); return true;", vec![]).await;
                    chrome.screenshot(&shots, &format!("{name}-lower-{theme}-{device}")).await;
                }
            }
        }
        chrome.quit().await;
    }
}

/// The stream is cut (the server is killed and started again on the same port): the page
/// says so, keeps showing data by polling, and is live again once the server is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_stream_recovers() {
    let Some(chrome) = Chrome::start(DESKTOP.0, DESKTOP.1).await else { return };
    let dir = temp_dir();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let env = [("PORT", port.as_str()), ("DISABLE_AUTH", "true"), ("DASHBOARD_API_KEY", "cut-stream-key")];
    let mut ocd = OcdProcess::start(&dir, &env);
    let client = crate::harness::client();
    let post = |base: String, id: &'static str| {
        let client = client.clone();
        async move {
            let r =
                client.post(format!("{base}/api/todos")).bearer_auth("cut-stream-key").json(&json!({"id": id, "content": id})).send().await;
            assert_eq!(r.expect("post").status(), StatusCode::OK);
        }
    };
    chrome.goto(&format!("{}/", ocd.base)).await;
    chrome.until("live", "return document.getElementById('live-status').dataset.state === 'live';").await;
    post(ocd.base.clone(), "before_cut").await;
    chrome.find(".card[data-id=before_cut]").await;

    ocd.kill9();
    chrome
        .until("the page noticing", "return ['reconnecting', 'polling'].includes(document.getElementById('live-status').dataset.state);")
        .await;
    let ocd = OcdProcess::start(&dir, &env);
    post(ocd.base.clone(), "after_restart").await;
    chrome.find(".card[data-id=after_restart]").await;
    chrome.until("live again", "return document.getElementById('live-status').dataset.state === 'live';").await;
    post(ocd.base.clone(), "once_live").await;
    chrome.find(".card[data-id=once_live]").await;
    chrome.quit().await;
    drop(ocd);
    let _ = std::fs::remove_dir_all(dir);
}

/// Behind a reverse proxy at /ocd: links, assets, forms and the stream all carry the prefix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_works_below_a_base_path() {
    let Some(chrome) = Chrome::start(DESKTOP.0, DESKTOP.1).await else { return };
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.base_path = "/ocd".into()).await.expect("app");
    assert!(app.base.ends_with("/ocd"), "{}", app.base);
    app.post("/api/todos", json!({"id": "todo_here", "content": "Below a base path", "status": "pending"})).await;
    let link = login_link(&app, LinkFor::NewUser(Role::Admin)).await;
    chrome.goto(&format!("{}{link}", app.base)).await;
    chrome.click("button[type=submit]").await;
    chrome.find(".card[data-id=todo_here]").await;
    let styled = chrome.js("return getComputedStyle(document.body).backgroundColor !== 'rgba(0, 0, 0, 0)';", vec![]).await;
    assert_eq!(styled, json!(true), "the stylesheet loaded from below the base path");
    let outside: Value = chrome
        .js("return [...document.querySelectorAll('a[href^=\"/\"], form[action^=\"/\"], link[href^=\"/\"], script[src^=\"/\"]')].map(e => e.getAttribute('href') || e.getAttribute('action') || e.getAttribute('src')).filter(u => !u.startsWith('/ocd/') && u !== '/ocd');", vec![])
        .await;
    assert_eq!(outside, json!([]), "every link, form and asset stays below /ocd");
    chrome.until("live", "return document.getElementById('live-status').dataset.state === 'live';").await;
    app.post("/api/todos", json!({"id": "todo_live", "content": "Arrives live", "status": "pending"})).await;
    chrome.find(".card[data-id=todo_live]").await;
    chrome.click(".card[data-id=todo_here] .card-menu summary").await;
    chrome.click(".card[data-id=todo_here] .card-menu button[value=completed]").await;
    chrome.until("the move", "return !!document.querySelector('.column[data-status=completed] .card[data-id=todo_here]');").await;
    api_shows(&app, "todo_here", "completed", "the move did not reach the API below /ocd").await;
    chrome.quit().await;
}

/// A burst of 500 events in about a second: the board ends equal to the API's state, having
/// asked for its live region only a few times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_events_costs_a_few_fragment_requests() {
    let Some(chrome) = Chrome::start(DESKTOP.0, DESKTOP.1).await else { return };
    let app = app().await;
    seed(&app).await;
    sign_in(&chrome, &app, Role::Admin).await;
    chrome.goto(&format!("{}/?project=web", app.base)).await;
    chrome.until("live", "return document.getElementById('live-status').dataset.state === 'live';").await;
    let count_fragments = "window.fragments = 0; const real = window.fetch; \
        window.fetch = (...args) => { if (String(args[0]).includes('fragment=1')) window.fragments += 1; return real(...args); };";
    chrome.js(count_fragments, vec![]).await;

    // 500 todo events: ten batches of 25 todos each created and then moved, sent together.
    let started = std::time::Instant::now();
    let batches = (0..10).map(|b| {
        let todos: Vec<Value> = (0..25)
            .flat_map(|i| {
                let id = format!("burst_{b}_{i}");
                [
                    json!({"id": id, "content": id, "project": "web"}),
                    json!({"id": id, "status": if i % 2 == 0 { "completed" } else { "in_progress" }}),
                ]
            })
            .collect();
        app.put("/api/todos", json!({ "todos": todos }))
    });
    for reply in futures_util::future::join_all(batches).await {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let burst = started.elapsed();

    let api = app.get("/api/todos?project=web&top_level=true").await.body;
    let mut expected: Vec<(String, String)> =
        api["todos"].as_array().unwrap().iter().map(|t| (t["id"].as_str().unwrap().into(), t["status"].as_str().unwrap().into())).collect();
    expected.sort();
    assert_eq!(expected.len(), 256, "250 burst todos and the seeded top-level ones");
    let on_page = "return [...document.querySelectorAll('.card')].map(c => [c.dataset.id, c.closest('.column').dataset.status]).sort();";
    let deadline = std::time::Instant::now() + crate::chrome::PATIENCE;
    loop {
        let shown: Vec<(String, String)> = serde_json::from_value(chrome.js(on_page, vec![]).await).unwrap();
        let mut shown = shown;
        shown.sort();
        if shown == expected {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the board never matched the API ({} cards shown)", shown.len());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let fragments = chrome.js("return window.fragments;", vec![]).await.as_u64().unwrap();
    eprintln!("burst of 500 events in {burst:?}: {fragments} fragment requests");
    assert!(fragments <= 10, "{fragments} fragment requests for one burst");
    assert!(fragments >= 1);
    chrome.quit().await;
}

/// The keyboard shortcuts: `?` shows them, `g m` / `g a` / `g b` go to the pages, `n` opens
/// the new-ticket dialog, `/` goes to the search box.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyboard_shortcuts_move_around() {
    let Some(chrome) = Chrome::start(DESKTOP.0, DESKTOP.1).await else { return };
    let app = app().await;
    seed(&app).await;
    sign_in(&chrome, &app, Role::Admin).await;
    let press = |keys: &'static str| {
        format!(
            "for (const key of {keys:?}.split(' ')) document.body.dispatchEvent(new KeyboardEvent('keydown', {{ key, bubbles: true }}));"
        )
    };
    chrome.js(&press("?"), vec![]).await;
    chrome.until("the shortcuts overlay", "return !document.getElementById('shortcuts').hidden;").await;
    chrome.js(&press("Escape"), vec![]).await;
    chrome.until("the overlay closed", "return document.getElementById('shortcuts').hidden;").await;
    chrome.js(&press("n"), vec![]).await;
    chrome
        .until("the new-ticket dialog", "return document.getElementById('new-ticket').open && document.activeElement.name === 'name';")
        .await;
    chrome.js(&press("Escape"), vec![]).await;
    chrome.js(&press("/"), vec![]).await;
    chrome.until("the search box focused", "return document.activeElement.id === 'search';").await;
    chrome.js("document.activeElement.blur();", vec![]).await;
    chrome.js(&press("g m"), vec![]).await;
    chrome.find("body[data-live=messages]").await;
    chrome.js(&press("g a"), vec![]).await;
    chrome.find("body[data-live=agents]").await;
    chrome.js(&press("g s"), vec![]).await;
    chrome.find(".settings-tabs").await;
    chrome.js(&press("g b"), vec![]).await;
    chrome.find("body[data-live=board]").await;
    chrome.quit().await;
}

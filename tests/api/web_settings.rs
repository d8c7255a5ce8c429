//! The settings pages, the installable app and sprints in a real Chromium (issue 16): each
//! settings form saves through the API and shows the API's refusal next to it; a new key and
//! an invite link are shown once; the integrations page fills a new key into its snippets;
//! the service worker registers and caches the shell; a push subscription made on the page
//! reaches the server (with a stand-in for the browser's push service, which headless
//! Chromium cannot reach offline) and a push message becomes a notification; a sprint made on the page shows its velocity and burndown
//! change as its tasks are completed; analytics charts drawn and their CSV downloads
//! matching the API. Screenshots of every settings page in both themes.

use ocd::auth::links::LinkFor;
use ocd::auth::principal::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth_helpers::{login_link, signed_in};
use crate::browser::Browser;
use crate::channels::BrowserKeys;
use crate::chrome::Chrome;
use crate::fake_github::FakeGitHub;
use crate::fake_receiver::FakeReceiver;
use crate::harness::{Backend, TestApp};
use crate::web_browser::{DESKTOP, PHONE, app, screenshots, seed, sign_in};

const SETTINGS_PAGES: [(&str, &str); 7] = [
    ("settings-account", "/settings"),
    ("settings-team", "/settings/team"),
    ("settings-projects", "/settings/projects"),
    ("settings-keys", "/settings/keys"),
    ("settings-alerts", "/settings/alerts"),
    ("settings-channels", "/settings/channels"),
    ("settings-integrations", "/settings/integrations"),
];

/// Sets the fields of the form matching `form` (by name) the way typing would.
const FILL: &str = r#"
const [css, fields] = arguments;
const form = document.querySelector(css);
for (const [name, value] of Object.entries(fields)) {
  const field = form.elements.namedItem(name);
  if (field.type === 'checkbox') field.checked = value === true;
  else field.value = value;
  field.dispatchEvent(new Event('change', { bubbles: true }));
}
return true;
"#;

async fn fill(chrome: &Chrome, form: &str, fields: Value) {
    chrome.js(FILL, vec![json!(form), fields]).await;
}

/// Submits `form` with its own button and waits for the page to reload (the change saved).
async fn save(chrome: &Chrome, form: &str) {
    chrome.js("window.beforeSave = true; return true;", vec![]).await;
    chrome.js("document.querySelector(arguments[0]).querySelector('button[type=submit]').click(); return true;", vec![json!(form)]).await;
    chrome.until(&format!("{form} saved"), "return window.beforeSave === undefined && document.readyState === 'complete';").await;
}

/// Submits `form` and returns the refusal it shows.
async fn refused(chrome: &Chrome, form: &str) -> String {
    chrome.js("document.querySelector(arguments[0]).querySelector('button[type=submit]').click(); return true;", vec![json!(form)]).await;
    let shown = format!("const e = document.querySelector({}); return !!e && !e.hidden;", json!(format!("{form} .form-error")));
    chrome.until(&format!("{form} refused"), &shown).await;
    chrome
        .js("return document.querySelector(arguments[0] + ' .form-error').textContent;", vec![json!(form)])
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn text(chrome: &Chrome, css: &str) -> String {
    chrome
        .js("return document.querySelector(arguments[0])?.textContent ?? '';", vec![json!(css)])
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Things to show on the pages (made by an owner, as keys and people are an owner's in
/// person): a webhook channel with a delivery, a key.
async fn seed_settings(app: &TestApp, receiver: &FakeReceiver) {
    let mut owner = signed_in(app, Role::Owner).await;
    let channel =
        json!({"type": "webhook", "name": "ops webhook", "config": {"url": format!("{}/hook", receiver.url), "secret": "whsec_seed"}});
    let channel = owner.go(Method::POST, "/api/settings/channels", Some(&channel)).await;
    assert_eq!(channel.status, StatusCode::CREATED, "{}", channel.body);
    let id = channel.body["channel"]["id"].as_str().unwrap_or_default().to_string();
    owner.go(Method::POST, &format!("/api/settings/channels/{id}/test"), Some(&json!({}))).await;
    let key = json!({"name": "laptop opencode", "role": "admin", "project": "web", "expires_in_days": 30});
    assert_eq!(owner.go(Method::POST, "/api/settings/api-keys", Some(&key)).await.status, StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_pages_read_well_in_both_themes_and_on_phones() {
    let shots = screenshots();
    let app = app().await;
    let receiver = FakeReceiver::start().await;
    seed(&app).await;
    seed_settings(&app, &receiver).await;
    for (device, (width, height)) in [("desktop", DESKTOP), ("phone", PHONE)] {
        let Some(chrome) = Chrome::start(width, height).await else { return };
        sign_in(&chrome, &app, Role::Owner).await;
        for theme in ["dark", "light"] {
            chrome.set_theme(theme).await;
            for (name, path) in SETTINGS_PAGES {
                chrome.goto(&format!("{}{path}", app.base)).await;
                chrome.find(".settings-tabs a[aria-current=page]").await;
                chrome.assert_readable(&format!("{name} ({theme}, {device})")).await;
                let sideways = chrome.js("return document.documentElement.scrollWidth > window.innerWidth;", vec![]).await;
                assert_eq!(sideways, json!(false), "{name} ({theme}, {device}) scrolls sideways");
                chrome.screenshot(&shots, &format!("{name}-{theme}-{device}")).await;
            }
        }
        chrome.quit().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_see_only_their_own_settings() {
    let Some(chrome) = Chrome::start(DESKTOP.0, DESKTOP.1).await else { return };
    let app = app().await;
    sign_in(&chrome, &app, Role::Viewer).await;
    chrome.goto(&format!("{}/settings", app.base)).await;
    let tabs = chrome.js("return [...document.querySelectorAll('.settings-tabs a')].map(a => a.textContent);", vec![]).await;
    assert_eq!(tabs, json!(["Account", "Projects"]));
    assert!(!chrome.exists("form[data-api='/api/settings/projects']").await, "viewers get no project form");
    chrome.goto(&format!("{}/settings/keys", app.base)).await;
    assert!(text(&chrome, "main").await.contains("Forbidden"), "{}", text(&chrome, "main").await);
    chrome.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_settings_form_saves_and_shows_refusals() {
    let Some(chrome) = Chrome::start(DESKTOP.0, DESKTOP.1).await else { return };
    // Adding a member looks the GitHub user up (no GitHub sign-in needed for that).
    let github = FakeGitHub::start().await;
    github.account(7, "octocat", Some("The Octocat"));
    let api = github.url.clone();
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.github_api_url = api).await.expect("sqlite app");
    let receiver = FakeReceiver::start().await;
    app.post("/api/todos", json!({"id": "t1", "content": "x", "project": "web"})).await;
    sign_in(&chrome, &app, Role::Owner).await;
    // Reads the team through the API as another owner (people are an owner's in person).
    let mut owner = signed_in(&app, Role::Owner).await;
    let go = |path: &str| format!("{}{path}", app.base);

    // Projects: create, a taken id refused, rename and recolour.
    chrome.goto(&go("/settings/projects")).await;
    let new_project = "form[data-api='/api/settings/projects']";
    fill(&chrome, new_project, json!({"name": "Mobile app", "color": "#22aa55"})).await;
    save(&chrome, new_project).await;
    let projects = app.get("/api/settings/projects").await.body;
    let mobile = projects["projects"].as_array().unwrap().iter().find(|p| p["id"] == "mobile-app").cloned().unwrap_or_default();
    assert_eq!((mobile["name"].as_str(), mobile["color"].as_str()), (Some("Mobile app"), Some("#22aa55")), "{projects}");
    fill(&chrome, new_project, json!({"name": "Web again", "id": "web"})).await;
    assert!(refused(&chrome, new_project).await.contains("already exists"));
    let web = "form[data-api='/api/settings/projects/web']";
    fill(&chrome, web, json!({"name": "Website"})).await;
    save(&chrome, web).await;
    assert_eq!(chrome.js("return document.querySelector('#project-web input[name=name]').value;", vec![]).await, json!("Website"));

    // API keys: shown once, works, revoked.
    chrome.goto(&go("/settings/keys")).await;
    let new_key = "form[data-api='/api/settings/api-keys']";
    fill(&chrome, new_key, json!({"name": "ci reader", "role": "viewer"})).await;
    chrome
        .js("document.querySelector(arguments[0]).querySelector('button[type=submit]').click(); return true;", vec![json!(new_key)])
        .await;
    chrome.until("the new key", "return !document.querySelector('[data-key-result]').hidden;").await;
    let token = text(&chrome, "[data-key-result] code").await;
    let as_key = app.request(reqwest::Method::GET, "/api/todos", None, Some(&token)).await;
    assert_eq!(as_key.status, StatusCode::OK, "the key shown works");
    chrome.goto(&go("/settings/keys")).await;
    assert!(text(&chrome, ".settings-list").await.contains("ci reader"));
    assert!(!text(&chrome, "main").await.contains(&token), "a key is shown once");
    chrome.click(".settings-list li details.confirm summary").await;
    save(&chrome, ".settings-list li details.confirm form").await;
    assert_eq!(app.request(reqwest::Method::GET, "/api/todos", None, Some(&token)).await.status, StatusCode::UNAUTHORIZED);

    // Team: add by GitHub username, change the role, an invite link to copy, remove.
    chrome.goto(&go("/settings/team")).await;
    let add = "form[data-api='/api/settings/team/invite']:not([data-then])";
    fill(&chrome, add, json!({"github_username": "   "})).await;
    assert!(refused(&chrome, add).await.contains("github_username"));
    fill(&chrome, add, json!({"github_username": "octocat", "role": "viewer"})).await;
    save(&chrome, add).await;
    let team = owner.get("/api/settings/team").await.body;
    let octocat = team["users"].as_array().unwrap().iter().find(|u| u["username"] == "octocat").cloned().unwrap_or_default();
    let id = octocat["id"].as_i64().unwrap_or_default();
    let role_form = format!("form[data-api='/api/settings/team/{id}'][data-method=PATCH]");
    fill(&chrome, &role_form, json!({"role": "admin"})).await;
    save(&chrome, &role_form).await;
    let team = owner.get("/api/settings/team").await.body;
    assert!(team["users"].as_array().unwrap().iter().any(|u| u["username"] == "octocat" && u["role"] == "admin"), "{team}");
    let invite = "form[data-then=invite]";
    fill(&chrome, invite, json!({"role": "viewer", "expires_in_hours": "48"})).await;
    chrome.js("document.querySelector(arguments[0]).querySelector('button[type=submit]').click(); return true;", vec![json!(invite)]).await;
    chrome.until("the invite link", "return !document.querySelector('[data-invite-result]').hidden;").await;
    let link = text(&chrome, "[data-invite-result] code").await;
    assert!(link.starts_with(&format!("{}/invite/", app.base)), "{link}");
    let invite_id = link.rsplit('/').next().unwrap_or_default();
    assert_eq!(app.get(&format!("/api/settings/invite/{invite_id}")).await.body["invite"]["role"], "viewer");
    chrome.click(&format!("#member-{id} details.confirm summary")).await;
    save(&chrome, &format!("#member-{id} details.confirm form")).await;
    assert!(!text(&chrome, "main").await.contains("octocat"));

    // Alerts: a rule's delay in minutes; the sleep schedule refuses a zone that does not exist.
    chrome.goto(&go("/settings/alerts")).await;
    let rule = "form[data-api='/api/settings/alerts/blocked-medium']";
    fill(&chrome, rule, json!({"delay_ms": "5", "channel": "push", "enabled": false})).await;
    save(&chrome, rule).await;
    let got = app.get("/api/settings/alerts/blocked-medium").await.body;
    assert_eq!(
        (got["rule"]["delay_ms"].as_i64(), got["rule"]["channel"].as_str(), got["rule"]["enabled"].as_i64()),
        (Some(300_000), Some("push"), Some(0))
    );
    let sleep = "form[data-api='/api/settings/sleep-schedule']";
    fill(&chrome, sleep, json!({"timezone": "Mars/Olympus_Mons"})).await;
    let refusal = refused(&chrome, sleep).await;
    assert!(refusal.contains("timezone"), "{refusal}");
    let invalid = chrome
        .js("return document.querySelector(arguments[0] + ' [name=timezone]').getAttribute('aria-invalid');", vec![json!(sleep)])
        .await;
    assert_eq!(invalid, json!("true"), "the field is marked");
    fill(&chrome, sleep, json!({"timezone": "Europe/Berlin", "startHour": "1", "endHour": "7", "enabled": true})).await;
    save(&chrome, sleep).await;
    let schedule = app.get("/api/settings/sleep-schedule").await.body["schedule"].clone();
    assert_eq!(schedule, json!({"startHour": 1, "endHour": 7, "timezone": "Europe/Berlin", "enabled": true}));

    // Channels: a server that is not a web address refused; a webhook added, tested, and its delivery in the log.
    chrome.goto(&go("/settings/channels")).await;
    let channel = "form[data-channel-form]";
    fill(&chrome, channel, json!({"type": "ntfy", "name": "phone", "config.server": "ftp://ntfy.example", "config.topic": "alerts"})).await;
    assert!(refused(&chrome, channel).await.contains("config.server must be an http:// or https:// URL"));
    fill(&chrome, channel, json!({"type": "webhook", "name": "receiver", "config.url": format!("{}/from-page", receiver.url)})).await;
    assert_eq!(chrome.js("return document.querySelector('[name=\"config.topic\"]').closest('label').hidden;", vec![]).await, json!(true));
    save(&chrome, channel).await;
    assert!(text(&chrome, ".settings-list").await.contains("receiver"));
    save(&chrome, ".settings-list li form[data-then=test]").await;
    chrome.until("the test's result", "return [...document.querySelectorAll('.toast')].some(t => t.textContent === 'Test sent.');").await;
    assert_eq!(receiver.received_at("/from-page").len(), 1, "the test reached the receiver");
    assert!(text(&chrome, "table.log").await.contains("delivered"));

    // Integrations: a key made here is filled into every snippet, and works.
    chrome.goto(&go("/settings/integrations")).await;
    chrome.click("form[data-then=integration-key] button[type=submit]").await;
    chrome.until("the key in the snippets", "return !document.querySelector('[data-key-filled]').hidden;").await;
    let snippets = chrome.js("return [...document.querySelectorAll('[data-snippet]')].map(s => s.textContent);", vec![]).await;
    let snippets: Vec<String> = snippets.as_array().unwrap().iter().map(|s| s.as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(snippets.len(), 5);
    let token = snippets[0].split("--key ").nth(1).and_then(|rest| rest.split_whitespace().next()).unwrap_or_default().to_string();
    assert!(snippets.iter().all(|s| s.contains(&token) && !s.contains("YOUR_OCD_KEY") && s.contains(&app.base)), "{snippets:?}");
    assert_eq!(app.request(reqwest::Method::GET, "/api/todos", None, Some(&token)).await.status, StatusCode::OK);

    // Account: the same person signed in on another browser, signed out from here.
    let me = chrome.js("return fetch('/api/auth/verify').then(r => r.json()).then(j => j.user.username);", vec![]).await;
    let link = login_link(&app, LinkFor::Existing(me.as_str().unwrap_or_default())).await;
    let mut laptop = Browser::new(&app);
    assert_eq!(laptop.go(Method::POST, &link, None).await.status, StatusCode::SEE_OTHER);
    assert_eq!(laptop.get("/api/auth/sessions").await.status, StatusCode::OK);
    chrome.goto(&go("/settings")).await;
    assert_eq!(chrome.js("return document.querySelectorAll('.settings-list li').length;", vec![]).await, json!(2));
    let other = ".settings-list li:not(:has(.badge)) form";
    save(&chrome, other).await;
    assert_eq!(laptop.get("/api/auth/sessions").await.status, StatusCode::UNAUTHORIZED, "that browser is signed out");
    assert_eq!(chrome.js("return document.querySelectorAll('.settings-list li').length;", vec![]).await, json!(1));
    chrome.quit().await;
}

/// Stands in for the browser's push service: `subscribe` answers with `subscription` (what a
/// real one would give, with an endpoint on the test's receiver) instead of calling Google's.
const FAKE_PUSH_SERVICE: &str = r#"
const subscription = arguments[0];
let current = null;
const fake = { endpoint: subscription.endpoint, toJSON: () => subscription, unsubscribe: async () => { current = null; return true; } };
PushManager.prototype.subscribe = async function () { current = fake; return fake; };
PushManager.prototype.getSubscription = async function () { return current; };
Notification.requestPermission = async () => 'granted';
return true;
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_installs_and_a_push_subscription_reaches_the_server() {
    let Some(chrome) = Chrome::start(DESKTOP.0, DESKTOP.1).await else { return };
    let app = app().await;
    let push = FakeReceiver::start().await;
    sign_in(&chrome, &app, Role::Viewer).await;

    // Installable: a manifest with icons; the worker takes control and caches the shell.
    let manifest = chrome.js("return fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json());", vec![]).await;
    assert_eq!((manifest["display"].as_str(), manifest["start_url"].as_str()), (Some("standalone"), Some("/")));
    for icon in manifest["icons"].as_array().unwrap() {
        let status = chrome.js("return fetch(arguments[0]).then(r => r.status);", vec![icon["src"].clone()]).await;
        assert_eq!(status, json!(200), "{icon}");
    }
    chrome.until("the service worker in control", "return !!navigator.serviceWorker.controller;").await;
    let cached = chrome
        .js("return caches.keys().then(k => Promise.all(k.map(n => caches.open(n).then(c => c.keys())))).then(l => l.flat().map(r => r.url));", vec![])
        .await;
    let cached = cached.to_string();
    assert!(cached.contains("/static/app.") && cached.contains("/static/icon-192."), "{cached}");

    // Turning push on sends this browser's subscription; off removes it.
    chrome.goto(&format!("{}/settings", app.base)).await;
    chrome.until("the push control", "return !document.querySelector('[data-push-toggle]').hidden;").await;
    let keys = BrowserKeys::new();
    let subscription = keys.subscription(&format!("{}/push/browser-1", push.url));
    chrome.js(FAKE_PUSH_SERVICE, vec![subscription]).await;
    assert_eq!(text(&chrome, "[data-push-toggle]").await, "Turn on");
    chrome.click("[data-push-toggle]").await;
    chrome.until("push on", "return document.querySelector('[data-push]').dataset.subscribed === 'yes';").await;
    let channels = app.get("/api/settings/channels").await.body;
    let browser = channels["channels"].as_array().unwrap().iter().find(|c| c["type"] == "web_push").cloned().unwrap_or_default();
    assert!(browser["user_id"].is_i64(), "the subscription belongs to the person: {channels}");
    let id = browser["id"].as_str().unwrap_or_default();
    let mut owner = signed_in(&app, Role::Owner).await;
    let test = owner.go(Method::POST, &format!("/api/settings/channels/{id}/test"), Some(&json!({}))).await;
    assert_eq!(test.body["ok"], true, "{}", test.body);
    assert_eq!(push.received_at("/push/browser-1").len(), 1, "a push went to the browser's endpoint");

    // A push message becomes a notification with its title, text and link (delivered through
    // the DevTools protocol, as a push service would; the worker is this profile's first).
    let origin = app.base.clone();
    chrome.cdp("Browser.grantPermissions", json!({"permissions": ["notifications"], "origin": origin})).await.expect("grant");
    let message =
        json!({"title": "builder is blocked", "body": "Run rm -rf build/?", "url": format!("{origin}/agents/ag-1"), "tag": "alert-1"});
    chrome.cdp("ServiceWorker.enable", json!({})).await.expect("enable");
    let shown =
        "return navigator.serviceWorker.ready.then(r => r.getNotifications()).then(n => n.map(x => [x.title, x.body, x.tag, x.data.url]));";
    // A delivery made while the worker is still starting is sometimes dropped by the
    // browser: it is sent again until one shows (the tag makes a repeat replace the first).
    let deadline = std::time::Instant::now() + crate::chrome::PATIENCE;
    while chrome.js(shown, vec![]).await == json!([]) {
        assert!(std::time::Instant::now() < deadline, "no notification shown");
        let push = json!({"origin": origin, "registrationId": "0", "data": message.to_string()});
        chrome.cdp("ServiceWorker.deliverPushMessage", push).await.expect("push");
        chrome.until("a moment", "return new Promise(done => setTimeout(() => done(true), 200));").await;
    }
    let notifications = chrome.js(shown, vec![]).await;
    assert_eq!(notifications, json!([["builder is blocked", "Run rm -rf build/?", "alert-1", format!("{origin}/agents/ag-1")]]));

    chrome.click("[data-push-toggle]").await;
    chrome.until("push off", "return document.querySelector('[data-push]').dataset.subscribed === 'no';").await;
    let channels = app.get("/api/settings/channels").await.body;
    assert!(!channels.to_string().contains("web_push"), "{channels}");
    chrome.quit().await;
}

/// The number chart `chart` shows for `series` on `label` (its hover title says "label: n series").
const CHART_VALUE: &str = r#"
const [chart, label, series] = arguments;
const svg = document.getElementById(`${chart}-title`).closest('svg');
for (const title of svg.querySelectorAll('rect > title, circle > title')) {
  const [head, rest] = title.textContent.split(': ');
  if (head === label && rest.endsWith(' ' + series)) return Number(rest.split(' ')[0]);
}
return null;
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sprint_made_on_the_page_burns_down_as_tasks_complete() {
    let Some(chrome) = Chrome::start(DESKTOP.0, DESKTOP.1).await else { return };
    let app = app().await;
    // Points come from priority: medium 3, high 5.
    for (id, priority) in [("s1", "medium"), ("s2", "high")] {
        app.post("/api/todos", json!({"id": id, "content": id, "project": "web", "priority": priority})).await;
    }
    sign_in(&chrome, &app, Role::Admin).await;
    chrome.goto(&format!("{}/sprints?project=web", app.base)).await;
    chrome.click(".new-sprint > summary").await;
    let today = ocd::domain::calendar::date_label(ocd::clock::Clock::now(app.clock.as_ref()));
    let end = ocd::domain::calendar::date_label(ocd::clock::Clock::now(app.clock.as_ref()) + 6 * 86_400);
    fill(&chrome, ".new-sprint form", json!({"name": "Sprint 1", "start": today, "end": end, "status": "active"})).await;
    chrome.click(".new-sprint form button[type=submit]").await;
    chrome.find(".sprint-card").await;
    // The sprint is offered in the header and the tickets join it from their pages.
    let sprint = app.get("/api/sprints?project=web").await.body["sprints"][0]["id"].as_str().unwrap_or_default().to_string();
    assert!(chrome.exists(&format!("#sprint-picker option[value='{sprint}']")).await, "the header offers the sprint");
    for id in ["s1", "s2"] {
        chrome.goto(&format!("{}/todos/{id}", app.base)).await;
        let add = "form:has(select[name=sprint_id])";
        fill(&chrome, add, json!({"sprint_id": sprint})).await;
        chrome.js("document.querySelector(arguments[0]).requestSubmit(); return true;", vec![json!(add)]).await;
        chrome.until("the ticket in the sprint", "return document.body.innerText.includes('Sprint 1');").await;
    }
    chrome.goto(&format!("{}/sprints?project=web", app.base)).await;
    assert!(text(&chrome, ".sprint-card").await.contains("0 of 8 points done"));
    let remaining = chrome.js(CHART_VALUE, vec![json!("burndown"), json!(today), json!("remaining")]).await;
    assert_eq!(remaining.as_f64(), Some(8.0));
    // An agent completes one task: the velocity and today's remaining points follow.
    app.post("/api/todos", json!({"id": "s2", "status": "completed"})).await;
    chrome.goto(&format!("{}/sprints?project=web", app.base)).await;
    assert!(text(&chrome, ".sprint-card").await.contains("5 of 8 points done"));
    assert_eq!(chrome.js(CHART_VALUE, vec![json!("burndown"), json!(today), json!("remaining")]).await.as_f64(), Some(3.0));
    assert_eq!(chrome.js(CHART_VALUE, vec![json!("velocity"), json!("Sprint 1"), json!("completed_points")]).await.as_f64(), Some(5.0));
    // The header's picker filters the board to the sprint.
    chrome.goto(&format!("{}/?project=web", app.base)).await;
    fill(&chrome, ".sprint-picker", json!({"sprint": sprint})).await;
    chrome.until("the board filtered to the sprint", &format!("return location.search.includes('sprint={sprint}');")).await;
    chrome.quit().await;
}

/// Each chart's CSV link, fetched as the browser would download it, and the API's figures.
const CSV_AND_API: &str = r#"
const link = document.querySelector('a[href*="chart=throughput"]');
return Promise.all([fetch(link.href).then(r => r.text()), fetch(arguments[0]).then(r => r.json())]);
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_charts_render_and_their_csv_matches_the_api() {
    let Some(chrome) = Chrome::start(DESKTOP.0, DESKTOP.1).await else { return };
    let app = app().await;
    seed(&app).await;
    sign_in(&chrome, &app, Role::Viewer).await;
    // The page's period (whole UTC days) and the same seconds asked of the API.
    let now = ocd::clock::Clock::now(app.clock.as_ref());
    let (first, last) = (ocd::domain::calendar::day_start(now) - 13 * 86_400, ocd::domain::calendar::day_start(now) + 86_399);
    let (from, to) = (ocd::domain::calendar::date_label(first), ocd::domain::calendar::date_label(last));
    chrome.goto(&format!("{}/analytics?project=web&from={from}&to={to}", app.base)).await;
    let charts = chrome.js("return document.querySelectorAll('svg.chart[role=img]').length;", vec![]).await;
    assert!(charts.as_i64().unwrap_or_default() >= 6, "the seeded charts are drawn: {charts}");
    let without_csv = chrome
        .js("return [...document.querySelectorAll('.chart-card')].filter(c => !c.querySelector('a[download]')).length;", vec![])
        .await;
    assert_eq!(without_csv, json!(0), "each chart has its CSV");
    let drawn = chrome
        .js("return [...document.querySelectorAll('svg.chart rect.bar')].some(r => r.getBoundingClientRect().height > 0);", vec![])
        .await;
    assert_eq!(drawn, json!(true), "bars have a size on screen");
    let api = format!("/api/analytics?project=web&start={first}&end={last}");
    let got = chrome.js(CSV_AND_API, vec![json!(api)]).await;
    let csv = got[0].as_str().unwrap_or_default();
    let rows: Vec<String> = csv.lines().skip(1).map(String::from).collect();
    let weekly: Vec<String> = got[1]["throughput"]["weekly"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| format!("{},{}", w["week"].as_str().unwrap_or_default(), w["completed"]))
        .collect();
    assert!(weekly.iter().any(|w| !w.ends_with(",0")), "the seed completed work: {weekly:?}");
    assert_eq!(rows, weekly, "the downloaded CSV holds the API's weekly throughput");
    chrome.quit().await;
}

//! The settings pages and the installable app as the server answers them (issue 16), on both
//! backends: what each page shows, who may open which, the manifest, the service worker, the
//! plugin download and the header's sprint picker. The forms themselves are driven in
//! Chromium (`web_settings.rs`).

use ocd::auth::principal::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth_helpers::signed_in;
use crate::harness::TestApp;

crate::on_both_backends!(settings_pages_show_what_is_configured);
crate::on_both_backends!(each_role_opens_only_its_settings);
crate::on_both_backends!(the_app_is_installable);
crate::on_both_backends!(the_header_offers_the_open_sprints);

fn html(body: &Value) -> String {
    body.as_str().unwrap_or_default().to_string()
}

async fn settings_pages_show_what_is_configured(app: TestApp) {
    let mut owner = signed_in(&app, Role::Owner).await;
    let channel =
        json!({"type": "ntfy", "name": "on-call phone", "config": {"server": "https://ntfy.example", "topic": "secret-topic-123"}});
    assert_eq!(owner.go(Method::POST, "/api/settings/channels", Some(&channel)).await.status, StatusCode::CREATED);
    let key = json!({"name": "laptop opencode", "role": "admin", "expires_in_days": 7});
    let key = owner.go(Method::POST, "/api/settings/api-keys", Some(&key)).await;
    let token = key.body["token"].as_str().unwrap_or_default().to_string();
    app.post("/api/todos", json!({"id": "t", "content": "x", "project": "billing"})).await;

    let keys = html(&owner.get("/settings/keys").await.body);
    assert!(keys.contains("laptop opencode") && keys.contains("last used never"), "{keys}");
    assert!(!keys.contains(&token), "a key is never shown again");
    let channels = html(&owner.get("/settings/channels").await.body);
    assert!(channels.contains("on-call phone") && channels.contains("https://ntfy.example"), "{channels}");
    assert!(!channels.contains("secret-topic-123"), "secrets stay masked");
    let alerts = html(&owner.get("/settings/alerts").await.body);
    assert!(alerts.contains("blocked-medium") && alerts.contains("value=\"10\""), "the 10-minute delay in minutes");
    assert!(alerts.contains("<option value=\"Europe/Berlin\">"), "the time zone picker");
    let projects = html(&owner.get("/settings/projects").await.body);
    assert!(projects.contains("Name of billing"), "{projects}");
    let team = html(&owner.get("/settings/team").await.body);
    assert!(team.contains("Make an invite link") && team.contains("Add member"));
    let account = html(&owner.get("/settings").await.body);
    assert!(account.contains("this browser") && account.contains("Notifications on this browser"));
    let integrations = html(&owner.get("/settings/integrations").await.body);
    assert!(integrations.contains(&format!("{}/api/ingest/claude-code", app.base)), "the hooks point at this server");
    assert!(integrations.contains(&format!("curl -fsS {}/static/ocd.ts", app.base)), "the plugin download");
    assert!(integrations.contains("YOUR_OCD_KEY") && integrations.contains("Create a key for these snippets"));
}

/// The settings tabs a page shows.
fn tabs(page: &str) -> Vec<String> {
    let Some(nav) = page.split("class=\"settings-tabs\"").nth(1).and_then(|rest| rest.split("</nav>").next()) else { return vec![] };
    nav.split("\">").skip(1).filter_map(|s| s.split("</a>").next()).filter(|s| !s.contains('<')).map(String::from).collect()
}

async fn each_role_opens_only_its_settings(app: TestApp) {
    let all = ["Account", "Team", "Projects", "API keys", "Alerts", "Channels", "Integrations", "Linear"];
    let mut owner = signed_in(&app, Role::Owner).await;
    assert_eq!(tabs(&html(&owner.get("/settings").await.body)), all);
    let mut admin = signed_in(&app, Role::Admin).await;
    assert_eq!(tabs(&html(&admin.get("/settings").await.body)), ["Account", "Projects", "Alerts", "Channels", "Integrations"]);
    let alerts = html(&admin.get("/settings/alerts").await.body);
    assert!(alerts.contains("Only an owner changes alert rules") && alerts.contains(" disabled"), "admins read the rules");
    let integrations = html(&admin.get("/settings/integrations").await.body);
    assert!(!integrations.contains("Create a key"), "keys are an owner's in person");
    assert_eq!(admin.get("/settings/keys").await.status, StatusCode::FORBIDDEN);
    let mut viewer = signed_in(&app, Role::Viewer).await;
    assert_eq!(tabs(&html(&viewer.get("/settings").await.body)), ["Account", "Projects"]);
    for path in ["/settings/team", "/settings/keys", "/settings/alerts", "/settings/channels", "/settings/integrations"] {
        assert_eq!(viewer.get(path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert!(!html(&viewer.get("/settings/projects").await.body).contains("data-api"), "viewers get no forms");
}

async fn the_app_is_installable(app: TestApp) {
    let manifest = app.raw(Method::GET, "/manifest.webmanifest").send().await.expect("manifest");
    assert_eq!(manifest.headers()["content-type"], "application/manifest+json");
    let manifest: Value = manifest.json().await.expect("json");
    assert_eq!((manifest["start_url"].as_str(), manifest["display"].as_str()), (Some("/"), Some("standalone")));
    for icon in manifest["icons"].as_array().expect("icons") {
        let png = app.raw(Method::GET, icon["src"].as_str().unwrap_or_default()).send().await.expect("icon");
        assert_eq!(png.headers()["content-type"], "image/png");
        let bytes = png.bytes().await.expect("bytes");
        assert!(bytes.starts_with(b"\x89PNG"), "{icon}");
    }
    let login = app.raw(Method::GET, "/login").send().await.expect("page");
    let policy = login.headers()["content-security-policy"].to_str().unwrap_or_default().to_string();
    assert!(policy.contains("manifest-src 'self'"), "pages may load their manifest: {policy}");
    let worker = app.raw(Method::GET, "/sw.js").send().await.expect("worker");
    assert_eq!(worker.headers()["content-type"], "text/javascript; charset=utf-8");
    assert!(worker.headers()["content-security-policy"].to_str().unwrap_or_default().contains("connect-src 'self'"));
    let text = worker.text().await.expect("text");
    let board = app.raw(Method::GET, "/login").send().await.expect("page").text().await.expect("html");
    let css = board.split("rel=\"stylesheet\" href=\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or("none");
    assert!(text.contains(&format!("\"{css}\"")), "the worker caches the pages' own stylesheet {css}");
    let plugin = app.raw(Method::GET, "/static/ocd.ts").send().await.expect("plugin").text().await.expect("text");
    assert_eq!(plugin, include_str!("../../integrations/opencode/ocd.ts"), "the plugin download is the shipped plugin");
}

async fn the_header_offers_the_open_sprints(app: TestApp) {
    let now = ocd::clock::Clock::now(app.clock.as_ref());
    for (name, status) in [("Done one", "completed"), ("Next one", "planning"), ("Current", "active")] {
        let sprint = json!({"name": name, "start_date": now, "end_date": now + 86_400, "status": status, "project_id": "web"});
        assert_eq!(app.post("/api/sprints", sprint).await.status, StatusCode::CREATED);
    }
    let mut viewer = signed_in(&app, Role::Viewer).await;
    let board = html(&viewer.get("/?project=web&status=pending&q=docs").await.body);
    let picker = board.split("id=\"sprint-picker\"").nth(1).and_then(|s| s.split("</select>").next()).unwrap_or_default().to_string();
    let current = picker.find("Current").unwrap_or(usize::MAX);
    let next = picker.find("Next one").unwrap_or(usize::MAX);
    assert!(current < next && next < usize::MAX, "active first, then planning: {picker}");
    assert!(!picker.contains("Done one"), "completed sprints are not offered");
    assert!(board.contains("<input type=\"hidden\" name=\"project\" value=\"web\">"), "the project is kept");
    assert!(board.contains("<input type=\"hidden\" name=\"status\" value=\"pending\">"), "and the board's other filters");
}

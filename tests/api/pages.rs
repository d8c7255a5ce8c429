//! The dashboard's pages over plain HTTP (issue 13): what each page shows without
//! JavaScript, who sees which controls, the forms, the sign-in redirect, several accounts in
//! one browser, and what the pages may load. The real-browser tests are in `web_browser.rs`.

use ocd::auth::principal::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth_helpers::{login_link, signed_in};
use crate::browser::Browser;
use crate::fake_github::FakeGitHub;
use crate::harness::TestApp;
use ocd::auth::links::LinkFor;

crate::on_both_backends!(
    pages_show_their_data_without_javascript,
    viewers_see_no_controls_they_cannot_use,
    forms_change_what_the_api_shows,
    a_page_without_a_session_goes_to_sign_in_and_back,
    one_browser_holds_several_accounts,
    pages_load_only_their_own_hashed_assets,
);
crate::with_github_on_both_backends!(github_sign_in_from_the_pages,);

fn html(reply: &crate::harness::Reply) -> &str {
    reply.body.as_str().unwrap_or_default()
}

/// The part of `page` inside the board column for `status`.
fn column<'a>(page: &'a str, status: &str) -> &'a str {
    let start = page.find(&format!(r#"<section class="column" data-status="{status}""#)).unwrap_or_else(|| panic!("no {status} column"));
    let rest = &page[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

async fn seed(app: &TestApp) {
    for body in [
        json!({"id": "todo_a", "name": "Write the sign-in page", "content": "Explain **links**", "status": "in_progress", "priority": "high", "agent": "builder", "project": "web"}),
        json!({"id": "todo_a1", "content": "Style it for phones", "status": "pending", "priority": "low", "project": "web", "parent_id": "todo_a"}),
        json!({"id": "todo_b", "content": "Blocked <script>alert(1)</script> work", "status": "blocked", "priority": "medium", "project": "web"}),
        json!({"id": "todo_c", "content": "Old idea", "status": "cancelled", "priority": "low", "project": "web"}),
        json!({"id": "todo_other", "content": "Elsewhere", "status": "pending", "priority": "low", "project": "infra"}),
    ] {
        assert_eq!(app.post("/api/todos", body).await.status, StatusCode::OK);
    }
    app.post("/api/todos/todo_a/comments", json!({"body": "see #todo_b", "author": "olive"})).await;
    let message =
        json!({"type": "worklog", "content": "Wired the board", "project": "web", "metadata": {"author": "builder", "tags": ["ui"]}});
    assert_eq!(app.post("/api/messages/create", message).await.status, StatusCode::CREATED);
    app.post("/api/agents", json!({"id": "ag-1", "name": "builder", "type": "primary", "project": "web"})).await;
    app.post("/api/agents", json!({"id": "ag-2", "name": "explore", "type": "sub-agent", "parent_agent_id": "ag-1", "project": "web"}))
        .await;
    app.post(
        "/api/agents/ag-1/assign",
        json!({"taskId": "t-1", "title": "Write the sign-in page", "priority": "high", "projectId": "web"}),
    )
    .await;
}

async fn pages_show_their_data_without_javascript(app: TestApp) {
    seed(&app).await;
    let mut admin = signed_in(&app, Role::Admin).await;
    let board = admin.get("/?project=web").await;
    assert_eq!(board.status, StatusCode::OK);
    let page = html(&board);
    assert!(column(page, "in_progress").contains("Write the sign-in page"), "{page}");
    assert!(column(page, "blocked").contains("Blocked &#60;script&#62;"), "text is escaped");
    assert!(!page.contains("<script>alert"), "no markup from data");
    assert!(!page.contains("Elsewhere"), "another project's todo is not on this board");
    assert!(!page.contains(r#"data-status="cancelled""#), "cancelled is behind the toggle");
    assert!(column(page, "in_progress").contains("Style it for phones"), "the subtask hangs under its parent");
    assert!(column(page, "in_progress").contains("1 comment"));
    let with_cancelled = admin.get("/?project=web&cancelled=1").await;
    assert!(column(html(&with_cancelled), "cancelled").contains("Old idea"));
    let only_cancelled = admin.get("/?project=web&status=cancelled").await;
    assert!(column(html(&only_cancelled), "cancelled").contains("Old idea"), "asking for cancelled shows it");
    // A cancelled parent hidden behind the toggle leaves its live subtask on the board.
    app.post(
        "/api/todos",
        json!({"id": "todo_c1", "content": "Salvaged part", "status": "pending", "project": "web", "parent_id": "todo_c"}),
    )
    .await;
    let board = admin.get("/?project=web").await;
    assert!(column(html(&board), "pending").contains("Salvaged part"), "{}", html(&board));
    let searched = admin.get("/?project=web&q=phones").await;
    assert!(html(&searched).contains("Style it for phones") && !html(&searched).contains("Blocked &#60;"), "search narrows the board");

    let fragment = admin.get("/?project=web&fragment=1").await;
    assert!(html(&fragment).starts_with(r#"<div id="board-live" data-region>"#), "the live region alone: {}", html(&fragment));
    assert!(!html(&fragment).contains("<html"));

    let todo = admin.get("/todos/todo_a").await;
    let page = html(&todo);
    assert!(page.contains("Explain <strong>links</strong>"), "markdown-lite: {page}");
    assert!(page.contains(r#"<a class="ref" href="/todos/todo_b">#todo_b</a>"#), "references link to the todo");
    assert!(page.contains("Style it for phones") && page.contains("in_progress"), "subtasks and history");

    let messages = admin.get("/messages?project=web").await;
    let page = html(&messages);
    assert!(page.contains("Wired the board") && page.contains("unread"), "{page}");
    assert!(page.contains(r#"<span class="muted">author</span> builder"#), "work-log metadata is shown apart");

    let agents = admin.get("/agents?project=web").await;
    let page = html(&agents);
    let (parent, child) = (page.find(">builder</a>").expect("parent"), page.find(">explore</a>").expect("sub-agent"));
    assert!(parent < child, "a sub-agent follows its parent");
    assert!(page.contains("Working on</span> Write the sign-in page"));
    let agent = admin.get("/agents/ag-1").await;
    assert!(html(&agent).contains("Write the sign-in page") && html(&agent).contains("Steer"));
    assert!(html(&agent).contains(r#"<li class="kind-assigned"><span class="badge">assigned</span>"#), "the timeline: {}", html(&agent));
    assert_eq!(admin.get("/agents/nope").await.status, StatusCode::NOT_FOUND);
    assert_eq!(admin.get("/todos/nope").await.status, StatusCode::NOT_FOUND);
}

async fn viewers_see_no_controls_they_cannot_use(app: TestApp) {
    seed(&app).await;
    let mut viewer = signed_in(&app, Role::Viewer).await;
    for path in ["/?project=web", "/messages", "/agents/ag-1", "/todos/todo_a"] {
        let reply = viewer.get(path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        let page = html(&reply);
        assert!(!page.contains("draggable"), "{path}: no drag handles");
        for control in ["/move", "New ticket", "Mark read", "/action", "Edit ticket", "/comments\""] {
            assert!(!page.contains(control), "{path}: a viewer sees no {control}");
        }
    }
    // And the forms refuse them all the same.
    let r = viewer.form("/todos/todo_a/move", &[("status", "completed")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut admin = signed_in(&app, Role::Admin).await;
    let page = admin.get("/?project=web").await;
    assert!(html(&page).contains(r#"draggable="true""#) && html(&page).contains("New ticket"));
}

async fn forms_change_what_the_api_shows(app: TestApp) {
    seed(&app).await;
    let mut admin = signed_in(&app, Role::Admin).await;
    let status = |body: &Value, id: &str| -> String {
        body["todos"].as_array().unwrap().iter().find(|t| t["id"] == id).map(|t| t["status"].as_str().unwrap().to_string()).unwrap()
    };

    let moved = admin.form("/todos/todo_a/move", &[("status", "completed"), ("back", "/?project=web")]).await;
    assert_eq!((moved.status, moved.header("location")), (StatusCode::SEE_OTHER, Some("/?project=web")));
    assert_eq!(status(&app.get("/api/todos").await.body, "todo_a"), "completed");
    let evil_back = admin.form("/todos/todo_a/move", &[("status", "pending"), ("back", "//evil.example")]).await;
    assert_eq!(evil_back.header("location"), Some("/"), "forms only return to our own pages");
    let bad = admin.form("/todos/todo_a/move", &[("status", "done-ish")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(html(&bad).contains("status"), "the refusal names the field: {}", html(&bad));

    let created = admin
        .form(
            "/todos",
            &[("name", "From the page"), ("content", "Made in a form"), ("priority", "high"), ("status", "pending"), ("project", "web")],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER);
    let todos = app.get("/api/todos?project=web").await.body;
    let made = todos["todos"].as_array().unwrap().iter().find(|t| t["name"] == "From the page").expect("created").clone();
    assert_eq!((made["priority"].as_str(), made["content"].as_str()), (Some("high"), Some("Made in a form")));

    admin.form("/todos/todo_b", &[("name", ""), ("content", "Unblocked now"), ("priority", "low"), ("status", "pending")]).await;
    // A form drawn before an agent moved the ticket does not move it back: only what the person
    // changed is written.
    app.post("/api/todos", json!({"id": "todo_a1", "status": "completed"})).await;
    let edit = [
        ("name", "Phones"),
        ("content", "Style it for phones"),
        ("priority", "low"),
        ("status", "pending"),
        ("was_name", ""),
        ("was_content", "Style it for phones"),
        ("was_priority", "low"),
        ("was_status", "pending"),
    ];
    assert_eq!(admin.form("/todos/todo_a1", &edit).await.status, StatusCode::SEE_OTHER);
    let a1 = app.get("/api/todos").await.body;
    let a1 = a1["todos"].as_array().unwrap().iter().find(|t| t["id"] == "todo_a1").unwrap().clone();
    assert_eq!((a1["name"].as_str(), a1["status"].as_str()), (Some("Phones"), Some("completed")), "{a1}");
    let after = app.get("/api/todos?id=todo_b").await.body;
    assert_eq!(
        (after["content"].as_str(), after["status"].as_str(), after["priority"].as_str()),
        (Some("Unblocked now"), Some("pending"), Some("low"))
    );

    let commented = admin.form("/todos/todo_a/comments", &[("body", "Looks **good**")]).await;
    assert_eq!(commented.status, StatusCode::SEE_OTHER);
    let comments = app.get("/api/todos/todo_a/comments").await.body;
    let last = comments["comments"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["body"], "Looks **good**");
    let me = admin.verify().await["user"]["username"].clone();
    assert_eq!(last["author"], me, "signed with the person's name");
    let long_name = "n".repeat(1001);
    let too_long = admin.form("/todos", &[("name", long_name.as_str()), ("content", "x")]).await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST, "forms are held to the API's bounds");
    assert!(html(&too_long).contains("name"), "{}", html(&too_long));
    let nul = admin.form("/todos/todo_a/comments", &[("body", "a\u{0}b")]).await;
    assert_eq!(nul.status, StatusCode::BAD_REQUEST);
    let empty = admin.form("/todos/todo_a/comments", &[("body", "")]).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);

    // "Mark all read" marks what the list showed: a message that arrived since stays unread.
    let shown = app.get("/api/messages?project=web").await.body["messages"][0]["id"].as_i64().unwrap().to_string();
    app.post("/api/messages/create", json!({"type": "custom", "content": "arrived later", "project": "web"})).await;
    admin.form("/messages/read", &[("all", "1"), ("project", "web"), ("up_to", shown.as_str())]).await;
    let unread = app.get("/api/messages?unread_only=true").await.body;
    let left: Vec<&str> = unread["messages"].as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(left, ["arrived later"]);
    admin.form("/messages/read", &[("all", "1"), ("project", "web")]).await;
    let unread = app.get("/api/messages?unread_only=true").await.body;
    assert_eq!(unread["messages"].as_array().unwrap().len(), 0);

    let stopped = admin.form("/agents/ag-1/action", &[("action", "stop")]).await;
    assert_eq!(stopped.status, StatusCode::SEE_OTHER);
    let sent = admin.form("/agents/ag-1/action", &[("action", "message"), ("text", "use the staging database")]).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let queued = app.get("/api/agents/ag-1/commands?status=queued").await.body;
    let mut kinds: Vec<&str> = queued["commands"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    kinds.sort();
    assert_eq!(kinds, ["message", "stop"]);
    let no_text = admin.form("/agents/ag-1/action", &[("action", "message"), ("text", " ")]).await;
    assert_eq!(no_text.status, StatusCode::BAD_REQUEST, "a message needs its text");
    let unknown = admin.form("/agents/ag-1/action", &[("action", "explode")]).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(html(&unknown).contains("action"));
}

async fn a_page_without_a_session_goes_to_sign_in_and_back(app: TestApp) {
    let mut stranger = Browser::new(&app);
    let r = stranger.get("/agents?project=web").await;
    assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, Some("/login?redirect=%2Fagents%3Fproject%3Dweb")));
    let login = stranger.get("/login?redirect=%2Fagents").await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(html(&login).contains("ocd login-link"), "without GitHub, the page says how to get a link");
    assert!(!html(&login).contains("Sign in with GitHub"));
    assert_eq!(stranger.get("/api/todos").await.status, StatusCode::UNAUTHORIZED, "the API still answers 401");

    let mut person = signed_in(&app, Role::Viewer).await;
    let back = person.get("/login?redirect=%2Fagents").await;
    assert_eq!((back.status, back.header("location")), (StatusCode::SEE_OTHER, Some("/agents")), "signed in: straight on");
    let out = person.form("/logout", &[]).await;
    assert_eq!((out.status, out.header("location")), (StatusCode::SEE_OTHER, Some("/login")));
    assert_eq!(person.get("/").await.status, StatusCode::SEE_OTHER, "signed out");
}

async fn one_browser_holds_several_accounts(app: TestApp) {
    let mut browser = signed_in(&app, Role::Admin).await;
    let me = browser.verify().await;
    let (first, first_name) = (me["user"]["id"].clone(), me["user"]["username"].as_str().unwrap().to_string());
    let link = login_link(&app, LinkFor::NewUser(Role::Viewer)).await;
    assert_eq!(browser.go(Method::POST, &link, None).await.status, StatusCode::SEE_OTHER);
    let second = browser.verify().await["user"]["id"].clone();
    assert_ne!(first, second, "the new account is the active one");

    let accounts = browser.get("/api/auth/accounts").await.body;
    let list = accounts["accounts"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{accounts}");
    assert_eq!((list[0]["user"]["id"].clone(), list[0]["active"].clone()), (second.clone(), json!(true)));
    assert_eq!((list[1]["user"]["id"].clone(), list[1]["active"].clone()), (first.clone(), json!(false)));
    assert!(!accounts.to_string().contains(browser.session().unwrap().split('.').next().unwrap()), "tokens are never shown");

    // The shell offers the other account; switching needs no new sign-in.
    let page = browser.get("/").await;
    assert!(html(&page).contains(&format!("Switch to {first_name}")), "{}", html(&page));
    let other = list[1]["session_id"].as_str().unwrap().to_string();
    let switched = browser.go(Method::POST, "/api/auth/switch", Some(&json!({"session_id": other}))).await;
    assert_eq!(switched.status, StatusCode::OK);
    assert_eq!(browser.verify().await["user"]["id"], first);
    let unknown = browser.go(Method::POST, "/api/auth/switch", Some(&json!({"session_id": "not-mine"}))).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // Signing out ends only the active account; the other becomes active.
    browser.go(Method::POST, "/api/auth/logout", None).await;
    assert_eq!(browser.verify().await["user"]["id"], second);
    assert_eq!(browser.get("/api/auth/accounts").await.body["accounts"].as_array().unwrap().len(), 1);

    // A session ended elsewhere (another device, an owner) drops out; the next account is active.
    let link = login_link(&app, LinkFor::NewUser(Role::Viewer)).await;
    browser.go(Method::POST, &link, None).await;
    let third = browser.verify().await["user"]["id"].clone();
    let sessions = browser.get("/api/auth/sessions").await.body;
    let current =
        sessions["sessions"].as_array().unwrap().iter().find(|s| s["current"] == true).unwrap()["id"].as_str().unwrap().to_string();
    let mut elsewhere = Browser::new(&app);
    elsewhere.cookies.insert("ocd_session".into(), browser.session().unwrap().split('.').next().unwrap().to_string());
    assert_eq!(elsewhere.go(Method::DELETE, &format!("/api/auth/sessions/{current}"), None).await.status, StatusCode::OK);
    assert_ne!(third, second);
    assert_eq!(browser.verify().await["user"]["id"], second, "falls back to the next account");
    assert_eq!(browser.get("/api/auth/accounts").await.body["accounts"].as_array().unwrap().len(), 1);

    // Signing in again as someone already here replaces that account's session; beyond five
    // accounts the least recently used is signed out.
    for _ in 0..5 {
        let link = login_link(&app, LinkFor::NewUser(Role::Viewer)).await;
        browser.go(Method::POST, &link, None).await;
    }
    let accounts = browser.get("/api/auth/accounts").await.body;
    let ids: Vec<Value> = accounts["accounts"].as_array().unwrap().iter().map(|a| a["user"]["id"].clone()).collect();
    assert_eq!(ids.len(), 5);
    assert!(!ids.contains(&second), "the oldest account was signed out");
    assert_eq!(app.count("auth_sessions").await, 5, "its session ended too");
}

async fn pages_load_only_their_own_hashed_assets(app: TestApp) {
    let mut admin = signed_in(&app, Role::Admin).await;
    let board = admin.get("/").await;
    let policy = board.header("content-security-policy").unwrap_or_default().to_string();
    assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(board.header("cache-control"), Some("no-store"));
    assert_eq!(board.header("referrer-policy"), Some("same-origin"), "the own forms carry their Origin");
    let page = html(&board);
    let mut assets: Vec<&str> = page.split(['"']).filter(|s| s.starts_with("/static/")).collect();
    assets.dedup();
    assert_eq!(assets.len(), 4, "the icon, stylesheet, app.js, board.js: {assets:?}");
    let mut weight = 0;
    for asset in &assets {
        let name = asset.trim_start_matches("/static/");
        assert_eq!(name.split('.').count(), 3, "{name} carries its content hash");
        let reply = app.raw(Method::GET, asset).send().await.unwrap();
        assert_eq!(reply.status(), StatusCode::OK);
        assert_eq!(reply.headers()["cache-control"], "public, max-age=31536000, immutable");
        if !name.ends_with(".png") {
            weight += reply.bytes().await.unwrap().len();
        }
    }
    assert!(weight <= 150 * 1024, "the board ships {weight} bytes of JS and CSS");
    assert!(ocd::web::assets::weight(&["app.css"]) <= 100 * 1024, "the sign-in page ships only the stylesheet");
    assert_eq!(app.raw(Method::GET, "/static/app.0000000000.css").send().await.unwrap().status(), StatusCode::NOT_FOUND);

    // Compressed for clients that ask; the event stream never (it must flush each event).
    let cookie = format!("ocd_session={}", admin.session().unwrap());
    let zipped = app.raw(Method::GET, "/").header("cookie", &cookie).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(zipped.headers().get("content-encoding").map(|v| v.to_str().unwrap()), Some("gzip"));
    let stream = app.raw(Method::GET, "/api/stream").header("cookie", &cookie).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(stream.headers().get("content-type").map(|v| v.to_str().unwrap()), Some("text/event-stream"));
    assert!(stream.headers().get("content-encoding").is_none(), "the stream is not compressed");
    let plain = app.raw(Method::GET, "/").header("cookie", &cookie).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
}

async fn github_sign_in_from_the_pages(app: TestApp, github: FakeGitHub) {
    github.account(202, "stranger", Some("Sam"));
    let mut person = signed_in(&app, Role::Owner).await;
    let mut browser = Browser::new(&app);
    browser.accept = Some("text/html,application/xhtml+xml");
    let login = browser.get("/login?redirect=%2Fagents").await;
    assert!(html(&login).contains(r#"href="/api/auth/login?redirect=%2Fagents""#), "the GitHub button: {}", html(&login));

    // Someone GitHub knows but nobody invited gets a page that says so, not raw JSON.
    github.sign_in_as("stranger", false);
    let start = browser.get("/api/auth/login?redirect=%2Fagents").await;
    let answer = browser.follow(start).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.header("content-type").unwrap_or_default().starts_with("text/html"));
    assert!(html(&answer).contains("Ask an admin for an invite"), "{}", html(&answer));

    // "Add another account" asks GitHub for its account picker.
    let add = person.get("/login?add=1").await;
    assert_eq!(add.status, StatusCode::OK, "signed in, the page still offers another sign-in");
    assert!(html(&add).contains("add=1"), "{}", html(&add));
    let to_github = person.get("/api/auth/login?redirect=%2F&add=1").await;
    assert!(to_github.header("location").unwrap().contains("prompt=select_account"), "{:?}", to_github.header("location"));
    let plain = person.get("/api/auth/login?redirect=%2F").await;
    assert!(!plain.header("location").unwrap().contains("prompt="), "an ordinary sign-in keeps GitHub's session");
}

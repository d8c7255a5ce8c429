//! People (issue 4): the setup link, GitHub sign-in against a fake GitHub, sessions, CSRF,
//! the team and invites.

use ocd::auth::links::{self, LinkFor};
use ocd::auth::principal::Role;
use ocd::clock::Clock;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth_helpers::{login_link, signed_in};
use crate::browser::Browser;
use crate::fake_github::FakeGitHub;
use crate::harness::TestApp;

crate::on_both_backends!(
    the_setup_link_creates_the_owner_once,
    sessions_slide_expire_and_can_be_ended,
    cookie_writes_must_come_from_our_own_pages,
    login_links_sign_in_existing_local_users,
    links_and_invites_are_used_once_even_when_raced,
);
crate::with_github_on_both_backends!(
    github_sign_in_binds_the_owner_and_admits_only_invited_people,
    github_failures_are_refused_clearly,
    the_team_is_managed_by_owners_in_person,
);

async fn the_setup_link_creates_the_owner_once(app: TestApp) {
    let path = links::setup_link(&app.app.db, app.clock.now()).await.unwrap().expect("an empty database gets a setup link");
    let mut browser = Browser::new(&app);
    // GET only shows a confirmation page: a link previewer does not use the link up.
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.as_str().unwrap().contains("<form method=\"post\">"));
    let r = browser.go(Method::POST, &path, None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), Some("/"), "without GitHub the owner lands on the dashboard");
    let cookie = r.header("set-cookie").unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Max-Age=2592000"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain-http installs cannot use Secure cookies");
    let me = browser.verify().await;
    assert_eq!(me["valid"], true);
    assert_eq!(me["user"]["role"], "owner");
    assert_eq!(me["user"]["username"], "owner");
    // single use
    let mut other = Browser::new(&app);
    assert_eq!(other.go(Method::POST, &path, None).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(other.get(&path).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(other.verify().await, json!({"valid": false}));
    // once someone has signed in, starts print no setup link
    assert!(links::setup_link(&app.app.db, app.clock.now()).await.unwrap().is_none());
    assert_eq!(app.count("users").await, 1);
    // links expire after 15 minutes
    let late = login_link(&app, LinkFor::NewUser(Role::Viewer)).await;
    app.clock.advance_secs(15 * 60 + 1);
    let r = Browser::new(&app).go(Method::POST, &late, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["error"].as_str().unwrap().contains("expired"));
    assert_eq!(app.count("users").await, 1);
    // the owner's session is now a session like any other: it reads work data
    let r = browser.get("/api/todos").await;
    assert_eq!(r.status, StatusCode::OK);
}

async fn login_links_sign_in_existing_local_users(app: TestApp) {
    let mut owner = signed_in(&app, Role::Owner).await;
    let path = login_link(&app, LinkFor::Existing("owner")).await;
    let mut again = Browser::new(&app);
    assert_eq!(again.go(Method::POST, &path, None).await.status, StatusCode::SEE_OTHER);
    assert_eq!(again.verify().await["user"]["id"], owner.verify().await["user"]["id"]);
    assert_eq!(app.count("users").await, 1);
    let unknown = links::create(&app.app.db, LinkFor::Existing("nobody"), app.clock.now()).await;
    assert!(unknown.unwrap_err().contains("nobody"));
    // new admins through `ocd login-link --role admin` get names that find them again
    let mut admin = signed_in(&app, Role::Admin).await;
    assert_eq!(
        (admin.verify().await["user"]["role"].clone(), admin.verify().await["user"]["username"].clone()),
        (json!("admin"), json!("admin"))
    );
    let mut second = signed_in(&app, Role::Admin).await;
    assert_eq!(second.verify().await["user"]["username"], "admin-3");
    let again = login_link(&app, LinkFor::Existing("admin-3")).await;
    let mut b = Browser::new(&app);
    b.go(Method::POST, &again, None).await;
    assert_eq!(b.verify().await["user"]["id"], second.verify().await["user"]["id"]);
}

async fn sign_in_with_github(browser: &mut Browser, login_path: &str) -> crate::harness::Reply {
    let start = browser.get(login_path).await;
    assert_eq!(start.status, StatusCode::TEMPORARY_REDIRECT, "{}", start.body);
    browser.follow(start).await
}

async fn github_sign_in_binds_the_owner_and_admits_only_invited_people(app: TestApp, github: FakeGitHub) {
    github.account(101, "octo-owner", Some("Olive Owner"));
    github.account(202, "stranger", None);
    github.account(303, "invitee", Some("Ivy"));

    // decisions.md#setup-link: on an empty database GitHub alone does not make an owner; the page says how.
    let mut early = Browser::new(&app);
    github.sign_in_as("octo-owner", false);
    let r = sign_in_with_github(&mut early, "/api/auth/login").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body["error"].as_str().unwrap().contains("ocd login-link --role owner"), "{}", r.body);
    assert!(early.session().is_none());
    assert_eq!(app.count("users").await, 0);

    // The setup link signs the owner in and continues into GitHub to bind the account.
    let path = links::setup_link(&app.app.db, app.clock.now()).await.unwrap().unwrap();
    let mut owner = Browser::new(&app);
    let r = owner.go(Method::POST, &path, None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), Some("/api/auth/login?bind=1"));
    let link_session = owner.session().unwrap().to_string();
    let done = owner.follow(r).await;
    assert_eq!(done.status, StatusCode::TEMPORARY_REDIRECT, "{}", done.body);
    assert_eq!(done.header("location").unwrap(), format!("{}/", owner.origin));
    let rotated = owner.session().unwrap().to_string();
    assert_ne!(rotated, link_session, "a sign-in issues a new session token");
    let me = owner.verify().await;
    assert_eq!((me["user"]["username"].clone(), me["user"]["display_name"].clone()), (json!("octo-owner"), json!("Olive Owner")));
    assert_eq!(me["user"]["role"], "owner");
    // the token the browser had before signing in is dead
    let stale = app.request(Method::GET, "/api/auth/verify", None, Some(&link_session)).await;
    assert_eq!(stale.body, json!({"valid": false}));
    assert_eq!(app.count("users").await, 1);

    // On the server, `ocd login-link --user <GitHub login>` still gets the owner in (GitHub down).
    let mut rescue = Browser::new(&app);
    rescue.go(Method::POST, &login_link(&app, LinkFor::Existing("octo-owner")).await, None).await;
    assert_eq!(rescue.verify().await["user"]["id"], me["user"]["id"]);

    // Later sign-ins with that GitHub account find the same user.
    let mut laptop = Browser::new(&app);
    let r = sign_in_with_github(&mut laptop, "/api/auth/login?redirect=/agents%3Fstatus%3Dworking").await;
    assert_eq!(r.header("location").unwrap(), format!("{}/agents?status=working", laptop.origin));
    assert_eq!(laptop.verify().await["user"]["id"], me["user"]["id"]);

    // An uninvited GitHub user is refused.
    github.sign_in_as("stranger", false);
    let mut stranger = Browser::new(&app);
    let r = sign_in_with_github(&mut stranger, "/api/auth/login").await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::FORBIDDEN, json!({"error": "Not authorized. Ask an admin for an invite."})));
    assert!(stranger.session().is_none());
    assert_eq!(app.count("users").await, 1);

    // An invite link carries through OAuth: the invitee is created with the invite's role.
    let r =
        owner.go(Method::POST, "/api/settings/team/invite", Some(&json!({"mode": "link", "role": "admin", "expires_in_hours": 2}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let invite = r.body["invite"]["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["invite"]["url"], format!("/invite/{invite}"));
    let public = app.request(Method::GET, &format!("/api/settings/invite/{invite}"), None, None).await;
    assert_eq!(public.body["invite"]["used"], false);
    // The invite's url is a page that says what it offers and leads into GitHub sign-in.
    let landing = Browser::new(&app).get(r.body["invite"]["url"].as_str().unwrap()).await;
    assert_eq!(landing.status, StatusCode::OK);
    let html = landing.body.as_str().unwrap().to_string();
    assert!(
        html.contains("makes you <strong>admin</strong>") && html.contains(&format!("href=\"/api/auth/login?invite={invite}\"")),
        "{html}"
    );
    github.sign_in_as("invitee", false);
    let mut invitee = Browser::new(&app);
    let r = sign_in_with_github(&mut invitee, &format!("/api/auth/login?invite={invite}")).await;
    assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT, "{}", r.body);
    let ivy = invitee.verify().await;
    assert_eq!((ivy["user"]["role"].clone(), ivy["user"]["display_name"].clone()), (json!("admin"), json!("Ivy")));
    let public = app.request(Method::GET, &format!("/api/settings/invite/{invite}"), None, None).await;
    assert_eq!(public.body["invite"]["used"], true);
    // … and it is used up: the stranger cannot ride it.
    github.sign_in_as("stranger", false);
    let r = sign_in_with_github(&mut stranger, &format!("/api/auth/login?invite={invite}")).await;
    assert_eq!(
        (r.status, r.body.clone()),
        (StatusCode::BAD_REQUEST, json!({"error": "This invite link has expired or already been used"}))
    );
    assert_eq!(app.count("users").await, 2);

    // An invite never lowers a role (fixes decisions.md#invites-and-team).
    let r = owner.go(Method::POST, "/api/settings/team/invite", Some(&json!({"mode": "link", "role": "viewer"}))).await;
    let viewer_invite = r.body["invite"]["id"].as_str().unwrap().to_string();
    let r = invitee.go(Method::POST, &format!("/api/settings/invite/{viewer_invite}/accept"), None).await;
    assert_eq!(r.body, json!({"success": true}));
    assert_eq!(invitee.verify().await["user"]["role"], "admin");
    let r = invitee.go(Method::POST, &format!("/api/settings/invite/{viewer_invite}/accept"), None).await;
    assert_eq!(
        (r.status, r.body.clone()),
        (StatusCode::BAD_REQUEST, json!({"error": "This invite link has expired or already been used"}))
    );
    // API keys have no person to accept for.
    let r = app.post(&format!("/api/settings/invite/{viewer_invite}/accept"), json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Open-redirect attempts land on the start page.
    github.sign_in_as("octo-owner", false);
    for evil in ["//evil.example/x", "/%5Cevil.example", "https://evil.example", "/%0d%0aSet-Cookie:x=y"] {
        let mut b = Browser::new(&app);
        let r = sign_in_with_github(&mut b, &format!("/api/auth/login?redirect={evil}")).await;
        assert_eq!(r.header("location").unwrap(), format!("{}/", b.origin), "{evil}");
    }
    assert_eq!(github.requests_without_user_agent(), 0);
}

async fn github_failures_are_refused_clearly(app: TestApp, github: FakeGitHub) {
    github.account(101, "octo-owner", None);
    let path = links::setup_link(&app.app.db, app.clock.now()).await.unwrap().unwrap();
    let mut owner = Browser::new(&app);
    owner.go(Method::POST, &path, None).await;
    let me = owner.verify().await;

    // Refused consent: GitHub sends ?error=access_denied.
    github.sign_in_as("octo-owner", true);
    let mut b = Browser::new(&app);
    let r = sign_in_with_github(&mut b, "/api/auth/login").await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::BAD_REQUEST, json!({"error": "GitHub sign-in was cancelled"})));
    assert!(b.cookies.is_empty(), "the OAuth cookies are cleared: {:?}", b.cookies);

    // A state that does not match the cookie (a forged callback).
    github.sign_in_as("octo-owner", false);
    // Without PUBLIC_URL the callback is ocd's own listening address, whatever Host says.
    let spoofed = app.send(app.raw(Method::GET, "/api/auth/login").header("host", "evil.example")).await;
    let location = spoofed.header("location").unwrap_or_default().to_string();
    let own = app.base.trim_start_matches("http://").to_string();
    assert!(location.contains(&format!("redirect_uri=http%3A%2F%2F{}", own.replace(':', "%3A"))), "{location}");
    assert!(!location.contains("evil"), "{location}");
    let start = b.get("/api/auth/login").await;
    let authorize = b.get(start.header("location").unwrap()).await;
    let callback = authorize.header("location").unwrap().to_string();
    let forged = callback.replace("state=", "state=0");
    let r = b.get(&forged).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::BAD_REQUEST, json!({"error": "Invalid OAuth state"})));
    // … and the real callback no longer works either: the state cookie went with the failure.
    assert_eq!(b.get(&callback).await.status, StatusCode::BAD_REQUEST);

    // A code GitHub does not know: the error comes back with HTTP 200 from GitHub.
    let start = b.get("/api/auth/login").await;
    let authorize = b.get(start.header("location").unwrap()).await;
    let callback = authorize.header("location").unwrap().to_string();
    let bad_code = callback.replace("code=code", "code=nope");
    let r = b.get(&bad_code).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::BAD_GATEWAY, json!({"error": "The code passed is incorrect or expired."})));
    assert!(b.session().is_none());
    // A profile whose account vanished (GitHub 401) is a 502 too, not a crash.
    assert_eq!(app.count("users").await, 1);
    assert_eq!(owner.verify().await, me, "nothing happened to the owner");
}

async fn sessions_slide_expire_and_can_be_ended(app: TestApp) {
    let mut laptop = signed_in(&app, Role::Owner).await;
    let phone_path = login_link(&app, LinkFor::Existing("owner")).await;
    let mut phone = Browser::new(&app);
    phone.go(Method::POST, &phone_path, None).await;

    let day = 24 * 3600;
    app.clock.advance_secs(20 * day);
    assert_eq!(laptop.verify().await["valid"], true, "used within 30 days: the expiry slides forward");
    app.clock.advance_secs(20 * day);
    assert_eq!(laptop.verify().await["valid"], true);
    assert_eq!(phone.verify().await, json!({"valid": false}), "40 days unused: expired");

    // My sessions; ending one signs that browser out at once.
    let list = laptop.get("/api/auth/sessions").await;
    let sessions = list.body["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 1, "expired sessions are not listed: {sessions:?}");
    assert_eq!(sessions[0]["current"], true);
    assert!(sessions[0].get("token_hash").is_none());
    let mut tablet = Browser::new(&app);
    tablet.go(Method::POST, &login_link(&app, LinkFor::Existing("owner")).await, None).await;
    let list = laptop.get("/api/auth/sessions").await.body["sessions"].as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    let tablet_id = list.iter().find(|s| s["id"] != sessions[0]["id"]).unwrap()["id"].as_str().unwrap().to_string();
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    let r = laptop.go(Method::DELETE, &format!("/api/auth/sessions/{tablet_id}"), None).await;
    assert_eq!(r.body, json!({"success": true}));
    assert_eq!(tablet.get("/api/todos").await.status, StatusCode::UNAUTHORIZED);
    let r = laptop.go(Method::DELETE, &format!("/api/auth/sessions/{tablet_id}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The live stream accepts the session, as a cookie or as `?token=`.
    let cookie = format!("ocd_session={}", laptop.session().unwrap());
    let stream = app.send_head(app.raw(Method::GET, "/api/stream").header("cookie", &cookie)).await;
    assert_eq!(stream.status, StatusCode::OK);
    let stream = app.send_head(app.raw(Method::GET, &format!("/api/stream?token={}", laptop.session().unwrap()))).await;
    assert_eq!(stream.status, StatusCode::OK);
    assert_eq!(app.send_head(app.raw(Method::GET, "/api/stream?token=nope")).await.status, StatusCode::UNAUTHORIZED);

    // The purge job removes expired rows.
    assert_eq!(app.count("auth_sessions").await, 2);
    app.tick().await;
    assert_eq!(app.count("auth_sessions").await, 1);

    // Sign-out ends the session and clears the cookie.
    let token = laptop.session().unwrap().to_string();
    let r = laptop.go(Method::POST, "/api/auth/logout", None).await;
    assert_eq!(r.body, json!({"success": true}));
    assert!(laptop.session().is_none());
    let r = app.request(Method::GET, "/api/todos", None, Some(&token)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.count("auth_sessions").await, 0);
    // The stored value is a hash, never the token.
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM login_links").fetch_all(&app.app.db.read).await.unwrap();
    assert!(stored.iter().all(|h| h.len() == 64 && !h.contains(&token)));
}

async fn cookie_writes_must_come_from_our_own_pages(app: TestApp) {
    let mut admin = signed_in(&app, Role::Admin).await;
    let todo = |id: &str| json!({"id": id, "content": "csrf", "status": "pending"});

    admin.send_origin = Some("https://evil.example".into());
    let r = admin.go(Method::POST, "/api/todos", Some(&todo("t-evil"))).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::FORBIDDEN, json!({"error": "Cross-site request refused"})));
    admin.send_origin = None;
    let r = admin.go(Method::POST, "/api/todos", Some(&todo("t-none"))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no Origin and no Sec-Fetch-Site: refused");
    assert_eq!(app.count("todos").await, 0);

    let own = admin.origin.clone();
    admin.send_origin = Some(own);
    assert_eq!(admin.go(Method::POST, "/api/todos", Some(&todo("t-own"))).await.status, StatusCode::OK);
    // Sec-Fetch-Site: same-origin stands in for a missing Origin.
    let cookie = format!("ocd_session={}", admin.session().unwrap());
    let with_cookie = ("cookie", cookie.as_str());
    assert_eq!(post_todo(&app, "t-sfs", with_cookie, ("sec-fetch-site", "same-origin")).await, StatusCode::OK);
    assert_eq!(post_todo(&app, "t-x", with_cookie, ("sec-fetch-site", "cross-site")).await, StatusCode::FORBIDDEN);
    // Reads are not affected, and a bearer token is not subject to the check.
    let r = app.send(app.raw(Method::GET, "/api/todos").header("cookie", &cookie).header("origin", "https://evil.example")).await;
    assert_eq!(r.status, StatusCode::OK);
    let bearer = format!("Bearer {}", admin.session().unwrap());
    let evil = ("origin", "https://evil.example");
    assert_eq!(post_todo(&app, "t-bearer", ("authorization", &bearer), evil).await, StatusCode::OK);
    assert_eq!(app.count("todos").await, 3);
    // An allowed origin (ALLOWED_ORIGINS) may write with the cookie.
    assert_eq!(post_todo(&app, "t-allowed", with_cookie, ("origin", "http://localhost:3000")).await, StatusCode::OK);
}

/// Posts a todo with one credential header and one header saying where the request came from.
async fn post_todo(app: &TestApp, id: &str, credential: (&str, &str), provenance: (&str, &str)) -> StatusCode {
    let body = json!({"id": id, "content": "csrf", "status": "pending"}).to_string();
    app.send(app.raw(Method::POST, "/api/todos").header(credential.0, credential.1).header(provenance.0, provenance.1).body(body))
        .await
        .status
}

async fn the_team_is_managed_by_owners_in_person(app: TestApp, github: FakeGitHub) {
    github.account(7, "added-directly", Some("Addie"));
    let mut owner = signed_in(&app, Role::Owner).await;
    let owner_id = owner.verify().await["user"]["id"].as_i64().unwrap();

    let r = owner
        .go(
            Method::POST,
            "/api/settings/team/invite",
            Some(&json!({"mode": "direct", "github_username": "  added-directly ", "role": "viewer"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!((r.body["user"]["username"].clone(), r.body["user"]["github_id"].clone()), (json!("added-directly"), json!(7)));
    let addie = r.body["user"]["id"].as_i64().unwrap();
    let r = owner
        .go(
            Method::POST,
            "/api/settings/team/invite",
            Some(&json!({"mode": "direct", "github_username": "added-directly", "role": "viewer"})),
        )
        .await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::BAD_REQUEST, json!({"error": "User already exists"})));
    let r = owner
        .go(Method::POST, "/api/settings/team/invite", Some(&json!({"mode": "direct", "github_username": "no-such-user", "role": "admin"})))
        .await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::BAD_REQUEST, json!({"error": "GitHub user not found"})));
    let r = owner.go(Method::POST, "/api/settings/team/invite", Some(&json!({"mode": "sideways", "role": "admin"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = owner.go(Method::POST, "/api/settings/team/invite", Some(&json!({"mode": "link", "role": "owner"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "invites cannot make owners");
    let r =
        owner.go(Method::POST, "/api/settings/team/invite", Some(&json!({"mode": "link", "role": "admin", "expires_in_hours": 721}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let team = owner.get("/api/settings/team").await;
    let names: Vec<Value> = team.body["users"].as_array().unwrap().iter().map(|u| u["username"].clone()).collect();
    assert_eq!(names, vec![json!("added-directly"), json!("owner")], "newest first");

    // Change a role; not one's own.
    let r = owner.go(Method::PATCH, &format!("/api/settings/team/{addie}"), Some(&json!({"role": "admin"}))).await;
    assert_eq!(r.body["user"]["role"], "admin");
    let r = owner.go(Method::PATCH, &format!("/api/settings/team/{owner_id}"), Some(&json!({"role": "viewer"}))).await;
    assert_eq!(r.body, json!({"error": "Cannot change your own role"}));
    let r = owner.go(Method::DELETE, &format!("/api/settings/team/{owner_id}"), None).await;
    assert_eq!(r.body, json!({"error": "Cannot remove your own account"}));
    assert_eq!(owner.go(Method::DELETE, "/api/settings/team/abc", None).await.body, json!({"error": "Invalid userId"}));
    assert_eq!(owner.go(Method::DELETE, "/api/settings/team/9999", None).await.status, StatusCode::NOT_FOUND);

    // An admin is not an owner; an API key never manages people, whatever its role.
    let mut admin = signed_in(&app, Role::Admin).await;
    assert_eq!(admin.get("/api/settings/team").await.status, StatusCode::FORBIDDEN);
    let r = owner.go(Method::POST, "/api/settings/api-keys", Some(&json!({"name": "ops", "role": "owner"}))).await;
    let owner_key = r.body["token"].as_str().unwrap().to_string();
    let r = app.request(Method::GET, "/api/settings/team", None, Some(&owner_key)).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::FORBIDDEN, json!({"error": "User context required"})));

    // Removing a member ends their sessions at once.
    let admin_id = admin.verify().await["user"]["id"].as_i64().unwrap();
    assert_eq!(admin.get("/api/todos").await.status, StatusCode::OK);
    let r = owner.go(Method::DELETE, &format!("/api/settings/team/{admin_id}"), None).await;
    assert_eq!(r.body, json!({"success": true}));
    assert_eq!(admin.get("/api/todos").await.status, StatusCode::UNAUTHORIZED);

    // Owners can make owners; a member who made invites can still be removed (fixes decisions.md#invites-and-team).
    let r = owner.go(Method::PATCH, &format!("/api/settings/team/{addie}"), Some(&json!({"role": "owner"}))).await;
    assert_eq!(r.body["user"]["role"], "owner");
    let mut second = signed_in(&app, Role::Owner).await;
    let second_id = second.verify().await["user"]["id"].as_i64().unwrap();
    let r = second.go(Method::POST, "/api/settings/team/invite", Some(&json!({"mode": "link", "role": "viewer"}))).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(owner.go(Method::DELETE, &format!("/api/settings/team/{second_id}"), None).await.body, json!({"success": true}));
    assert_eq!(app.count("invite_links").await, 1, "the invite outlives its maker");
}

#[tokio::test]
async fn the_last_owner_stays() {
    // With DISABLE_AUTH the local owner manages people without being one of them.
    let app = TestApp::spawn_with(crate::harness::Backend::Sqlite, |c| c.disable_auth = true).await.unwrap();
    // (with DISABLE_AUTH every header-less request is the local owner, cookie or not)
    signed_in(&app, Role::Owner).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM users").fetch_one(&app.app.db.read).await.unwrap();
    let r = app.request(Method::PATCH, &format!("/api/settings/team/{id}"), Some(&json!({"role": "admin"})), None).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::BAD_REQUEST, json!({"error": "ocd must keep at least one owner"})));
    let r = app.request(Method::DELETE, &format!("/api/settings/team/{id}"), None, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let role: String = sqlx::query_scalar("SELECT role FROM users").fetch_one(&app.app.db.read).await.unwrap();
    assert_eq!(role, "owner");
    let verify = app.request(Method::GET, "/api/auth/verify", None, None).await;
    assert_eq!(
        verify.body["user"],
        json!({"id": 0, "username": "local", "display_name": "Local User", "avatar_url": null, "role": "owner"})
    );
}

#[tokio::test]
async fn behind_https_cookies_are_secure_and_host_prefixed() {
    let app =
        TestApp::spawn_with(crate::harness::Backend::Sqlite, |c| c.public_url = Some("https://ocd.example.com".into())).await.unwrap();
    let path = login_link(&app, LinkFor::NewUser(Role::Admin)).await;
    let mut browser = Browser::new(&app);
    let r = browser.go(Method::POST, &path, None).await;
    let cookie = r.header("set-cookie").unwrap().to_string();
    assert!(cookie.starts_with("__Host-ocd_session=") && cookie.contains("; Secure"), "{cookie}");
    // The plain name is not honoured there (a subdomain could have planted it).
    let token = browser.cookies["__Host-ocd_session"].clone();
    let plain = app.send(app.raw(Method::GET, "/api/todos").header("cookie", format!("ocd_session={token}"))).await;
    assert_eq!(plain.status, StatusCode::UNAUTHORIZED);
    let host = format!("__Host-ocd_session={token}");
    assert_eq!(app.send(app.raw(Method::GET, "/api/todos").header("cookie", &host)).await.status, StatusCode::OK);
    // Our own origin is PUBLIC_URL's, not the address the request reached.
    let todo = json!({"id": "t", "content": "x"}).to_string();
    let r = app
        .send(app.raw(Method::POST, "/api/todos").header("cookie", &host).header("origin", browser.origin.clone()).body(todo.clone()))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r =
        app.send(app.raw(Method::POST, "/api/todos").header("cookie", &host).header("origin", "https://ocd.example.com").body(todo)).await;
    assert_eq!(r.status, StatusCode::OK);
}

async fn links_and_invites_are_used_once_even_when_raced(app: TestApp) {
    let path = login_link(&app, LinkFor::NewUser(Role::Owner)).await;
    let (mut a, mut b) = (Browser::new(&app), Browser::new(&app));
    let (ra, rb) = tokio::join!(a.go(Method::POST, &path, None), b.go(Method::POST, &path, None));
    let mut statuses = [ra.status.as_u16(), rb.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [303, 400]);
    assert_eq!(app.count("users").await, 1);

    let owner = if a.session().is_some() { a } else { b };
    let mut owner = owner;
    let r = owner.go(Method::POST, "/api/settings/team/invite", Some(&json!({"mode": "link", "role": "admin"}))).await;
    let accept = format!("/api/settings/invite/{}/accept", r.body["invite"]["id"].as_str().unwrap());
    let (mut x, mut y) = (signed_in(&app, Role::Viewer).await, signed_in(&app, Role::Viewer).await);
    let (rx, ry) = tokio::join!(x.go(Method::POST, &accept, None), y.go(Method::POST, &accept, None));
    let mut statuses = [rx.status.as_u16(), ry.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 400]);
    let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin'").fetch_one(&app.app.db.read).await.unwrap();
    assert_eq!(admins, 1);
    // an expired invite is refused
    let r =
        owner.go(Method::POST, "/api/settings/team/invite", Some(&json!({"mode": "link", "role": "admin", "expires_in_hours": 1}))).await;
    let id = r.body["invite"]["id"].as_str().unwrap().to_string();
    app.clock.advance_secs(3601);
    assert_eq!(app.request(Method::GET, &format!("/api/settings/invite/{id}"), None, None).await.body["invite"]["expired"], true);
    let r = x.go(Method::POST, &format!("/api/settings/invite/{id}/accept"), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

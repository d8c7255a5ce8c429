//! Notification channels against fake receivers on 127.0.0.1 (K27, K30): the exact bodies,
//! headers and signatures each receiver gets, retries with backoff, and Web Push encrypted and
//! signed as a real push service checks it.

use base64ct::{Base64UrlUnpadded, Encoding};
use hmac::{Hmac, Mac};
use ocd::clock::Clock;
use ocd::domain::roles::Role;
use p256::ecdsa::signature::Verifier;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::alerting::{agent_on, alert_messages, block, webhook_channel};
use crate::auth_helpers::signed_in;
use crate::browser::Browser;
use crate::fake_receiver::FakeReceiver;
use crate::harness::TestApp;

crate::on_both_backends!(
    channels_api_masks_secrets_and_checks_roles,
    each_channel_type_gets_its_own_format,
    failed_sends_retry_with_backoff,
    web_push_is_encrypted_and_signed,
    a_lost_lease_is_sent_again,
    approval_pushes_carry_answers_for_deciders_only,
);

async fn add(owner: &mut Browser, body: Value) -> Value {
    let r = owner.go(Method::POST, "/api/settings/channels", Some(&body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["channel"].clone()
}

async fn channels_api_masks_secrets_and_checks_roles(app: TestApp) {
    let receiver = FakeReceiver::start().await;
    let mut owner = signed_in(&app, Role::Owner).await;
    let url = format!("{}/slack/T000/B000/secret-part-9f3a", receiver.url);
    let slack = add(&mut owner, json!({"type": "slack", "name": "Team chat", "config": {"url": url}})).await;
    assert_eq!(slack["config"]["url"], "••••9f3a", "secrets are shown masked");
    assert_eq!(slack["enabled"], true);
    let listed = app.get("/api/settings/channels").await;
    assert_eq!(listed.status, StatusCode::OK, "admins list channels");
    assert_eq!(listed.body["channels"][0]["config"]["url"], "••••9f3a");
    assert!(!listed.body.to_string().contains("secret-part"));
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT config FROM channels").fetch_one(&app.app.db.read).await.unwrap();
    assert!(!String::from_utf8_lossy(&sealed).contains("secret-part"), "the configuration is encrypted at rest");
    let r =
        app.post("/api/settings/channels", json!({"type": "ntfy", "name": "x", "config": {"server": receiver.url, "topic": "t"}})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "only the owner adds channels");

    for (body, field) in [
        (json!({"type": "slack", "name": "x", "config": {}}), "config.url"),
        (json!({"type": "ntfy", "name": "x", "config": {"server": "ntfy.sh", "topic": "t"}}), "config.server"),
        (json!({"type": "webhook", "name": "", "config": {"url": "https://example.com"}}), "name"),
        (json!({"type": "sms", "name": "x", "config": {}}), "type"),
        (json!({"type": "web_push", "name": "x", "config": {}}), "type"),
        (
            json!({"type": "discord", "name": "x", "config": {"url": "https://d.example/x"}, "filters": {"min_priority": "urgent"}}),
            "min_priority",
        ),
    ] {
        let r = owner.go(Method::POST, "/api/settings/channels", Some(&body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(r.body.to_string().contains(field), "{body} → {}", r.body);
    }

    // A change without the secret keeps it: the test message still reaches the full URL.
    let id = slack["id"].as_str().unwrap();
    let r = owner
        .go(Method::PATCH, &format!("/api/settings/channels/{id}"), Some(&json!({"name": "Chat", "filters": {"min_priority": "high"}})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!((r.body["channel"]["name"].as_str(), r.body["channel"]["filters"]["min_priority"].as_str()), (Some("Chat"), Some("high")));
    let r = owner.go(Method::POST, &format!("/api/settings/channels/{id}/test"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["ok"], true, "{}", r.body);
    assert_eq!(r.body["delivery"]["status"], "delivered");
    let got = receiver.received_at("/slack/T000/B000/secret-part-9f3a");
    assert_eq!(got.len(), 1);
    assert!(got[0].json()["text"].as_str().unwrap().contains("ocd test notification"));
    let log = app.get("/api/notifications/deliveries").await;
    assert_eq!(log.body["deliveries"][0]["kind"], "test");
    assert_eq!(log.body["deliveries"][0]["http_status"], 200);
    assert_eq!(log.body["deliveries"][0]["channel_name"], "Chat");
    assert_eq!(app.get("/api/notifications/deliveries?limit=0").await.status, StatusCode::BAD_REQUEST);
    let mut viewer = signed_in(&app, Role::Viewer).await;
    assert_eq!(viewer.get("/api/notifications/deliveries").await.status, StatusCode::FORBIDDEN);
    assert_eq!(viewer.get("/api/settings/channels").await.status, StatusCode::FORBIDDEN);

    // Filters: a medium alert does not reach a channel that wants high and above.
    agent_on(&app, "a", "m", "medium").await;
    app.post("/api/agents/a/error", json!({"taskId": "m", "message": "boom"})).await;
    app.alerts().await;
    assert_eq!(alert_messages(&app).await.len(), 1, "the alert fired");
    assert_eq!(receiver.received().len(), 1, "but not to a channel that wants high and above");

    assert_eq!(owner.go(Method::DELETE, &format!("/api/settings/channels/{id}"), None).await.status, StatusCode::OK);
    assert_eq!(owner.go(Method::DELETE, &format!("/api/settings/channels/{id}"), None).await.status, StatusCode::NOT_FOUND);
}

fn hmac_hex(secret: &str, message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

async fn each_channel_type_gets_its_own_format(app: TestApp) {
    let fake = FakeReceiver::start().await;
    let mut owner = signed_in(&app, Role::Owner).await;
    add(&mut owner, json!({"type": "ntfy", "name": "phone", "config": {"server": fake.url, "topic": "ocd-alerts", "token": "tk_abc"}}))
        .await;
    add(&mut owner, json!({"type": "slack", "name": "slack", "config": {"url": format!("{}/slack", fake.url)}})).await;
    add(&mut owner, json!({"type": "discord", "name": "discord", "config": {"url": format!("{}/discord", fake.url)}})).await;
    add(&mut owner, json!({"type": "webhook", "name": "hook", "config": {"url": format!("{}/hook", fake.url), "secret": "whsec_123"}}))
        .await;
    agent_on(&app, "a", "h", "high").await;
    block(&app, "a", "h", "May I delete build/? @everyone").await;
    app.alerts().await;
    assert_eq!(fake.received().len(), 4);
    let link = alert_messages(&app).await[0]["metadata"]["url"].as_str().unwrap().to_string();
    assert!(link.starts_with("http://127.0.0.1:") && link.ends_with("/agents/a"), "{link}");

    let ntfy = &fake.received_at("/")[0];
    assert_eq!(ntfy.header("authorization"), Some("Bearer tk_abc"));
    let body = ntfy.json();
    assert_eq!(body["topic"], "ocd-alerts");
    assert_eq!(body["title"], "a is blocked");
    assert_eq!(body["message"], "[HIGH] Agent \"a\" blocked on \"Task h\": May I delete build/? @everyone");
    assert_eq!(body["priority"], 4);
    assert_eq!(body["click"], link.as_str());
    assert_eq!(body["tags"], json!(["alert"]));

    let slack = fake.received_at("/slack")[0].json();
    assert_eq!(
        slack["text"],
        format!("*a is blocked*\n[HIGH] Agent \"a\" blocked on \"Task h\": May I delete build/? @everyone\n<{link}|Open in ocd>")
    );

    let discord = fake.received_at("/discord")[0].json();
    assert_eq!(
        discord,
        json!({"username": "ocd", "allowed_mentions": {"parse": []},
            "content": format!("**a is blocked**\n[HIGH] Agent \"a\" blocked on \"Task h\": May I delete build/? @everyone\n{link}")}),
        "agent text never pings anyone"
    );

    let hook = &fake.received_at("/hook")[0];
    let timestamp = hook.header("x-ocd-timestamp").unwrap();
    let raw = String::from_utf8(hook.body.to_vec()).unwrap();
    assert_eq!(hook.header("x-ocd-signature").unwrap(), format!("sha256={}", hmac_hex("whsec_123", &format!("{timestamp}.{raw}"))));
    assert_eq!(hook.header("content-type"), Some("application/json"));
    let delivery = hook.header("x-ocd-delivery").unwrap().to_string();
    assert!(delivery.starts_with("dl_"));
    assert_eq!(
        hook.json(),
        json!({"digest": false, "alert": {"trigger": "blocked", "agentId": "a", "taskId": "h", "title": "Task h", "priority": "high",
            "reason": "May I delete build/? @everyone", "projectId": "web", "url": link}})
    );
    let ids: std::collections::HashSet<String> = fake.received().iter().map(|r| r.header("x-ocd-delivery").unwrap().to_string()).collect();
    assert_eq!(ids.len(), 4, "each send has its own delivery id");
    let log = app.get("/api/notifications/deliveries?status=delivered").await;
    assert_eq!(log.body["deliveries"].as_array().unwrap().len(), 4);
    let retention = i64::try_from(app.app.config.event_retention_hours).unwrap() * 3600;
    app.clock.advance_secs(retention + 1);
    ocd::events::prune::prune(&app.app).await.unwrap();
    assert_eq!(app.count("deliveries").await, 0, "the log is kept as long as the events");
}

async fn failed_sends_retry_with_backoff(app: TestApp) {
    let fake = FakeReceiver::start().await;
    let mut owner = signed_in(&app, Role::Owner).await;
    webhook_channel(&mut owner, &fake).await;
    agent_on(&app, "a", "h", "high").await;
    fake.answer(503, &[]);
    block(&app, "a", "h", "one").await;
    app.alerts().await;
    let first = app.get("/api/notifications/deliveries").await.body["deliveries"][0].clone();
    assert_eq!(
        (first["status"].as_str(), first["attempts"].as_i64(), first["http_status"].as_i64()),
        (Some("pending"), Some(1), Some(503))
    );
    let wait = first["next_attempt_at"].as_i64().unwrap() - app.clock.now();
    assert!((30..=33).contains(&wait), "first retry after 30 s (+ up to 10 %): {wait}");
    app.clock.advance_secs(20);
    app.alerts().await;
    assert_eq!(fake.received().len(), 1, "not before its time");
    app.clock.advance_secs(15);
    app.alerts().await;
    let sent = fake.received();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].header("x-ocd-delivery"), sent[1].header("x-ocd-delivery"), "a retry keeps its delivery id");
    assert_eq!(sent[0].header("x-ocd-signature"), None, "a webhook without a secret is not signed");
    let done = app.get("/api/notifications/deliveries").await.body["deliveries"][0].clone();
    assert_eq!((done["status"].as_str(), done["attempts"].as_i64()), (Some("delivered"), Some(2)));
    let codes: Vec<Option<i64>> = done["history"].as_array().unwrap().iter().map(|a| a["http_status"].as_i64()).collect();
    assert_eq!(codes, [Some(503), Some(200)], "every attempt is recorded");

    // 429 with Retry-After: the receiver's pause is honoured.
    app.clock.advance_secs(3600);
    agent_on(&app, "b", "h2", "high").await;
    fake.answer(429, &[("retry-after", "120")]);
    block(&app, "b", "h2", "two").await;
    app.alerts().await;
    let paused = app.get("/api/notifications/deliveries?status=pending").await.body["deliveries"][0].clone();
    assert!(paused["next_attempt_at"].as_i64().unwrap() - app.clock.now() >= 120);

    // A refusal (400) is final; a receiver that keeps failing is given up after 6 tries.
    app.clock.advance_secs(3600);
    app.alerts().await;
    agent_on(&app, "c", "h3", "high").await;
    fake.answer(400, &[]);
    block(&app, "c", "h3", "three").await;
    app.alerts().await;
    let refused = app.get("/api/notifications/deliveries?status=failed").await.body["deliveries"][0].clone();
    assert_eq!((refused["attempts"].as_i64(), refused["http_status"].as_i64()), (Some(1), Some(400)));
    app.clock.advance_secs(3600);
    agent_on(&app, "d", "h4", "high").await;
    for _ in 0..6 {
        fake.answer(500, &[]);
    }
    block(&app, "d", "h4", "four").await;
    for _ in 0..6 {
        app.alerts().await;
        app.clock.advance_secs(3600);
    }
    let failed = app.get("/api/notifications/deliveries?status=failed").await.body["deliveries"][0].clone();
    assert_eq!(failed["attempts"], 6);
    assert!(failed["error"].as_str().unwrap().starts_with("gave up after 6 attempts"), "{failed}");
}

/// A browser's push subscription: its private key stays with the test (the "browser").
pub struct BrowserKeys {
    secret: p256::SecretKey,
    auth: [u8; 16],
}

impl BrowserKeys {
    pub fn new() -> BrowserKeys {
        BrowserKeys { secret: p256::SecretKey::random(&mut rand::rngs::OsRng), auth: rand::random() }
    }

    pub fn subscription(&self, endpoint: &str) -> Value {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let public = self.secret.public_key().to_encoded_point(false);
        json!({"endpoint": endpoint, "expirationTime": null, "keys": {
            "p256dh": Base64UrlUnpadded::encode_string(public.as_bytes()),
            "auth": Base64UrlUnpadded::encode_string(&self.auth),
        }})
    }
}

/// What a push service checks of `Authorization: vapid t=…, k=…` (RFC 8292).
fn check_vapid(header: &str, audience: &str, public_key: &str, now: i64) {
    let rest = header.strip_prefix("vapid t=").expect("vapid scheme");
    let (token, key) = rest.split_once(", k=").expect("t and k");
    assert_eq!(key, public_key, "k is the key browsers subscribed with");
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(&Base64UrlUnpadded::decode_vec(key).unwrap()).unwrap();
    let signature = p256::ecdsa::Signature::from_slice(&Base64UrlUnpadded::decode_vec(signature).unwrap()).unwrap();
    verifying.verify(signed.as_bytes(), &signature).expect("ES256 signature");
    let part =
        |i: usize| -> Value { serde_json::from_slice(&Base64UrlUnpadded::decode_vec(signed.split('.').nth(i).unwrap()).unwrap()).unwrap() };
    assert_eq!(part(0)["alg"], "ES256");
    let claims = part(1);
    assert_eq!(claims["aud"], audience);
    let exp = claims["exp"].as_i64().unwrap();
    assert!(exp > now && exp <= now + 24 * 3600, "exp within 24 h");
    assert_eq!(claims["sub"], "mailto:ocd@localhost");
}

async fn web_push_is_encrypted_and_signed(app: TestApp) {
    let push = FakeReceiver::start().await;
    let key = app.raw(Method::GET, "/api/push/vapid-public-key").send().await.unwrap().json::<Value>().await.unwrap();
    let public_key = key["publicKey"].as_str().unwrap().to_string();
    assert_eq!(Base64UrlUnpadded::decode_vec(&public_key).unwrap().len(), 65, "an uncompressed P-256 point");
    let browser_keys = BrowserKeys::new();
    let endpoint = format!("{}/push/sub-1", push.url);
    let r = app.post("/api/push/subscriptions", browser_keys.subscription(&endpoint)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "an API key has no browser");
    let mut person = signed_in(&app, Role::Viewer).await;
    let r = person
        .go(Method::POST, "/api/push/subscriptions", Some(&json!({"endpoint": endpoint, "keys": {"p256dh": "bad", "auth": "x"}})))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.to_string().contains("keys"), "{}", r.body);
    let r = person.go(Method::POST, "/api/push/subscriptions", Some(&browser_keys.subscription(&endpoint))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["subscription"]["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["subscription"]["type"], "web_push");
    let again = person.go(Method::POST, "/api/push/subscriptions", Some(&browser_keys.subscription(&endpoint))).await;
    assert_eq!((again.status, again.body["subscription"]["id"].as_str()), (StatusCode::OK, Some(id.as_str())), "the same browser again");

    agent_on(&app, "a", "h", "high").await;
    block(&app, "a", "h", "Run rm -rf build/?").await;
    app.alerts().await;
    let got = push.received_at("/push/sub-1");
    assert_eq!(got.len(), 1);
    let request = &got[0];
    assert_eq!(request.header("content-encoding"), Some("aes128gcm"));
    assert_eq!(request.header("ttl"), Some("86400"));
    assert_eq!(request.header("urgency"), Some("high"));
    check_vapid(request.header("authorization").unwrap(), &push.url, &public_key, app.clock.now());
    let auth = web_push_native::Auth::clone_from_slice(&browser_keys.auth);
    let plain = web_push_native::decrypt(request.body.to_vec(), &browser_keys.secret, &auth).expect("the browser can decrypt it");
    let note: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(note["title"], "a is blocked");
    assert_eq!(note["body"], "[HIGH] Agent \"a\" blocked on \"Task h\": Run rm -rf build/?");
    assert!(note["url"].as_str().unwrap().ends_with("/agents/a"));
    assert!(note["tag"].as_str().unwrap().starts_with("alert-"));

    // The push service forgot the subscription: it is removed.
    push.answer(410, &[]);
    app.clock.advance_secs(3600);
    agent_on(&app, "b", "h2", "high").await;
    block(&app, "b", "h2", "again").await;
    app.alerts().await;
    let log = app.get("/api/notifications/deliveries?status=gone").await;
    assert_eq!(log.body["deliveries"].as_array().unwrap().len(), 1, "{}", log.body);
    assert!(app.get("/api/settings/channels").await.body["channels"].as_array().unwrap().is_empty());
    let r = person.go(Method::DELETE, &format!("/api/push/subscriptions/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The key is kept: the same after a restart, so subscriptions stay valid.
    let app = app.restart().await;
    let again = app.raw(Method::GET, "/api/push/vapid-public-key").send().await.unwrap().json::<Value>().await.unwrap();
    assert_eq!(again["publicKey"].as_str(), Some(public_key.as_str()));
}

/// A replica that claimed a delivery and died: after the lease runs out another sends it,
/// with the same delivery id (at least once).
async fn a_lost_lease_is_sent_again(app: TestApp) {
    let fake = FakeReceiver::start().await;
    let mut owner = signed_in(&app, Role::Owner).await;
    webhook_channel(&mut owner, &fake).await;
    agent_on(&app, "a", "h", "high").await;
    block(&app, "a", "h", "help").await;
    ocd::service::alerting::fire_due(&app.app).await.unwrap();
    let now_ms = app.clock.now_ms();
    let backend = app.app.db.backend;
    let claimed = app
        .app
        .db
        .write(move |c| Box::pin(async move { Ok(ocd::db::deliveries::claim_due(c, backend, now_ms, now_ms + 60_000, 20).await?) }))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "claimed by a replica that then dies");
    app.alerts().await;
    assert!(fake.received().is_empty(), "held while the lease lasts");
    app.clock.advance_secs(61);
    app.alerts().await;
    let sent = fake.received();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header("x-ocd-delivery"), Some(claimed[0].id.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_endpoints_must_be_https_and_are_limited_per_person() {
    let app = TestApp::spawn_with(crate::harness::Backend::Sqlite, |c| c.push_allow_http = false).await.unwrap();
    let mut person = signed_in(&app, Role::Viewer).await;
    let keys = BrowserKeys::new();
    let r = person.go(Method::POST, "/api/push/subscriptions", Some(&keys.subscription("http://169.254.169.254/latest"))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["details"][0]["path"][0], "endpoint");
    for i in 0..10 {
        let r = person.go(Method::POST, "/api/push/subscriptions", Some(&keys.subscription(&format!("https://push.example/{i}")))).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let r = person.go(Method::POST, "/api/push/subscriptions", Some(&keys.subscription("https://push.example/11"))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
}

/// An approval's push (docs/decisions.md#approvals): an admin's browser gets the Approve and
/// Reject actions and the decision link the service worker posts to; a viewer's the notification
/// alone. The service worker's post decides.
async fn approval_pushes_carry_answers_for_deciders_only(app: TestApp) {
    let push = FakeReceiver::start().await;
    let (admin_keys, viewer_keys) = (BrowserKeys::new(), BrowserKeys::new());
    let mut admin = signed_in(&app, Role::Admin).await;
    let mut viewer = signed_in(&app, Role::Viewer).await;
    for (person, keys, path) in [(&mut admin, &admin_keys, "/push/admin"), (&mut viewer, &viewer_keys, "/push/viewer")] {
        let r = person.go(Method::POST, "/api/push/subscriptions", Some(&keys.subscription(&format!("{}{path}", push.url)))).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let asked = json!([{"id": "evt_p", "type": "permission.asked", "properties": {"id": "per_push", "sessionID": "ses_p",
        "permission": "bash", "patterns": ["terraform apply"], "metadata": {"command": "terraform apply"}}}]);
    app.post("/api/ingest/opencode", asked).await;
    app.alerts().await;
    let open = |path: &str, keys: &BrowserKeys| -> Value {
        let got = push.received_at(path);
        assert_eq!(got.len(), 1, "{path}");
        let auth = web_push_native::Auth::clone_from_slice(&keys.auth);
        serde_json::from_slice(&web_push_native::decrypt(got[0].body.to_vec(), &keys.secret, &auth).unwrap()).unwrap()
    };
    let to_admin = open("/push/admin", &admin_keys);
    let to_viewer = open("/push/viewer", &viewer_keys);
    assert_eq!(to_admin["title"], "OpenCode asks for approval");
    assert!(to_admin["body"].as_str().unwrap().contains("terraform apply"));
    assert_eq!(to_admin["actions"], json!([{"action": "once", "title": "Approve"}, {"action": "reject", "title": "Reject"}]));
    let id = to_admin["approvalId"].as_str().unwrap();
    assert!(to_viewer.get("actions").is_none() && to_viewer.get("decideUrl").is_none(), "{to_viewer}");
    assert_eq!(to_viewer["title"], to_admin["title"]);

    // What the service worker posts when the Approve action is tapped.
    let decide = to_admin["decideUrl"].as_str().unwrap();
    let path = &decide[decide.find("/approvals/decide/").unwrap()..];
    let r = app.send(app.raw(Method::POST, path).json(&json!({"decision": "once", "approval_id": id}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["approval"]["status"], "approved");
    assert!(r.body["approval"]["decided_by"].as_str().unwrap().starts_with("link:"));
}

//! Sign-in helpers shared by the people and authorization tests.

use ocd::auth::links::{self, LinkFor};
use ocd::auth::principal::Role;
use ocd::clock::Clock;
use ocd::config::Config;
use reqwest::{Method, StatusCode};

use crate::browser::Browser;
use crate::fake_github::{CLIENT_ID, CLIENT_SECRET, FakeGitHub};
use crate::harness::{Backend, TestApp};

/// An app whose GitHub OAuth app is configured against a fake GitHub.
pub async fn github_app(backend: Backend) -> Option<(TestApp, FakeGitHub)> {
    github_app_with(backend, |_| {}).await
}

/// `github_app` with more configuration.
pub async fn github_app_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Option<(TestApp, FakeGitHub)> {
    let github = FakeGitHub::start().await;
    let url = github.url.clone();
    let app = TestApp::spawn_with(backend, |c| {
        c.github_client_id = Some(CLIENT_ID.into());
        c.github_client_secret = Some(CLIENT_SECRET.into());
        c.github_oauth_url = url.clone();
        c.github_api_url = url;
        configure(c);
    })
    .await?;
    Some((app, github))
}

/// Runs `async fn name(TestApp, FakeGitHub)` on both backends, like `on_both_backends!`.
#[macro_export]
macro_rules! with_github_on_both_backends {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let (app, github) = $crate::auth_helpers::github_app($crate::harness::Backend::Sqlite).await.expect("sqlite app");
                    super::$name(app, github).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some((app, github)) = $crate::auth_helpers::github_app($crate::harness::Backend::Postgres).await {
                        super::$name(app, github).await;
                    }
                }
            }
        )+
    };
}

/// A one-time sign-in link path, as `ocd login-link` makes it.
pub async fn login_link(app: &TestApp, whom: LinkFor<'_>) -> String {
    links::create(&app.app.db, whom, app.clock.now()).await.expect("create link")
}

/// A browser signed in (through a login link) as a new local user with `role`.
pub async fn signed_in(app: &TestApp, role: Role) -> Browser {
    let path = login_link(app, LinkFor::NewUser(role)).await;
    let mut browser = Browser::new(app);
    let r = browser.go(Method::POST, &path, None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(browser.session().is_some());
    browser
}

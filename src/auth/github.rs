//! The GitHub web application flow (decisions.md#github-oauth), as `../shared/reference/external-apis.md` describes
//! it: the token endpoint answers errors with HTTP 200 and an `error` field, and the API
//! refuses requests without a User-Agent.

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::db::users::GithubProfile;
use crate::error::AppError;

const USER_AGENT: &str = concat!("ocd/", env!("CARGO_PKG_VERSION"));

#[derive(Clone)]
pub struct GitHub {
    http: reqwest::Client,
    oauth_url: String,
    api_url: String,
    app: Option<(String, String)>,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHub").field("oauth_url", &self.oauth_url).field("configured", &self.app.is_some()).finish()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Deserialize)]
struct UserAnswer {
    id: i64,
    login: String,
    name: Option<String>,
    avatar_url: Option<String>,
}

impl From<UserAnswer> for GithubProfile {
    fn from(u: UserAnswer) -> Self {
        GithubProfile { id: u.id, login: u.login, name: u.name.filter(|n| !n.is_empty()), avatar_url: u.avatar_url }
    }
}

impl GitHub {
    pub fn new(oauth_url: &str, api_url: &str, client_id: Option<&str>, client_secret: Option<&str>) -> Result<GitHub, String> {
        // reqwest is built without a bundled crypto provider; ring is ours. A second install
        // (several apps in one test process) is refused harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let app = match (client_id.filter(|v| !v.is_empty()), client_secret.filter(|v| !v.is_empty())) {
            (Some(id), Some(secret)) => Some((id.to_string(), secret.to_string())),
            _ => None,
        };
        Ok(GitHub { http, oauth_url: oauth_url.trim_end_matches('/').into(), api_url: api_url.trim_end_matches('/').into(), app })
    }

    /// Whether an OAuth app is configured (both GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET).
    pub fn configured(&self) -> bool {
        self.app.is_some()
    }

    /// `select_account`: GitHub lets the person pick another account (adding an account to
    /// this browser, decisions.md#accounts) instead of reusing the one signed in at GitHub.
    pub fn authorize_url(&self, redirect_uri: &str, state: &str, select_account: bool) -> Option<String> {
        let (client_id, _) = self.app.as_ref()?;
        let mut pairs = vec![
            ("client_id", client_id.as_str()),
            ("redirect_uri", redirect_uri),
            ("state", state),
            ("scope", "read:user"),
            ("allow_signup", "false"),
        ];
        if select_account {
            pairs.push(("prompt", "select_account"));
        }
        let query = serde_urlencoded::to_string(pairs).ok()?;
        Some(format!("{}/login/oauth/authorize?{query}", self.oauth_url))
    }

    /// Exchanges the callback's code for an access token.
    pub async fn exchange(&self, code: &str, redirect_uri: &str) -> Result<String, AppError> {
        let (client_id, client_secret) = self.app.as_ref().ok_or_else(|| AppError::internal("GitHub OAuth is not configured"))?;
        let body = serde_json::json!({"client_id": client_id, "client_secret": client_secret, "code": code, "redirect_uri": redirect_uri});
        let request = self
            .http
            .post(format!("{}/login/oauth/access_token", self.oauth_url))
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&body);
        let token: TokenAnswer = fetch(request, "token exchange", "Failed to exchange OAuth code").await?.ok_or_else(|| {
            tracing::warn!("GitHub token endpoint answered 404");
            AppError::BadGateway("Failed to exchange OAuth code".into())
        })?;
        // Errors arrive with HTTP 200: look at `error` before `access_token`.
        if let Some(error) = token.error {
            return Err(AppError::BadGateway(token.error_description.unwrap_or(error)));
        }
        token.access_token.filter(|t| !t.is_empty()).ok_or_else(|| AppError::BadGateway("Missing GitHub access token".into()))
    }

    /// The account the token belongs to (`GET /user`).
    pub async fn current_user(&self, token: &str) -> Result<GithubProfile, AppError> {
        let request = self.api(&format!("{}/user", self.api_url)).bearer_auth(token);
        let user: Option<UserAnswer> = fetch(request, "profile", "Failed to fetch GitHub profile").await?;
        user.map(GithubProfile::from).ok_or_else(|| AppError::BadGateway("Failed to fetch GitHub profile".into()))
    }

    /// Looks an account up by login (`GET /users/{name}`); `None` when GitHub has no such user.
    pub async fn user_by_login(&self, login: &str) -> Result<Option<GithubProfile>, AppError> {
        let request = self.api(&format!("{}/users/{}", self.api_url, crate::percent::encode(login)));
        let user: Option<UserAnswer> = fetch(request, "user lookup", "Failed to fetch GitHub user").await?;
        Ok(user.map(GithubProfile::from))
    }

    fn api(&self, url: &str) -> reqwest::RequestBuilder {
        self.http.get(url).header(reqwest::header::ACCEPT, "application/vnd.github+json").header("X-GitHub-Api-Version", "2022-11-28")
    }
}

/// Sends `request` and decodes its JSON answer; `None` for a 404. Anything else that goes
/// wrong (unreachable, another non-2xx, a body that does not decode) is logged — never the
/// secrets, which are in the body, not the error — and becomes a 502 with `message`.
async fn fetch<T: DeserializeOwned>(request: reqwest::RequestBuilder, step: &str, message: &str) -> Result<Option<T>, AppError> {
    let failed = |cause: String| {
        tracing::warn!(%cause, "GitHub {step} failed");
        AppError::BadGateway(message.into())
    };
    let answer = request.send().await.map_err(|e| failed(e.without_url().to_string()))?;
    if answer.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !answer.status().is_success() {
        return Err(failed(format!("HTTP {}", answer.status())));
    }
    answer.json().await.map(Some).map_err(|e| failed(e.without_url().to_string()))
}

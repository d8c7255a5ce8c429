//! A small GraphQL client for Linear (`../shared/reference/external-apis.md`): personal-key
//! auth (`Authorization: <key>`, no Bearer), errors read from `errors[].extensions`, and rate
//! limits respected — the `X-RateLimit-*` headers of every answer say how much is left, a
//! request waits for the window to reset when nothing is, and a RATELIMITED answer is retried
//! after the reset (or an exponential back-off) with jitter, a few times at most.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::linear::queries::Document;

/// Tries of one request when Linear answers RATELIMITED.
const ATTEMPTS: u32 = 4;
/// The longest a request waits for a rate-limit window; beyond it the caller gets the error.
const MAX_WAIT: Duration = Duration::from_secs(60);
const TIMEOUT: Duration = Duration::from_secs(30);

/// What went wrong talking to Linear, in the categories Linear's errors carry.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LinearError {
    #[error("LINEAR_API_KEY is not set")]
    NotConfigured,
    #[error("Linear refused the API key: {0}")]
    Authentication(String),
    #[error("Linear forbids this: {0}")]
    Forbidden(String),
    #[error("Linear's rate limit is exhausted: {0}")]
    RateLimited(String),
    #[error("Linear rejected the input: {0}")]
    InvalidInput(String),
    #[error("Linear answered with an error: {0}")]
    Api(String),
    #[error("Linear could not be reached: {0}")]
    Unreachable(String),
}

impl LinearError {
    /// Worth trying again later (the next sync, the timer's next run).
    pub fn is_transient(&self) -> bool {
        matches!(self, LinearError::RateLimited(_) | LinearError::Unreachable(_))
    }

    /// An error from one entry of `errors[]`: its `extensions.code` (RATELIMITED, …) or its
    /// `extensions.type` (the SDK's "authentication error", "forbidden", …), with the message
    /// meant for people when there is one.
    fn of(error: &Value) -> LinearError {
        let ext = error.get("extensions");
        let field = |k: &str| ext.and_then(|e| e.get(k)).and_then(Value::as_str).unwrap_or_default().to_lowercase();
        let message = ext
            .and_then(|e| e.get("userPresentableMessage"))
            .or_else(|| error.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("no message")
            .to_string();
        let (code, kind) = (field("code"), field("type"));
        let is = |needle: &str| code.contains(needle) || kind.contains(needle);
        if is("ratelimited") {
            LinearError::RateLimited(message)
        } else if is("authentication") {
            LinearError::Authentication(message)
        } else if is("forbidden") {
            LinearError::Forbidden(message)
        } else if is("invalid") || is("input") {
            LinearError::InvalidInput(message)
        } else {
            LinearError::Api(message)
        }
    }
}

/// The rate-limit budget the last answer reported.
#[derive(Debug, Default, Clone, Copy)]
struct Budget {
    requests_remaining: Option<i64>,
    requests_reset_ms: Option<i64>,
    complexity_remaining: Option<i64>,
    complexity_reset_ms: Option<i64>,
}

impl Budget {
    fn read(headers: &HeaderMap) -> Budget {
        let number = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<i64>().ok());
        Budget {
            requests_remaining: number("x-ratelimit-requests-remaining"),
            requests_reset_ms: number("x-ratelimit-requests-reset"),
            complexity_remaining: number("x-ratelimit-complexity-remaining"),
            complexity_reset_ms: number("x-ratelimit-complexity-reset"),
        }
    }

    /// When the next request may go: the later reset of an exhausted budget, if any.
    fn blocked_until_ms(&self) -> Option<i64> {
        let exhausted = |remaining: Option<i64>, reset: Option<i64>| reset.filter(|_| remaining.is_some_and(|r| r <= 0));
        [exhausted(self.requests_remaining, self.requests_reset_ms), exhausted(self.complexity_remaining, self.complexity_reset_ms)]
            .into_iter()
            .flatten()
            .max()
    }
}

/// Wall-clock milliseconds: Linear's resets are real times, whatever clock ocd's rules run on.
fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn jitter() -> Duration {
    Duration::from_millis(rand::thread_rng().gen_range(0..250))
}

/// One page of a connection, as every paginated query answers.
#[derive(Debug, Deserialize)]
struct Page<T> {
    nodes: Vec<T>,
    #[serde(rename = "pageInfo")]
    page_info: PageInfo,
}

#[derive(Debug, Deserialize)]
struct PageInfo {
    #[serde(rename = "hasNextPage")]
    has_next_page: bool,
    #[serde(rename = "endCursor")]
    end_cursor: Option<String>,
}

pub struct Linear {
    http: reqwest::Client,
    url: String,
    key: Option<String>,
    budget: Mutex<Budget>,
}

impl Linear {
    pub fn new(url: &str, key: Option<&str>) -> Result<Linear, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("ocd/", env!("CARGO_PKG_VERSION")))
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| format!("cannot build the Linear client: {e}"))?;
        let key = key.map(str::trim).filter(|k| !k.is_empty()).map(String::from);
        Ok(Linear { http, url: url.to_string(), key, budget: Mutex::new(Budget::default()) })
    }

    pub fn is_configured(&self) -> bool {
        self.key.is_some()
    }

    fn budget(&self) -> Budget {
        self.budget.lock().map(|b| *b).unwrap_or_default()
    }

    /// Runs `doc` with `variables`; returns its `data`.
    pub async fn run(&self, doc: Document, variables: Value) -> Result<Value, LinearError> {
        let key = self.key.as_deref().ok_or(LinearError::NotConfigured)?;
        let body = json!({"query": doc.text, "variables": variables, "operationName": doc.name});
        let mut attempt = 0;
        loop {
            if let Some(until) = self.budget().blocked_until_ms() {
                let wait = Duration::from_millis(until.saturating_sub(now_ms()).max(0) as u64);
                if wait > MAX_WAIT {
                    return Err(LinearError::RateLimited(format!("the budget resets in {} s", wait.as_secs())));
                }
                tokio::time::sleep(wait + jitter()).await;
            }
            match self.send(key, &body).await {
                Err(LinearError::RateLimited(message)) if attempt + 1 < ATTEMPTS => {
                    // The reset of the exhausted budget when the answer gave one still ahead;
                    // else 1 s, 2 s, 4 s.
                    let reset = self.budget().blocked_until_ms().map(|r| r - now_ms()).filter(|ms| *ms > 0);
                    let backoff = Duration::from_millis(reset.map_or(1000 << attempt, |ms| ms as u64));
                    if backoff > MAX_WAIT {
                        // Not worth holding anyone for: say so now.
                        return Err(LinearError::RateLimited(format!("{message} (the budget resets in {} s)", backoff.as_secs())));
                    }
                    tracing::warn!(operation = doc.name, attempt, wait_ms = backoff.as_millis() as u64, "Linear rate limited: {message}");
                    tokio::time::sleep(backoff + jitter()).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn send(&self, key: &str, body: &Value) -> Result<Value, LinearError> {
        let reply = self
            .http
            .post(&self.url)
            .header(reqwest::header::AUTHORIZATION, key)
            .json(body)
            .send()
            .await
            .map_err(|e| LinearError::Unreachable(e.without_url().to_string()))?;
        let status = reply.status();
        let budget = Budget::read(reply.headers());
        if let Ok(mut kept) = self.budget.lock() {
            *kept = budget;
        }
        let text = reply.text().await.map_err(|e| LinearError::Unreachable(e.without_url().to_string()))?;
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(LinearError::RateLimited(format!("HTTP {status}")));
        }
        let Ok(answer) = serde_json::from_str::<Value>(&text) else {
            return Err(if status.is_server_error() {
                LinearError::Unreachable(format!("HTTP {status}"))
            } else {
                LinearError::Api(format!("HTTP {status} without a GraphQL answer"))
            });
        };
        let errors = answer.get("errors").and_then(Value::as_array).filter(|e| !e.is_empty());
        let data = answer.get("data").filter(|d| !d.is_null());
        match (errors, data) {
            // Partial data is refused too: a sync must not take a missing part for a removal.
            (Some(errors), _) => {
                if errors.len() > 1 {
                    let all = Value::from(errors.clone());
                    tracing::warn!(errors = %all, "Linear answered with several errors");
                }
                Err(LinearError::of(&errors[0]))
            }
            (None, Some(data)) if status.is_success() => Ok(data.clone()),
            _ if status.is_server_error() => Err(LinearError::Unreachable(format!("HTTP {status}"))),
            _ => Err(LinearError::Api(format!("HTTP {status}"))),
        }
    }

    /// Runs `doc` and reads its `data` as `T`; an answer of another shape is an error naming
    /// the query.
    pub async fn query<T: DeserializeOwned>(&self, doc: Document, variables: Value) -> Result<T, LinearError> {
        let data = self.run(doc, variables).await?;
        serde_json::from_value(data).map_err(|e| LinearError::Api(format!("{} answered in an unexpected shape: {e}", doc.name)))
    }

    /// Every node of a paginated connection, as `T`: runs `doc` page after page (`after` = the
    /// last page's `endCursor`) while `hasNextPage`. `connection` is the path to the
    /// connection in `data` (`["issues"]`).
    pub async fn all_pages<T: DeserializeOwned>(
        &self,
        doc: Document,
        variables: Value,
        connection: &[&str],
    ) -> Result<Vec<T>, LinearError> {
        let mut nodes = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut vars = variables.clone();
            if let (Some(cursor), Some(map)) = (&after, vars.as_object_mut()) {
                map.insert("after".into(), Value::from(cursor.clone()));
            }
            let mut data = self.run(doc, vars).await?;
            let page = connection.iter().try_fold(&mut data, |at, key| at.get_mut(*key)).map(Value::take);
            let page: Page<T> = serde_json::from_value(page.unwrap_or(Value::Null))
                .map_err(|e| LinearError::Api(format!("{} answered without a page of {}: {e}", doc.name, connection.join("."))))?;
            nodes.extend(page.nodes);
            if !page.page_info.has_next_page {
                return Ok(nodes);
            }
            // More to come, but no way to ask for it (or the same page again): an incomplete
            // list must not pass for the whole (a sync would remove the rest).
            match page.page_info.end_cursor {
                Some(cursor) if after.as_ref() != Some(&cursor) => after = Some(cursor),
                _ => return Err(LinearError::Api(format!("{} answered a page without a way to the next", doc.name))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified_by_their_extensions() {
        let of = |ext: Value| LinearError::of(&json!({"message": "m", "extensions": ext}));
        assert!(matches!(of(json!({"code": "RATELIMITED"})), LinearError::RateLimited(_)));
        assert!(matches!(of(json!({"type": "authentication error"})), LinearError::Authentication(_)));
        assert!(matches!(of(json!({"type": "forbidden"})), LinearError::Forbidden(_)));
        assert!(matches!(of(json!({"type": "invalid input"})), LinearError::InvalidInput(_)));
        assert_eq!(of(json!({"userPresentableMessage": "Nope"})), LinearError::Api("Nope".into()));
    }

    #[test]
    fn an_exhausted_budget_waits_for_its_reset() {
        let budget = Budget {
            requests_remaining: Some(0),
            requests_reset_ms: Some(10),
            complexity_remaining: Some(5),
            complexity_reset_ms: Some(99),
        };
        assert_eq!(budget.blocked_until_ms(), Some(10));
        assert_eq!(Budget { requests_remaining: Some(3), ..budget }.blocked_until_ms(), None);
    }
}

//! The one application error type. 4xx carry a clear JSON message; 5xx are logged with
//! their cause and answered with an opaque body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

/// One problem found in a request body, shaped like the original's validation issues.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Issue {
    pub code: &'static str,
    pub path: Vec<Value>,
    pub message: String,
}

impl Issue {
    pub fn new(code: &'static str, field: &str, message: impl Into<String>) -> Self {
        let path = if field.is_empty() { vec![] } else { vec![Value::from(field)] };
        Issue { code, path, message: message.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("invalid request body")]
    InvalidBody(Vec<Issue>),
    #[error("{0}")]
    BadRequest(String),
    #[error("unauthorized")]
    Unauthorized,
    /// A credential that is missing or wrong in a way the caller should be told (a webhook's
    /// signature).
    #[error("unauthorized: {0}")]
    UnauthorizedBecause(String),
    #[error("forbidden")]
    Forbidden,
    #[error("forbidden: {0}")]
    ForbiddenBecause(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    /// Something that existed and is no longer usable (a spent or expired link).
    #[error("{0}")]
    Gone(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    #[error("upstream failed: {0}")]
    BadGateway(String),
    #[error("service unavailable")]
    Unavailable,
    /// A feature used without the configuration it needs; the message says which.
    #[error("not configured: {0}")]
    NotConfigured(String),
    #[error("internal error: {0}")]
    Internal(String),
    /// A database failure, its cause kept for the log.
    #[error("database: {0}")]
    Database(#[source] sqlx::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// A body that failed validation on one field.
    pub fn field(code: &'static str, field: &str, message: impl Into<String>) -> Self {
        AppError::InvalidBody(vec![Issue::new(code, field, message)])
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        AppError::Internal(cause.to_string())
    }

    pub fn not_found(what: &str) -> Self {
        AppError::NotFound(format!("{what} not found"))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::InvalidBody(_) | AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized | AppError::UnauthorizedBecause(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::ForbiddenBecause(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Gone(_) => StatusCode::GONE,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) | AppError::NotConfigured(_) | AppError::Database(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The one place a database error becomes an answer: a unique-constraint violation is a
/// conflict the client can act on (two writers raced to create the same id); anything else
/// is a 500 whose cause is logged.
impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        if e.as_database_error().is_some_and(|d| d.is_unique_violation()) {
            return AppError::Conflict("A record with that id already exists".into());
        }
        AppError::Database(e)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match &self {
            AppError::InvalidBody(issues) => json!({"error": "Invalid request body", "details": issues}),
            AppError::BadRequest(m)
            | AppError::NotFound(m)
            | AppError::Conflict(m)
            | AppError::Gone(m)
            | AppError::ForbiddenBecause(m)
            | AppError::UnauthorizedBecause(m)
            | AppError::BadGateway(m)
            | AppError::NotConfigured(m) => json!({"error": m}),
            AppError::Unauthorized => json!({"error": "Unauthorized"}),
            AppError::Forbidden => json!({"error": "Forbidden"}),
            AppError::MethodNotAllowed => json!({"error": "Method not allowed"}),
            AppError::PayloadTooLarge => json!({"error": "Request body too large"}),
            AppError::RateLimited { .. } => json!({"error": "Too many requests"}),
            AppError::Unavailable => json!({"error": "Service unavailable"}),
            AppError::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                json!({"error": "Internal server error"})
            }
            AppError::Database(cause) => {
                tracing::error!(cause = %cause, detail = ?cause, "request failed: database");
                json!({"error": "Internal server error"})
            }
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let AppError::RateLimited { retry_after_secs } = self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

/// Collects the checks serde cannot express (non-empty strings, ranges) into one 400.
#[derive(Debug, Default)]
pub struct Checks(Vec<Issue>);

impl Checks {
    pub fn new() -> Checks {
        Checks::default()
    }

    pub fn require(&mut self, ok: bool, code: &'static str, field: &str, message: &str) -> &mut Self {
        if !ok {
            self.0.push(Issue::new(code, field, format!("{field}: {message}")));
        }
        self
    }

    pub fn min1(&mut self, field: &str, value: &str) -> &mut Self {
        self.require(!value.is_empty(), "too_small", field, "must contain at least 1 character")
    }

    pub fn min1_opt(&mut self, field: &str, value: Option<&str>) -> &mut Self {
        self.min1(field, value.unwrap_or("x"))
    }

    pub fn finish(&mut self) -> AppResult<()> {
        if self.0.is_empty() { Ok(()) } else { Err(AppError::InvalidBody(std::mem::take(&mut self.0))) }
    }
}

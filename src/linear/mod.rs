//! Linear's GraphQL API as ocd uses it: the client (auth, errors, rate limits) and every
//! query document. The operations built on it (sync, board moves, webhooks, assignment) are
//! in `service/linear/`.

pub mod client;
pub mod queries;

pub use client::{Linear, LinearError};

use crate::error::AppError;

/// A missing key is a configuration problem of this server (500 naming the setting); input
/// Linear refused (an id it does not know, a state of another team) is the caller's (400);
/// anything else Linear answered or failed to answer is a bad gateway, with Linear's reason.
impl From<LinearError> for AppError {
    fn from(e: LinearError) -> Self {
        match e {
            LinearError::NotConfigured => AppError::NotConfigured(e.to_string()),
            LinearError::InvalidInput(_) => AppError::BadRequest(e.to_string()),
            other => AppError::BadGateway(other.to_string()),
        }
    }
}

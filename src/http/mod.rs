//! The request gate in front of every route: routing table lookup, CORS, authentication,
//! role checks, rate limiting, security headers and metrics.

pub mod access;
pub mod errors;
pub mod gate;
pub mod headers;
pub mod html;
pub mod json;
pub mod limits;
pub mod list_cache;
pub mod metrics;
pub mod open_mode;
pub mod ratelimit;
pub mod scope;
pub mod serve;

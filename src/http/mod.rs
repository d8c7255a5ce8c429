//! The request gate in front of every route: routing table lookup, CORS, authentication,
//! role checks, rate limiting, security headers and metrics.

pub mod access;
pub mod gate;
pub mod metrics;
pub mod percent;
pub mod ratelimit;
pub mod serve;

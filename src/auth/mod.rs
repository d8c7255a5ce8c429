//! Who may do what: principals and roles (K1, K2), browser sessions and their cookies,
//! one-time sign-in links (K5, K6), GitHub OAuth (P2), CSRF (K4) and project-scoped keys (K3).

pub mod authenticate;
pub mod cookies;
pub mod csrf;
pub mod github;
pub mod links;
pub mod principal;
pub mod sessions;
pub mod tokens;

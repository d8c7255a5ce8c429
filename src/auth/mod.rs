//! Who may do what: principals and roles (decisions.md#principals, decisions.md#roles), browser sessions and their cookies,
//! one-time sign-in links (decisions.md#setup-link, decisions.md#login-links), GitHub OAuth (decisions.md#github-oauth), CSRF (decisions.md#csrf) and project-scoped keys (decisions.md#project-scoped-keys).

pub mod accounts;
pub mod authenticate;
pub mod cookies;
pub mod csrf;
pub mod github;
pub mod links;
pub mod principal;
pub mod sessions;
pub mod tokens;

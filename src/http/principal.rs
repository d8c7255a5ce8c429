//! Who is calling (K1). Resolved once per request by the gate and handed to handlers.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use super::access::Access;
use crate::crypto::ct_eq;
use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Admin,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    fn satisfies(self, access: Access) -> bool {
        match access {
            Access::Public => true,
            Access::Viewer => true,
            Access::Admin => self >= Role::Admin,
            Access::Owner => self >= Role::Owner,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    /// A bearer API key: the bootstrap key is `{admin, no scope}`.
    ApiKey {
        role: Role,
        project: Option<String>,
    },
    /// `DISABLE_AUTH=true` and no Authorization header.
    LocalOwner,
}

impl Principal {
    pub fn role(&self) -> Option<Role> {
        match self {
            Principal::Anonymous => None,
            Principal::ApiKey { role, .. } => Some(*role),
            Principal::LocalOwner => Some(Role::Owner),
        }
    }

    /// Checks `access`: anonymous callers get 401, too-weak roles 403.
    pub fn authorize(&self, access: Access) -> Result<(), AppError> {
        if access == Access::Public {
            return Ok(());
        }
        match self.role() {
            None => Err(AppError::Unauthorized),
            Some(role) if role.satisfies(access) => Ok(()),
            Some(_) => Err(AppError::Forbidden),
        }
    }

    /// The rate-limit bucket: one per principal, one per IP for anonymous callers.
    pub fn rate_key(&self, ip: std::net::IpAddr) -> String {
        match self {
            Principal::Anonymous | Principal::LocalOwner => format!("ip:{ip}"),
            Principal::ApiKey { role, project } => format!("key:{}:{}", role.as_str(), project.as_deref().unwrap_or("")),
        }
    }
}

/// The credentials the gate checks against.
#[derive(Clone)]
pub struct Authenticator {
    pub bootstrap_key: String,
    pub disable_auth: bool,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator").field("disable_auth", &self.disable_auth).finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Resolves the principal of a request; wrong or missing credentials give `Anonymous`
    /// (a 401 on any non-public route). The stream may pass its token as `?token=`.
    pub fn resolve(&self, headers: &HeaderMap, query_token: Option<&str>) -> Principal {
        let authorization = headers.get(header::AUTHORIZATION);
        if self.disable_auth && authorization.is_none() {
            return Principal::LocalOwner;
        }
        let bearer = authorization.and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        match bearer.or(query_token) {
            Some(token) if ct_eq(token, &self.bootstrap_key) => Principal::ApiKey { role: Role::Admin, project: None },
            _ => Principal::Anonymous,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // The gate always inserts one; its absence means the route bypassed the gate.
        parts.extensions.get::<Principal>().cloned().ok_or(AppError::Unauthorized)
    }
}

//! Who is calling (decisions.md#principals). Resolved once per request by the gate and handed to handlers.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::AppError;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    Public,
    Viewer,
    Admin,
    Owner,
    /// Any signed-in person (not an API key): their own sessions, accepting an invite.
    User,
    /// An owner in person: team, invites, API keys (decisions.md#roles: no key manages people).
    People,
}

pub use crate::domain::roles::Role;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    /// A bearer API key: the bootstrap key is `{id: None, admin, no scope}`; named keys carry
    /// their id, role and optional project scope (decisions.md#project-scoped-keys).
    ApiKey {
        id: Option<String>,
        role: Role,
        project: Option<String>,
    },
    /// A person signed in with a browser session (`session` is its id).
    User {
        id: i64,
        role: Role,
        session: String,
    },
    /// `DISABLE_AUTH=true` and no Authorization header.
    LocalOwner,
}

impl Principal {
    pub fn role(&self) -> Option<Role> {
        match self {
            Principal::Anonymous => None,
            Principal::ApiKey { role, .. } | Principal::User { role, .. } => Some(*role),
            Principal::LocalOwner => Some(Role::Owner),
        }
    }

    /// The session the request came with, for a signed-in person.
    pub fn session_id(&self) -> Option<&str> {
        match self {
            Principal::User { session, .. } => Some(session),
            _ => None,
        }
    }

    /// The signed-in user's id (not for API keys or the local owner).
    pub fn user_id(&self) -> Option<i64> {
        match self {
            Principal::User { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// The project a scoped key is limited to (decisions.md#project-scoped-keys).
    pub fn scope(&self) -> Option<&str> {
        match self {
            Principal::ApiKey { project: Some(p), .. } => Some(p),
            _ => None,
        }
    }

    /// Checks `access`: anonymous callers get 401, everyone else who falls short 403.
    pub fn authorize(&self, access: Access) -> Result<(), AppError> {
        let Some(role) = self.role() else {
            return if access == Access::Public { Ok(()) } else { Err(AppError::Unauthorized) };
        };
        let allowed = match access {
            Access::Public | Access::Viewer => true,
            Access::Admin => role >= Role::Admin,
            Access::Owner => role >= Role::Owner,
            Access::User => matches!(self, Principal::User { .. }),
            // People are managed by an owner in person, never by a key (decisions.md#roles, fixes decisions.md#roles).
            Access::People => matches!(self, Principal::User { role: Role::Owner, .. } | Principal::LocalOwner),
        };
        match (allowed, access, self) {
            (true, ..) => Ok(()),
            (false, Access::User | Access::People, Principal::ApiKey { .. }) => {
                Err(AppError::ForbiddenBecause("User context required".into()))
            }
            (false, Access::User, Principal::LocalOwner) => Err(AppError::ForbiddenBecause("User context required".into())),
            (false, ..) => Err(AppError::Forbidden),
        }
    }

    /// The rate-limit bucket: one per key or user, one per IP for anonymous callers.
    pub fn rate_key(&self, ip: std::net::IpAddr) -> String {
        match self {
            Principal::Anonymous | Principal::LocalOwner => format!("ip:{ip}"),
            Principal::ApiKey { id, .. } => format!("key:{}", id.as_deref().unwrap_or("bootstrap")),
            Principal::User { id, .. } => format!("user:{id}"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_manages_people_and_users_need_a_person() {
        let owner_key = Principal::ApiKey { id: Some("k".into()), role: Role::Owner, project: None };
        assert!(owner_key.authorize(Access::Owner).is_ok());
        assert!(owner_key.authorize(Access::People).is_err());
        assert!(owner_key.authorize(Access::User).is_err());
        let admin = Principal::User { id: 2, role: Role::Admin, session: "s2".into() };
        assert!(admin.authorize(Access::User).is_ok());
        assert!(admin.authorize(Access::People).is_err());
        assert!(Principal::User { id: 1, role: Role::Owner, session: "s1".into() }.authorize(Access::People).is_ok());
        assert!(matches!(Principal::Anonymous.authorize(Access::Viewer), Err(AppError::Unauthorized)));
        assert!(Principal::Anonymous.authorize(Access::Public).is_ok());
    }
}

//! A person's or a key's role: viewer < admin < owner (docs/decisions.md, roles).

/// Also what a body's `role` and `ocd login-link --role` accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
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

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "viewer" => Some(Role::Viewer),
            "admin" => Some(Role::Admin),
            "owner" => Some(Role::Owner),
            _ => None,
        }
    }

    /// A stored role; anything unreadable counts as the weakest.
    pub fn stored(text: &str) -> Role {
        Role::parse(text).unwrap_or(Role::Viewer)
    }
}

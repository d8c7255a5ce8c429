//! `/settings/…`: the pages where people configure ocd. Each page shows its data on the server
//! (readable without JavaScript); its forms change things through the same JSON API agents and
//! scripts use (`static/settings.js` sends them), so every rule and message lives once, in the
//! service layer (docs/decisions.md#settings-pages). The gate lets each page in by the route table,
//! and the tabs show only the pages the person may open.

pub mod account;
pub mod alerts;
pub mod channels;
pub mod integrations;
pub mod keys;
pub mod linear;
pub mod projects;
pub mod team;

use axum::http::Method;

use crate::auth::principal::{Access, Principal};
use crate::state::App;

/// The settings sections, in the order of their tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Account,
    Team,
    Projects,
    Keys,
    Alerts,
    Channels,
    Integrations,
    Linear,
}

impl Section {
    pub const ALL: [Section; 8] = [
        Section::Account,
        Section::Team,
        Section::Projects,
        Section::Keys,
        Section::Alerts,
        Section::Channels,
        Section::Integrations,
        Section::Linear,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Section::Account => "/settings",
            Section::Team => "/settings/team",
            Section::Projects => "/settings/projects",
            Section::Keys => "/settings/keys",
            Section::Alerts => "/settings/alerts",
            Section::Channels => "/settings/channels",
            Section::Integrations => "/settings/integrations",
            Section::Linear => "/settings/linear",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Section::Account => "Account",
            Section::Team => "Team",
            Section::Projects => "Projects",
            Section::Keys => "API keys",
            Section::Alerts => "Alerts",
            Section::Channels => "Channels",
            Section::Integrations => "Integrations",
            Section::Linear => "Linear",
        }
    }

    /// Whether `principal` may open the section: what the route table allows for its page
    /// (people and keys are an owner's in person, alerts, channels and integrations an
    /// admin's, the rest anyone's signed in).
    pub fn open_to(self, app: &App, principal: &Principal) -> bool {
        app.routes.iter().any(|r| r.method == Method::GET && r.path == self.path() && principal.authorize(r.access).is_ok())
    }
}

/// An owner signed in (or the local owner of an open server): who manages people and keys.
pub fn is_owner_in_person(principal: &Principal) -> bool {
    principal.authorize(Access::People).is_ok()
}

/// Whether `principal` may change what the owner-only API routes change.
pub fn is_owner(principal: &Principal) -> bool {
    principal.authorize(Access::Owner).is_ok()
}

/// One tab of the settings navigation.
pub struct Tab {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

/// The tabs `principal` may open, `current` marked.
pub fn tabs(app: &App, principal: &Principal, current: Section) -> Vec<Tab> {
    Section::ALL
        .into_iter()
        .filter(|s| s.open_to(app, principal))
        .map(|s| Tab { href: format!("{}{}", app.base_path, s.path()), label: s.label(), current: s == current })
        .collect()
}

//! What every page's frame shows: who is signed in, the project selector, the navigation, the
//! theme and the asset URLs. Built once per page request from the principal and the query.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Uri};

use super::{assets, theme};
use crate::auth::principal::{Principal, Role};
use crate::db::sprints::{self, Sprint};
use crate::db::{projects, users};
use crate::domain::SprintStatus;
use crate::error::{AppError, AppResult};
use crate::http::json::Params;
use crate::percent;
use crate::state::App;

/// The navigation entries; `None` for pages outside it (sign-in, task detail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Board,
    Messages,
    Agents,
    Analytics,
    Approvals,
    Linear,
    Settings,
    None,
}

/// What every page reads of its request: who asks, the headers (cookies), the address with
/// its query (below the base path, as the browser sent it) and the query's parameters.
pub struct Visit {
    pub principal: Principal,
    pub headers: HeaderMap,
    pub uri: Uri,
    pub params: Params,
}

impl<S: Send + Sync> FromRequestParts<S> for Visit {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        let params = Params::from_request_parts(parts, state).await?;
        let uri = parts.extensions.get::<OriginalUri>().map_or_else(|| parts.uri.clone(), |o| o.0.clone());
        Ok(Visit { principal, headers: parts.headers.clone(), uri, params })
    }
}

/// Another account this browser is signed in to, for the switcher (decisions.md#accounts).
pub struct AccountEntry {
    pub session_id: String,
    pub name: String,
    pub role: &'static str,
    pub active: bool,
}

pub struct Shell {
    /// The base path every link starts with ("" or "/ocd").
    pub base: String,
    pub title: String,
    pub nav: Nav,
    /// The signed-in person's name as shown, and their avatar.
    pub user_name: String,
    pub avatar: Option<String>,
    pub role: Role,
    /// A person signed in with a session (not the local owner): can sign out.
    pub signed_in: bool,
    /// Admins and owners see the controls that change things; viewers see none.
    pub can_edit: bool,
    pub projects: Vec<projects::Project>,
    /// The project every page is narrowed to (`?project=`), kept in every link.
    pub project: Option<String>,
    /// The header's sprint picker: the project's sprints not yet completed (active first),
    /// and the sprint the board is filtered to (`?sprint=`).
    pub sprints: Vec<(String, String)>,
    pub sprint: Option<String>,
    /// On the board, its other filters, which choosing a sprint keeps.
    pub board_filters: Vec<(String, String)>,
    pub theme: theme::Theme,
    pub css: String,
    pub app_js: String,
    /// The app's icon (tab, home screen).
    pub icon: String,
    /// The page's own script, if it has one.
    pub page_js: Option<String>,
    /// The kind of live content the page shows (`app.js` EVENTS), if it updates itself.
    pub live: Option<&'static str>,
    /// This page's path and query, where forms return to.
    pub back: String,
    pub accounts: Vec<AccountEntry>,
    /// Permission requests waiting for a person (the header's badge).
    pub pending_approvals: i64,
}

/// The sprints the header offers: active ones, then those in planning (each newest first),
/// and the selected one even when it is completed.
fn picker_sprints(mut all: Vec<Sprint>, selected: Option<&str>) -> Vec<(String, String)> {
    all.retain(|s| s.status != SprintStatus::Completed || Some(s.id.as_str()) == selected);
    all.sort_by_key(|s| (s.status != SprintStatus::Active, std::cmp::Reverse(s.start_date)));
    all.into_iter().map(|s| (s.id, s.name)).collect()
}

impl Shell {
    pub async fn build(app: &App, visit: &Visit, title: &str, nav: Nav) -> AppResult<Shell> {
        let (principal, headers, uri) = (&visit.principal, &visit.headers, &visit.uri);
        let query: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or_default()).unwrap_or_default();
        let project = query.iter().find(|(k, v)| k == "project" && !v.is_empty()).map(|(_, v)| v.clone());
        let back = uri.path_and_query().map_or_else(|| format!("{}/", app.base_path), |p| p.as_str().to_string());
        let role = principal.role().unwrap_or(Role::Viewer);
        let (user_name, avatar) = match principal {
            Principal::User { id, .. } => match users::get(&app.db.read, *id).await? {
                Some(u) => (u.shown_name().to_string(), u.avatar_url),
                None => ("Signed out".to_string(), None),
            },
            Principal::LocalOwner => ("Local owner".to_string(), None),
            Principal::ApiKey { .. } => ("API key".to_string(), None),
            Principal::Anonymous => (String::new(), None),
        };
        // A live refresh (`?fragment=1`) renders no header: the account menu and the project
        // picker are not looked up for it.
        let header = !super::wants_fragment(&visit.params);
        let accounts = match principal {
            Principal::User { .. } if header => {
                crate::auth::accounts::of_browser(&app.db, app.auth.cookies, headers, app.clock.now()).await?
            }
            _ => Vec::new(),
        };
        let accounts = accounts
            .into_iter()
            .map(|a| AccountEntry {
                session_id: a.session_id,
                name: a.user.shown_name().to_string(),
                role: a.user.role.as_str(),
                active: a.active,
            })
            .collect();
        let projects = if header && principal.role().is_some() { projects::list(&app.db.read).await? } else { Vec::new() };
        let sprint = query.iter().find(|(k, v)| k == "sprint" && !v.is_empty()).map(|(_, v)| v.clone());
        let sprints = if header && principal.role().is_some() {
            picker_sprints(sprints::list(&app.db.read, project.as_deref()).await?, sprint.as_deref())
        } else {
            Vec::new()
        };
        let pending_approvals =
            if header && principal.role().is_some() { crate::db::approvals::pending_count(&app.db.read).await? } else { 0 };
        Ok(Shell {
            base: app.base_path.clone(),
            title: title.to_string(),
            nav,
            user_name,
            avatar: avatar.filter(|a| a.starts_with("https://avatars.githubusercontent.com/")),
            role,
            signed_in: matches!(principal, Principal::User { .. }),
            can_edit: role >= Role::Admin,
            projects,
            project,
            sprints,
            sprint,
            board_filters: if nav == Nav::Board {
                query.iter().filter(|(k, v)| !v.is_empty() && !["project", "sprint", "fragment"].contains(&k.as_str())).cloned().collect()
            } else {
                Vec::new()
            },
            theme: theme::Theme::of(app, headers),
            css: assets::url(&app.base_path, "app.css"),
            app_js: assets::url(&app.base_path, "app.js"),
            icon: assets::url(&app.base_path, "icon-192.png"),
            page_js: None,
            live: None,
            back,
            accounts,
            pending_approvals,
        })
    }

    /// The page loads its own script `name` (from `static/`) besides `app.js`.
    pub fn with_script(mut self, app: &App, name: &str) -> Shell {
        self.page_js = Some(assets::url(&app.base_path, name));
        self
    }

    /// `path` below the base, keeping the selected project.
    pub fn link(&self, path: &str) -> String {
        match &self.project {
            Some(p) => format!("{}{path}{}project={}", self.base, if path.contains('?') { '&' } else { '?' }, percent::encode(p)),
            None => format!("{}{path}", self.base),
        }
    }

    /// Where an agent's forms post (no query).
    pub fn agent_path(&self, id: &str) -> String {
        format!("{}/agents/{}", self.base, percent::encode(id))
    }

    /// Where a todo's forms post (no query).
    pub fn todo_path(&self, id: &str) -> String {
        format!("{}/todos/{}", self.base, percent::encode(id))
    }

    /// Where a todo card's "Move to" menu posts.
    pub fn todo_move_path(&self, id: &str) -> String {
        format!("{}/move", self.todo_path(id))
    }

    /// Where a Linear card's "Move to" menu posts.
    pub fn linear_move_path(&self, id: &str) -> String {
        format!("{}/linear/issues/{}/move", self.base, percent::encode(id))
    }

    /// An agent's page.
    pub fn agent_href(&self, id: &str) -> String {
        self.link(&format!("/agents/{}", percent::encode(id)))
    }

    /// A todo's page.
    pub fn todo_href(&self, id: &str) -> String {
        self.link(&format!("/todos/{}", percent::encode(id)))
    }

    /// The stream URL the live module opens (same project narrowing as the page).
    pub fn stream_url(&self) -> String {
        self.link("/api/stream")
    }

    pub fn is(&self, nav: Nav) -> bool {
        self.nav == nav
    }

    /// Whether this browser may sign in to one more account (decisions.md#accounts).
    pub fn can_add_account(&self) -> bool {
        self.accounts.len() < crate::auth::cookies::MAX_ACCOUNTS
    }

    /// The first letter of the person's name, for the avatar placeholder.
    pub fn initial(&self) -> String {
        self.user_name.chars().next().map(|c| c.to_uppercase().to_string()).unwrap_or_default()
    }

    pub fn role_name(&self) -> &'static str {
        self.role.as_str()
    }
}

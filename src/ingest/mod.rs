//! Agent integrations (K29, docs/decisions.md#ingest): raw events of coding agents mapped onto
//! the service layer. Identity: a session is an agent `<tool>-<session id>`, a child session
//! its sub-agent; the project defaults to the working directory's last path component. Every
//! effect that is not an upsert is applied once per key, so a replayed payload changes nothing.

pub mod claude_code;
pub mod codex;
pub mod opencode;
pub mod otlp;
pub mod reporter;

use crate::auth::principal::Principal;
use crate::error::{AppError, AppResult};

/// Who sent a report: the project the client named and, for a project-scoped key
/// (docs/decisions.md#ingest), the one project it may report into.
#[derive(Debug, Clone, Default)]
pub struct Sender {
    /// The client's project (`project` in the batch, `?project=`); for a scoped key its own.
    pub project: Option<String>,
    /// A scoped key's project: every agent it reports for must be new or in it.
    pub scope: Option<String>,
}

impl Sender {
    /// The sender of a request by `principal` naming `project` (trimmed; empty is none). A
    /// scoped key naming another project is refused; naming none, its own is used.
    pub fn of(principal: &Principal, project: Option<&str>) -> AppResult<Sender> {
        let project = project.map(str::trim).filter(|p| !p.is_empty()).map(String::from);
        let Some(scope) = principal.scope() else { return Ok(Sender { project, scope: None }) };
        if project.as_deref().is_some_and(|p| p != scope) {
            return Err(AppError::ForbiddenBecause(format!("This API key is limited to project {scope}")));
        }
        Ok(Sender { project: Some(scope.to_string()), scope: Some(scope.to_string()) })
    }
}

/// The last component of a working directory (`/home/me/src/billing` → `billing`).
pub fn project_of_directory(directory: &str) -> Option<String> {
    let name = directory.trim_end_matches(['/', '\\']).rsplit(['/', '\\']).next()?;
    (!name.is_empty()).then(|| name.chars().take(64).collect())
}

pub use crate::domain::agents::tool_label as label;
pub use crate::domain::clip;

#[cfg(test)]
mod tests {
    #[test]
    fn projects_come_from_the_directory() {
        assert_eq!(super::project_of_directory("/tmp/probe/proj/").as_deref(), Some("proj"));
        assert_eq!(super::project_of_directory("C:\\src\\billing").as_deref(), Some("billing"));
        assert_eq!(super::project_of_directory("/"), None);
        assert_eq!(super::clip("  abcdef ", 4), "abc…");
    }

    #[test]
    fn every_integration_is_a_known_tool() {
        for tool in [super::opencode::TOOL, super::claude_code::TOOL, super::codex::TOOL] {
            assert!(crate::domain::agents::INGEST_TOOLS.contains(&tool), "{tool}");
        }
    }
}

//! decisions.md#project-scoped-keys: a key scoped to project P reads only P's data (lists narrowed to P) and writes only
//! into P (a write naming another project → 403; a write naming none is put in P). Objects
//! without a project are read-only to it. Each route declares its scope in the access table;
//! this file applies it, once, in the gate.

use serde_json::Value;
use sqlx::AnyPool;

use crate::db::projects::{Owned, agent_tasks_elsewhere, project_of};

use crate::error::{AppError, AppResult};

/// What a route's `{id}` (or its body's `id`) names, for checking it belongs to P.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    /// Shared data without a project: scoped keys may read it, never change it.
    Shared,
    /// Nothing to look up (new objects, lists).
    Free,
    Todo,
    Session,
    Agent,
    /// An agent's task: it belongs to the project it names.
    AgentTask,
    /// A sprint with a project belongs to it; one without is shared: readable, not writable.
    Sprint,
}

/// Whether the caller reads an object (or only refers to it) or changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Read,
    Write,
}

/// Where the id of the object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdAt {
    /// The first `{…}` segment of the path.
    Path,
    /// The body's `id` (upserts), or each item's `id` when the route has `items`.
    Body,
}

#[derive(Debug, Clone, Copy)]
pub struct Scope {
    pub object: Object,
    pub id_at: IdAt,
    /// Body fields that name a project; the first is filled in with P when none is present.
    pub fields: &'static [&'static str],
    /// A body array whose items are each checked (batch writes).
    pub items: Option<&'static str>,
    /// Other objects the request names — a JSON pointer into the body (or each item), or
    /// `{name}` for a path parameter — each of which must be readable in P: a todo's parent,
    /// the sprint or session it joins, the todo an event changes, an agent's parent, the task
    /// a report is about.
    pub refs: &'static [(&'static str, Object)],
    /// The body's existing object may be claimed: a shared one that P may read is written
    /// (and so put into P) as if it were P's. Agents re-registering after the upgrade that
    /// gave agents a project keep working with their scoped key.
    pub claim: bool,
    /// Whether an absent project field is filled in with P (off where the object already has
    /// its project and the write only must not name another).
    pub fill: bool,
}

impl Scope {
    pub const SHARED: Scope = Scope::on(Object::Shared);
    pub const FREE: Scope = Scope::on(Object::Free);

    pub const fn on(object: Object) -> Scope {
        Scope { object, id_at: IdAt::Path, fields: &[], items: None, refs: &[], claim: false, fill: true }
    }

    pub const fn claimable(self) -> Scope {
        Scope { claim: true, ..self }
    }

    pub const fn no_fill(self) -> Scope {
        Scope { fill: false, ..self }
    }

    pub const fn refs(self, refs: &'static [(&'static str, Object)]) -> Scope {
        Scope { refs, ..self }
    }

    pub const fn body(self, fields: &'static [&'static str]) -> Scope {
        Scope { fields, ..self }
    }

    pub const fn id_in_body(self) -> Scope {
        Scope { id_at: IdAt::Body, ..self }
    }

    pub const fn items(self, items: &'static str) -> Scope {
        Scope { items: Some(items), ..self }
    }
}

fn outside(project: &str) -> AppError {
    AppError::ForbiddenBecause(format!("This API key is limited to project {project}"))
}

/// The query string a scoped key's read runs with: `project` set to P (another project → 403).
pub fn narrow_query(query: Option<&str>, project: &str) -> AppResult<String> {
    let mut pairs: Vec<(String, String)> = query.and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default();
    if let Some((_, asked)) = pairs.iter().find(|(k, _)| k == "project")
        && !asked.is_empty()
        && asked != project
    {
        return Err(outside(project));
    }
    pairs.retain(|(k, _)| k != "project");
    pairs.push(("project".into(), project.into()));
    serde_urlencoded::to_string(pairs).map_err(AppError::internal)
}

/// The request's path parameters, `(name, decoded value)` in order.
pub type PathParams = [(String, String)];

/// Refuses writes to shared objects and to objects (named by the path, the body or a
/// reference) that belong elsewhere, and returns the body with the project filled in.
pub async fn check_write(scope: &Scope, pool: &AnyPool, project: &str, params: &PathParams, body: &[u8]) -> AppResult<Option<Vec<u8>>> {
    if scope.object == Object::Shared {
        return Err(AppError::ForbiddenBecause(format!("This API key is limited to project {project} and cannot change shared data")));
    }
    if scope.id_at == IdAt::Path
        && let Some((_, id)) = params.first()
    {
        check_object(scope.object, pool, project, id, Use::Write).await?;
    }
    check_path_refs(scope, pool, project, params).await?;
    let body_refs = scope.refs.iter().any(|(at, _)| at.starts_with('/'));
    if scope.fields.is_empty() && scope.id_at == IdAt::Path && !body_refs {
        return Ok(None);
    }
    // A body that is not JSON is left for the handler to refuse with its own message; one
    // out of bounds is refused before any id in it is looked up.
    let Ok(mut value) = serde_json::from_slice::<Value>(body) else {
        return Ok(None);
    };
    let issues = super::limits::check(&value);
    if !issues.is_empty() {
        return Err(AppError::InvalidBody(issues));
    }
    match scope.items {
        Some(items) => {
            if let Some(list) = value.get_mut(items).and_then(Value::as_array_mut) {
                for item in list {
                    check_item(scope, pool, project, item).await?;
                }
            }
        }
        None => check_item(scope, pool, project, &mut value).await?,
    }
    serde_json::to_vec(&value).map(Some).map_err(AppError::internal)
}

/// Refuses reading an object of another project through its own path.
pub async fn check_read(scope: &Scope, pool: &AnyPool, project: &str, params: &PathParams) -> AppResult<()> {
    if scope.id_at == IdAt::Path
        && let Some((_, id)) = params.first()
    {
        check_object(scope.object, pool, project, id, Use::Read).await?;
    }
    check_path_refs(scope, pool, project, params).await
}

/// The references that name a path parameter (`{task_id}`).
async fn check_path_refs(scope: &Scope, pool: &AnyPool, project: &str, params: &PathParams) -> AppResult<()> {
    for (at, kind) in scope.refs {
        let Some(name) = at.strip_prefix('{').and_then(|n| n.strip_suffix('}')) else { continue };
        if let Some((_, id)) = params.iter().find(|(n, _)| n == name) {
            check_object(*kind, pool, project, id, Use::Read).await?;
        }
    }
    Ok(())
}

async fn check_item(scope: &Scope, pool: &AnyPool, project: &str, item: &mut Value) -> AppResult<()> {
    if scope.id_at == IdAt::Body
        && let Some(id) = item.get("id").and_then(Value::as_str)
    {
        let using = if scope.claim { Use::Read } else { Use::Write };
        check_object(scope.object, pool, project, id, using).await?;
    }
    for (pointer, kind) in scope.refs.iter().filter(|(at, _)| at.starts_with('/')) {
        if let Some(id) = item.pointer(pointer).and_then(Value::as_str) {
            check_object(*kind, pool, project, id, Use::Read).await?;
        }
    }
    let Some(object) = item.as_object_mut() else {
        return Ok(());
    };
    let mut named = false;
    for field in scope.fields {
        match object.get(*field) {
            Some(Value::String(p)) if p == project => named = true,
            Some(Value::String(p)) if !p.is_empty() => return Err(outside(project)),
            Some(Value::Null) | Some(Value::String(_)) | None => {}
            // A wrongly typed field is the handler's to reject.
            Some(_) => named = true,
        }
    }
    if !named
        && scope.fill
        && let Some(first) = scope.fields.first()
    {
        object.insert((*first).to_string(), Value::from(project));
        for other in &scope.fields[1..] {
            object.remove(*other);
        }
    }
    Ok(())
}

/// An existing object must belong to `project` (or, for a read, be shared where sharing is
/// allowed); one that does not exist yet is fine (the write creates it in P, or the handler
/// answers 404).
async fn check_object(object: Object, pool: &AnyPool, project: &str, id: &str, using: Use) -> AppResult<()> {
    let ours = |p: Option<Option<String>>| p.is_none_or(|p| p.as_deref() == Some(project));
    let inside = match object {
        Object::Shared | Object::Free => return Ok(()),
        Object::Todo => ours(project_of(pool, Owned::Todo, id).await?),
        Object::Session => ours(project_of(pool, Owned::Session, id).await?),
        Object::AgentTask => ours(project_of(pool, Owned::AgentTask, id).await?),
        Object::Sprint => {
            let found = project_of(pool, Owned::Sprint, id).await?;
            ours(found.clone()) || (using == Use::Read && found.is_some_and(|p| p.is_none()))
        }
        // A shared agent (no project) may be read while all its tasks are in P; only P's own
        // agents may be reported for or steered.
        Object::Agent => match project_of(pool, Owned::Agent, id).await? {
            Some(None) if using == Use::Read => agent_tasks_elsewhere(pool, id, project).await? == 0,
            found => ours(found),
        },
    };
    if inside { Ok(()) } else { Err(outside(project)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_narrowed_to_the_keys_project() {
        assert_eq!(narrow_query(Some("status=pending&project=p1"), "p1").unwrap(), "status=pending&project=p1");
        assert_eq!(narrow_query(None, "p1").unwrap(), "project=p1");
        assert_eq!(narrow_query(Some("project="), "p1").unwrap(), "project=p1");
        assert!(narrow_query(Some("project=p2"), "p1").is_err());
    }
}

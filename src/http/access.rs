//! The access side of the route table (`routes.rs`): a route's minimum access, rate limit and
//! project scope, and matching a request path against the table.

use axum::http::Method;

use super::scope::Scope;

pub use crate::auth::principal::Access;

#[derive(Debug, Clone)]
pub struct Rule {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub rate_limited: bool,
    /// What a project-scoped key may do here (decisions.md#project-scoped-keys). Unless declared, reads are narrowed to
    /// the key's project and writes are refused.
    pub scope: Scope,
}

/// A rule; unless `scoped`, a scoped key's reads are narrowed to its project and its writes
/// refused.
pub fn rule(method: Method, path: &'static str, access: Access, rate_limited: bool) -> Rule {
    let scope = if method == Method::GET { Scope::FREE } else { Scope::SHARED };
    Rule { method, path, access, rate_limited, scope }
}

impl Rule {
    pub fn scoped(self, scope: Scope) -> Rule {
        Rule { scope, ..self }
    }
}

/// The rules whose path pattern matches `path` (a request path without the base path).
/// Static segments beat parameters: `/api/v2/tasks/next` is not `/api/v2/tasks/{id}`.
pub fn matching<'r>(rules: &'r [Rule], path: &str) -> Vec<&'r Rule> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let score = |pattern: &str| -> Option<usize> {
        let parts: Vec<&str> = pattern.split('/').collect();
        if parts.len() != segments.len() {
            return None;
        }
        let mut statics = 0;
        for (p, s) in parts.iter().zip(&segments) {
            if p.starts_with('{') {
                if s.is_empty() {
                    return None;
                }
            } else if p == s {
                statics += 1;
            } else {
                return None;
            }
        }
        Some(statics)
    };
    let best = rules.iter().filter_map(|r| score(r.path)).max();
    match best {
        Some(best) => rules.iter().filter(|r| score(r.path) == Some(best)).collect(),
        None => Vec::new(),
    }
}

/// The pattern's `{…}` parameters in `path`, `(name, value)`, percent-decoded as the router
/// decodes them (so a check sees the same ids the handler will).
pub fn params(pattern: &str, path: &str) -> Vec<(String, String)> {
    pattern
        .split('/')
        .zip(path.trim_end_matches('/').split('/'))
        .filter_map(|(part, raw)| {
            let name = part.strip_prefix('{')?.strip_suffix('}')?;
            Some((name.to_string(), crate::percent::decode(raw)))
        })
        .collect()
}

/// Every `{…}` segment of `path` must decode to UTF-8 (as the router requires) and be a
/// valid id (http/limits.rs); the error names the parameter.
pub fn check_params(pattern: &str, path: &str) -> Result<(), String> {
    let segments = path.trim_end_matches('/').split('/');
    for (part, raw) in pattern.split('/').zip(segments) {
        let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) else { continue };
        let value = crate::percent::decode_strict(raw).ok_or_else(|| format!("{name}: must be UTF-8 text"))?;
        super::limits::check_path_id(name, &value)?;
    }
    Ok(())
}

/// `Access-Control-Allow-Methods` for a path: its methods plus OPTIONS.
pub fn allow_methods(rules: &[&Rule]) -> String {
    let mut methods: Vec<&str> = rules.iter().map(|r| r.method.as_str()).collect();
    methods.dedup();
    methods.push("OPTIONS");
    methods.join(", ")
}

//! The access side of the route table (`routes.rs`): a route's minimum access, rate limit and
//! project scope, and matching a request path against the table.

use axum::http::Method;

use super::scope::Scope;

pub use crate::auth::principal::Access;

#[derive(Debug, Clone)]
pub struct Rule {
    pub method: Method,
    pub path: &'static str,
    /// How many `/` the path has: a request path with another count cannot match.
    slashes: usize,
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
    Rule { method, path, slashes: slash_count(path), access, rate_limited, scope }
}

impl Rule {
    pub fn scoped(self, scope: Scope) -> Rule {
        Rule { scope, ..self }
    }
}

/// The rules whose path pattern matches `path` (a request path without the base path).
/// Static segments beat parameters: `/api/v2/tasks/next` is not `/api/v2/tasks/{id}`.
pub fn matching<'r>(rules: &'r [Rule], path: &str) -> Vec<&'r Rule> {
    // Runs on every request over every rule: no allocation per rule, and a pattern with a
    // different number of segments is refused by its slash count before any comparison.
    // A trailing slash is ignored, except that the root stays the root.
    let path = match path.trim_end_matches('/') {
        "" => "/",
        trimmed => trimmed,
    };
    let slashes = slash_count(path);
    let mut best = None;
    let mut found = Vec::new();
    for rule in rules {
        if rule.slashes != slashes {
            continue;
        }
        let Some(score) = static_segments(rule.path, path) else { continue };
        if best.is_none_or(|b| score > b) {
            best = Some(score);
            found.clear();
        }
        if best == Some(score) {
            found.push(rule);
        }
    }
    found
}

fn slash_count(path: &str) -> usize {
    path.bytes().filter(|b| *b == b'/').count()
}

/// How many literal segments of `pattern` match `path` (of the same length), or `None` when
/// one differs or a `{…}` parameter would be empty.
fn static_segments(pattern: &str, path: &str) -> Option<usize> {
    let mut statics = 0;
    for (p, s) in pattern.split('/').zip(path.split('/')) {
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

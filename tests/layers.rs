//! The layering rules of README "Architecture", checked over the source: no two files import
//! each other (directly or around a loop), and the lower layers never reach up — `domain/` and
//! `db/` know nothing of the service, HTTP or pages, and `service/` knows nothing of handlers,
//! pages, routes or the app builder.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A source file as a module path: `src/service/todos.rs` → `service::todos`.
type Module = Vec<String>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            // Binaries are leaves: nothing imports them.
            if path.file_name().is_some_and(|n| n != "bin") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Module = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib" || p == "main") {
        parts.pop();
    }
    parts
}

/// The code before the unit tests (tests may import anything).
fn code(text: &str) -> &str {
    text.split("#[cfg(test)]").next().unwrap_or(text)
}

/// Every path a `use` tree names: `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand(prefix: &[String], tree: &str, out: &mut Vec<Module>) {
    let mut depth = 0;
    let mut item = String::new();
    let mut items = Vec::new();
    for ch in tree.chars() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if ch == ',' && depth == 0 {
            items.push(std::mem::take(&mut item));
        } else {
            item.push(ch);
        }
    }
    items.push(item);
    for item in items {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        match item.find('{') {
            Some(open) => {
                let head: Vec<String> = item[..open].split("::").filter(|s| !s.is_empty()).map(String::from).collect();
                let inner = &item[open + 1..item.rfind('}').unwrap_or(item.len())];
                expand(&[prefix, &head].concat(), inner, out);
            }
            None => {
                let path = item.split(" as ").next().unwrap_or(item);
                let tail: Vec<String> = path.split("::").filter(|s| !s.is_empty()).map(String::from).collect();
                out.push([prefix, &tail].concat());
            }
        }
    }
}

/// The crate paths a file refers to: its `use crate::`/`use super::` trees and inline `crate::…` paths.
fn references(module: &Module, is_mod_file: bool, text: &str) -> Vec<Module> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("use ") {
        rest = &rest[at + 4..];
        let Some(end) = rest.find(';') else { break };
        let tree = rest[..end].trim();
        let parent: Module = if is_mod_file { module.clone() } else { module[..module.len().saturating_sub(1)].to_vec() };
        if let Some(t) = tree.strip_prefix("crate::") {
            expand(&[], t, &mut out);
        } else if let Some(t) = tree.strip_prefix("super::") {
            expand(&parent[..parent.len().saturating_sub(1)], t, &mut out);
        }
    }
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + 7..];
        let path: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
        out.push(path.split("::").filter(|s| !s.is_empty()).map(String::from).collect());
    }
    out
}

fn graph() -> BTreeMap<Module, BTreeSet<Module>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeMap<Module, PathBuf> = files.iter().map(|f| (module_of(&src, f), f.clone())).collect();
    let mut edges = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).unwrap();
        let is_mod_file = file.file_name().is_some_and(|n| n == "mod.rs" || n == "lib.rs");
        let mut targets = BTreeSet::new();
        for path in references(module, is_mod_file, code(&text)) {
            // The longest prefix that is a file is the module referred to.
            let target = (1..=path.len()).rev().map(|n| path[..n].to_vec()).find(|p| modules.contains_key(p));
            if let Some(target) = target
                && &target != module
            {
                targets.insert(target);
            }
        }
        edges.insert(module.clone(), targets);
    }
    edges
}

fn name(m: &Module) -> String {
    m.join("::")
}

#[test]
fn no_file_imports_itself_around_a_loop() {
    let edges = graph();
    // A loop exists exactly when some file reaches itself.
    for start in edges.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<(Module, Vec<Module>)> = vec![(start.clone(), vec![start.clone()])];
        while let Some((at, trail)) = stack.pop() {
            for next in &edges[&at] {
                assert!(next != start, "import cycle: {}", trail.iter().chain([next]).map(name).collect::<Vec<_>>().join(" → "));
                if seen.insert(next.clone()) {
                    stack.push((next.clone(), [trail.clone(), vec![next.clone()]].concat()));
                }
            }
        }
    }
}

#[test]
fn lower_layers_never_import_higher_ones() {
    let rules: &[(&str, &[&str])] = &[
        ("domain", &["db", "service", "state", "http", "api", "web", "events", "jobs", "routes", "app"]),
        ("db", &["service", "state", "http", "api", "web", "jobs", "routes", "app"]),
        ("service", &["api", "web", "jobs", "routes", "app"]),
    ];
    for (from, targets) in graph() {
        for (layer, forbidden) in rules {
            if from.first().map(String::as_str) != Some(layer) {
                continue;
            }
            for target in &targets {
                let top = target.first().map(String::as_str).unwrap_or("");
                assert!(!forbidden.contains(&top), "{} (layer {layer}) imports {}", name(&from), name(target));
            }
        }
    }
}

#[test]
fn the_checker_sees_imports() {
    // Guards the two tests above against passing because the parser found nothing.
    let edges = graph();
    let todos = edges.get(&vec!["service".to_string(), "todos".to_string()]).expect("service::todos is a module");
    assert!(todos.contains(&vec!["db".to_string(), "todos".to_string()]), "{todos:?}");
    assert!(todos.contains(&vec!["state".to_string()]), "{todos:?}");
}

//! The V2 planner's rules: v1 todos projected as tasks, dependency parsing, the next
//! actionable task and dependency validation (decisions.md#work-items).

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{Priority, TaskStatus, TodoStatus};

/// The negative id under which a v1 todo appears among v2 tasks: a 32-bit wrapping
/// `h = h*31 + u` over the id's UTF-16 code units, then `-(|h| or 1)`.
pub fn v1_task_id(todo_id: &str) -> i64 {
    let h = todo_id.encode_utf16().fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)));
    let magnitude = i64::from(h).abs();
    -(if magnitude == 0 { 1 } else { magnitude })
}

pub fn v1_to_v2_status(status: TodoStatus) -> TaskStatus {
    match status {
        TodoStatus::InProgress => TaskStatus::InProgress,
        TodoStatus::Blocked => TaskStatus::Blocked,
        TodoStatus::Completed => TaskStatus::Done,
        TodoStatus::Cancelled => TaskStatus::Cancelled,
        TodoStatus::Icebox => TaskStatus::Deferred,
        TodoStatus::Pending => TaskStatus::Pending,
    }
}

pub fn v2_to_v1_status(status: TaskStatus) -> TodoStatus {
    match status {
        TaskStatus::Pending => TodoStatus::Pending,
        TaskStatus::InProgress | TaskStatus::Review => TodoStatus::InProgress,
        TaskStatus::Blocked => TodoStatus::Blocked,
        TaskStatus::Done => TodoStatus::Completed,
        TaskStatus::Deferred => TodoStatus::Icebox,
        TaskStatus::Cancelled => TodoStatus::Cancelled,
    }
}

/// Stored form of a `dependencies` body value: arrays become their JSON text, blank
/// strings and null become null, other strings are kept verbatim.
pub fn normalize_dependencies(value: Option<&Value>) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    }
}

/// Whether `value` is a valid `dependencies` body value: string, array of ints > 0, or null.
pub fn dependencies_shape_ok(value: &Value) -> bool {
    match value {
        Value::Null | Value::String(_) => true,
        Value::Array(items) => items.iter().all(|v| v.as_f64().is_some_and(|f| f > 0.0 && f.fract() == 0.0)),
        _ => false,
    }
}

/// What a stored dependency text means.
#[derive(Debug, Clone, PartialEq)]
pub enum Deps {
    None,
    InvalidJson,
    NotArray,
    /// Elements converted to numbers (JavaScript `Number()` semantics, NaN for non-numbers).
    List(Vec<f64>),
}

fn to_number(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Null => 0.0,
        Value::String(s) if s.trim().is_empty() => 0.0,
        Value::String(s) => s.trim().parse().unwrap_or(f64::NAN),
        Value::Array(a) if a.is_empty() => 0.0,
        Value::Array(a) if a.len() == 1 => to_number(&a[0]),
        _ => f64::NAN,
    }
}

pub fn parse_dependencies(stored: Option<&str>) -> Deps {
    let Some(text) = stored else {
        return Deps::None;
    };
    match serde_json::from_str::<Value>(text) {
        Err(_) => Deps::InvalidJson,
        Ok(Value::Array(items)) => Deps::List(items.iter().map(to_number).collect()),
        Ok(_) => Deps::NotArray,
    }
}

/// A stored task reduced to what the planner rules read.
#[derive(Debug, Clone)]
pub struct PlanTask {
    pub id: i64,
    pub status: TaskStatus,
    pub priority: Priority,
    pub dependencies: Option<String>,
    pub created_at: i64,
}

fn priority_rank(p: Priority) -> u8 {
    match p {
        Priority::High => 0,
        Priority::Medium => 1,
        Priority::Low => 2,
    }
}

/// The first pending task of the tag whose dependencies are all done (tasks of one tag).
pub fn next_task(tasks: &[PlanTask]) -> Option<i64> {
    let done: HashSet<i64> = tasks.iter().filter(|t| t.status == TaskStatus::Done).map(|t| t.id).collect();
    let satisfied = |t: &PlanTask| match parse_dependencies(t.dependencies.as_deref()) {
        Deps::None | Deps::NotArray => true,
        Deps::InvalidJson => false,
        Deps::List(deps) => deps.iter().all(|d| d.is_finite() && d.fract() == 0.0 && done.contains(&(*d as i64))),
    };
    tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Pending && satisfied(t))
        .min_by_key(|t| (priority_rank(t.priority), t.created_at, t.id))
        .map(|t| t.id)
}

/// Problems in the dependencies of one tag's tasks, given in `updated_at` DESC order.
pub fn validate_dependencies(tasks: &[PlanTask]) -> Vec<String> {
    let ids: HashSet<i64> = tasks.iter().map(|t| t.id).collect();
    let mut issues = Vec::new();
    let mut edges: HashMap<i64, Vec<i64>> = HashMap::new();
    for task in tasks {
        let deps = match parse_dependencies(task.dependencies.as_deref()) {
            Deps::None => continue,
            Deps::InvalidJson => {
                issues.push(format!("Task {} has invalid dependencies JSON", task.id));
                continue;
            }
            Deps::NotArray => {
                issues.push(format!("Task {} has non-array dependencies", task.id));
                continue;
            }
            Deps::List(deps) => deps,
        };
        let kept: Vec<i64> = deps.into_iter().filter(|d| d.is_finite() && *d > 0.0).map(|d| d as i64).collect();
        for dep in &kept {
            if *dep == task.id {
                issues.push(format!("Task {} cannot depend on itself", task.id));
            } else if !ids.contains(dep) {
                issues.push(format!("Task {} depends on missing task {dep}", task.id));
            }
        }
        edges.insert(task.id, kept);
    }
    if let Some(cycle) = find_cycle(tasks, &edges) {
        let path: Vec<String> = cycle.iter().map(i64::to_string).collect();
        issues.push(format!("Dependency cycle detected: {}", path.join(" -> ")));
    }
    issues
}

/// Depth-first search from each task in list order; the first edge back onto the stack
/// yields the stack from the search root plus the node reached (not repeated for a self-edge).
fn find_cycle(tasks: &[PlanTask], edges: &HashMap<i64, Vec<i64>>) -> Option<Vec<i64>> {
    let mut visited = HashSet::new();
    for task in tasks {
        if visited.contains(&task.id) {
            continue;
        }
        let mut stack = vec![task.id];
        let mut on_stack = HashSet::from([task.id]);
        // (node, index of the next edge to follow)
        let mut frames = vec![(task.id, 0usize)];
        visited.insert(task.id);
        while let Some((node, next)) = frames.last().copied() {
            let node_edges = edges.get(&node).map(Vec::as_slice).unwrap_or(&[]);
            if next >= node_edges.len() {
                frames.pop();
                stack.pop();
                on_stack.remove(&node);
                continue;
            }
            if let Some(frame) = frames.last_mut() {
                frame.1 += 1;
            }
            let target = node_edges[next];
            if on_stack.contains(&target) {
                let mut path = stack.clone();
                if target != node {
                    path.push(target);
                }
                return Some(path);
            }
            if !visited.contains(&target) && edges.contains_key(&target) {
                visited.insert(target);
                stack.push(target);
                on_stack.insert(target);
                frames.push((target, 0));
            } else {
                visited.insert(target);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_ids_hash_like_the_original() {
        assert_eq!(v1_task_id(""), -1);
        assert_eq!(v1_task_id("a"), -97);
        assert_eq!(v1_task_id("todo_1"), -868386184);
        assert_eq!(v1_task_id("todo_1771264631109_p965hh4dn"), -698174764);
        assert_eq!(v1_task_id("todo_e2e_parent_x"), -1327321021);
        assert_eq!(v1_task_id("é✓"), -17226);
    }

    fn task(id: i64, status: &str, priority: &str, deps: Option<&str>, created_at: i64) -> PlanTask {
        PlanTask {
            id,
            status: TaskStatus::parse(status).unwrap(),
            priority: Priority::parse(priority).unwrap(),
            dependencies: deps.map(String::from),
            created_at,
        }
    }

    #[test]
    fn next_task_prefers_priority_then_age_and_needs_done_dependencies() {
        let tasks = vec![
            task(1, "done", "low", None, 1),
            task(2, "pending", "medium", Some("[1]"), 5),
            task(3, "pending", "high", Some("[4]"), 1), // dep 4 not done
            task(4, "pending", "low", None, 0),
            task(5, "pending", "medium", Some("not json"), 0),
            task(6, "pending", "medium", Some("{\"a\":1}"), 9), // not an array: satisfied
        ];
        assert_eq!(next_task(&tasks), Some(2));
        assert_eq!(next_task(&tasks[3..4]), Some(4));
        assert_eq!(next_task(&[]), None);
    }

    fn cycle_of(edges: &[(i64, &str)]) -> Vec<String> {
        let tasks: Vec<PlanTask> = edges.iter().map(|(id, d)| task(*id, "pending", "low", Some(d), 0)).collect();
        validate_dependencies(&tasks).into_iter().filter(|i| i.starts_with("Dependency cycle")).collect()
    }

    #[test]
    fn cycles_are_reported_as_the_original_does() {
        assert_eq!(cycle_of(&[(1, "[2]"), (2, "[1]")]), ["Dependency cycle detected: 1 -> 2 -> 1"]);
        assert_eq!(cycle_of(&[(3, "[1]"), (1, "[2]"), (2, "[1]")]), ["Dependency cycle detected: 3 -> 1 -> 2 -> 1"]);
        assert_eq!(cycle_of(&[(1, "[2]"), (2, "[3]"), (3, "[2]")]), ["Dependency cycle detected: 1 -> 2 -> 3 -> 2"]);
        assert_eq!(cycle_of(&[(1, "[1]")]), ["Dependency cycle detected: 1"]);
        assert_eq!(cycle_of(&[(3, "[1]"), (1, "[1]")]), ["Dependency cycle detected: 3 -> 1"]);
        assert!(cycle_of(&[(1, "[2]"), (2, "[]")]).is_empty());
    }

    #[test]
    fn dependency_problems_are_named() {
        let tasks = vec![
            task(1, "pending", "low", Some("oops"), 0),
            task(2, "pending", "low", Some("7"), 0),
            task(3, "pending", "low", Some("[3, 9, -1, \"x\"]"), 0),
        ];
        assert_eq!(
            validate_dependencies(&tasks),
            [
                "Task 1 has invalid dependencies JSON",
                "Task 2 has non-array dependencies",
                "Task 3 cannot depend on itself",
                "Task 3 depends on missing task 9",
                "Dependency cycle detected: 3",
            ]
        );
    }

    #[test]
    fn dependencies_are_normalised_for_storage() {
        assert_eq!(normalize_dependencies(Some(&serde_json::json!([1, 2]))), Some("[1,2]".into()));
        assert_eq!(normalize_dependencies(Some(&serde_json::json!("  "))), None);
        assert_eq!(normalize_dependencies(Some(&Value::Null)), None);
        assert_eq!(normalize_dependencies(Some(&serde_json::json!("1,2"))), Some("1,2".into()));
        assert!(dependencies_shape_ok(&serde_json::json!([1, 2.0])));
        assert!(!dependencies_shape_ok(&serde_json::json!([0])));
        assert!(!dependencies_shape_ok(&serde_json::json!({"a": 1})));
    }
}

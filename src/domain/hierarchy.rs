//! Todo hierarchy: at most four levels (depths 0–3) and no cycles. Unlike the original
//! (decisions.md#work-items), the moved todo's own subtree counts toward the depth limit.

pub const MAX_DEPTH: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HierarchyError {
    ParentNotFound(String),
    Cycle,
    TooDeep,
}

impl std::fmt::Display for HierarchyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HierarchyError::ParentNotFound(id) => write!(f, "Parent todo with id {id} not found"),
            HierarchyError::Cycle => f.write_str("Circular todo parent relationship is not allowed"),
            HierarchyError::TooDeep => f.write_str("Maximum todo depth exceeded"),
        }
    }
}

/// The proposed parent's chain as found in storage: `chain[0]` is the parent itself,
/// followed by its ancestors up to the root. `None` for the parent means it does not exist.
pub struct ParentChain {
    pub chain: Option<Vec<String>>,
    /// The chain walk stopped because it met an id twice (corrupt data).
    pub looped: bool,
}

/// Checks that `todo_id` (whose own subtree is `subtree_height` levels below it, 0 for a
/// leaf) may hang under `parent_id`.
pub fn check_parent(todo_id: &str, parent_id: &str, parent: &ParentChain, subtree_height: usize) -> Result<(), HierarchyError> {
    if parent_id == todo_id {
        return Err(HierarchyError::Cycle);
    }
    let chain = parent.chain.as_ref().ok_or_else(|| HierarchyError::ParentNotFound(parent_id.to_string()))?;
    if parent.looped || chain.iter().any(|id| id == todo_id) {
        return Err(HierarchyError::Cycle);
    }
    // chain.len() - 1 ancestors above the parent, so depth(parent) = chain.len() - 1.
    let parent_depth = chain.len().saturating_sub(1);
    if parent_depth + 1 + subtree_height > MAX_DEPTH {
        return Err(HierarchyError::TooDeep);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(ids: &[&str]) -> ParentChain {
        ParentChain { chain: Some(ids.iter().map(|s| s.to_string()).collect()), looped: false }
    }

    #[test]
    fn depth_three_is_the_deepest_allowed() {
        // parent at depth 2 (c -> b -> a): child lands at depth 3.
        assert_eq!(check_parent("x", "c", &chain(&["c", "b", "a"]), 0), Ok(()));
        // parent at depth 3: child would be at depth 4.
        assert_eq!(check_parent("x", "d", &chain(&["d", "c", "b", "a"]), 0), Err(HierarchyError::TooDeep));
    }

    #[test]
    fn moving_a_subtree_counts_its_height() {
        // x has two levels below it; under a root parent it would reach depth 3: fine.
        assert_eq!(check_parent("x", "a", &chain(&["a"]), 2), Ok(()));
        // under a depth-1 parent its deepest descendant would be at depth 4.
        assert_eq!(check_parent("x", "b", &chain(&["b", "a"]), 2), Err(HierarchyError::TooDeep));
    }

    #[test]
    fn cycles_are_rejected() {
        assert_eq!(check_parent("x", "x", &chain(&["x"]), 0), Err(HierarchyError::Cycle));
        // x -> ... proposed parent c whose ancestry contains x.
        assert_eq!(check_parent("x", "c", &chain(&["c", "x", "a"]), 0), Err(HierarchyError::Cycle));
        let looped = ParentChain { chain: Some(vec!["c".into(), "d".into()]), looped: true };
        assert_eq!(check_parent("x", "c", &looped, 0), Err(HierarchyError::Cycle));
    }

    #[test]
    fn missing_parent_is_named() {
        let missing = ParentChain { chain: None, looped: false };
        let err = check_parent("x", "ghost", &missing, 0).unwrap_err();
        assert_eq!(err.to_string(), "Parent todo with id ghost not found");
    }
}

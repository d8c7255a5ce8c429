//! A small cache of rendered list responses. Dashboards poll the same lists; an entry is
//! served only while nothing has been committed since it was rendered — neither a local
//! write (the writer's commit counter, bumped before the writer answers, so a client always
//! reads its own writes) nor an event from another replica (the hub's last event id).

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;

/// Distinct queries kept; beyond that the cache starts over.
const MAX_ENTRIES: usize = 64;

/// What has been committed: (local commit groups, newest event id seen from any replica).
pub type Generation = (u64, i64);

#[derive(Debug, Default)]
pub struct ListCache {
    entries: Mutex<HashMap<String, (Generation, Bytes)>>,
}

impl ListCache {
    pub fn get(&self, key: &str, now: Generation) -> Option<Bytes> {
        let entries = self.entries.lock().ok()?;
        entries.get(key).filter(|(generation, _)| *generation == now).map(|(_, body)| body.clone())
    }

    /// Stores `body`, rendered from data no older than `generation` (taken before the query).
    pub fn put(&self, key: String, generation: Generation, body: Bytes) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
                entries.clear();
            }
            entries.insert(key, (generation, body));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_with_any_commit() {
        let cache = ListCache::default();
        cache.put("q".into(), (1, 10), Bytes::from_static(b"body"));
        assert_eq!(cache.get("q", (1, 10)).as_deref(), Some(&b"body"[..]));
        assert_eq!(cache.get("q", (2, 10)), None, "a local commit");
        assert_eq!(cache.get("q", (1, 11)), None, "an event from another replica");
        assert_eq!(cache.get("other", (1, 10)), None);
    }
}

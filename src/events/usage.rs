//! The agents whose `agent:usage` is due (published by `service::usage`): what a live page needs
//! to show an agent's last heartbeat, last progress and running cost. Heartbeats and usage
//! reports only mark the agent; at most every `USAGE_EVERY` one event per marked agent is
//! written with its current figures, so a flood
//! of heartbeats costs one event row per agent per interval, not one per beat (heartbeat
//! throughput and event retention stay as they were).

use std::collections::HashSet;
use std::sync::Mutex;

/// Agents whose heartbeat or usage changed since the last flush.
#[derive(Debug, Default)]
pub struct UsageFeed {
    dirty: Mutex<HashSet<String>>,
}

impl UsageFeed {
    /// Notes that `agent_id` beat or reported usage (after its write committed).
    pub fn touch(&self, agent_id: &str) {
        let mut dirty = self.dirty.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !dirty.contains(agent_id) {
            dirty.insert(agent_id.to_string());
        }
    }

    /// The agents marked since the last call, unmarking them.
    pub fn take(&self) -> Vec<String> {
        let mut dirty = self.dirty.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        dirty.drain().collect()
    }
}

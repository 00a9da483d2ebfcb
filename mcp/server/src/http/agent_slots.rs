//! A bound on the requests one agent may have open at once.
//!
//! Long requests are legitimate (a `team_wait` long-poll, the session's SSE stream), so
//! they are not cut short; instead each agent may hold at most a few, and one more is
//! refused with 429 until one ends. A slot is held until the response body is finished or
//! dropped, so a stream counts for as long as it is open.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Open-request counts per agent.
#[derive(Debug)]
pub(crate) struct AgentSlots {
    max: usize,
    open: Mutex<HashMap<String, usize>>,
}

/// One open request of one agent; dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct AgentSlot {
    slots: Arc<AgentSlots>,
    agent_id: String,
}

impl AgentSlots {
    pub(crate) fn new(max: usize) -> Arc<AgentSlots> {
        Arc::new(AgentSlots {
            max: max.max(1),
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for `agent_id` (ids are unique across teams), or `None` when it holds `max`.
    pub(crate) fn try_take(self: &Arc<Self>, agent_id: &str) -> Option<AgentSlot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(agent_id.to_string()).or_default();
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(AgentSlot {
            slots: self.clone(),
            agent_id: agent_id.to_string(),
        })
    }

    /// The most requests one agent may have open.
    pub(crate) fn max(&self) -> usize {
        self.max
    }
}

impl Drop for AgentSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.agent_id) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.agent_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_max_per_agent_and_freed_on_drop() {
        let slots = AgentSlots::new(2);
        let a = slots.try_take("a").unwrap();
        let _b = slots.try_take("a").unwrap();
        assert!(slots.try_take("a").is_none());
        assert!(slots.try_take("b").is_some());
        drop(a);
        assert!(slots.try_take("a").is_some());
    }
}

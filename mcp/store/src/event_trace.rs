//! Mirrors every committed event into the JSON log (tracing target `codex_teams::events`),
//! so the per-run log and the store's event log tell one story with the same trace ids.
//!
//! Events are written inside a transaction that may be retried or rolled back, so they are
//! held per thread while the transaction runs and logged only once it has committed.

use std::cell::RefCell;

use serde_json::Value;

use crate::Event;

/// The tracing target of mirrored store events.
pub const EVENTS_TARGET: &str = "codex_teams::events";

/// The most bytes of one event's payload that reach the log line.
const MAX_PAYLOAD_BYTES: usize = 2048;

thread_local! {
    static UNCOMMITTED: RefCell<Vec<Event>> = const { RefCell::new(Vec::new()) };
}

/// Forgets events of an attempt that did not commit (called before each attempt).
pub(crate) fn discard() {
    UNCOMMITTED.with(|u| u.borrow_mut().clear());
}

/// Holds an event written by the running transaction until it commits.
pub(crate) fn hold(event: Event) {
    UNCOMMITTED.with(|u| u.borrow_mut().push(event));
}

/// Takes the events the write that just ran on this thread held.
pub(crate) fn take() -> Vec<Event> {
    UNCOMMITTED.with(|u| std::mem::take(&mut *u.borrow_mut()))
}

/// Logs the events of a write that committed.
pub(crate) fn log_all(events: &[Event]) {
    for e in events {
        trace(e);
    }
}

/// One log line for `e`: its kind, sequence number, every trace id the payload carries,
/// and the (already redacted) payload, cut to [`MAX_PAYLOAD_BYTES`].
fn trace(e: &Event) {
    let id = |k: &str| e.payload.get(k).and_then(Value::as_str);
    let payload = bounded(e.payload.to_string());
    tracing::info!(
        target: EVENTS_TARGET,
        event = %e.kind,
        seq = e.seq,
        team_id = %e.team_id,
        agent_id = e.agent_id.as_deref(),
        task_id = id("task_id"),
        message_id = id("message_id"),
        artifact_id = id("artifact_id"),
        decision_id = id("decision_id"),
        payload = %payload,
    );
}

fn bounded(mut s: String) -> String {
    if s.len() > MAX_PAYLOAD_BYTES {
        let total = s.len();
        let mut end = MAX_PAYLOAD_BYTES;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str(&format!("… [truncated, {total} bytes]"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_payloads_are_cut_on_a_char_boundary() {
        let s = "é".repeat(MAX_PAYLOAD_BYTES);
        let cut = bounded(s.clone());
        assert!(cut.len() < s.len());
        assert!(cut.ends_with(&format!("[truncated, {} bytes]", s.len())));
        assert_eq!(bounded("short".into()), "short");
    }

    #[test]
    fn only_committed_events_are_released() {
        let ev = |kind: &str| Event {
            seq: 1,
            team_id: "team-1".into(),
            agent_id: None,
            kind: kind.into(),
            payload: serde_json::json!({}),
            at: 0,
        };
        hold(ev("rolled.back"));
        discard();
        hold(ev("kept"));
        let held = UNCOMMITTED.with(|u| {
            u.borrow()
                .iter()
                .map(|e| e.kind.clone())
                .collect::<Vec<_>>()
        });
        assert_eq!(held, ["kept"]);
        let taken = take();
        assert_eq!(taken.len(), 1);
        log_all(&taken);
        assert!(UNCOMMITTED.with(|u| u.borrow().is_empty()));
    }
}

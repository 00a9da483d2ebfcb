//! MCP sessions bound to the agent that opened them.
//!
//! rmcp keys a streamable-HTTP session by its `Mcp-Session-Id` alone, so any valid token
//! plus a leaked session id could open that session's SSE stream (stealing replies, such as
//! a lead's pending `team_wait`) or DELETE it. Here the id a response hands out is bound to
//! the caller that asked for it; a request naming a session bound to someone else (or to
//! nobody) gets the same 404 as an unknown session. Each agent holds at most a few
//! sessions: opening one more closes its oldest, so the table stays small.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::SessionManager;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;

use crate::hub::Caller;

/// The session header of the streamable HTTP transport.
pub(crate) const SESSION_HEADER: &str = "mcp-session-id";

struct Binding {
    team_id: String,
    agent_id: String,
    /// Opening order, to close an agent's oldest session first.
    seq: u64,
}

/// Which agent owns which session.
pub(crate) struct SessionBindings {
    manager: Arc<LocalSessionManager>,
    per_agent: usize,
    map: Mutex<(u64, HashMap<String, Binding>)>,
}

/// The answer for a session that is not the caller's: the same as rmcp's for an unknown one.
pub(crate) fn session_not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not Found: Session not found").into_response()
}

impl SessionBindings {
    pub(crate) fn new(manager: Arc<LocalSessionManager>, per_agent: usize) -> SessionBindings {
        SessionBindings {
            manager,
            per_agent: per_agent.max(1),
            map: Mutex::new((0, HashMap::new())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, HashMap<String, Binding>)> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `session_id` was opened by `caller`.
    pub(crate) fn owned_by(&self, session_id: &str, caller: &Caller) -> bool {
        self.lock()
            .1
            .get(session_id)
            .is_some_and(|b| b.team_id == caller.team_id && b.agent_id == caller.agent_id)
    }

    /// Records that `caller` opened `session_id`; closes the caller's oldest sessions beyond
    /// the per-agent bound (dead ones are forgotten first).
    pub(crate) async fn bind(&self, session_id: String, caller: &Caller) {
        let mine = |b: &Binding| b.team_id == caller.team_id && b.agent_id == caller.agent_id;
        let owned: Vec<(u64, String)> = {
            let mut g = self.lock();
            g.0 += 1;
            let seq = g.0;
            g.1.insert(
                session_id,
                Binding {
                    team_id: caller.team_id.clone(),
                    agent_id: caller.agent_id.clone(),
                    seq,
                },
            );
            let mut v: Vec<(u64, String)> =
                g.1.iter()
                    .filter(|(_, b)| mine(b))
                    .map(|(id, b)| (b.seq, id.clone()))
                    .collect();
            v.sort();
            v
        };
        if owned.len() <= self.per_agent {
            return;
        }
        let live = self.manager.sessions.read().await;
        let (dead, alive): (Vec<_>, Vec<_>) = owned
            .into_iter()
            .partition(|(_, id)| !live.contains_key(id.as_str()));
        drop(live);
        let excess = alive.len().saturating_sub(self.per_agent);
        let to_close: Vec<String> = alive.into_iter().take(excess).map(|(_, id)| id).collect();
        {
            let mut g = self.lock();
            for (_, id) in &dead {
                g.1.remove(id);
            }
            for id in &to_close {
                g.1.remove(id);
            }
        }
        for id in to_close {
            tracing::debug!(target: "codex_teams::http", event = "session.evicted", agent_id = %caller.agent_id);
            let _ = self.manager.close_session(&id.into()).await;
        }
    }

    /// Forgets a session its owner deleted.
    pub(crate) fn unbind(&self, session_id: &str) {
        self.lock().1.remove(session_id);
    }
}

//! The seam between the MCP layer and whoever owns worker processes.
//!
//! The MCP layer only records in the store and asks; the supervisor implements [`Runtime`]
//! with real `codex exec` children. Calls must return at once (they run inside tool calls,
//! which must answer well before Codex's tool timeout); the ones that read the store are
//! async, so they never block a runtime thread on SQLite.

use std::future::Future;
use std::pin::Pin;

/// Why a [`Runtime`] did not take a spawn.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The policy said no (budget, the team is ending, ...); the reason is for the lead.
    #[error("{0}")]
    Refused(String),
    /// The runtime could not decide (the store could not be read, ...).
    #[error("{what}")]
    Failed {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// What an async [`Runtime`] call returns (a boxed future, so the trait stays object-safe).
pub type RuntimeFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Whoever owns worker processes (the supervisor) implements this; the MCP layer only
/// records and asks.
pub trait Runtime: Send + Sync + 'static {
    /// A spawn was recorded (the agent row exists, state `Pending`): start it soon, return at
    /// once. An `Err` refuses the spawn; the agent is then marked `Failed` and the lead gets
    /// the message.
    fn spawn(&self, req: SpawnRequest) -> RuntimeFuture<'_, Result<(), SpawnError>>;
    /// Something arrived for this agent (a message, a new ready task): resume it if it is
    /// idle. Called after the store committed, possibly more than once per arrival.
    fn wake(&self, team_id: &str, agent_id: &str);
    /// The lead finalized the team (status `finalized` or `failed`): stop its workers.
    fn finalized(&self, team_id: &str);
    /// A team and its lead were created by `team_start` (stdio sessions); a supervisor that
    /// serves worker endpoints lazily starts them here. Default: nothing.
    fn team_started<'a>(
        &'a self,
        team_id: &'a str,
        lead_agent_id: &'a str,
    ) -> RuntimeFuture<'a, ()> {
        let _ = (team_id, lead_agent_id);
        Box::pin(async {})
    }
    /// The lead's session is over (stdin closed, or SIGINT/SIGTERM/SIGHUP): stop the
    /// workers of every unfinished team and record that, so `status` is true and
    /// `codex-teams resume` can continue. Awaited before the process exits. Default: nothing.
    fn session_ended(&self, why: &'static str) -> RuntimeFuture<'_, ()> {
        let _ = why;
        Box::pin(async {})
    }
    /// The team tools an agent of `role` may call, from the policy that decides it (the
    /// supervisor's profile and role pack). `team_spawn` records the list with the agent,
    /// and the server refuses any other tool from that agent, whatever its client lists.
    /// `None`: no per-role list (only the lead-only rule applies). Default: `None`.
    fn role_tools(&self, role: &str) -> Option<Vec<String>> {
        let _ = role;
        None
    }
    /// Whether this process runs `team_id` (it started, resumed or adopted it). The HTTP
    /// endpoints accept only tokens of teams their hub serves: the ones it was told about
    /// ([`crate::TeamHub::serve_team`]) and the ones its runtime runs, so a second
    /// supervisor on the same database never acts for another's team. Default: none.
    fn serves(&self, team_id: &str) -> bool {
        let _ = team_id;
        false
    }
}

/// Everything the supervisor needs to launch one worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpawnRequest {
    pub team_id: String,
    pub agent_id: String,
    pub role: String,
    pub name: String,
    /// The task brief the lead wrote: the worker's first prompt.
    pub brief: String,
    /// The worker's bearer token in plaintext; exists only here and in the worker's
    /// environment (the store has its hash).
    pub token: String,
    /// The calling lead's live model slug, from `_meta["x-codex-turn-metadata"].model` of
    /// its `team_spawn` call (codex-facts §4); `None` when the client did not say.
    pub model: Option<String>,
}

/// A runtime that starts nothing: agents stay `Pending` in the store. For tests, and for a
/// stdio session before a supervisor is attached.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopRuntime;

impl Runtime for NoopRuntime {
    fn spawn(&self, _req: SpawnRequest) -> RuntimeFuture<'_, Result<(), SpawnError>> {
        Box::pin(async { Ok(()) })
    }
    fn wake(&self, _team_id: &str, _agent_id: &str) {}
    fn finalized(&self, _team_id: &str) {}
}

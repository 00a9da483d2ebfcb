//! What the planner is given: one team's agents, board and spend at one instant.

use std::collections::HashSet;
use std::time::Duration;

use codex_teams_store::TaskStatus;

use crate::policy::fanout::TaskSize;
use crate::policy::profile::Profile;
use crate::policy::spend::Limit;

/// Where an agent is, as far as the supervising process knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Asked for, not admitted yet (the fan-out policy said wait).
    Queued,
    /// Admitted: waiting for a slot or starting.
    Starting,
    /// Its codex process runs.
    Running,
    /// Turn ended, resumable by thread id.
    Idle,
    /// Retired or stopped.
    Stopped,
    /// Its process failed or it was refused.
    Failed,
}

impl Phase {
    /// The word shown in progress lines and views.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Queued => "queued",
            Phase::Starting => "starting",
            Phase::Running => "running",
            Phase::Idle => "idle",
            Phase::Stopped => "stopped",
            Phase::Failed => "failed",
        }
    }

    /// Holds (or is about to hold) a process.
    pub fn busy(self) -> bool {
        matches!(self, Phase::Starting | Phase::Running)
    }

    /// Holds a process or is waiting to get one: the team is not quiet while it is so.
    pub fn owed(self) -> bool {
        self.busy() || self == Phase::Queued
    }
}

/// One agent as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentView {
    pub agent_id: String,
    pub name: String,
    pub role: String,
    /// The team's lead (its role is `lead`).
    pub is_lead: bool,
    pub phase: Phase,
    /// Someone asked for it to be woken (mail arrived) since it was last looked at.
    pub wake: bool,
    /// Unacknowledged mail waiting for it in the store.
    pub pending: usize,
    /// Mail it was already resumed for (or refused a resume for): not a reason to resume again.
    pub pending_seen: usize,
    /// Of its mail, supervisor notes sent without waking it since its last turn began (a
    /// worker died and its work was taken up): for the record, not for a decision.
    pub notes: usize,
    /// Stopped by idle shutdown, not for good: mail wakes it.
    pub retired_idle: bool,
    /// It has a codex thread (it can be resumed).
    pub has_thread: bool,
    /// How long since its last turn ended.
    pub idle_for: Duration,
    /// A stop of its running turn was already asked for.
    pub stop_requested: bool,
    /// Order of arrival: queued spawns are admitted oldest first.
    pub seq: u64,
    /// Tokens its running turn has used so far, when the supervisor meters it live.
    pub turn_tokens: Option<u64>,
}

/// One task as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskView {
    pub task_id: String,
    pub version: u32,
    pub status: TaskStatus,
    /// The role best suited, if the creator said.
    pub role: Option<String>,
    pub claimed_by: Option<String>,
    pub size: TaskSize,
}

/// What the planner knows of one team at one instant.
#[derive(Debug, Clone)]
pub struct Snapshot<'a> {
    pub profile: &'a Profile,
    /// The lead is the user's own codex (`codex-teams mcp`): never resumed by the supervisor.
    pub lead_external: bool,
    /// The team is being stopped (signal, run ending): the loop leaves it alone.
    pub stopping: bool,
    /// The store says the team is no longer running (the lead finalized, maybe through
    /// another process).
    pub store_finalized: bool,
    /// How long ago this process saw the team finalized (`None`: not yet).
    pub finalized_for: Option<Duration>,
    /// After finalizing, how long running workers may finish their turn before they are stopped.
    pub drain: Duration,
    pub lead_id: Option<String>,
    /// The lead was already told the board is done.
    pub board_done_nudged: bool,
    /// Ready tasks (id, version) an idle worker was already nudged about.
    pub nudged: HashSet<(String, u32)>,
    /// Ready tasks (id, version) the lead was already told no worker can take.
    pub lead_told: HashSet<(String, u32)>,
    /// The team was quiet at the last pass (nothing ran, nothing owed).
    pub quiet: bool,
    /// Every agent of the team, in arrival order.
    pub agents: Vec<AgentView>,
    /// Every task of the board.
    pub tasks: Vec<TaskView>,
    /// The ready tasks, in board order (open with dependencies done, or a claim whose lease ran out).
    pub ready: Vec<TaskView>,
    /// Tokens the whole team spent so far.
    pub spent: u64,
    /// The metering proxy stopped the team's workers or the run (their share or the whole
    /// budget is spent): no new worker is admitted.
    pub spend_limit: Option<Limit>,
}

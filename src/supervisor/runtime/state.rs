//! What this process keeps in memory about its teams and agents (the store keeps the rest):
//! phases, tokens, process groups and the bookkeeping the control loop's snapshot is read from.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use super::super::events::Usage;
use super::super::process::Pgid;
use crate::policy::plan::{AgentView, Phase};
use crate::policy::roles::LEAD;
use crate::policy::spend::Limit;

/// The prompt a turn starts with: a new thread, or a resume of the agent's thread.
#[derive(Debug, Clone)]
pub(super) enum TurnKind {
    First(String),
    Resume(String),
}

impl TurnKind {
    pub(super) fn word(&self) -> &'static str {
        match self {
            TurnKind::First(_) => "first",
            TurnKind::Resume(_) => "resume",
        }
    }
}

/// One agent of a team this process supervises.
#[derive(Debug)]
pub(super) struct AgentRt {
    pub(super) team_id: String,
    pub(super) agent_id: String,
    pub(super) name: String,
    pub(super) role: String,
    pub(super) brief: String,
    /// Its bearer token in plaintext, held only in memory. `None` when this process never
    /// had it (an agent adopted from the store): the next turn mints a fresh one first.
    pub(super) token: Option<String>,
    /// The lead's session model recorded with the spawn.
    pub(super) lead_model: Option<String>,
    pub(super) phase: Phase,
    pub(super) wake: bool,
    pub(super) pending_seen: usize,
    /// Supervisor notes sent to it without waking it since its last turn began.
    pub(super) notes: usize,
    /// Stopped by idle shutdown, not for good: mail for it wakes it again.
    pub(super) retired_idle: bool,
    pub(super) thread_id: Option<String>,
    pub(super) totals: Usage,
    pub(super) idle_since: Instant,
    pub(super) pgid: Option<Pgid>,
    pub(super) stop_requested: bool,
    pub(super) turns: u32,
    /// The lead's first prompt (run mode).
    pub(super) first_prompt: Option<String>,
    /// Order of arrival, for fair admission.
    pub(super) seq: u64,
}

/// Who an agent is: what [`AgentRt::new`] needs from a spawn request or a store row.
pub(super) struct Identity {
    pub(super) team_id: String,
    pub(super) agent_id: String,
    pub(super) name: String,
    pub(super) role: String,
    pub(super) brief: String,
    pub(super) lead_model: Option<String>,
}

impl AgentRt {
    /// A fresh record in `phase`, arriving as number `seq`.
    pub(super) fn new(id: Identity, token: Option<String>, phase: Phase, seq: u64) -> AgentRt {
        AgentRt {
            team_id: id.team_id,
            agent_id: id.agent_id,
            name: id.name,
            role: id.role,
            brief: id.brief,
            token,
            lead_model: id.lead_model,
            phase,
            wake: false,
            pending_seen: 0,
            notes: 0,
            retired_idle: false,
            thread_id: None,
            totals: Usage::default(),
            idle_since: Instant::now(),
            pgid: None,
            stop_requested: false,
            turns: 0,
            first_prompt: None,
            seq,
        }
    }

    pub(super) fn is_lead(&self) -> bool {
        self.role == LEAD
    }

    /// The planner's view of it, with `pending` unread messages in the store.
    pub(super) fn view(&self, pending: usize) -> AgentView {
        AgentView {
            agent_id: self.agent_id.clone(),
            name: self.name.clone(),
            role: self.role.clone(),
            is_lead: self.is_lead(),
            phase: self.phase,
            wake: self.wake,
            pending,
            pending_seen: self.pending_seen,
            notes: self.notes,
            retired_idle: self.retired_idle,
            has_thread: self.thread_id.is_some(),
            idle_for: self.idle_since.elapsed(),
            stop_requested: self.stop_requested,
            seq: self.seq,
            turn_tokens: None,
        }
    }
}

/// One team this process supervises.
#[derive(Debug)]
pub(super) struct TeamRt {
    pub(super) goal: String,
    pub(super) cwd: PathBuf,
    pub(super) lead_id: Option<String>,
    pub(super) finalized_at: Option<Instant>,
    pub(super) nudged_tasks: HashSet<(String, u32)>,
    pub(super) lead_told: HashSet<(String, u32)>,
    pub(super) board_done_nudged: bool,
    pub(super) quiet_since: Option<Instant>,
    pub(super) stopping: bool,
    pub(super) lead_failed: Option<String>,
    /// Replacement workers spawned for failed ones, bounded by
    /// [`crate::policy::plan::MAX_REPLACEMENTS`].
    pub(super) replacements: u32,
    /// The metering proxy stopped the team's workers (their share is spent) or the run
    /// (the whole budget is): no new worker turns.
    pub(super) spend_limit: Option<Limit>,
}

impl TeamRt {
    pub(super) fn new(goal: &str, cwd: &str, lead_id: Option<&str>) -> TeamRt {
        TeamRt {
            goal: goal.to_string(),
            cwd: PathBuf::from(cwd),
            lead_id: lead_id.map(str::to_string),
            finalized_at: None,
            nudged_tasks: HashSet::new(),
            lead_told: HashSet::new(),
            board_done_nudged: false,
            quiet_since: None,
            stopping: false,
            lead_failed: None,
            replacements: 0,
            spend_limit: None,
        }
    }
}

/// Everything this process knows in memory, behind one lock held only for short, non-async
/// sections.
#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) agents: HashMap<String, AgentRt>,
    pub(super) teams: HashMap<String, TeamRt>,
    pub(super) spawned: usize,
    pub(super) next_seq: u64,
}

impl State {
    /// Records a new agent, numbered in order of arrival.
    pub(super) fn insert_agent(&mut self, id: Identity, token: Option<String>, phase: Phase) {
        self.next_seq += 1;
        let agent = AgentRt::new(id, token, phase, self.next_seq);
        self.agents.insert(agent.agent_id.clone(), agent);
    }

    /// Teams the control loop still has work in: running, or ending with a worker not
    /// stopped yet or a turn still running. A finished team is not ticked any more.
    pub(super) fn live_teams(&self) -> Vec<String> {
        let unfinished = |id: &str| {
            self.agents.values().any(|a| {
                a.team_id == id && (a.phase.owed() || (!a.is_lead() && a.phase == Phase::Idle))
            })
        };
        self.teams
            .iter()
            .filter(|(id, t)| !(t.stopping || t.finalized_at.is_some()) || unfinished(id))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The team's agents, in order of arrival.
    pub(super) fn team_agents(&self, team_id: &str) -> Vec<&AgentRt> {
        let mut v: Vec<&AgentRt> = self
            .agents
            .values()
            .filter(|a| a.team_id == team_id)
            .collect();
        v.sort_by_key(|a| a.seq);
        v
    }
}

/// What `run` needs to decide whether its team is over.
#[derive(Debug, Clone, Default)]
pub struct TeamView {
    /// Lead's phase (`None` when external or unknown).
    pub lead: Option<Phase>,
    /// Why the lead's process failed, if it did.
    pub lead_failed: Option<String>,
    /// When `team_finalize` was seen.
    pub finalized_at: Option<Instant>,
    /// Workers queued, starting or running.
    pub workers_busy: usize,
    /// Workers in each phase.
    pub workers: BTreeMap<Phase, usize>,
    /// Nothing ran, nothing is owed, nothing changed since this instant.
    pub quiet_since: Option<Instant>,
    /// Whether the lead was already told the board is done.
    pub board_done_nudged: bool,
    /// The metering proxy stopped the workers (their share is spent) or the run (the whole
    /// budget is, the lead's own request was refused).
    pub spend_limit: Option<Limit>,
}

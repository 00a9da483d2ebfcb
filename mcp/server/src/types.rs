//! Tool arguments and results. Their JSON Schemas are generated from these types (sent to the
//! model with every request and checked in under `mcp/schemas/`), so field docs are the
//! model-facing descriptions: short, exact. Unknown argument fields are refused.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Roles a worker can be spawned with (the lead is made by `team_start`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Planner,
    Implementer,
    Reviewer,
    Tester,
    Researcher,
}

impl Role {
    /// Every worker role, in the order the role pack lists them.
    pub const ALL: [Role; 5] = [
        Role::Planner,
        Role::Implementer,
        Role::Reviewer,
        Role::Tester,
        Role::Researcher,
    ];

    /// The role name as stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Planner => "planner",
            Role::Implementer => "implementer",
            Role::Reviewer => "reviewer",
            Role::Tester => "tester",
            Role::Researcher => "researcher",
        }
    }

    /// The worker role stored as `name`; `None` for the lead and unknown names.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The role name of a team's lead.
pub const LEAD_ROLE: &str = "lead";

/// Every role name, the lead first: the one list the role pack, profiles and tools check
/// names against.
pub const ROLE_NAMES: &[&str] = &[
    LEAD_ROLE,
    Role::Planner.as_str(),
    Role::Implementer.as_str(),
    Role::Reviewer.as_str(),
    Role::Tester.as_str(),
    Role::Researcher.as_str(),
];

// ---------------------------------------------------------------- team

/// Arguments of `team_start`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamStartArgs {
    /// What the team must achieve.
    pub goal: String,
    /// Working directory (default: the server's).
    #[serde(default)]
    pub cwd: Option<String>,
    /// Profile name (default: "default").
    #[serde(default)]
    pub profile: Option<String>,
}

/// Result of `team_start`: the new team and the caller's lead id.
#[derive(Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct TeamStartOut {
    pub team_id: String,
    /// Your agent id (the lead).
    pub agent_id: String,
}

/// One member as `team_status` lists it.
#[derive(Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct AgentOut {
    pub id: String,
    pub name: String,
    pub role: String,
    pub state: String,
}

/// Board totals by shown status.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct TaskCounts {
    pub open: usize,
    pub ready: usize,
    pub claimed: usize,
    pub done: usize,
    pub failed: usize,
}

/// Result of `team_status`: enough to orient without listing everything.
#[derive(Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct TeamStatusOut {
    pub team_id: String,
    pub goal: String,
    pub status: String,
    /// Your agent id.
    pub me: String,
    pub agents: Vec<AgentOut>,
    pub tasks: TaskCounts,
    pub artifacts: usize,
    /// Your unacknowledged messages.
    pub inbox: usize,
}

/// How the lead ends a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Done,
    Failed,
}

/// Arguments of `team_finalize`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamFinalizeArgs {
    /// Default: done.
    #[serde(default)]
    pub outcome: Option<Outcome>,
    /// Final summary, kept in the team log.
    #[serde(default)]
    pub summary: Option<String>,
}

/// Result of `team_finalize`.
#[derive(Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct TeamFinalizeOut {
    pub team_id: String,
    pub status: String,
}

/// Arguments of `team_spawn` (the model comes from the call's `_meta`, not from here).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamSpawnArgs {
    pub role: Role,
    /// The worker's instructions: its task, context, expected output.
    pub brief: String,
    /// Short name (default: role + number).
    #[serde(default)]
    pub name: Option<String>,
    /// A ready task for this worker, claimed for it now: it starts on it without a claim.
    #[serde(default)]
    pub task_id: Option<String>,
    /// Or a new task, filed and claimed for this worker in one step (no task_create first).
    #[serde(default)]
    pub task: Option<SpawnTaskArgs>,
}

/// A task filed by `team_spawn` itself; it must be ready at once (its deps done).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpawnTaskArgs {
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Best-suited role (default: the spawned worker's).
    #[serde(default)]
    pub role: Option<Role>,
    /// Task ids that must be done first; all must be done already.
    #[serde(default)]
    pub deps: Vec<String>,
}

/// Result of `team_spawn`: the new agent, not yet running.
#[derive(Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct TeamSpawnOut {
    pub agent_id: String,
    pub name: String,
    /// "pending": it starts when a slot is free.
    pub state: String,
    /// The task claimed for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
}

// ---------------------------------------------------------------- bus

/// Arguments of `team_send`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendArgs {
    /// Recipient agent id, or "lead".
    pub to: String,
    pub body: String,
    /// Idempotency key: a retry with the same key sends nothing new.
    #[serde(default)]
    pub key: Option<String>,
}

/// Result of `team_send` and `team_broadcast`.
#[derive(Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct SendOut {
    pub message_id: String,
    /// False when this was a retry of an earlier send.
    pub created: bool,
    pub recipients: usize,
}

/// Arguments of `team_broadcast`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BroadcastArgs {
    pub body: String,
    /// Idempotency key: a retry with the same key sends nothing new.
    #[serde(default)]
    pub key: Option<String>,
}

/// Arguments of `team_pull_inbox`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PullArgs {
    /// Max messages (default 20, max 100).
    #[serde(default)]
    pub max: Option<u32>,
}

/// A message as its recipient sees it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct MessageOut {
    pub id: String,
    pub from: String,
    pub body: String,
    /// Delivery attempts; >1 means redelivered (not yet acked).
    pub n: u32,
}

/// Result of `team_pull_inbox`.
#[derive(Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct InboxOut {
    /// Ack each id once handled, or it is redelivered.
    pub messages: Vec<MessageOut>,
}

/// Arguments of `team_ack`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AckArgs {
    /// Message ids to acknowledge.
    pub ids: Vec<String>,
}

/// Result of `team_ack`.
#[derive(Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct AckOut {
    /// Newly acknowledged (repeats count 0).
    pub acked: usize,
}

/// Arguments of `team_wait`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitArgs {
    /// Default 20000, max 60000.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

/// A task-board change that concerns the waiting agent.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct BoardChange {
    pub id: String,
    pub title: String,
    /// "ready" (claimable now), "done" or "failed".
    pub status: String,
}

/// Result of `team_wait`.
#[derive(Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct WaitOut {
    /// Ack each id once handled, or it is redelivered.
    pub messages: Vec<MessageOut>,
    /// Tasks that became ready, and tasks you created that ended, during the wait.
    pub tasks: Vec<BoardChange>,
    /// True when nothing arrived before the timeout.
    pub timed_out: bool,
}

// ---------------------------------------------------------------- tasks

/// Arguments of `task_create`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskCreateArgs {
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Best-suited role.
    #[serde(default)]
    pub role: Option<Role>,
    /// Task ids that must be done first.
    #[serde(default)]
    pub deps: Vec<String>,
}

/// One task of a `task_plan`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedTask {
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Best-suited role.
    #[serde(default)]
    pub role: Option<Role>,
    /// Task ids, or `#N`: the N-th task (from 1) of this plan, listed before this one.
    #[serde(default)]
    pub deps: Vec<String>,
}

/// Arguments of `task_plan`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskPlanArgs {
    /// In order; at most 64.
    pub tasks: Vec<PlannedTask>,
}

/// Most tasks one `task_plan` call may file.
pub const MAX_PLAN_TASKS: usize = 64;

/// Task status as tools show it; `ready` is open with all dependencies done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    Open,
    Ready,
    Claimed,
    Done,
    Failed,
}

impl TaskState {
    /// The word tools show (the serde spelling).
    pub const fn as_str(self) -> &'static str {
        match self {
            TaskState::Open => "open",
            TaskState::Ready => "ready",
            TaskState::Claimed => "claimed",
            TaskState::Done => "done",
            TaskState::Failed => "failed",
        }
    }
}

/// One task. `description` only where a worker needs it (create, claim).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct TaskOut {
    pub id: String,
    pub title: String,
    pub status: TaskState,
    /// Version, for task_update.
    pub v: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deps: Vec<String>,
    /// Claimant agent id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    /// Result artifact id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_v: Option<u32>,
}

/// Arguments of `task_claim`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskClaimArgs {
    /// Task to claim (default: the oldest ready one).
    #[serde(default)]
    pub task_id: Option<String>,
}

/// Status a claimant may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SetStatus {
    // "open" gives the task back.
    Open,
    Done,
    Failed,
}

/// Arguments of `task_update`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskUpdateArgs {
    pub task_id: String,
    /// Expected version (default: current).
    #[serde(default)]
    pub v: Option<u32>,
    #[serde(default)]
    pub progress: Option<String>,
    #[serde(default)]
    pub status: Option<SetStatus>,
    /// Result artifact id.
    #[serde(default)]
    pub artifact: Option<String>,
    #[serde(default)]
    pub artifact_v: Option<u32>,
    /// With status done/failed: also claim the next ready task for your role and return it.
    #[serde(default)]
    pub next: bool,
}

/// Result of `task_update`: the task, and with `next` the one claimed for you after it.
#[derive(Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct TaskUpdateOut {
    #[serde(flatten)]
    pub task: TaskOut,
    /// The next task, claimed for you (with its description).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<TaskOut>,
    /// What to do now, when `next` was asked for and nothing is ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Arguments of `task_list`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskListArgs {
    #[serde(default)]
    pub status: Option<TaskState>,
    /// Only tasks you claimed.
    #[serde(default)]
    pub mine: bool,
}

/// Result of `task_list`.
#[derive(Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct TaskListOut {
    pub tasks: Vec<TaskOut>,
}

// ---------------------------------------------------------------- artifacts

/// Arguments of `artifact_publish`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactPublishArgs {
    /// Stable name; publishing it again makes a new version.
    pub name: String,
    pub content: String,
    /// One line for readers deciding whether to read it.
    pub summary: String,
    /// Version this replaces; stale = conflict. Omit to publish on top of the newest.
    #[serde(default)]
    pub parent: Option<u32>,
}

/// A reference to one artifact version: pass this around, not the content.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ArtifactRefOut {
    pub id: String,
    pub name: String,
    pub v: u32,
    pub sha256: String,
    pub size: usize,
    pub summary: String,
    pub author: String,
}

/// Arguments of `artifact_read`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactReadArgs {
    /// Artifact id or name.
    pub artifact_id: String,
    /// Default: newest.
    #[serde(default)]
    pub v: Option<u32>,
}

/// Result of `artifact_read`: the reference and the content.
#[derive(Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ArtifactOut {
    #[serde(flatten)]
    pub meta: ArtifactRefOut,
    pub content: String,
}

/// Result of `artifact_list`.
#[derive(Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ArtifactListOut {
    /// Newest version of each.
    pub artifacts: Vec<ArtifactRefOut>,
}

// ---------------------------------------------------------------- decisions

/// How a decision is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StrategyArg {
    Consensus,
    Lead,
    StrictVote,
}

/// Arguments of `decision_open`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionOpenArgs {
    pub question: String,
    /// consensus: all votes agree; strict_vote: >half of voters; lead: your pick at close.
    pub strategy: StrategyArg,
    /// Agent ids who may vote (default: any member).
    #[serde(default)]
    pub voters: Option<Vec<String>>,
}

/// Arguments of `decision_propose`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionProposeArgs {
    pub decision_id: String,
    /// What this candidate is (required without artifact).
    #[serde(default)]
    pub summary: Option<String>,
    /// Artifact id or name.
    #[serde(default)]
    pub artifact: Option<String>,
    /// Default: newest.
    #[serde(default)]
    pub artifact_v: Option<u32>,
}

/// Result of `decision_propose`.
#[derive(Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ProposeOut {
    /// Candidate id, to vote for.
    pub id: String,
    pub decision_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_v: Option<u32>,
}

/// Arguments of `decision_vote`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionVoteArgs {
    pub decision_id: String,
    pub candidate_id: String,
    /// Short reason.
    #[serde(default)]
    pub comment: Option<String>,
}

/// Result of `decision_vote`.
#[derive(Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct VoteOut {
    pub decision_id: String,
    pub candidate_id: String,
    /// Your earlier choice this vote replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced: Option<String>,
}

/// Arguments of `decision_close`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionCloseArgs {
    pub decision_id: String,
    /// Winning candidate id (strategy lead only, required there).
    #[serde(default)]
    pub pick: Option<String>,
    /// Added to the rationale.
    #[serde(default)]
    pub note: Option<String>,
}

/// Arguments of `decision_get`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionGetArgs {
    pub decision_id: String,
}

/// A candidate with its current votes.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct CandidateOut {
    pub id: String,
    /// Proposer agent id.
    pub by: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_v: Option<u32>,
    pub votes: u32,
}

/// One voter's current vote.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct BallotOut {
    /// Voter agent id.
    pub by: String,
    /// Candidate id.
    pub choice: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A decision with its candidates and votes (`decision_open`, `decision_close`,
/// `decision_get`).
#[derive(Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct DecisionOut {
    pub id: String,
    pub question: String,
    pub strategy: StrategyArg,
    /// open, decided, or no_decision (closed without a winner).
    pub status: String,
    /// Who may vote; absent = any member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voters: Option<Vec<String>>,
    pub candidates: Vec<CandidateOut>,
    pub votes: Vec<BallotOut>,
    /// Winning candidate id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub winner: Option<String>,
    /// unanimous, majority, lead_pick, split, tie, no_majority, incomplete or no_votes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_match_the_serde_spelling() {
        for s in [
            TaskState::Open,
            TaskState::Ready,
            TaskState::Claimed,
            TaskState::Done,
            TaskState::Failed,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for r in Role::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse(LEAD_ROLE), None);
        assert_eq!(ROLE_NAMES.len(), Role::ALL.len() + 1);
        assert_eq!(ROLE_NAMES[0], LEAD_ROLE);
    }
}

//! The rows callers read and write. Every entity carries its trace ids (`team_id` and the
//! ids of whatever it points at) so a log line built from it can be joined to the store.

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch; the store's only clock unit.
pub type Millis = i64;

/// A team: one run of a lead and its workers over one working directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Team {
    pub team_id: String,
    pub goal: String,
    pub cwd: String,
    pub profile: String,
    /// Free-form JSON the supervisor keeps with the team (model settings, limits).
    pub config: serde_json::Value,
    pub status: TeamStatus,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// Where a team is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TeamStatus {
    Running,
    Finalized,
    Failed,
    Stopped,
}

/// What a caller gives to create a team.
#[derive(Debug, Clone, Default)]
pub struct NewTeam {
    pub goal: String,
    pub cwd: String,
    pub profile: String,
    pub config: serde_json::Value,
}

/// One member of a team: the lead or a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub agent_id: String,
    pub team_id: String,
    pub name: String,
    pub role: String,
    pub state: AgentState,
    /// Codex thread id once the agent's first turn started; used to resume it.
    pub thread_id: Option<String>,
    /// Process group of the running codex child, if any; swept on restart.
    pub pgid: Option<i32>,
    pub model: Option<String>,
    /// The instructions it was spawned with (its task brief).
    pub brief: String,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// The team tools this agent may call, fixed when it was created from its role's policy;
    /// `None`: no per-agent list (a lead, or an agent recorded before schema v4).
    pub tools: Option<Vec<String>>,
}

/// Life cycle of an agent's process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    /// Asked for, waiting for a slot.
    Pending,
    Running,
    /// Turn ended, no process; resumable by thread id.
    Idle,
    /// Retired for good (idle shutdown, early stop, finalize).
    Stopped,
    Failed,
}

/// What a caller gives to add an agent. `token_hash` is the SHA-256 (hex) of its bearer token.
#[derive(Debug, Clone, Default)]
pub struct NewAgent {
    pub name: String,
    pub role: String,
    pub model: Option<String>,
    pub brief: String,
    pub token_hash: Option<String>,
    /// The team tools it may call (its role's subset); `None`: no per-agent list.
    pub tools: Option<Vec<String>>,
}

/// Token usage of one agent turn (differences, not codex's running totals).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: i64,
    pub cached_input_tokens: i64,
    pub output_tokens: i64,
    pub reasoning_output_tokens: i64,
}

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Recipient {
    Agent(String),
    /// Every other member of the team.
    Broadcast,
}

/// The answer to a send: the message's id and whether this call created it (false on an
/// idempotent retry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendOutcome {
    pub message_id: String,
    pub created: bool,
    pub recipients: usize,
}

/// A message as a recipient sees it, with the delivery's attempt count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub message_id: String,
    pub team_id: String,
    pub from_agent: String,
    pub to_agent: String,
    pub body: String,
    pub sent_at: Millis,
    /// How many times it has been handed out, this time included.
    pub attempts: u32,
}

/// A task on the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub task_id: String,
    pub team_id: String,
    pub title: String,
    pub description: String,
    /// Role best suited, if the creator said.
    pub role: Option<String>,
    pub deps: Vec<String>,
    pub status: TaskStatus,
    pub claimed_by: Option<String>,
    pub lease_until: Option<Millis>,
    pub progress: Option<String>,
    /// Artifact holding the result, as `artifact_id` (and version).
    pub result_artifact: Option<String>,
    pub result_version: Option<u32>,
    pub version: u32,
    pub created_by: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// Status of a task. `ready` is derived (open with all dependencies done), not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    Claimed,
    Done,
    Failed,
}

/// What a caller gives to create a task.
#[derive(Debug, Clone, Default)]
pub struct NewTask {
    pub title: String,
    pub description: String,
    pub role: Option<String>,
    pub deps: Vec<String>,
}

/// A change to a claimed task by its claimant, checked against `expected_version`.
#[derive(Debug, Clone, Default)]
pub struct TaskUpdate {
    pub progress: Option<String>,
    /// `Done` or `Failed` ends the task; `Open` gives it back; `None` leaves the status.
    pub status: Option<TaskStatus>,
    pub result_artifact: Option<String>,
    pub result_version: Option<u32>,
}

/// Which tasks `list_tasks` returns.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub status: Option<TaskStatus>,
    pub claimed_by: Option<String>,
    pub ready_only: bool,
}

/// A reference to one artifact version: what agents pass around instead of content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactRef {
    pub artifact_id: String,
    pub team_id: String,
    pub name: String,
    pub version: u32,
    pub sha256: String,
    pub size: usize,
    pub summary: String,
    pub author: String,
    pub created_at: Millis,
}

/// An artifact version with its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    #[serde(flatten)]
    pub meta: ArtifactRef,
    pub content: String,
}

/// What a caller gives to publish an artifact version.
#[derive(Debug, Clone, Default)]
pub struct NewArtifact {
    pub name: String,
    pub content: String,
    pub summary: String,
    /// The version this one replaces; a stale parent is a conflict. `None` for the first
    /// version, or to publish on top of whatever is newest.
    pub parent_version: Option<u32>,
}

/// One line of the append-only event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: i64,
    pub team_id: String,
    pub agent_id: Option<String>,
    pub kind: String,
    pub payload: serde_json::Value,
    pub at: Millis,
}

/// Limits and timings a store enforces; defaults match the product's defaults.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_body_bytes: usize,
    pub max_artifact_bytes: usize,
    pub busy_timeout_ms: u64,
    /// How many times a write is retried on SQLITE_BUSY before [`crate::StoreError::Busy`].
    pub busy_retries: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_body_bytes: 16 * 1024,
            max_artifact_bytes: 4 * 1024 * 1024,
            busy_timeout_ms: 5_000,
            busy_retries: 8,
        }
    }
}

/// How a decision picks between candidates (SPEC §5, arbitration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Every vote counted must name the same candidate.
    Consensus,
    /// The lead's pick wins; votes are recorded as advice.
    Lead,
    /// A candidate needs more than half of the eligible voters.
    StrictVote,
}

/// Where a decision is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionStatus {
    /// Taking candidates and votes.
    Open,
    /// Closed with a winner.
    Decided,
    /// Closed without a winner (split, tie, no majority, no votes).
    NoDecision,
}

/// A question the team settles by one of the [`Strategy`]s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub decision_id: String,
    pub team_id: String,
    pub question: String,
    pub strategy: Strategy,
    pub status: DecisionStatus,
    /// The fixed electorate, in the order given; `None` means any member may vote and the
    /// electorate is whoever voted.
    pub voters: Option<Vec<String>>,
    pub created_by: String,
    /// The winning candidate once decided.
    pub winner: Option<String>,
    /// Machine word for the outcome (see [`Outcome::reason`]), once closed.
    pub reason: Option<String>,
    /// One human-readable line on why, once closed.
    pub rationale: Option<String>,
    pub closed_by: Option<String>,
    pub created_at: Millis,
    pub closed_at: Option<Millis>,
}

/// One competing result put up for a decision: a reference to an artifact version and/or
/// a short summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub candidate_id: String,
    pub decision_id: String,
    pub team_id: String,
    pub proposer: String,
    pub artifact_id: Option<String>,
    pub artifact_version: Option<u32>,
    pub summary: String,
    pub created_at: Millis,
}

/// A voter's current choice in a decision (a re-vote replaces it; the event log keeps each
/// cast).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    pub decision_id: String,
    pub team_id: String,
    pub voter: String,
    pub candidate_id: String,
    pub comment: Option<String>,
    pub cast_at: Millis,
}

/// What a caller gives to open a decision.
#[derive(Debug, Clone)]
pub struct NewDecision {
    pub question: String,
    pub strategy: Strategy,
    /// Fixed electorate (agent ids of the team); `None` lets every member vote.
    pub voters: Option<Vec<String>>,
}

/// What a caller gives to propose a candidate: an artifact reference, a summary, or both.
#[derive(Debug, Clone, Default)]
pub struct NewCandidate {
    pub summary: String,
    pub artifact_id: Option<String>,
    /// Default: the artifact's newest version at proposal time.
    pub artifact_version: Option<u32>,
}

/// Votes one candidate got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TallyEntry {
    pub candidate_id: String,
    pub votes: u32,
}

/// The result of [`crate::arbitration::decide`]: who won (if anyone), the count, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub winner: Option<String>,
    /// Every candidate in proposal order with its counted votes.
    pub tally: Vec<TallyEntry>,
    /// `unanimous`, `majority`, `lead_pick` (winner) or `split`, `tie`, `no_majority`,
    /// `incomplete`, `no_votes` (no winner).
    pub reason: String,
    pub rationale: String,
}

/// A decision with everything needed to audit it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub decision: Decision,
    /// In proposal order.
    pub candidates: Vec<Candidate>,
    /// In the order they were (last) cast.
    pub votes: Vec<Vote>,
    /// Current counts (for an open decision) or the counts it was closed with.
    pub tally: Vec<TallyEntry>,
}

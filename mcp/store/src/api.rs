//! The store's public operations. (Signatures fixed for the MCP layer and supervisor;
//! bodies live in the per-concern modules.)

use std::path::Path;
use std::time::Duration;

use crate::*;

/// One connection to a codex-teams database file.
pub struct Store {
    pub(crate) conn: rusqlite::Connection,
    pub(crate) opts: StoreOptions,
}

#[allow(unused_variables)]
impl Store {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub fn open(path: &Path) -> StoreResult<Store> {
        Self::open_with(path, StoreOptions::default())
    }
    /// Like [`Store::open`] with explicit limits.
    pub fn open_with(path: &Path, opts: StoreOptions) -> StoreResult<Store> {
        todo!()
    }
    /// The schema version the file is at.
    pub fn schema_version(&self) -> StoreResult<u32> {
        todo!()
    }
    /// The limits in force.
    pub fn options(&self) -> &StoreOptions {
        &self.opts
    }

    // ---- teams and agents ----
    pub fn create_team(&self, new: NewTeam) -> StoreResult<Team> {
        todo!()
    }
    pub fn team(&self, team_id: &str) -> StoreResult<Team> {
        todo!()
    }
    pub fn list_teams(&self) -> StoreResult<Vec<Team>> {
        todo!()
    }
    pub fn set_team_status(&self, team_id: &str, status: TeamStatus) -> StoreResult<Team> {
        todo!()
    }
    pub fn add_agent(&self, team_id: &str, new: NewAgent) -> StoreResult<Agent> {
        todo!()
    }
    /// An agent of `team_id`; an agent of another team is `NotFound`.
    pub fn agent(&self, team_id: &str, agent_id: &str) -> StoreResult<Agent> {
        todo!()
    }
    /// The agent whose bearer-token hash this is (how endpoints learn who is calling).
    pub fn agent_by_token_hash(&self, token_hash: &str) -> StoreResult<Agent> {
        todo!()
    }
    pub fn list_agents(&self, team_id: &str) -> StoreResult<Vec<Agent>> {
        todo!()
    }
    pub fn set_agent_state(
        &self,
        team_id: &str,
        agent_id: &str,
        state: AgentState,
        thread_id: Option<&str>,
        pgid: Option<i32>,
    ) -> StoreResult<Agent> {
        todo!()
    }
    /// Adds one turn's usage (a difference, not a running total) to the agent's ledger.
    pub fn record_usage(&self, team_id: &str, agent_id: &str, usage: Usage) -> StoreResult<()> {
        todo!()
    }
    /// Sum of every recorded turn of the agent.
    pub fn agent_usage(&self, team_id: &str, agent_id: &str) -> StoreResult<Usage> {
        todo!()
    }

    // ---- bus ----
    /// Sends `body` to one agent or to every other member. A retry with the same
    /// `idempotency_key` returns the first call's id and creates nothing; the same key with
    /// a different body or recipient is a conflict.
    pub fn send(
        &self,
        team_id: &str,
        from_agent: &str,
        to: Recipient,
        body: &str,
        idempotency_key: &str,
    ) -> StoreResult<SendOutcome> {
        todo!()
    }
    /// Hands out up to `max` unacknowledged deliveries for `agent_id` whose lease is free or
    /// expired, leasing them for `lease`. Oldest first; order per sender is kept.
    pub fn pull_inbox(
        &self,
        team_id: &str,
        agent_id: &str,
        max: usize,
        lease: Duration,
    ) -> StoreResult<Vec<Delivery>> {
        todo!()
    }
    /// Acknowledges deliveries; returns how many were newly acknowledged. Ids not addressed
    /// to this agent are `NotFound`; acknowledging twice is not an error.
    pub fn ack(&self, team_id: &str, agent_id: &str, message_ids: &[String]) -> StoreResult<usize> {
        todo!()
    }
    /// Unacknowledged deliveries waiting for the agent (leased or not).
    pub fn pending_count(&self, team_id: &str, agent_id: &str) -> StoreResult<usize> {
        todo!()
    }

    // ---- task board ----
    /// Creates a task; unknown dependencies or a cycle are refused.
    pub fn create_task(&self, team_id: &str, created_by: &str, new: NewTask) -> StoreResult<Task> {
        todo!()
    }
    pub fn task(&self, team_id: &str, task_id: &str) -> StoreResult<Task> {
        todo!()
    }
    /// Claims the given task, or with `None` the oldest ready one (`NotFound` when none is).
    /// Only a ready task (open, all dependencies done, or claimed with an expired lease) can
    /// be claimed; exactly one of concurrent claimants wins.
    pub fn claim_task(
        &self,
        team_id: &str,
        task_id: Option<&str>,
        agent_id: &str,
        lease: Duration,
    ) -> StoreResult<Task> {
        todo!()
    }
    /// Extends the claimant's lease.
    pub fn heartbeat_task(
        &self,
        team_id: &str,
        task_id: &str,
        agent_id: &str,
        lease: Duration,
    ) -> StoreResult<Task> {
        todo!()
    }
    /// Changes a task the caller holds, if `expected_version` is current.
    pub fn update_task(
        &self,
        team_id: &str,
        task_id: &str,
        agent_id: &str,
        expected_version: u32,
        update: TaskUpdate,
    ) -> StoreResult<Task> {
        todo!()
    }
    pub fn list_tasks(&self, team_id: &str, filter: &TaskFilter) -> StoreResult<Vec<Task>> {
        todo!()
    }
    /// Open tasks whose dependencies are all done, plus claimed ones whose lease expired.
    pub fn ready_tasks(&self, team_id: &str) -> StoreResult<Vec<Task>> {
        todo!()
    }

    // ---- artifacts ----
    /// Publishes a new version of the named artifact. Content is stored once per checksum.
    pub fn publish_artifact(
        &self,
        team_id: &str,
        author: &str,
        new: NewArtifact,
    ) -> StoreResult<ArtifactRef> {
        todo!()
    }
    /// One version (the newest with `None`) with its content.
    pub fn read_artifact(
        &self,
        team_id: &str,
        artifact_id: &str,
        version: Option<u32>,
    ) -> StoreResult<Artifact> {
        todo!()
    }
    /// The newest version of every artifact of the team.
    pub fn list_artifacts(&self, team_id: &str) -> StoreResult<Vec<ArtifactRef>> {
        todo!()
    }

    // ---- event log ----
    /// Appends to the team's event log; returns its sequence number.
    pub fn append_event(
        &self,
        team_id: &str,
        agent_id: Option<&str>,
        kind: &str,
        payload: &serde_json::Value,
    ) -> StoreResult<i64> {
        todo!()
    }
    /// Events of the team after `after_seq`, oldest first, at most `limit`.
    pub fn events(&self, team_id: &str, after_seq: i64, limit: usize) -> StoreResult<Vec<Event>> {
        todo!()
    }
}

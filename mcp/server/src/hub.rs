//! The in-process state both transports share: the store pool, the runtime, and one
//! `Notify` per waiting agent so `team_wait` returns the moment a send commits.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use codex_teams_store::{
    Agent, Delivery, NewAgent, NewTeam, Store, StoreOptions, StoreResult, Task, TaskFilter,
    TaskStatus, Team,
};
use tokio::sync::Notify;

pub use crate::pool::HubError;
use crate::pool::StorePool;
use crate::runtime::Runtime;
use crate::token::{hash_token, mint_token};
use crate::tool_names::{is_lead_only, is_tool};
use crate::types::{BoardChange, LEAD_ROLE, TaskState};

/// Who is calling: always derived from the transport (bearer token, or the stdio session's
/// lead), never from tool arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub team_id: String,
    pub agent_id: String,
    pub role: String,
    /// The tools recorded for this agent when it was created (its role's subset); `None`:
    /// no per-agent list.
    pub tools: Option<Vec<String>>,
}

impl Caller {
    /// The identity of a stored agent.
    pub fn of(agent: &Agent) -> Caller {
        Caller {
            team_id: agent.team_id.clone(),
            agent_id: agent.agent_id.clone(),
            role: agent.role.clone(),
            tools: agent.tools.clone(),
        }
    }
    /// Lead-only tools check this.
    pub fn is_lead(&self) -> bool {
        self.role == LEAD_ROLE
    }
    /// Whether this caller may call `tool`: a lead-only tool only by the lead, and any tool
    /// only if it is in the caller's recorded list (when it has one). Names that are not
    /// team tools are left to the router to refuse.
    pub fn may_call(&self, tool: &str) -> bool {
        if !is_tool(tool) {
            return true;
        }
        if is_lead_only(tool) && !self.is_lead() {
            return false;
        }
        self.tools
            .as_ref()
            .is_none_or(|list| list.iter().any(|t| t == tool))
    }
}

/// An agent just added, with the only plaintext copy of its bearer token.
#[derive(Clone)]
pub struct MintedAgent {
    pub agent: Agent,
    pub token: String,
}

impl std::fmt::Debug for MintedAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MintedAgent")
            .field("agent", &self.agent)
            .field("token", &crate::redact::REDACTED)
            .finish()
    }
}

/// Adds an agent with a fresh bearer token; the store keeps only its SHA-256. Used by
/// `team_spawn` and by the supervisor when it creates a `run`'s lead. Any `token_hash` in
/// `new` is replaced.
pub fn register_agent(store: &Store, team_id: &str, new: NewAgent) -> StoreResult<MintedAgent> {
    mint_agent(new, |new| store.add_agent(team_id, new))
}

/// [`register_agent`] under the next free `<new.name>-<n>` (see
/// [`Store::add_agent_numbered`]): how `team_spawn` names a worker it was not given a name
/// for, atomically, however many spawns of one role race.
pub fn register_numbered_agent(
    store: &Store,
    team_id: &str,
    new: NewAgent,
) -> StoreResult<MintedAgent> {
    mint_agent(new, |new| store.add_agent_numbered(team_id, new))
}

fn mint_agent(
    new: NewAgent,
    add: impl FnOnce(NewAgent) -> StoreResult<Agent>,
) -> StoreResult<MintedAgent> {
    let token = mint_token();
    let agent = add(NewAgent {
        token_hash: Some(hash_token(&token)),
        ..new
    })?;
    Ok(MintedAgent { agent, token })
}

/// Gives an existing agent a fresh bearer token (256 random bits) and stores only its hash;
/// the old token is refused from the moment this returns. This is how a resumed supervisor
/// gets a token for an agent without any plaintext token ever being written to disk.
/// An agent of another team is `NotFound`.
pub fn rotate_agent_token(
    store: &Store,
    team_id: &str,
    agent_id: &str,
) -> StoreResult<MintedAgent> {
    let token = mint_token();
    let agent = store.rotate_agent_token(team_id, agent_id, &hash_token(&token))?;
    Ok(MintedAgent { agent, token })
}

/// Creates a team and its lead (role `lead`, with a token for an HTTP endpoint) in one
/// store transaction: a failure leaves neither behind.
pub fn start_team(
    store: &Store,
    new: NewTeam,
    lead_name: &str,
) -> StoreResult<(Team, MintedAgent)> {
    let token = mint_token();
    let (team, agent) = store.create_team_with_lead(
        new,
        NewAgent {
            name: lead_name.to_string(),
            role: LEAD_ROLE.to_string(),
            token_hash: Some(hash_token(&token)),
            ..NewAgent::default()
        },
    )?;
    Ok((team, MintedAgent { agent, token }))
}

/// Timings and limits of the tool surface.
#[derive(Debug, Clone)]
pub struct HubOptions {
    pub store: StoreOptions,
    /// `team_wait` without `timeout_ms`.
    pub wait_default: Duration,
    /// Upper bound of `team_wait`: well under Codex's tool timeout (300 s).
    pub wait_max: Duration,
    /// How often a waiting call re-reads the store, to see sends from other processes.
    pub wait_recheck: Duration,
    /// How long a pulled message stays leased before it is redelivered.
    pub pull_lease: Duration,
    /// How long a claim holds a task; each `task_update` renews it.
    pub task_lease: Duration,
    /// Largest HTTP request body; bigger is refused with 413 before parsing.
    pub max_http_body: usize,
}

impl Default for HubOptions {
    fn default() -> Self {
        let store = StoreOptions::default();
        // An artifact at its limit, JSON-escaped (worst case x2), plus the envelope.
        let max_http_body = store.max_artifact_bytes * 2 + 64 * 1024;
        HubOptions {
            store,
            wait_default: Duration::from_secs(20),
            wait_max: Duration::from_secs(60),
            wait_recheck: Duration::from_millis(500),
            pull_lease: Duration::from_secs(120),
            task_lease: Duration::from_secs(15 * 60),
            max_http_body,
        }
    }
}

/// Shared by every session of every transport in one process.
pub struct TeamHub {
    pub(crate) pool: Arc<StorePool>,
    pub(crate) runtime: Arc<dyn Runtime>,
    pub(crate) opts: HubOptions,
    waiters: Mutex<HashMap<(String, String), Arc<Notify>>>,
    /// Per agent: the newest task event its previous `team_wait` looked at.
    cursors: Mutex<HashMap<(String, String), i64>>,
    /// The teams this process serves. Another supervisor may share the database file; its
    /// teams' tokens are valid there, not here.
    served: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for TeamHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeamHub")
            .field("store", &self.pool.path())
            .finish_non_exhaustive()
    }
}

/// What one check of a waiting agent found.
pub(crate) struct WaitFound {
    pub messages: Vec<Delivery>,
    pub tasks: Vec<BoardChange>,
}

/// The board as a waiter saw it when it began.
struct Board {
    ready: HashSet<String>,
    ended: HashSet<String>,
}

impl TeamHub {
    /// Opens the store (creating and migrating it) and builds the hub.
    pub fn open(
        store_path: &Path,
        runtime: Arc<dyn Runtime>,
        opts: HubOptions,
    ) -> StoreResult<Arc<TeamHub>> {
        let pool = StorePool::open(store_path, opts.store.clone())?;
        Ok(Arc::new(TeamHub {
            pool: Arc::new(pool),
            runtime,
            opts,
            waiters: Mutex::new(HashMap::new()),
            cursors: Mutex::new(HashMap::new()),
            served: Mutex::new(HashSet::new()),
        }))
    }

    /// The database file this hub serves.
    pub fn store_path(&self) -> &Path {
        self.pool.path()
    }

    /// The limits in force.
    pub fn options(&self) -> &HubOptions {
        &self.opts
    }

    /// Runs a store call on the blocking pool (for the supervisor, sharing the connections).
    pub async fn with_store<T, F>(&self, f: F) -> Result<T, HubError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> StoreResult<T> + Send + 'static,
    {
        self.pool.run(f).await
    }

    /// [`register_agent`] on the blocking pool.
    pub async fn register_agent(
        &self,
        team_id: &str,
        new: NewAgent,
    ) -> Result<MintedAgent, HubError> {
        let team_id = team_id.to_string();
        self.pool
            .run(move |s| register_agent(s, &team_id, new))
            .await
    }

    /// [`rotate_agent_token`] on the blocking pool.
    pub async fn rotate_agent_token(
        &self,
        team_id: &str,
        agent_id: &str,
    ) -> Result<MintedAgent, HubError> {
        let (team_id, agent_id) = (team_id.to_string(), agent_id.to_string());
        self.pool
            .run(move |s| rotate_agent_token(s, &team_id, &agent_id))
            .await
    }

    /// [`start_team`] on the blocking pool; the new team is served by this hub.
    pub async fn start_team(
        &self,
        new: NewTeam,
        lead_name: &str,
    ) -> Result<(Team, MintedAgent), HubError> {
        let lead_name = lead_name.to_string();
        let (team, lead) = self
            .pool
            .run(move |s| start_team(s, new, &lead_name))
            .await?;
        self.serve_team(&team.team_id);
        Ok((team, lead))
    }

    /// Serves `team_id` from now on: its agents' tokens are accepted by this process's
    /// endpoints. A supervisor calls it for the teams it runs or resumes; teams made by
    /// [`TeamHub::start_team`] are served already. A token of a team not served here is
    /// refused like an unknown token, so a second supervisor on the same database never
    /// acts for a team it does not own.
    pub fn serve_team(&self, team_id: &str) {
        self.served
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(team_id.to_string());
    }

    /// Whether this hub serves `team_id`: it was told so ([`TeamHub::serve_team`]), or its
    /// runtime runs the team ([`Runtime::serves`]).
    pub fn serves(&self, team_id: &str) -> bool {
        self.served
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(team_id)
            || self.runtime.serves(team_id)
    }

    fn waiter(&self, team_id: &str, agent_id: &str) -> Arc<Notify> {
        let mut map = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
        map.entry((team_id.to_string(), agent_id.to_string()))
            .or_default()
            .clone()
    }

    /// Something was committed for this agent: wake its in-process waiters and ask the
    /// runtime to resume it. Call it after a send by anyone in this process, including the
    /// supervisor's own messages.
    pub fn message_arrived(&self, team_id: &str, agent_id: &str) {
        self.waiter(team_id, agent_id).notify_waiters();
        self.runtime.wake(team_id, agent_id);
    }

    /// The team's board changed: wake its in-process waiters so they re-check. The runtime
    /// is not asked to resume anyone (the supervisor reads the board itself).
    pub fn board_changed(&self, team_id: &str) {
        let map = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
        for ((team, _), n) in map.iter() {
            if team == team_id {
                n.notify_waiters();
            }
        }
    }

    async fn board(&self, caller: &Caller) -> Result<(Board, Vec<Task>), HubError> {
        let team_id = caller.team_id.clone();
        let (all, ready) = self
            .pool
            .run(move |s| {
                Ok((
                    s.list_tasks(&team_id, &TaskFilter::default())?,
                    s.ready_tasks(&team_id)?,
                ))
            })
            .await?;
        let board = Board {
            ready: ready
                .iter()
                .filter(|t| caller.is_lead() || t.role.as_deref().is_none_or(|r| r == caller.role))
                .map(|t| t.task_id.clone())
                .collect(),
            ended: all
                .iter()
                .filter(|t| t.created_by == caller.agent_id)
                .filter(|t| matches!(t.status, TaskStatus::Done | TaskStatus::Failed))
                .map(|t| t.task_id.clone())
                .collect(),
        };
        let mut relevant = ready;
        relevant.extend(all);
        Ok((board, relevant))
    }

    /// Where `caller`'s task-event cursor stands: after its previous wait, or at the newest
    /// event on its first wait (so a new agent is not handed the whole history).
    async fn cursor(&self, caller: &Caller) -> Result<i64, HubError> {
        let key = (caller.team_id.clone(), caller.agent_id.clone());
        if let Some(seq) = self
            .cursors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(*seq);
        }
        let team_id = caller.team_id.clone();
        let seq = self.pool.run(move |s| s.last_event_seq(&team_id)).await?;
        Ok(*self
            .cursors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_insert(seq))
    }

    fn advance_cursor(&self, caller: &Caller, seq: i64) {
        let mut map = self.cursors.lock().unwrap_or_else(|p| p.into_inner());
        let at = map
            .entry((caller.team_id.clone(), caller.agent_id.clone()))
            .or_insert(seq);
        *at = (*at).max(seq);
    }

    /// Blocks until a delivery is waiting for `caller` (leased and returned, like a pull),
    /// a board change concerns it, or `timeout` passes (then empty).
    ///
    /// Board changes are read from the event log after the caller's cursor, so a change made
    /// between two waits is reported by the next one instead of being lost. Changes the log
    /// cannot show (a claim whose lease ran out) are caught by comparing the board with how
    /// it was when the wait began.
    pub(crate) async fn wait(
        &self,
        caller: &Caller,
        timeout: Duration,
        max: usize,
    ) -> Result<WaitFound, HubError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let notify = self.waiter(&caller.team_id, &caller.agent_id);
        let (start, _) = self.board(caller).await?;
        let mut cursor = self.cursor(caller).await?;
        // Tasks the log says changed since the cursor and that might concern the caller.
        let mut touched: HashSet<String> = HashSet::new();
        loop {
            // Register interest before looking, so a send between the look and the sleep
            // still wakes us.
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();

            let (team_id, agent_id, lease) = (
                caller.team_id.clone(),
                caller.agent_id.clone(),
                self.opts.pull_lease,
            );
            let (messages, events) = self
                .pool
                .run(move |s| {
                    Ok((
                        s.pull_inbox(&team_id, &agent_id, max, lease)?,
                        s.events_of_kind(&team_id, cursor, "task.", 1000)?,
                    ))
                })
                .await?;
            let (now, tasks) = self.board(caller).await?;
            for e in &events {
                cursor = cursor.max(e.seq);
                let Some(id) = e.payload.get("task_id").and_then(|v| v.as_str()) else {
                    continue;
                };
                // The caller's own changes are no news to it; what they unblocked may be.
                if e.agent_id.as_deref() != Some(caller.agent_id.as_str()) {
                    touched.insert(id.to_string());
                }
                // A task that ended, or was handed back, may have made others ready.
                if e.kind == "task.updated" {
                    for t in tasks.iter().filter(|t| t.deps.iter().any(|d| d == id)) {
                        touched.insert(t.task_id.clone());
                    }
                }
            }
            let mut changes: Vec<BoardChange> = Vec::new();
            let mut seen = HashSet::new();
            for t in &tasks {
                let id = &t.task_id;
                let status = if now.ready.contains(id)
                    && (touched.contains(id) || !start.ready.contains(id))
                {
                    TaskState::Ready
                } else if now.ended.contains(id)
                    && (touched.contains(id) || !start.ended.contains(id))
                {
                    if t.status == TaskStatus::Done {
                        TaskState::Done
                    } else {
                        TaskState::Failed
                    }
                } else {
                    continue;
                };
                if seen.insert(id.clone()) {
                    changes.push(BoardChange {
                        id: id.clone(),
                        title: t.title.clone(),
                        status: status.as_str().to_string(),
                    });
                }
            }
            self.advance_cursor(caller, cursor);
            if !messages.is_empty() || !changes.is_empty() {
                return Ok(WaitFound {
                    messages,
                    tasks: changes,
                });
            }
            let now_t = tokio::time::Instant::now();
            if now_t >= deadline {
                return Ok(WaitFound {
                    messages: Vec::new(),
                    tasks: Vec::new(),
                });
            }
            let nap = self.opts.wait_recheck.min(deadline - now_t);
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }
}

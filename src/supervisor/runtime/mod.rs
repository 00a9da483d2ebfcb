//! The supervisor's implementation of [`codex_teams_mcp::Runtime`]: it turns the MCP
//! layer's requests (`team_spawn`, a message for an agent, `team_finalize`) into real
//! `codex exec` children under the six-slot cap, and runs the control loop that resumes
//! idle agents, retires idle workers and stops workers when a team ends.
//!
//! Calls from the MCP layer never block: `spawn` decides admission from a quick store read
//! and queues; everything with a process happens in tasks. One [`Supervisor`] serves every
//! team of its process (`run` has one team; `codex-teams mcp` may start several).

mod admission;
mod apply;
mod control;
mod hooks;
mod launch;
mod lifecycle;
mod mcp;
mod metering;
mod outcome;
mod state;
mod stop;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use codex_teams_mcp::{HttpServer, HubOptions, Runtime, TeamHub};
use codex_teams_store::{Store, StoreOptions};
use tokio::sync::{Notify, OnceCell};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use self::mcp::mcp_runtime;
pub use self::state::TeamView;
use self::state::{Identity, State, TeamRt, TurnKind};
use super::events::Usage;
use super::home::TeamsHome;
use super::meter::Meter;
use super::model::RoleOverride;
use super::process::Pgid;
use super::slots::WorkerSlots;
use crate::policy::Profile;
pub use crate::policy::plan::{MAX_REPLACEMENTS, Phase};
use crate::policy::roles::Sandbox;

/// Environment variable naming the agent on every child (for `/proc` lookups and tests).
pub const AGENT_ENV: &str = "CODEX_TEAMS_AGENT_ID";
/// Environment variable naming the agent's role on every child.
pub const ROLE_ENV: &str = "CODEX_TEAMS_ROLE";

/// How the supervisor runs its children.
#[derive(Debug, Clone)]
pub struct SupervisorOptions {
    /// The codex binary.
    pub codex_bin: PathBuf,
    /// `$CODEX_HOME` for model inheritance (children inherit the environment as is).
    pub codex_home: Option<PathBuf>,
    /// Scripted model server (`--scenario`): every child is pointed at it.
    pub scripted_base_url: Option<String>,
    /// `--model`: wins over the lead's session model and the codex config.
    pub explicit_model: Option<String>,
    /// The team profile (fan-out, budget, timeouts, roles).
    pub profile: Profile,
    /// Worker cap (1..=6), at most the profile's `max_threads`.
    pub max_threads: usize,
    /// The supervisor's directory (owner records, logs). No token is ever written there:
    /// an agent whose token this process does not hold gets a fresh one from the store.
    pub home: TeamsHome,
    /// The store file.
    pub store_path: PathBuf,
    /// SIGTERM-to-SIGKILL grace when stopping a child.
    pub grace: Duration,
    /// After `team_finalize`, how long running workers may finish their turn before they
    /// are stopped (their last requests are then still counted).
    pub drain: Duration,
    /// The lead is not our child (interactive `codex-teams mcp`): never start or resume it.
    pub lead_external: bool,
    /// Control-loop period.
    pub tick: Duration,
    /// `--sandbox`: replaces every role's sandbox (only when codex's sandbox cannot run here).
    pub sandbox_override: Option<Sandbox>,
}

/// Owns worker processes for every team of this process. See the module docs.
pub struct Supervisor {
    me: Weak<Supervisor>,
    opts: SupervisorOptions,
    slots: WorkerSlots,
    hub: OnceLock<Arc<TeamHub>>,
    /// The bus's address, once its HTTP server is started (the server itself is in `http`).
    http_addr: OnceCell<SocketAddr>,
    http: Mutex<Option<HttpServer>>,
    /// The metering proxy every child's model requests pass (started on first use).
    meter: OnceCell<Meter>,
    state: Mutex<State>,
    kick: Notify,
    /// A ticker task is running (it exits when no team is left to tick).
    ticker: AtomicBool,
    /// Stops the ticker and tells owned tasks the process is shutting down.
    cancel: CancellationToken,
    /// Every task this supervisor spawns (ticker, turns, process-group stops): counted, and
    /// waited for by [`Supervisor::shutdown`].
    tasks: TaskTracker,
    /// Held for a whole pass of the control loop: the background ticker and explicit
    /// `tick()` calls never interleave, so a pass's store writes and notes to the lead are
    /// done when it returns. A spawn's admission holds it too: concurrent `team_spawn`
    /// calls are decided one after the other, each seeing the workers admitted before it.
    tick_pass: tokio::sync::Mutex<()>,
    role_overrides: BTreeMap<String, RoleOverride>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor").finish_non_exhaustive()
    }
}

/// `HubOptions` for a profile: its message and artifact limits and wait timeout; a task lease
/// from `CODEX_TEAMS_TASK_LEASE_MS` when set (tests use a short one).
pub fn hub_options(profile: &Profile) -> HubOptions {
    let store = StoreOptions {
        max_body_bytes: profile.limits.message_bytes as usize,
        max_artifact_bytes: profile.limits.artifact_bytes as usize,
        ..StoreOptions::default()
    };
    let mut o = HubOptions {
        max_http_body: store.max_artifact_bytes * 2 + 64 * 1024,
        store,
        ..HubOptions::default()
    };
    o.wait_default = Duration::from_secs(profile.timeouts.tool_wait_secs);
    if let Some(ms) = std::env::var("CODEX_TEAMS_TASK_LEASE_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|ms| *ms > 0)
    {
        o.task_lease = Duration::from_millis(ms);
    }
    o
}

impl Supervisor {
    /// A supervisor with `max_threads` worker slots (1..=6, else a clear error).
    pub fn new(opts: SupervisorOptions) -> anyhow::Result<Arc<Supervisor>> {
        let slots = WorkerSlots::with_machine_dir(opts.max_threads, opts.home.dir.join("slots"))?;
        let role_overrides = opts
            .profile
            .resolved_roles()
            .into_iter()
            .map(|r| {
                (
                    r.name.clone(),
                    RoleOverride {
                        model: r.model.clone(),
                        reasoning_effort: r.effort.map(|e| e.as_str().to_string()),
                    },
                )
            })
            .collect();
        Ok(Arc::new_cyclic(|me| Supervisor {
            me: me.clone(),
            opts,
            slots,
            hub: OnceLock::new(),
            http_addr: OnceCell::new(),
            http: Mutex::new(None),
            meter: OnceCell::new(),
            state: Mutex::new(State::default()),
            kick: Notify::new(),
            ticker: AtomicBool::new(false),
            cancel: CancellationToken::new(),
            tasks: TaskTracker::new(),
            tick_pass: tokio::sync::Mutex::new(()),
            role_overrides,
        }))
    }

    fn arc(&self) -> Arc<Supervisor> {
        self.me.upgrade().expect("supervisor alive while called")
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The options in force.
    pub fn options(&self) -> &SupervisorOptions {
        &self.opts
    }

    /// The hub over the store, with this supervisor as its runtime (opened on first use).
    pub fn hub(&self) -> anyhow::Result<Arc<TeamHub>> {
        if let Some(h) = self.hub.get() {
            return Ok(h.clone());
        }
        let runtime: Arc<dyn Runtime> = self.arc();
        let hub = TeamHub::open(
            &self.opts.store_path,
            runtime,
            hub_options(&self.opts.profile),
        )
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot open the store {}: {e}",
                self.opts.store_path.display()
            )
        })?;
        Ok(self.hub.get_or_init(|| hub).clone())
    }

    /// The most workers that ran at once.
    pub fn peak_threads(&self) -> usize {
        self.slots.peak()
    }

    /// Workers started by this process (first turns).
    pub fn agents_spawned(&self) -> usize {
        self.lock().spawned
    }

    /// Wakes the control loop now.
    pub fn kick(&self) {
        self.kick.notify_one();
    }

    /// A future that resolves on the next kick (for the `run` loop).
    pub async fn kicked(&self) {
        self.kick.notified().await
    }

    /// Registers a team this process supervises (idempotent).
    pub fn adopt_team(&self, team_id: &str, goal: &str, cwd: &str, lead_id: Option<&str>) {
        let mut st = self.lock();
        st.teams
            .entry(team_id.to_string())
            .or_insert_with(|| TeamRt::new(goal, cwd, lead_id));
        drop(st);
        self.ensure_ticker();
    }

    /// Registers an existing agent (from the store, on `resume`) with its token, or `None`
    /// when this process does not have it (a fresh one is minted before its next turn).
    /// `phase` is what this process should treat it as: `Idle` (resumable), `Queued`
    /// (never started).
    #[allow(clippy::too_many_arguments)]
    pub fn adopt_agent(
        &self,
        agent: &codex_teams_store::Agent,
        token: Option<String>,
        phase: Phase,
        totals: Usage,
        first_prompt: Option<String>,
        pending_seen: usize,
    ) {
        let mut st = self.lock();
        let id = Identity {
            team_id: agent.team_id.clone(),
            agent_id: agent.agent_id.clone(),
            name: agent.name.clone(),
            role: agent.role.clone(),
            brief: agent.brief.clone(),
            lead_model: agent.model.clone(),
        };
        st.insert_agent(id, token, phase);
        if let Some(a) = st.agents.get_mut(&agent.agent_id) {
            a.pending_seen = pending_seen;
            a.thread_id = agent.thread_id.clone();
            a.totals = totals;
            a.first_prompt = first_prompt;
        }
        drop(st);
        self.kick();
    }

    /// Starts an adopted agent's first turn (the lead in `run`).
    pub fn start_first_turn(&self, agent_id: &str) -> anyhow::Result<()> {
        let prompt = {
            let st = self.lock();
            let a = st
                .agents
                .get(agent_id)
                .ok_or_else(|| anyhow::anyhow!("unknown agent {agent_id}"))?;
            a.first_prompt.clone().unwrap_or_else(|| a.brief.clone())
        };
        self.launch(agent_id, TurnKind::First(prompt));
        Ok(())
    }

    /// Resumes an adopted idle agent now with `message` (e.g. after a supervisor restart).
    pub fn resume_now(&self, agent_id: &str, message: String) {
        self.launch(agent_id, TurnKind::Resume(message));
    }

    /// Snapshot for `run`'s end conditions.
    pub fn view(&self, team_id: &str) -> TeamView {
        let st = self.lock();
        let mut v = TeamView::default();
        if let Some(t) = st.teams.get(team_id) {
            v.finalized_at = t.finalized_at;
            v.quiet_since = t.quiet_since;
            v.lead_failed = t.lead_failed.clone();
            v.board_done_nudged = t.board_done_nudged;
            v.spend_limit = t.spend_limit;
        }
        for a in st.agents.values().filter(|a| a.team_id == team_id) {
            if a.is_lead() {
                v.lead = Some(a.phase);
                continue;
            }
            if a.phase.busy() || a.phase == Phase::Queued {
                v.workers_busy += 1;
            }
            *v.workers.entry(a.phase).or_default() += 1;
        }
        v
    }

    /// Process groups of every agent recorded as running in the store, for the startup sweep.
    pub fn recorded_groups(store: &Store) -> anyhow::Result<Vec<(String, String, Pgid)>> {
        let mut out = Vec::new();
        for team in store.list_teams()? {
            for a in store.list_agents(&team.team_id)? {
                if let Some(p) = a.pgid {
                    out.push((team.team_id.clone(), a.agent_id.clone(), Pgid(p)));
                }
            }
        }
        Ok(out)
    }
}

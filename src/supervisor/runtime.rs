//! The supervisor's implementation of [`codex_teams_mcp::Runtime`]: it turns the MCP
//! layer's requests (`team_spawn`, a message for an agent, `team_finalize`) into real
//! `codex exec` children under the six-slot cap, and runs the control loop that resumes
//! idle agents, retires idle workers and stops workers when a team ends.
//!
//! Calls from the MCP layer never block: `spawn` decides admission from a quick store read
//! and queues; everything with a process happens in tasks. One [`Supervisor`] serves every
//! team of its process (`run` has one team; `codex-teams mcp` may start several).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use codex_teams_mcp::{HttpServer, HubOptions, Runtime, SpawnRequest, TeamHub, serve_http};
use codex_teams_store::{
    AgentState, NewAgent, Recipient, Store, StoreOptions, Task, TaskFilter, TaskStatus, TeamStatus,
};
use tokio::sync::{Notify, OnceCell};

use super::command::{ExecCommand, SandboxMode, TOKEN_ENV, TeamEndpoint};
use super::events::{Usage, UsageMeter};
use super::home::TeamsHome;
use super::meter::{Meter, MeterSink, SinkFuture, Upstream};
use super::model::{self, ModelInputs, RoleOverride};
use super::process::{self, Pgid};
use super::prompts;
use super::slots::WorkerSlots;
use super::worker::{self, TurnOutcome, TurnSpec};
use crate::policy::budget::{self, TurnKind as BudgetTurn, Verdict};
use crate::policy::fanout::{self, Admission, FanoutInput, TaskSize};
use crate::policy::roles::{LEAD, Sandbox};
use crate::policy::spend::Limit;
use crate::policy::{Profile, guard};

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
    /// The reaper's tag, set on every child (see [`super::reaper`]).
    pub reaper_tag: Option<String>,
}

/// Where an agent is, as far as this process knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// Holds (or is about to hold) a process.
    pub fn busy(self) -> bool {
        matches!(self, Phase::Starting | Phase::Running)
    }
}

#[derive(Debug, Clone)]
enum TurnKind {
    First(String),
    Resume(String),
}

#[derive(Debug)]
struct AgentRt {
    team_id: String,
    agent_id: String,
    name: String,
    role: String,
    brief: String,
    /// Its bearer token in plaintext, held only in memory. `None` when this process never
    /// had it (an agent adopted from the store): the next turn mints a fresh one first.
    token: Option<String>,
    /// The lead's session model recorded with the spawn.
    lead_model: Option<String>,
    phase: Phase,
    wake: bool,
    pending_seen: usize,
    /// Stopped by idle shutdown, not for good: mail for it wakes it again.
    retired_idle: bool,
    thread_id: Option<String>,
    totals: Usage,
    idle_since: Instant,
    pgid: Option<Pgid>,
    stop_requested: bool,
    turns: u32,
    /// The lead's first prompt (run mode).
    first_prompt: Option<String>,
    /// Order of arrival, for fair admission.
    seq: u64,
}

impl AgentRt {
    fn is_lead(&self) -> bool {
        self.role == LEAD
    }
}

#[derive(Debug)]
struct TeamRt {
    goal: String,
    cwd: PathBuf,
    lead_id: Option<String>,
    finalized_at: Option<Instant>,
    nudged_tasks: HashSet<(String, u32)>,
    board_done_nudged: bool,
    quiet_since: Option<Instant>,
    stopping: bool,
    lead_failed: Option<String>,
    /// Replacement workers spawned for failed ones, bounded by [`MAX_REPLACEMENTS`].
    replacements: u32,
    /// The metering proxy stopped the team's workers (their share is spent) or the run
    /// (the whole budget is): no new worker turns.
    spend_limit: Option<Limit>,
}

/// What a replacement inherits from the worker it replaces.
struct Dead {
    name: String,
    role: String,
    brief: String,
    lead_model: Option<String>,
}

/// Most replacement workers one team gets: a worker that keeps failing (an unreachable
/// model, a broken task) must not respawn forever.
pub const MAX_REPLACEMENTS: u32 = 3;

#[derive(Debug, Default)]
struct State {
    agents: HashMap<String, AgentRt>,
    teams: HashMap<String, TeamRt>,
    spawned: usize,
    next_seq: u64,
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
    pub workers: BTreeMap<String, usize>,
    /// Nothing ran, nothing is owed, nothing changed since this instant.
    pub quiet_since: Option<Instant>,
    /// Whether the lead was already told the board is done.
    pub board_done_nudged: bool,
    /// The metering proxy stopped the workers (their share is spent) or the run (the whole
    /// budget is, the lead's own request was refused).
    pub spend_limit: Option<Limit>,
}

/// Owns worker processes for every team of this process. See the module docs.
pub struct Supervisor {
    me: Weak<Supervisor>,
    opts: SupervisorOptions,
    slots: WorkerSlots,
    hub: OnceLock<Arc<TeamHub>>,
    http: OnceCell<HttpServer>,
    meter: OnceCell<Meter>,
    state: Mutex<State>,
    kick: Notify,
    sync_store: Mutex<Option<Store>>,
    ticker: AtomicBool,
    /// Held for a whole pass of the control loop: the background ticker and explicit
    /// `tick()` calls never interleave, so a pass's store writes and notes to the lead are
    /// done when it returns.
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

fn sandbox_mode(s: Sandbox) -> SandboxMode {
    match s {
        Sandbox::ReadOnly => SandboxMode::ReadOnly,
        Sandbox::WorkspaceWrite => SandboxMode::WorkspaceWrite,
        Sandbox::DangerFullAccess => SandboxMode::DangerFullAccess,
    }
}

fn phase_of(s: AgentState) -> Phase {
    match s {
        AgentState::Pending => Phase::Queued,
        AgentState::Running => Phase::Running,
        AgentState::Idle => Phase::Idle,
        AgentState::Stopped => Phase::Stopped,
        AgentState::Failed => Phase::Failed,
    }
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
            http: OnceCell::new(),
            meter: OnceCell::new(),
            state: Mutex::new(State::default()),
            kick: Notify::new(),
            sync_store: Mutex::new(None),
            ticker: AtomicBool::new(false),
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

    /// The bus's HTTP server on 127.0.0.1 (started on first use).
    pub async fn http_addr(&self) -> anyhow::Result<SocketAddr> {
        let hub = self.hub()?;
        let server = self
            .http
            .get_or_try_init(|| async move {
                serve_http(hub, SocketAddr::from(([127, 0, 0, 1], 0))).await
            })
            .await
            .map_err(|e| anyhow::anyhow!("cannot serve the team bus on 127.0.0.1: {e}"))?;
        Ok(server.addr)
    }

    /// The metering proxy, started on first use.
    async fn meter(&self) -> anyhow::Result<&Meter> {
        let sink: Arc<dyn MeterSink> = Arc::new(SpendSink {
            sup: self.me.clone(),
        });
        let profile = self.opts.profile.clone();
        self.meter
            .get_or_try_init(|| async move { Meter::start(profile, sink).await })
            .await
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

    fn ensure_ticker(&self) {
        if self.ticker.swap(true, Ordering::SeqCst) {
            return;
        }
        let me = self.arc();
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            self.ticker.store(false, Ordering::SeqCst);
            return;
        };
        handle.spawn(async move {
            loop {
                if let Err(e) = me.tick().await {
                    tracing::warn!(target: "codex_teams::supervisor", event = "tick.error", error = %e);
                }
                tokio::select! {
                    _ = me.kick.notified() => {}
                    _ = tokio::time::sleep(me.opts.tick) => {}
                }
            }
        });
    }

    /// Registers a team this process supervises (idempotent).
    pub fn adopt_team(&self, team_id: &str, goal: &str, cwd: &str, lead_id: Option<&str>) {
        let mut st = self.lock();
        st.teams
            .entry(team_id.to_string())
            .or_insert_with(|| TeamRt {
                goal: goal.to_string(),
                cwd: PathBuf::from(cwd),
                lead_id: lead_id.map(str::to_string),
                finalized_at: None,
                nudged_tasks: HashSet::new(),
                board_done_nudged: false,
                quiet_since: None,
                stopping: false,
                lead_failed: None,
                replacements: 0,
                spend_limit: None,
            });
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
        st.next_seq += 1;
        let seq = st.next_seq;
        st.agents.insert(
            agent.agent_id.clone(),
            AgentRt {
                team_id: agent.team_id.clone(),
                agent_id: agent.agent_id.clone(),
                name: agent.name.clone(),
                role: agent.role.clone(),
                brief: agent.brief.clone(),
                token,
                lead_model: agent.model.clone(),
                phase,
                wake: false,
                pending_seen,
                retired_idle: false,
                thread_id: agent.thread_id.clone(),
                totals,
                idle_since: Instant::now(),
                pgid: None,
                stop_requested: false,
                turns: 0,
                first_prompt,
                seq,
            },
        );
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
            *v.workers
                .entry(format!("{:?}", a.phase).to_lowercase())
                .or_default() += 1;
        }
        v
    }

    // ------------------------------------------------------------------ launching

    fn launch(&self, agent_id: &str, kind: TurnKind) {
        {
            let mut st = self.lock();
            let Some(a) = st.agents.get_mut(agent_id) else {
                return;
            };
            if a.phase.busy() {
                a.wake = true;
                return;
            }
            a.phase = Phase::Starting;
            a.wake = false;
            a.stop_requested = false;
            let first = matches!(kind, TurnKind::First(_)) && !a.is_lead();
            let team_id = a.team_id.clone();
            if let Some(t) = st.teams.get_mut(&team_id) {
                t.quiet_since = None;
            }
            if first {
                st.spawned += 1;
            }
        }
        let me = self.arc();
        let id = agent_id.to_string();
        tokio::spawn(async move {
            me.turn(id, kind).await;
        });
    }

    fn command_for(
        &self,
        a: &AgentRt,
        team_cwd: PathBuf,
        url: String,
    ) -> anyhow::Result<ExecCommand> {
        let role = self
            .opts
            .profile
            .role(&a.role)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let resolved = model::resolve(&ModelInputs {
            explicit_model: self.opts.explicit_model.clone(),
            lead_session_model: a.lead_model.clone(),
            codex_home: self.opts.codex_home.clone(),
            codex_profile: None,
        })?;
        let settings = resolved.for_role(&a.role, &self.role_overrides);
        let mut tools = role.tools.clone();
        // Over HTTP `team_start` is refused anyway; offering it would only cost tokens.
        tools.retain(|t| t != "team_start");
        let iso = super::isolation::for_child(self.opts.codex_home.as_deref(), None, &team_cwd);
        let mut cmd = ExecCommand::new(team_cwd, settings);
        cmd.scripted_base_url = self.opts.scripted_base_url.clone();
        cmd.lean = true;
        cmd.disable_servers = iso.disable;
        cmd.sandbox = Some(sandbox_mode(
            self.opts.sandbox_override.unwrap_or(role.sandbox),
        ));
        cmd.team = Some(TeamEndpoint {
            name: iso.bus_name,
            url,
            enabled_tools: Some(tools),
            required: true,
        });
        Ok(cmd)
    }

    async fn turn(self: Arc<Self>, agent_id: String, kind: TurnKind) {
        let is_lead = {
            let st = self.lock();
            match st.agents.get(&agent_id) {
                Some(a) => a.is_lead(),
                None => return,
            }
        };
        let slot = if is_lead {
            None
        } else {
            Some(self.slots.acquire().await)
        };
        let prepared = self.prepare(&agent_id, &kind).await;
        let (spec, team_id) = match prepared {
            Ok(Some(p)) => p,
            Ok(None) => {
                drop(slot);
                self.finish_stopped(&agent_id).await;
                return;
            }
            Err(e) => {
                drop(slot);
                let out = TurnOutcome {
                    failure: Some(format!("{e:#}")),
                    ..TurnOutcome::default()
                };
                self.turn_ended(&agent_id, out).await;
                return;
            }
        };
        let hub = match self.hub() {
            Ok(h) => h,
            Err(_) => return,
        };
        {
            let mut st = self.lock();
            if let Some(a) = st.agents.get_mut(&agent_id) {
                a.phase = Phase::Running;
                a.turns += 1;
            }
        }
        tracing::info!(target: "codex_teams::supervisor", event = "agent.turn", team_id = %team_id, agent_id = %agent_id,
            kind = match kind { TurnKind::First(_) => "first", TurnKind::Resume(_) => "resume" }, live_workers = self.slots.live());
        let me = self.clone();
        let id2 = agent_id.clone();
        let out = worker::run_turn(hub, spec, move |pgid| {
            let mut st = me.lock();
            if let Some(a) = st.agents.get_mut(&id2) {
                a.pgid = Some(pgid);
                if a.stop_requested {
                    let grace = me.opts.grace;
                    tokio::spawn(async move {
                        let _ = process::terminate(pgid, grace).await;
                    });
                }
            }
        })
        .await;
        drop(slot);
        self.turn_ended(&agent_id, out).await;
    }

    async fn prepare(
        &self,
        agent_id: &str,
        kind: &TurnKind,
    ) -> anyhow::Result<Option<(TurnSpec, String)>> {
        let addr = self.http_addr().await?;
        self.ensure_token(agent_id).await?;
        let metering = self.metering_for(agent_id).await?;
        let (cmd, args, stdin, token, team_id, role, meter, rollout, metered) = {
            let st = self.lock();
            let a = st
                .agents
                .get(agent_id)
                .ok_or_else(|| anyhow::anyhow!("unknown agent {agent_id}"))?;
            if a.stop_requested || st.teams.get(&a.team_id).is_none_or(|t| t.stopping) {
                return Ok(None);
            }
            let url = codex_teams_mcp::http::agent_url(addr, agent_id);
            let team_cwd = st
                .teams
                .get(&a.team_id)
                .map(|t| t.cwd.clone())
                .unwrap_or_else(|| PathBuf::from("."));
            let mut cmd = self.command_for(a, team_cwd, url)?;
            let metered = metering.and_then(|(m, spent)| {
                let (up, scripted) = match (&cmd.scripted_base_url, &cmd.model.provider) {
                    (Some(url), _) => (url.clone(), true),
                    (None, Some(p)) if p != "openai" => (
                        model::provider_base_url(self.opts.codex_home.as_deref(), p)?,
                        false,
                    ),
                    _ => return None,
                };
                let upstream = Upstream { base_url: up };
                let turn = m.open_turn(&a.team_id, agent_id, a.is_lead(), upstream, spent);
                let url = Some(turn.base_url().to_string());
                if scripted {
                    cmd.scripted_base_url = url;
                } else {
                    cmd.provider_base_url = url;
                }
                Some(turn)
            });
            // The prompt (the task text, which may hold anything the user typed) goes on
            // stdin, not argv.
            let (args, stdin) = match kind {
                TurnKind::First(prompt) => cmd.start_args_stdin(prompt)?,
                TurnKind::Resume(msg) => {
                    let thread = a.thread_id.as_deref().ok_or_else(|| {
                        anyhow::anyhow!("agent {agent_id} has no codex thread to resume")
                    })?;
                    cmd.resume_args_stdin(thread, msg)?
                }
            };
            let meter = match kind {
                TurnKind::First(_) => UsageMeter::new(),
                TurnKind::Resume(_) => UsageMeter::resume_from(a.totals),
            };
            // Workers run with the supervisor's environment, so the same Codex home.
            let codex_home = self.opts.codex_home.clone().or_else(model::codex_home);
            let rollout = match (kind, a.thread_id.as_deref()) {
                // The proxy meters this turn exactly; the rollout would count it twice.
                _ if metered.is_some() => super::rollout::RolloutTail::new(None),
                (TurnKind::Resume(_), Some(th)) => {
                    super::rollout::RolloutTail::resuming(codex_home.as_deref(), th)
                }
                _ => super::rollout::RolloutTail::new(codex_home.as_deref()),
            };
            let token = a
                .token
                .clone()
                .ok_or_else(|| anyhow::anyhow!("agent {agent_id} has no bearer token"))?;
            (
                cmd,
                args,
                stdin,
                token,
                a.team_id.clone(),
                a.role.clone(),
                meter,
                rollout,
                metered,
            )
        };
        let is_lead = role == LEAD;
        let timeout = (role != LEAD)
            .then(|| Duration::from_secs(self.opts.profile.timeouts.worker_turn_secs));
        let mut env: Vec<(OsString, OsString)> = vec![
            (TOKEN_ENV.into(), token.into()),
            (AGENT_ENV.into(), agent_id.into()),
            (ROLE_ENV.into(), role.into()),
        ];
        if let Some(tag) = &self.opts.reaper_tag {
            env.push((super::reaper::SUPERVISOR_ENV.into(), tag.into()));
        }
        Ok(Some((
            TurnSpec {
                team_id: team_id.clone(),
                agent_id: agent_id.to_string(),
                program: self.opts.codex_bin.clone(),
                args,
                env,
                cwd: cmd.cwd.clone(),
                marker: team_id.clone(),
                meter,
                timeout,
                grace: self.opts.grace,
                rollout,
                stdin,
                on_response: metered
                    .is_none()
                    .then(|| self.rollout_budget_hook(&team_id, agent_id, is_lead)),
                metered,
            },
            team_id,
        )))
    }

    /// The metering proxy and what the store holds as the agent's team's spend, for a turn
    /// about to start.
    async fn metering_for(&self, agent_id: &str) -> anyhow::Result<Option<(&Meter, u64)>> {
        let Some(team_id) = self.lock().agents.get(agent_id).map(|a| a.team_id.clone()) else {
            return Ok(None);
        };
        let meter = self.meter().await?;
        let usage = self
            .hub()?
            .with_store(move |s| s.team_usage(&team_id))
            .await?;
        Ok(Some((
            meter,
            (usage.input_tokens + usage.output_tokens).max(0) as u64,
        )))
    }

    /// For a turn metered from the rollout (not the proxy): after each response, the same
    /// limits the proxy applies, checked against the store's count; the first one crossed
    /// stops the turn (or the workers, or the run).
    fn rollout_budget_hook(
        &self,
        team_id: &str,
        agent_id: &str,
        is_lead: bool,
    ) -> worker::ResponseHook {
        let (sup, team, agent) = (self.me.clone(), team_id.to_string(), agent_id.to_string());
        let fired = Arc::new(AtomicBool::new(false));
        worker::ResponseHook(Arc::new(move |turn_spent| {
            let (sup, team, agent, fired) =
                (sup.clone(), team.clone(), agent.clone(), fired.clone());
            tokio::spawn(async move {
                let Some(me) = sup.upgrade() else { return };
                let Ok(hub) = me.hub() else { return };
                let t = team.clone();
                let Ok(usage) = hub.with_store(move |s| s.team_usage(&t)).await else {
                    return;
                };
                let ledger = crate::policy::spend::Ledger {
                    spent: (usage.input_tokens + usage.output_tokens).max(0) as u64,
                    in_flight: 0,
                };
                let turn = crate::policy::spend::Turn {
                    is_lead,
                    spent: turn_spent,
                };
                if let Some(limit) = crate::policy::spend::crossed(&me.opts.profile, ledger, turn)
                    && !fired.swap(true, Ordering::SeqCst)
                {
                    me.spend_limit(&team, &agent, limit);
                }
            });
        }))
    }

    /// The metering proxy ran into a limit for one agent's turn: stop that turn, or every
    /// worker of the team (their share is spent), or the run (the whole budget is). The
    /// stopped turns end `stopped`, not `failed`, so no replacement is spawned for them.
    fn spend_limit(&self, team_id: &str, agent_id: &str, limit: Limit) {
        let (groups, lead, name) = {
            let mut st = self.lock();
            let lead = st.teams.get(team_id).and_then(|t| t.lead_id.clone());
            if limit.ends_workers()
                && let Some(t) = st.teams.get_mut(team_id)
            {
                if t.spend_limit
                    .is_some_and(|l| matches!(l, Limit::RunBudget { .. }))
                {
                    return;
                }
                t.spend_limit = Some(limit);
            }
            let name = st.agents.get(agent_id).map(|a| a.name.clone());
            let groups: Vec<Pgid> = st
                .agents
                .values_mut()
                .filter(|a| a.team_id == team_id)
                .filter(|a| match limit {
                    Limit::TurnCap { .. } => a.agent_id == agent_id,
                    Limit::WorkersShare { .. } => !a.is_lead(),
                    Limit::RunBudget { .. } => true,
                })
                .filter_map(|a| {
                    a.stop_requested = true;
                    a.pgid
                })
                .collect();
            (groups, lead, name.unwrap_or_else(|| agent_id.to_string()))
        };
        tracing::warn!(target: "codex_teams::supervisor", event = "budget.limit", team_id = %team_id, agent_id = %agent_id, limit = %limit, stopping = groups.len());
        let me = self.arc();
        let (team, agent) = (team_id.to_string(), agent_id.to_string());
        let grace = self.opts.grace;
        tokio::spawn(async move {
            for g in groups {
                let _ = process::terminate(g, grace).await;
            }
            let Ok(hub) = me.hub() else { return };
            let (t, a, why) = (team.clone(), agent.clone(), limit.to_string());
            let _ = hub
                .with_store(move |s| {
                    s.append_event(
                        &t,
                        Some(&a),
                        "budget.limit",
                        &serde_json::json!({ "limit": why }),
                    )
                })
                .await;
            if matches!(limit, Limit::RunBudget { .. }) {
                return;
            }
            if !limit.ends_workers() {
                let (t, a, why) = (team.clone(), agent.clone(), limit.to_string());
                if let Ok(ids) = hub
                    .with_store(move |s| s.release_claims(&t, &a, &why))
                    .await
                    && !ids.is_empty()
                {
                    hub.board_changed(&team);
                }
            }
            if let Some(lead) = lead {
                let body = prompts::spend_limit_message(
                    &name,
                    &agent,
                    &limit.to_string(),
                    limit.ends_workers(),
                );
                me.tell_lead(&hub, &team, &lead, &agent, body, "budget")
                    .await;
            }
        });
        self.kick();
    }

    /// Gives an agent whose plaintext token this process does not hold (adopted from the
    /// store) a fresh one: minted, its hash stored, the old one refused from then on.
    /// Plaintext tokens therefore never need to outlive the process that minted them.
    async fn ensure_token(&self, agent_id: &str) -> anyhow::Result<()> {
        let team_id = {
            let st = self.lock();
            let a = st
                .agents
                .get(agent_id)
                .ok_or_else(|| anyhow::anyhow!("unknown agent {agent_id}"))?;
            if a.token.is_some() {
                return Ok(());
            }
            a.team_id.clone()
        };
        let minted = self
            .hub()?
            .rotate_agent_token(&team_id, agent_id)
            .await
            .map_err(|e| anyhow::anyhow!("cannot mint a token for agent {agent_id}: {e}"))?;
        tracing::info!(target: "codex_teams::supervisor", event = "token.rotated", team_id = %team_id, agent_id = %agent_id);
        if let Some(a) = self.lock().agents.get_mut(agent_id) {
            a.token.get_or_insert(minted.token);
        }
        Ok(())
    }

    /// Sends the lead a supervisor note about `about` (sent in that agent's name, the way
    /// every supervisor note is, so it needs no sender of its own) and wakes the lead.
    async fn tell_lead(
        &self,
        hub: &Arc<TeamHub>,
        team_id: &str,
        lead: &str,
        about: &str,
        body: String,
        kind: &str,
    ) {
        let (t, a, l) = (team_id.to_string(), about.to_string(), lead.to_string());
        let key = format!("supervisor-{kind}-{about}-{}", now_ms());
        let sent = hub
            .with_store(move |s| s.send(&t, &a, Recipient::Agent(l), &body, &key))
            .await;
        match sent {
            Ok(_) => hub.message_arrived(team_id, lead),
            Err(e) => {
                tracing::warn!(target: "codex_teams::supervisor", event = "lead.note_failed", team_id = %team_id, agent_id = %about, error = %e)
            }
        }
    }

    async fn finish_stopped(&self, agent_id: &str) {
        let ids = {
            let mut st = self.lock();
            let Some(a) = st.agents.get_mut(agent_id) else {
                return;
            };
            a.phase = Phase::Stopped;
            a.pgid = None;
            (a.team_id.clone(), a.agent_id.clone())
        };
        if let Ok(hub) = self.hub() {
            let (t, a) = ids;
            let _ = hub
                .with_store(move |s| s.set_agent_state(&t, &a, AgentState::Stopped, None, None))
                .await;
        }
        self.kick();
    }

    async fn turn_ended(&self, agent_id: &str, out: TurnOutcome) {
        let Ok(hub) = self.hub() else { return };
        let (team_id, stop, is_lead, name, lead_id, budget_stop) = {
            let mut st = self.lock();
            let Some(a) = st.agents.get_mut(agent_id) else {
                return;
            };
            a.pgid = None;
            if out.thread_id.is_some() {
                a.thread_id = out.thread_id.clone();
            }
            a.totals = out.totals;
            a.idle_since = Instant::now();
            let team_id = a.team_id.clone();
            let stop = a.stop_requested;
            let is_lead = a.is_lead();
            let name = a.name.clone();
            let team = st.teams.get(&team_id);
            let lead_id = team.and_then(|t| t.lead_id.clone());
            // Stopped because the team's budget ran out, not for anything of its own: a
            // `resume` with more budget continues it.
            let budget_stop = team.is_some_and(|t| t.spend_limit.is_some());
            (team_id, stop, is_lead, name, lead_id, budget_stop)
        };
        let ok = out.completed && out.thread_id.is_some();
        let (state, phase) = if stop {
            if ok || (budget_stop && out.thread_id.is_some()) {
                (AgentState::Idle, Phase::Stopped)
            } else {
                (AgentState::Stopped, Phase::Stopped)
            }
        } else if ok {
            (AgentState::Idle, Phase::Idle)
        } else {
            (AgentState::Failed, Phase::Failed)
        };
        let (t, a, th) = (team_id.clone(), agent_id.to_string(), out.thread_id.clone());
        let pending = hub
            .with_store(move |s| {
                s.set_agent_state(&t, &a, state, th.as_deref(), None)?;
                s.pending_count(&t, &a)
            })
            .await
            .unwrap_or(0);
        let resume_again = {
            let mut st = self.lock();
            let Some(a) = st.agents.get_mut(agent_id) else {
                return;
            };
            a.phase = phase;
            let again = phase == Phase::Idle && a.wake && pending > 0;
            a.wake = false;
            a.pending_seen = if again { 0 } else { pending };
            if phase == Phase::Failed && is_lead {
                let why = out.failure.clone().unwrap_or_else(|| "lead failed".into());
                if let Some(t) = st.teams.get_mut(&team_id) {
                    t.lead_failed = Some(why);
                }
            }
            again
        };
        if phase == Phase::Failed && !is_lead && !stop {
            let why = out
                .failure
                .clone()
                .unwrap_or_else(|| "its turn did not complete".into());
            tracing::warn!(target: "codex_teams::supervisor", event = "agent.failed", team_id = %team_id, agent_id = %agent_id, reason = %why);
            let after = self
                .recover_from_failure(&hub, &team_id, agent_id, &why)
                .await;
            if let Some(lead) = lead_id {
                let body = prompts::worker_failed_message(&name, agent_id, &why, &after);
                self.tell_lead(&hub, &team_id, &lead, agent_id, body, "failed")
                    .await;
            }
        }
        if resume_again {
            self.launch(agent_id, TurnKind::Resume(prompts::messages_nudge(pending)));
        }
        self.kick();
    }

    /// A worker failed: the tasks it held go back to the board at once (waiting out its
    /// lease would stall the run), and unless another worker of its role is there to take
    /// them, a replacement with the same role and brief is spawned, at most
    /// [`MAX_REPLACEMENTS`] per team. Returns what happened, for the lead's note.
    async fn recover_from_failure(
        &self,
        hub: &Arc<TeamHub>,
        team_id: &str,
        agent_id: &str,
        why: &str,
    ) -> prompts::AfterFailure {
        let (t, a, reason) = (team_id.to_string(), agent_id.to_string(), why.to_string());
        let released = match hub
            .with_store(move |s| s.release_claims(&t, &a, &reason))
            .await
        {
            Ok(ids) => ids,
            Err(e) => {
                tracing::error!(target: "codex_teams::supervisor", event = "claims.release_error", team_id = %team_id, agent_id = %agent_id, error = %e);
                Vec::new()
            }
        };
        if !released.is_empty() {
            tracing::info!(target: "codex_teams::supervisor", event = "claims.released", team_id = %team_id, agent_id = %agent_id, tasks = ?released);
            hub.board_changed(team_id);
        }
        let plan = {
            let mut st = self.lock();
            let Some(dead) = st.agents.get(agent_id).map(|d| Dead {
                name: d.name.clone(),
                role: d.role.clone(),
                brief: d.brief.clone(),
                lead_model: d.lead_model.clone(),
            }) else {
                return prompts::AfterFailure::default();
            };
            let covered = st.agents.values().any(|o| {
                o.team_id == team_id
                    && o.agent_id != agent_id
                    && o.role == dead.role
                    && !matches!(o.phase, Phase::Failed | Phase::Stopped)
            });
            let team = st.teams.get_mut(team_id);
            match team {
                Some(t)
                    if !released.is_empty()
                        && !covered
                        && !t.stopping
                        && t.finalized_at.is_none() =>
                {
                    if t.replacements >= MAX_REPLACEMENTS {
                        Err(format!(
                            "no replacement: the team already had {MAX_REPLACEMENTS}"
                        ))
                    } else {
                        t.replacements += 1;
                        Ok((dead, t.replacements))
                    }
                }
                _ => Err(String::new()),
            }
        };
        let mut after = prompts::AfterFailure {
            released,
            ..Default::default()
        };
        let (dead, n) = match plan {
            Ok(p) => p,
            Err(note) => {
                after.note = (!note.is_empty()).then_some(note);
                return after;
            }
        };
        let name = format!("{}-r{n}", dead.name);
        let brief = prompts::replacement_brief(&dead.brief, &dead.name, why);
        // The replacement may call exactly what the worker it replaces could.
        let (t, a) = (team_id.to_string(), agent_id.to_string());
        let tools = hub
            .with_store(move |s| Ok(s.agent(&t, &a)?.tools))
            .await
            .ok()
            .flatten();
        let new = NewAgent {
            name: name.clone(),
            role: dead.role.clone(),
            model: dead.lead_model.clone(),
            brief: brief.clone(),
            token_hash: None,
            tools,
        };
        let minted = match hub.register_agent(team_id, new).await {
            Ok(m) => m,
            Err(e) => {
                after.note = Some(format!("no replacement: {e}"));
                return after;
            }
        };
        let req = SpawnRequest {
            team_id: team_id.to_string(),
            agent_id: minted.agent.agent_id.clone(),
            role: dead.role.clone(),
            name: name.clone(),
            brief,
            token: minted.token,
            model: dead.lead_model.clone(),
        };
        match self.spawn_inner(req) {
            Ok(()) => {
                tracing::info!(target: "codex_teams::supervisor", event = "agent.replaced", team_id = %team_id, agent_id = %agent_id, replacement = %minted.agent.agent_id);
                after.replacement = Some(name);
            }
            Err(e) => {
                let (t, id) = (team_id.to_string(), minted.agent.agent_id.clone());
                let _ = hub
                    .with_store(move |s| s.set_agent_state(&t, &id, AgentState::Failed, None, None))
                    .await;
                after.note = Some(format!("no replacement: {e}"));
            }
        }
        after
    }

    // ------------------------------------------------------------------ admission

    fn sync_store<T>(&self, f: impl FnOnce(&Store) -> anyhow::Result<T>) -> anyhow::Result<T> {
        let mut guard = self.sync_store.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard = Some(Store::open(&self.opts.store_path)?);
        }
        f(guard.as_ref().expect("just opened"))
    }

    fn fanout_input(
        &self,
        st: &State,
        team_id: &str,
        exclude: Option<&str>,
        tasks: &[Task],
        ready: &[Task],
        spent: u64,
    ) -> FanoutInput {
        let ready_ids: HashSet<&str> = ready.iter().map(|t| t.task_id.as_str()).collect();
        let mut input = FanoutInput {
            tokens_spent: spent,
            ..FanoutInput::default()
        };
        for t in ready {
            input.ready.push(TaskSize::estimate(&t.description));
        }
        for t in tasks {
            if ready_ids.contains(t.task_id.as_str()) {
                continue;
            }
            match t.status {
                TaskStatus::Claimed => input.in_progress.push(TaskSize::estimate(&t.description)),
                TaskStatus::Open => input.blocked += 1,
                _ => {}
            }
        }
        for a in st.agents.values() {
            if a.team_id != team_id || a.is_lead() || Some(a.agent_id.as_str()) == exclude {
                continue;
            }
            if a.phase.busy() {
                input.running += 1;
            } else if a.phase == Phase::Idle {
                input.idle += 1;
            }
        }
        input
    }

    fn admission(&self, team_id: &str, agent_id: &str) -> anyhow::Result<Admission> {
        let t = team_id.to_string();
        let (tasks, ready, usage) = self.sync_store(|s| {
            Ok((
                s.list_tasks(&t, &TaskFilter::default())?,
                s.ready_tasks(&t)?,
                s.team_usage(&t)?,
            ))
        })?;
        let spent = (usage.input_tokens + usage.output_tokens).max(0) as u64;
        if let Some(limit) = self.lock().teams.get(team_id).and_then(|t| t.spend_limit) {
            return Ok(Admission::Refuse(format!("spawn refused: {limit}")));
        }
        // Workers already running will spend too: their turns are reserved at the estimate,
        // so the controller never starts more than the budget pays for.
        let running = self
            .lock()
            .agents
            .values()
            .filter(|a| a.team_id == team_id && !a.is_lead() && a.phase.busy())
            .count() as u64;
        let committed = spent + running * self.opts.profile.budget.worker_turn_estimate;
        if let Verdict::Refuse(why) =
            budget::admit_turn(&self.opts.profile, committed, BudgetTurn::Spawn, None)
        {
            return Ok(Admission::Refuse(why));
        }
        let st = self.lock();
        let input = self.fanout_input(&st, team_id, Some(agent_id), &tasks, &ready, spent);
        let decision = fanout::decide(&self.opts.profile, &input);
        let adm = admit_spawn(&st, team_id, agent_id, &decision, input.running, &tasks);
        tracing::info!(target: "codex_teams::supervisor", event = "fanout.decision", team_id = %team_id, agent_id = %agent_id,
            band = %decision.band, target = decision.target, running = input.running, admission = ?adm, reason = %decision.reason);
        Ok(adm)
    }

    /// Finalizes a team whose every task is done without waking its lead (profile
    /// `early_stop.finalize_clean_board`); the event log says the supervisor did it.
    async fn finalize_clean_board(
        &self,
        hub: &Arc<TeamHub>,
        team_id: &str,
        done: usize,
    ) -> anyhow::Result<()> {
        let t = team_id.to_string();
        let lead = self
            .lock()
            .teams
            .get(team_id)
            .and_then(|x| x.lead_id.clone());
        let won = hub
            .with_store(move |s| {
                match s.set_team_status_if(&t, TeamStatus::Running, TeamStatus::Finalized) {
                    Ok(_) => {
                        let summary = format!("all {done} tasks done; finalized by the supervisor (nothing for the lead to decide)");
                        s.append_event(&t, lead.as_deref(), "team.finalized", &serde_json::json!({"outcome": "done", "summary": summary, "by": "supervisor"}))?;
                        Ok(true)
                    }
                    Err(codex_teams_store::StoreError::Conflict(_)) => Ok(false),
                    Err(e) => Err(e),
                }
            })
            .await?;
        if won {
            tracing::info!(target: "codex_teams::supervisor", event = "team.finalized", team_id = %team_id, by = "supervisor", tasks_done = done);
            Runtime::finalized(self, team_id);
        }
        Ok(())
    }

    fn ensure_team_known(&self, team_id: &str) -> anyhow::Result<()> {
        if self.lock().teams.contains_key(team_id) {
            return Ok(());
        }
        let t = team_id.to_string();
        let (team, agents) = self.sync_store(|s| Ok((s.team(&t)?, s.list_agents(&t)?)))?;
        let lead = agents
            .iter()
            .find(|a| a.role == LEAD)
            .map(|a| a.agent_id.clone());
        self.adopt_team(team_id, &team.goal, &team.cwd, lead.as_deref());
        Ok(())
    }

    fn spawn_inner(&self, req: SpawnRequest) -> Result<(), String> {
        self.ensure_team_known(&req.team_id)
            .map_err(|e| format!("{e:#}"))?;
        if self
            .lock()
            .teams
            .get(&req.team_id)
            .is_some_and(|t| t.stopping || t.finalized_at.is_some())
        {
            return Err(format!("team {} is ending; no new workers", req.team_id));
        }
        {
            let mut st = self.lock();
            st.next_seq += 1;
            let seq = st.next_seq;
            st.agents.insert(
                req.agent_id.clone(),
                AgentRt {
                    team_id: req.team_id.clone(),
                    agent_id: req.agent_id.clone(),
                    name: req.name.clone(),
                    role: req.role.clone(),
                    brief: req.brief.clone(),
                    token: Some(req.token.clone()),
                    lead_model: req.model.clone(),
                    phase: Phase::Queued,
                    wake: false,
                    pending_seen: 0,
                    retired_idle: false,
                    thread_id: None,
                    totals: Usage::default(),
                    idle_since: Instant::now(),
                    pgid: None,
                    stop_requested: false,
                    turns: 0,
                    first_prompt: None,
                    seq,
                },
            );
        }
        match self.admission(&req.team_id, &req.agent_id) {
            Ok(Admission::Allow) => {
                self.launch_first(&req.agent_id);
                Ok(())
            }
            Ok(Admission::Wait(why)) => {
                tracing::info!(target: "codex_teams::supervisor", event = "spawn.waits", team_id = %req.team_id, agent_id = %req.agent_id, reason = %why);
                self.kick();
                Ok(())
            }
            Ok(Admission::Refuse(why)) => {
                self.lock().agents.remove(&req.agent_id);
                Err(why)
            }
            Err(e) => {
                self.lock().agents.remove(&req.agent_id);
                Err(format!("{e:#}"))
            }
        }
    }

    fn launch_first(&self, agent_id: &str) {
        let prompt = {
            let st = self.lock();
            let Some(a) = st.agents.get(agent_id) else {
                return;
            };
            let role = self.opts.profile.role(&a.role);
            let instructions = role.map(|r| r.instructions).unwrap_or_default();
            let goal = st
                .teams
                .get(&a.team_id)
                .map(|t| t.goal.clone())
                .unwrap_or_default();
            prompts::worker_prompt(
                &instructions,
                &a.brief,
                &goal,
                &a.name,
                &a.agent_id,
                &a.role,
            )
        };
        self.launch(agent_id, TurnKind::First(prompt));
    }

    // ------------------------------------------------------------------ control loop

    /// One pass of the control loop over every team: admit queued spawns, resume idle agents
    /// that have mail or ready work, retire idle workers, stop workers of finalized teams.
    pub async fn tick(&self) -> anyhow::Result<()> {
        let _pass = self.tick_pass.lock().await;
        let hub = self.hub()?;
        let teams: Vec<String> = self.lock().teams.keys().cloned().collect();
        for team_id in teams {
            self.tick_team(&hub, &team_id).await?;
        }
        Ok(())
    }

    async fn tick_team(&self, hub: &Arc<TeamHub>, team_id: &str) -> anyhow::Result<()> {
        let agent_ids: Vec<String> = {
            let st = self.lock();
            if st.teams.get(team_id).is_none_or(|t| t.stopping) {
                return Ok(());
            }
            st.agents
                .values()
                .filter(|a| a.team_id == team_id)
                .map(|a| a.agent_id.clone())
                .collect()
        };
        let t = team_id.to_string();
        let ids = agent_ids.clone();
        let (team, tasks, ready, usage, pending) = hub
            .with_store(move |s| {
                let mut pending = HashMap::new();
                for id in &ids {
                    pending.insert(id.clone(), s.pending_count(&t, id)?);
                }
                Ok((
                    s.team(&t)?,
                    s.list_tasks(&t, &TaskFilter::default())?,
                    s.ready_tasks(&t)?,
                    s.team_usage(&t)?,
                    pending,
                ))
            })
            .await?;
        let spent = (usage.input_tokens + usage.output_tokens).max(0) as u64;
        let profile = &self.opts.profile;
        let mut launches: Vec<(String, TurnKind)> = Vec::new();
        let mut first_turns: Vec<String> = Vec::new();
        let mut retire: Vec<String> = Vec::new();
        // Idle retirements and wake-ups by mail, for the event log: (agent, idle s / unread).
        let mut retired_events: Vec<(String, u64)> = Vec::new();
        let mut woken_events: Vec<(String, usize)> = Vec::new();
        let mut stop: Vec<(String, Option<Pgid>)> = Vec::new();
        // Queued spawns the fan-out check now refuses: (agent, name, why), for the lead.
        // (agent, name, why, whether the budget refused it: only that is the lead's to decide).
        let mut refused: Vec<(String, String, String, bool)> = Vec::new();
        // Every task done, none failed, nothing for the lead to read: finalize without it.
        let mut finalize_clean: Option<usize> = None;
        let mut activity = false;
        {
            let mut st = self.lock();
            // The lead finalized, through this process or another one.
            let finalized = team.status != TeamStatus::Running;
            if finalized {
                let tr = st.teams.get_mut(team_id).expect("team known");
                if tr.finalized_at.is_none() {
                    tr.finalized_at = Some(Instant::now());
                }
            }
            let finalized_at = st.teams[team_id].finalized_at;
            if let Some(at) = finalized_at {
                let drained = at.elapsed() >= self.opts.drain;
                for a in st.agents.values_mut().filter(|a| a.team_id == team_id) {
                    if a.is_lead() {
                        continue;
                    }
                    match a.phase {
                        Phase::Queued | Phase::Idle => {
                            a.phase = Phase::Stopped;
                            retire.push(a.agent_id.clone());
                        }
                        Phase::Starting | Phase::Running if drained && !a.stop_requested => {
                            a.stop_requested = true;
                            stop.push((a.agent_id.clone(), a.pgid));
                        }
                        _ => {}
                    }
                }
            } else {
                // Queued spawns, oldest first.
                let mut queued: Vec<(u64, String)> = st
                    .agents
                    .values()
                    .filter(|a| a.team_id == team_id && a.phase == Phase::Queued && !a.is_lead())
                    .map(|a| (a.seq, a.agent_id.clone()))
                    .collect();
                queued.sort();
                for (_, id) in queued {
                    let mut input =
                        self.fanout_input(&st, team_id, Some(&id), &tasks, &ready, spent);
                    // An accepted spawn is only ever delayed, not turned into a resume.
                    input.idle = 0;
                    let decision = fanout::decide(profile, &input);
                    match admit_spawn(&st, team_id, &id, &decision, input.running, &tasks) {
                        Admission::Allow => {
                            if let Some(a) = st.agents.get_mut(&id) {
                                a.phase = Phase::Starting;
                            }
                            first_turns.push(id);
                        }
                        Admission::Wait(_) => {}
                        Admission::Refuse(mut why) => {
                            // With no worker wanted the fan-out reason may not say that the
                            // budget is what refused it; the lead should hear the real cause.
                            if decision.budget_exhausted && !why.contains("budget") {
                                why = format!(
                                    "{why}; {}",
                                    budget::exhausted_reason(
                                        profile,
                                        spent,
                                        input.worker_turn_estimate
                                    )
                                );
                            }
                            tracing::info!(target: "codex_teams::supervisor", event = "spawn.refused", team_id = %team_id, agent_id = %id, reason = %why);
                            if let Some(a) = st.agents.get_mut(&id) {
                                a.phase = Phase::Failed;
                                let budget = decision.budget_exhausted
                                    || decision.limited_by == fanout::Limit::Budget;
                                refused.push((id.clone(), a.name.clone(), why, budget));
                            }
                            retire.push(id);
                        }
                    }
                }
                // Idle agents with new mail.
                let lead_external = self.opts.lead_external;
                for a in st.agents.values_mut().filter(|a| a.team_id == team_id) {
                    let p = pending.get(&a.agent_id).copied().unwrap_or(0);
                    // Mail for a worker idle shutdown retired wakes it: its thread resumes
                    // (a message is never left for an agent nobody will run).
                    if a.phase == Phase::Stopped && a.retired_idle && p > 0 {
                        a.phase = Phase::Idle;
                        a.retired_idle = false;
                        a.pending_seen = 0;
                        woken_events.push((a.agent_id.clone(), p));
                    }
                    if a.phase != Phase::Idle || (a.is_lead() && lead_external) {
                        continue;
                    }
                    if p > a.pending_seen || (a.wake && p > 0) {
                        if !a.is_lead()
                            && let Verdict::Refuse(why) =
                                budget::admit_turn(profile, spent, BudgetTurn::Resume, None)
                        {
                            tracing::info!(target: "codex_teams::supervisor", event = "resume.refused", team_id = %team_id, agent_id = %a.agent_id, reason = %why);
                            a.pending_seen = p;
                            continue;
                        }
                        a.phase = Phase::Starting;
                        a.pending_seen = 0;
                        launches.push((
                            a.agent_id.clone(),
                            TurnKind::Resume(prompts::messages_nudge(p)),
                        ));
                    } else {
                        a.pending_seen = a.pending_seen.min(p);
                        a.wake = false;
                    }
                }
                // Ready work nobody is on: resume an idle worker of a fitting role.
                let tr_nudged: HashSet<(String, u32)> = st.teams[team_id].nudged_tasks.clone();
                let mut newly = Vec::new();
                for task in &ready {
                    let key = (task.task_id.clone(), task.version);
                    if tr_nudged.contains(&key) {
                        continue;
                    }
                    let busy_fit = st.agents.values().any(|a| {
                        a.team_id == team_id
                            && !a.is_lead()
                            && (a.phase.busy() || a.phase == Phase::Queued)
                            && task.role.as_deref().is_none_or(|r| r == a.role)
                            && task.claimed_by.as_deref() != Some(a.agent_id.as_str())
                    });
                    if busy_fit {
                        // Someone able to take it is working; it may well take it.
                        continue;
                    }
                    let mut idle: Vec<&mut AgentRt> = st
                        .agents
                        .values_mut()
                        .filter(|a| {
                            a.team_id == team_id
                                && !a.is_lead()
                                && a.phase == Phase::Idle
                                && task.role.as_deref().is_none_or(|r| r == a.role)
                        })
                        .collect();
                    idle.sort_by_key(|a| a.idle_since);
                    let Some(a) = idle.into_iter().next() else {
                        continue;
                    };
                    if let Verdict::Refuse(_) =
                        budget::admit_turn(profile, spent, BudgetTurn::Resume, None)
                    {
                        continue;
                    }
                    a.phase = Phase::Starting;
                    launches.push((
                        a.agent_id.clone(),
                        TurnKind::Resume(prompts::tasks_nudge(1)),
                    ));
                    newly.push(key);
                }
                let tr = st.teams.get_mut(team_id).expect("team known");
                tr.nudged_tasks.extend(newly);
                // Idle shutdown.
                for a in st.agents.values_mut().filter(|a| a.team_id == team_id) {
                    if a.phase == Phase::Idle
                        && !a.is_lead()
                        && pending.get(&a.agent_id).copied().unwrap_or(0) == 0
                        && guard::should_retire(profile, a.idle_since.elapsed().as_secs())
                    {
                        a.phase = Phase::Stopped;
                        a.retired_idle = a.thread_id.is_some();
                        retire.push(a.agent_id.clone());
                        retired_events.push((a.agent_id.clone(), a.idle_since.elapsed().as_secs()));
                    }
                }
                // The board is done: the lead merges and finalizes.
                let done = tasks
                    .iter()
                    .filter(|t| t.status == TaskStatus::Done)
                    .count();
                let failed = tasks
                    .iter()
                    .filter(|t| t.status == TaskStatus::Failed)
                    .count();
                let board_done = !tasks.is_empty() && done + failed == tasks.len();
                let workers_busy = st.agents.values().any(|a| {
                    a.team_id == team_id
                        && !a.is_lead()
                        && (a.phase.busy() || a.phase == Phase::Queued)
                });
                let lead_id = st.teams[team_id].lead_id.clone();
                let lead_has_nothing = lead_id.as_ref().is_some_and(|l| {
                    pending.get(l).copied().unwrap_or(0) == 0
                        && st.agents.get(l).is_some_and(|a| a.phase == Phase::Idle)
                });
                if profile.early_stop.finalize_clean_board
                    && board_done
                    && failed == 0
                    && !workers_busy
                    && lead_has_nothing
                    && !lead_external
                    && !st.teams[team_id].board_done_nudged
                {
                    st.teams.get_mut(team_id).expect("team").board_done_nudged = true;
                    finalize_clean = Some(done);
                } else if profile.early_stop.board_done
                    && board_done
                    && !workers_busy
                    && !st.teams[team_id].board_done_nudged
                    && !lead_external
                    && let Some(lead) = lead_id
                    && let Some(l) = st.agents.get_mut(&lead)
                    && l.phase == Phase::Idle
                    && !launches.iter().any(|(id, _)| *id == lead)
                {
                    l.phase = Phase::Starting;
                    launches.push((
                        lead,
                        TurnKind::Resume(prompts::board_done_nudge(done, failed)),
                    ));
                    st.teams.get_mut(team_id).expect("team").board_done_nudged = true;
                }
            }
            activity |= !launches.is_empty() || !first_turns.is_empty() || !stop.is_empty();
            let anything_busy = st
                .agents
                .values()
                .any(|a| a.team_id == team_id && (a.phase.busy() || a.phase == Phase::Queued));
            let tr = st.teams.get_mut(team_id).expect("team known");
            if activity || anything_busy {
                tr.quiet_since = None;
            } else if tr.quiet_since.is_none() {
                tr.quiet_since = Some(Instant::now());
            }
            // `launch` below moves them to Starting again; undo our marker so it does not
            // see them as busy.
            for (id, _) in &launches {
                if let Some(a) = st.agents.get_mut(id) {
                    a.phase = Phase::Idle;
                }
            }
            for id in &first_turns {
                if let Some(a) = st.agents.get_mut(id) {
                    a.phase = Phase::Queued;
                }
            }
        }
        if let Some(done) = finalize_clean {
            self.finalize_clean_board(hub, team_id, done).await?;
        }
        for id in first_turns {
            self.launch_first(&id);
        }
        for (id, kind) in launches {
            self.launch(&id, kind);
        }
        for (id, pgid) in stop {
            if let Some(pgid) = pgid {
                let grace = self.opts.grace;
                tokio::spawn(async move {
                    let _ = process::terminate(pgid, grace).await;
                });
            }
            tracing::info!(target: "codex_teams::supervisor", event = "agent.stopping", team_id = %team_id, agent_id = %id);
        }
        if !retired_events.is_empty() || !woken_events.is_empty() {
            let t = team_id.to_string();
            let (r, w) = (retired_events.clone(), woken_events.clone());
            hub.with_store(move |s| {
                for (id, idle) in &r {
                    s.append_event(&t, Some(id), "agent.retired", &serde_json::json!({"reason": "idle", "idle_secs": idle}))?;
                }
                for (id, unread) in &w {
                    let ids: Vec<String> = s
                        .peek_pending_ids(&t, id, 20)
                        .unwrap_or_default();
                    s.append_event(&t, Some(id), "agent.woken", &serde_json::json!({"reason": "mail", "unread": unread, "message_ids": ids}))?;
                }
                Ok(())
            })
            .await?;
            for (id, idle) in &retired_events {
                tracing::info!(target: "codex_teams::supervisor", event = "agent.retired", team_id = %team_id, agent_id = %id, idle_secs = idle);
            }
            for (id, unread) in &woken_events {
                tracing::info!(target: "codex_teams::supervisor", event = "agent.woken", team_id = %team_id, agent_id = %id, unread = unread);
            }
        }
        if !retire.is_empty() {
            let t = team_id.to_string();
            let states: Vec<(String, AgentState)> = {
                let st = self.lock();
                retire
                    .iter()
                    .map(|id| {
                        let s = match st.agents.get(id).map(|a| a.phase) {
                            Some(Phase::Failed) => AgentState::Failed,
                            _ => AgentState::Stopped,
                        };
                        (id.clone(), s)
                    })
                    .collect()
            };
            hub.with_store(move |s| {
                for (id, state) in &states {
                    s.set_agent_state(&t, id, *state, None, None)?;
                }
                Ok(())
            })
            .await?;
        }
        // A spawn the lead was told is waiting has now been refused. For want of budget the
        // lead must hear it (it decides what to drop). Refused by the fan-out, the workers
        // already there suffice (a role no other worker has is never refused): nothing to
        // decide, so it is only recorded (event log, the agent `failed` in team_status), not
        // mailed, which would wake the lead for two full requests.
        let lead_id = self
            .lock()
            .teams
            .get(team_id)
            .and_then(|t| t.lead_id.clone());
        for (id, name, why, budget) in refused {
            // A task claimed for it at spawn goes back to the board for the others.
            let (t, a) = (team_id.to_string(), id.clone());
            match hub
                .with_store(move |s| s.release_claims(&t, &a, "its waiting spawn was refused"))
                .await
            {
                Ok(released) if !released.is_empty() => hub.board_changed(team_id),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(target: "codex_teams::supervisor", event = "release.failed", team_id = %team_id, agent_id = %id, error = %e)
                }
            }
            let body = spawn_refused_message(&name, &id, &why);
            match &lead_id {
                Some(lead) if budget => {
                    self.tell_lead(hub, team_id, lead, &id, body, "refused")
                        .await
                }
                _ => {
                    let (t, a) = (team_id.to_string(), id.clone());
                    let logged = hub
                        .with_store(move |s| {
                            let reason = serde_json::json!({ "reason": body });
                            s.append_event(&t, Some(&a), "agent.spawn_refused", &reason)
                        })
                        .await;
                    if let Err(e) = logged {
                        tracing::warn!(target: "codex_teams::supervisor", event = "spawn_refused.log_failed", team_id = %team_id, agent_id = %id, error = %e);
                    }
                }
            }
        }
        Ok(())
    }

    /// Stops every child of the team: SIGTERM to each group, the grace period, SIGKILL; then
    /// waits (bounded) for their turns to be accounted. Agents with a thread stay resumable
    /// (`idle`) in the store unless `retire` is set.
    pub async fn stop_team(&self, team_id: &str, retire: bool) {
        let (groups, was_busy): (Vec<Pgid>, HashSet<String>) = {
            let mut st = self.lock();
            if let Some(t) = st.teams.get_mut(team_id) {
                t.stopping = true;
            }
            let was_busy = st
                .agents
                .values()
                .filter(|a| a.team_id == team_id && a.phase.busy())
                .map(|a| a.agent_id.clone())
                .collect();
            let groups = st
                .agents
                .values_mut()
                .filter(|a| a.team_id == team_id)
                .filter_map(|a| {
                    a.stop_requested = true;
                    a.pgid
                })
                .collect();
            (groups, was_busy)
        };
        let grace = self.opts.grace;
        let mut handles = Vec::new();
        for g in groups {
            handles.push(tokio::spawn(
                async move { process::terminate(g, grace).await },
            ));
        }
        for h in handles {
            let _ = h.await;
        }
        let t = team_id.to_string();
        let _ = tokio::task::spawn_blocking(move || worker::kill_team_strays(&t)).await;
        let deadline = Instant::now() + grace + Duration::from_secs(10);
        while Instant::now() < deadline {
            let busy = self
                .lock()
                .agents
                .values()
                .any(|a| a.team_id == team_id && a.phase.busy());
            if !busy {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if let Ok(hub) = self.hub() {
            let t = team_id.to_string();
            let _ = hub
                .with_store(move |s| {
                    for a in s.list_agents(&t)? {
                        let interrupted = a.thread_id.is_some() && was_busy.contains(&a.agent_id);
                        let state = match a.state {
                            // Interrupted mid-turn: `resume` restarts it with a note.
                            _ if !retire && interrupted => AgentState::Running,
                            AgentState::Failed => AgentState::Failed,
                            AgentState::Stopped => AgentState::Stopped,
                            _ if retire => AgentState::Stopped,
                            _ if a.thread_id.is_some() => AgentState::Idle,
                            AgentState::Pending => AgentState::Pending,
                            _ => AgentState::Stopped,
                        };
                        s.set_agent_state(&t, &a.agent_id, state, None, None)?;
                        // Nobody will continue the claims of an agent that is not restarted
                        // (only those interrupted mid-turn are): back to the board.
                        if state != AgentState::Running && a.role != LEAD {
                            s.release_claims(&t, &a.agent_id, "the team stopped")?;
                        }
                    }
                    Ok(())
                })
                .await;
        }
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

    /// Phase of an agent in a store row (for adopting agents on resume).
    pub fn phase_of(state: AgentState) -> Phase {
        phase_of(state)
    }
}

/// The lead's note when a waiting spawn is refused after all (compact: one line).
fn spawn_refused_message(name: &str, agent_id: &str, why: &str) -> String {
    format!(
        "[codex-teams] worker {name} ({agent_id}) will not start: its waiting spawn was refused: {why}."
    )
}

/// The fan-out's admission of one spawn, except that a spawn whose role is the only one
/// able to take an unfinished task is let in (under the cap): refusing it would leave that
/// task to nobody.
fn admit_spawn(
    st: &State,
    team_id: &str,
    agent_id: &str,
    decision: &fanout::Decision,
    running: usize,
    tasks: &[codex_teams_store::Task],
) -> Admission {
    let adm = fanout::admit_spawn(decision, running, 1);
    if matches!(adm, Admission::Allow) || running >= decision.cap {
        return adm;
    }
    let task_roles: Vec<Option<&str>> = tasks
        .iter()
        .filter(|t| !matches!(t.status, TaskStatus::Done | TaskStatus::Failed))
        .map(|t| t.role.as_deref())
        .collect();
    let others: Vec<&str> = st
        .agents
        .values()
        .filter(|a| a.team_id == team_id && a.agent_id != agent_id && !a.is_lead())
        .filter(|a| a.phase != Phase::Stopped)
        .map(|a| a.role.as_str())
        .collect();
    let role = st.agents.get(agent_id).map_or("", |a| a.role.as_str());
    if fanout::sole_worker_for_a_task(role, &task_roles, &others) {
        return Admission::Allow;
    }
    adm
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

impl Runtime for Supervisor {
    fn spawn(&self, req: SpawnRequest) -> Result<(), String> {
        let (team, agent) = (req.team_id.clone(), req.agent_id.clone());
        let r = self.spawn_inner(req);
        if let Err(why) = &r {
            tracing::info!(target: "codex_teams::supervisor", event = "spawn.refused", team_id = %team, agent_id = %agent, reason = %why);
        }
        r
    }

    fn wake(&self, team_id: &str, agent_id: &str) {
        {
            let mut st = self.lock();
            if let Some(a) = st.agents.get_mut(agent_id)
                && a.team_id == team_id
            {
                a.wake = true;
            }
        }
        self.kick();
    }

    fn finalized(&self, team_id: &str) {
        {
            let mut st = self.lock();
            if let Some(t) = st.teams.get_mut(team_id)
                && t.finalized_at.is_none()
            {
                t.finalized_at = Some(Instant::now());
            }
        }
        self.kick();
    }

    fn team_started(&self, team_id: &str, lead_agent_id: &str) {
        let t = team_id.to_string();
        if let Ok((team, _)) = self.sync_store(|s| Ok((s.team(&t)?, ()))) {
            self.adopt_team(team_id, &team.goal, &team.cwd, Some(lead_agent_id));
        }
        // Another supervisor's start-up sweep must see this team as alive.
        if let Err(e) = self.opts.home.claim_owner(team_id) {
            tracing::warn!(target: "codex_teams::supervisor", event = "owner.claim_error", team_id = %team_id, error = %format!("{e:#}"));
        }
    }

    fn session_ended(
        &self,
        why: &'static str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(self.end_session(why))
    }

    /// A role's team tools from this supervisor's profile (role pack plus overrides): what
    /// `team_spawn` records for the agent and the bus enforces on its every call.
    fn role_tools(&self, role: &str) -> Option<Vec<String>> {
        self.opts.profile.role(role).ok().map(|r| r.tools)
    }

    /// The teams this process runs (run, resume, or started over its stdio session): only
    /// their tokens are accepted by its bus.
    fn serves(&self, team_id: &str) -> bool {
        self.lock().teams.contains_key(team_id)
    }
}

impl Supervisor {
    /// Every team this process supervises and has not finalized: workers stopped (those
    /// mid-turn stay `running` in the store so `resume` restarts them), the team marked
    /// `stopped` with the reason in its event log, the lead `idle` (it is the user's own
    /// codex: `resume` gives the team a headless lead).
    async fn end_session(&self, why: &'static str) {
        let teams: Vec<(String, Option<String>, bool)> = {
            let st = self.lock();
            st.teams
                .iter()
                .map(|(id, t)| (id.clone(), t.lead_id.clone(), t.finalized_at.is_some()))
                .collect()
        };
        for (team_id, lead, finalized) in teams {
            self.stop_team(&team_id, finalized).await;
            let Ok(hub) = self.hub() else { continue };
            let t = team_id.clone();
            let r = hub
                .with_store(move |s| {
                    if s.team(&t)?.status == TeamStatus::Running {
                        s.set_team_status(&t, TeamStatus::Stopped)?;
                        s.append_event(
                            &t,
                            None,
                            "team.session_ended",
                            &serde_json::json!({ "reason": why, "resume": format!("codex-teams resume {t}") }),
                        )?;
                    }
                    if let Some(lead) = lead {
                        let a = s.agent(&t, &lead)?;
                        if a.state == AgentState::Running {
                            s.set_agent_state(&t, &lead, AgentState::Idle, None, None)?;
                        }
                    }
                    Ok(())
                })
                .await;
            if let Err(e) = r {
                tracing::error!(target: "codex_teams::supervisor", event = "session_end.error", team_id = %team_id, error = %e);
            }
            self.opts.home.release_owner(&team_id);
            tracing::info!(target: "codex_teams::supervisor", event = "team.session_ended", team_id = %team_id, reason = why);
        }
    }
}

/// The process's reaper: lives until the process exits (the pipe closes with us).
pub static REAPER: OnceLock<super::reaper::Reaper> = OnceLock::new();

/// The runtime behind `codex-teams mcp`: the interactive session is the lead (never started
/// or resumed by us); `team_spawn` forks real workers, served on their own HTTP endpoints.
/// Workers die with this process (the session's end closes stdin, the server returns, and
/// dropping the runtime SIGKILLs every group; PDEATHSIG and the guardian cover a crash).
/// The supervisor as the metering proxy's sink: usage to the store, limits to
/// [`Supervisor::spend_limit`]. Holds the supervisor weakly (the supervisor owns the proxy).
struct SpendSink {
    sup: Weak<Supervisor>,
}

impl MeterSink for SpendSink {
    fn record(&self, team_id: String, agent_id: String, usage: Usage) -> SinkFuture {
        let sup = self.sup.clone();
        Box::pin(async move {
            let Some(hub) = sup.upgrade().and_then(|s| s.hub().ok()) else {
                return;
            };
            worker::record(&hub, &team_id, &agent_id, usage, "meter").await;
        })
    }

    fn limit(&self, team_id: &str, agent_id: &str, limit: Limit) {
        if let Some(s) = self.sup.upgrade() {
            s.spend_limit(team_id, agent_id, limit);
        }
    }
}

pub fn mcp_runtime(store_path: PathBuf) -> anyhow::Result<Arc<Supervisor>> {
    if REAPER.get().is_none() {
        let _ = REAPER.set(super::reaper::Reaper::start()?);
    }
    let home = TeamsHome::locate()?;
    let profile_name = std::env::var("CODEX_TEAMS_PROFILE").unwrap_or_else(|_| "default".into());
    let profile = Profile::load(&profile_name).map_err(|e| anyhow::anyhow!("{e}"))?;
    let codex_bin = codex_teams_codex_exec::find_codex().unwrap_or_else(|_| PathBuf::from("codex"));
    let scripted_base_url = std::env::var("CODEX_TEAMS_SCRIPTED_URL")
        .ok()
        .filter(|v| !v.is_empty());
    Supervisor::new(SupervisorOptions {
        codex_bin,
        codex_home: model::codex_home(),
        scripted_base_url,
        explicit_model: None,
        max_threads: profile.cap(),
        profile,
        home,
        store_path,
        grace: Duration::from_secs(5),
        drain: Duration::from_secs(15),
        lead_external: true,
        tick: Duration::from_millis(300),
        sandbox_override: None,
        reaper_tag: REAPER.get().map(|r| r.tag.clone()),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use codex_teams_store::{NewAgent, NewTask, NewTeam, TaskUpdate, Usage as StoreUsage};

    use super::*;

    fn test_supervisor(dir: &std::path::Path) -> Arc<Supervisor> {
        let profile = Profile::load("default").unwrap();
        Supervisor::new(SupervisorOptions {
            codex_bin: PathBuf::from("/nonexistent/codex"),
            codex_home: None,
            scripted_base_url: None,
            explicit_model: None,
            max_threads: profile.cap(),
            profile,
            home: TeamsHome {
                dir: dir.to_path_buf(),
            },
            store_path: dir.join("teams.db"),
            grace: Duration::from_millis(200),
            drain: Duration::from_millis(200),
            lead_external: true,
            tick: Duration::from_millis(50),
            sandbox_override: None,
            reaper_tag: None,
        })
        .unwrap()
    }

    /// An agent adopted without its token (this process never had it) gets a fresh one
    /// before its next turn; the token it had before is refused from then on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_adopted_agent_without_a_token_gets_a_fresh_one() {
        use codex_teams_mcp::token::hash_token;
        let dir = tempfile::tempdir().unwrap();
        let sup = test_supervisor(dir.path());
        let hub = sup.hub().unwrap();
        let new_team = NewTeam {
            goal: "g".into(),
            ..Default::default()
        };
        let (_, lead) = hub.start_team(new_team, "lead").await.unwrap();
        sup.adopt_agent(&lead.agent, None, Phase::Idle, Usage::default(), None, 0);
        sup.ensure_token(&lead.agent.agent_id).await.unwrap();
        let fresh = sup.lock().agents[&lead.agent.agent_id]
            .token
            .clone()
            .unwrap();
        assert_ne!(fresh, lead.token);
        let (old, new) = (hash_token(&lead.token), hash_token(&fresh));
        let (old_found, new_found) = hub
            .with_store(move |s| {
                Ok((
                    s.agent_by_token_hash(&old).is_ok(),
                    s.agent_by_token_hash(&new)?.agent_id,
                ))
            })
            .await
            .unwrap();
        assert!(!old_found, "the old token still authenticates");
        assert_eq!(new_found, lead.agent.agent_id);
        // Held now: asking again changes nothing.
        sup.ensure_token(&lead.agent.agent_id).await.unwrap();
        assert_eq!(
            sup.lock().agents[&lead.agent.agent_id].token.as_deref(),
            Some(fresh.as_str())
        );
    }

    /// A spawn that was told to wait and is later refused by the control loop's fan-out
    /// check is reported to the lead on the bus. Real store, real hub; no process starts
    /// (the spawn never gets past waiting).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lead_hears_when_a_waiting_spawn_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let total = Profile::load("default").unwrap().budget.total_tokens;
        let sup = test_supervisor(dir.path());
        let hub = sup.hub().unwrap();
        let (team, lead) = hub
            .start_team(
                NewTeam {
                    goal: "g".into(),
                    cwd: dir.path().display().to_string(),
                    profile: "default".into(),
                    config: serde_json::json!({}),
                },
                "lead",
            )
            .await
            .unwrap();
        let (t, l) = (team.team_id.clone(), lead.agent.agent_id.clone());
        // Only blocked work (its dependency failed): the fan-out policy says "wait".
        hub.with_store(move |s| {
            let a = s.create_task(
                &t,
                &l,
                NewTask {
                    title: "a".into(),
                    ..Default::default()
                },
            )?;
            s.create_task(
                &t,
                &l,
                NewTask {
                    title: "b".into(),
                    deps: vec![a.task_id.clone()],
                    ..Default::default()
                },
            )?;
            let a = s.claim_task(&t, Some(&a.task_id), &l, Duration::from_secs(60))?;
            s.update_task(
                &t,
                &a.task_id,
                &l,
                a.version,
                TaskUpdate {
                    status: Some(TaskStatus::Failed),
                    ..Default::default()
                },
            )
        })
        .await
        .unwrap();
        let worker = hub
            .register_agent(
                &team.team_id,
                NewAgent {
                    name: "w1".into(),
                    role: "implementer".into(),
                    brief: "do b".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let id = worker.agent.agent_id.clone();
        Runtime::spawn(
            &*sup,
            SpawnRequest {
                team_id: team.team_id.clone(),
                agent_id: id.clone(),
                role: "implementer".into(),
                name: "w1".into(),
                brief: "do b".into(),
                token: worker.token.clone(),
                model: None,
            },
        )
        .expect("the spawn waits rather than being refused");
        sup.tick().await.unwrap();
        assert_eq!(sup.view(&team.team_id).workers.get("queued"), Some(&1));

        // The budget runs out: the waiting spawn is refused at the next pass.
        let (t, l) = (team.team_id.clone(), lead.agent.agent_id.clone());
        hub.with_store(move |s| {
            let spent = StoreUsage {
                input_tokens: total as i64,
                ..Default::default()
            };
            s.record_usage(&t, &l, spent)
        })
        .await
        .unwrap();
        sup.tick().await.unwrap();
        assert_eq!(sup.view(&team.team_id).workers.get("failed"), Some(&1));

        let (t, l, w) = (
            team.team_id.clone(),
            lead.agent.agent_id.clone(),
            id.clone(),
        );
        let (inbox, state) = hub
            .with_store(move |s| {
                Ok((
                    s.pull_inbox(&t, &l, 10, Duration::from_secs(60))?,
                    s.agent(&t, &w)?.state,
                ))
            })
            .await
            .unwrap();
        assert_eq!(state, AgentState::Failed);
        assert_eq!(inbox.len(), 1, "exactly one note: {inbox:?}");
        let body = &inbox[0].body;
        assert!(body.contains("w1") && body.contains(&id), "{body}");
        println!("{body}");
        assert!(
            body.contains("refused") && body.contains("budget"),
            "{body}"
        );
    }
}

//! `codex-teams run "<task>"`: starts a team, its bus and its lead as a `codex exec` child,
//! supervises the workers the lead asks for, and runs until the lead finalizes, the budget
//! or the run time is spent, nothing is left to happen, or the user interrupts. Then every
//! child is stopped and a summary printed. `resume` reuses the same machinery.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use codex_teams_mcp::TeamHub;
use codex_teams_mcp::logging::LogGuard;
use codex_teams_mock_model::{MockModel, MockModelHandle, Options as MockOptions, Scenario};
use codex_teams_store::{NewTeam, Store, TeamStatus};

use super::events::Usage;
use super::home::TeamsHome;
use super::model::{self, ModelInputs};
use super::process::{self, Pgid};
use super::prompts;
use super::runtime::{Phase, Supervisor, SupervisorOptions};
use super::summary::RunStatus;
use super::summary::{self, Scripted, Summary};
use crate::policy::budget::{self, Board, RunState, StopReason};
use crate::policy::roles::Sandbox;
use crate::policy::spend::Limit;
use crate::policy::{MAX_WORKERS, Profile, roles::LEAD};

/// Options of `codex-teams run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The job for the team, in plain words; `-` reads it from stdin, so it stays out of
    /// `ps` (see also --task-file).
    #[arg(required_unless_present = "task_file")]
    pub task: Option<String>,
    /// Read the job from this file instead (it stays out of `ps`).
    #[arg(long, value_name = "PATH", conflicts_with = "task")]
    pub task_file: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
    /// Team profile: a bundled name (default, fast, deep, fixed-6) or a path to a YAML file.
    #[arg(long, default_value = "default")]
    pub profile: String,
    /// The repository the team works in [default: the current directory].
    #[arg(long)]
    pub cwd: Option<PathBuf>,
}

/// Options `run` and `resume` share.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// Serve this scripted-model scenario in-process and point every codex child at it
    /// (no credentials needed; what the demo and the tests use).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// With --scenario: append every model request as a JSON line to this file.
    #[arg(long, env = "CODEX_TEAMS_SCENARIO_LOG")]
    pub scenario_log: Option<PathBuf>,
    /// With --scenario: the scripted model's latency, `REQUEST_MS+TOKEN_MS/tok` (e.g.
    /// `800+20/tok`) [default: the scenario's `latency`, else none].
    #[arg(long, env = "CODEX_TEAMS_SCENARIO_LATENCY")]
    pub scenario_latency: Option<codex_teams_mock_model::Latency>,
    /// Model for the lead and every worker [default: inherited: the lead's session, else
    /// $CODEX_HOME/config.toml].
    #[arg(long)]
    pub model: Option<String>,
    /// Most workers running at once, 1..=6 [default: the profile's max_threads].
    #[arg(long)]
    pub max_threads: Option<usize>,
    /// Print one JSON summary object on stdout instead of progress and text.
    #[arg(long)]
    pub json: bool,
    /// Replace every role's codex sandbox (read-only, workspace-write, danger-full-access).
    /// Only for hosts where codex's sandbox cannot run; the roles' sandboxes are the default.
    #[arg(long, env = "CODEX_TEAMS_SANDBOX")]
    pub sandbox: Option<String>,
}

/// Why a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    Finalized,
    LeadFailed(String),
    Stop(StopReason),
    /// A signal: its name and number (SIGINT 2, SIGTERM 15, SIGHUP 1).
    Interrupted(&'static str, u8),
    Stalled,
}

/// A run stopped by a signal: the process exits 128 + the signal's number (130 for Ctrl-C,
/// 143 for SIGTERM, 129 for SIGHUP), as shells expect; the team is resumable.
#[derive(Debug, thiserror::Error)]
#[error("the run was stopped by {signal}; continue it with `codex-teams resume {team_id}`")]
pub struct StoppedBySignal {
    /// `SIGINT`, `SIGTERM` or `SIGHUP`.
    pub signal: &'static str,
    /// The signal's number.
    pub signo: u8,
    /// The team to resume.
    pub team_id: String,
}

impl StoppedBySignal {
    /// 128 + the signal's number.
    pub fn exit_code(&self) -> u8 {
        128 + self.signo
    }
}

impl Ending {
    fn status(&self, team: TeamStatus) -> RunStatus {
        match self {
            Ending::Finalized if team == TeamStatus::Failed => RunStatus::Failed,
            Ending::Finalized => RunStatus::Finalized,
            Ending::LeadFailed(_) => RunStatus::Failed,
            Ending::Stop(StopReason::BudgetSpent { .. }) => RunStatus::BudgetSpent,
            Ending::Stop(StopReason::RunTimeout { .. }) => RunStatus::Timeout,
            Ending::Stop(_) => RunStatus::Stopped,
            Ending::Interrupted(..) => RunStatus::Interrupted,
            Ending::Stalled => RunStatus::Stalled,
        }
    }

    fn reason(&self) -> String {
        match self {
            Ending::Finalized => "the lead finalized the team".into(),
            Ending::LeadFailed(why) => format!("the lead failed: {why}"),
            Ending::Stop(r) => r.to_string(),
            Ending::Interrupted(sig, _) => format!("interrupted by {sig}"),
            Ending::Stalled => {
                "nothing was running or waiting and the lead did not finalize".into()
            }
        }
    }
}

/// Everything a `run` or `resume` holds while it supervises one team.
pub struct Session {
    pub home: TeamsHome,
    pub profile: Profile,
    pub supervisor: Arc<Supervisor>,
    pub hub: Arc<TeamHub>,
    pub mock: Option<MockModelHandle>,
    pub json: bool,
    _log: Option<LogGuard>,
}

/// Resolves `--max-threads` against the profile: above 6 is refused before anything starts.
pub fn apply_max_threads(profile: &mut Profile, max_threads: Option<usize>) -> anyhow::Result<()> {
    if let Some(n) = max_threads {
        if n > MAX_WORKERS {
            bail!(
                "--max-threads {n} is over the hard cap of {MAX_WORKERS} concurrent workers; use 1..={MAX_WORKERS}"
            );
        }
        if n == 0 {
            bail!("--max-threads 0 would never run a worker; use 1..={MAX_WORKERS}");
        }
        profile.max_threads = n as u32;
    }
    Ok(())
}

fn parse_sandbox(s: Option<&str>) -> anyhow::Result<Option<Sandbox>> {
    match s {
        None | Some("") => Ok(None),
        Some(v) => Sandbox::parse(v).map(Some).ok_or_else(|| {
            anyhow::anyhow!(
                "--sandbox `{v}` is not one of read-only, workspace-write, danger-full-access"
            )
        }),
    }
}

/// Kills what is left of recorded process groups of teams no live supervisor owns (a
/// previous supervisor died without cleaning up). Only processes carrying our marker are
/// touched. Returns how many processes were killed.
pub async fn sweep_stale(home: &TeamsHome, store_path: &Path) -> anyhow::Result<usize> {
    let path = store_path.to_path_buf();
    let groups = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let store = Store::open(&path)?;
        let teams: Vec<String> = store.list_teams()?.into_iter().map(|t| t.team_id).collect();
        Ok((Supervisor::recorded_groups(&store)?, teams))
    })
    .await??;
    let (groups, all_teams) = groups;
    let stale: Vec<Pgid> = groups
        .iter()
        .filter(|(team, _, _)| home.owner_alive(team).is_none())
        .map(|(_, _, g)| *g)
        .collect();
    let mut killed = 0;
    if !stale.is_empty() {
        let report = process::sweep(&stale, None).await;
        tracing::info!(target: "codex_teams::supervisor", event = "sweep", groups = stale.len(), killed = report.killed.len(), foreign = report.foreign.len());
        killed += report.killed.len();
    }
    // Processes that left their group (codex's shell commands) but carry a team's marker.
    let mut teams: Vec<String> = super::worker::marked_strays()
        .into_iter()
        .map(|(_, m, _)| m)
        .filter(|m| m.starts_with("team-") && home.owner_alive(m).is_none())
        .collect();
    teams.sort();
    teams.dedup();
    let known: std::collections::HashSet<String> = all_teams.into_iter().collect();
    for t in teams {
        // Only teams of this store: another store's live run is not ours to touch.
        if known.contains(&t) {
            killed += super::worker::kill_team_strays(&t);
        }
    }
    Ok(killed)
}

impl Session {
    /// Logging, profile, scripted model, supervisor and bus: everything before the team.
    pub async fn open(
        common: &CommonArgs,
        mut profile: Profile,
        log_guard: Option<LogGuard>,
        home: TeamsHome,
        lead_external: bool,
    ) -> anyhow::Result<Session> {
        apply_max_threads(&mut profile, common.max_threads)?;
        let sandbox_override = parse_sandbox(common.sandbox.as_deref())?;
        let mock = match &common.scenario {
            Some(path) => {
                let scenario = Scenario::load(path)
                    .with_context(|| format!("--scenario {}", path.display()))?;
                let handle = MockModel::start(
                    scenario,
                    MockOptions {
                        log_path: common.scenario_log.clone(),
                        latency: common.scenario_latency,
                        ..MockOptions::default()
                    },
                )
                .await?;
                Some(handle)
            }
            None => None,
        };
        let codex_bin = codex_teams_codex_exec::find_codex()?;
        let launch = codex_teams_codex_exec::resolve_codex(&codex_bin);
        tracing::info!(target: "codex_teams::supervisor", event = "codex.resolved", found = %codex_bin.display(), program = %launch.program.display(), native = launch.native);
        let store_path = home.store_path();
        let grace = env_ms("CODEX_TEAMS_GRACE_MS").unwrap_or(Duration::from_secs(5));
        let drain = env_ms("CODEX_TEAMS_DRAIN_MS").unwrap_or(Duration::from_secs(15));
        // Started now, so a watcher that cannot start is an error before any child runs.
        super::reaper::Reaper::global()?;
        let supervisor = Supervisor::new(SupervisorOptions {
            codex_bin,
            codex_home: model::codex_home(),
            scripted_base_url: mock.as_ref().map(|m| m.base_url()),
            explicit_model: common.model.clone(),
            max_threads: profile.cap(),
            profile: profile.clone(),
            home: home.clone(),
            store_path,
            grace,
            drain,
            lead_external,
            tick: Duration::from_millis(200),
            sandbox_override,
        })?;
        let hub = supervisor.hub()?;
        supervisor.http_addr().await?;
        Ok(Session {
            home,
            profile,
            supervisor,
            hub,
            mock,
            json: common.json,
            _log: log_guard,
        })
    }

    /// Runs the control loop until the team ends; returns why.
    pub async fn drive(&self, team_id: &str) -> anyhow::Result<Ending> {
        let started = Instant::now();
        let mut sigterm =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        let mut sighup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        let progress = (!self.json).then(|| {
            let budget = Some(self.profile.budget.total_tokens);
            let (hub, sup) = (self.hub.clone(), self.supervisor.clone());
            super::progress::spawn(hub, sup, team_id.into(), budget)
        });
        let hard_finalize = self.supervisor.options().drain + Duration::from_secs(120);
        let ending = loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                _ = sigint.recv() => break Ending::Interrupted("SIGINT", 2),
                _ = sigterm.recv() => break Ending::Interrupted("SIGTERM", 15),
                _ = sighup.recv() => break Ending::Interrupted("SIGHUP", 1),
            }
            let view = self.supervisor.view(team_id);
            if let Some(Limit::RunBudget { spent, total }) = view.spend_limit {
                break Ending::Stop(StopReason::BudgetSpent { spent, total });
            }
            if let Some(why) = view.lead_failed {
                break Ending::LeadFailed(why);
            }
            if let Some(at) = view.finalized_at {
                let lead_busy = view.lead.is_some_and(Phase::busy);
                if (!lead_busy && view.workers_busy == 0) || at.elapsed() > hard_finalize {
                    break Ending::Finalized;
                }
                continue;
            }
            let t = team_id.to_string();
            let (tasks, ready, usage) = self
                .hub
                .with_store(move |s| {
                    Ok((
                        s.list_tasks(&t, &Default::default())?,
                        s.ready_tasks(&t)?,
                        s.team_usage(&t)?,
                    ))
                })
                .await?;
            let mut board = Board::default();
            for task in &tasks {
                use codex_teams_store::TaskStatus::*;
                let is_ready = ready.iter().any(|r| r.task_id == task.task_id);
                match task.status {
                    _ if is_ready => board.ready += 1,
                    Open => board.open += 1,
                    Claimed => board.claimed += 1,
                    Done => board.done += 1,
                    Failed => board.failed += 1,
                }
            }
            let state = RunState {
                board,
                spent: (usage.input_tokens + usage.output_tokens).max(0) as u64,
                lead_finalized: false,
                elapsed_secs: started.elapsed().as_secs(),
            };
            match budget::early_stop(&self.profile, &state) {
                Some(StopReason::BoardDone { .. }) | None => {}
                Some(stop) => break Ending::Stop(stop),
            }
            if view
                .quiet_since
                .is_some_and(|q| q.elapsed() > Duration::from_secs(3))
            {
                // The workers' share ran out and the lead, told so, did not finalize.
                if let Some(Limit::WorkersShare { spent, total, .. }) = view.spend_limit {
                    break Ending::Stop(StopReason::BudgetSpent { spent, total });
                }
                break Ending::Stalled;
            }
        };
        if let Some(p) = progress {
            p.stop();
        }
        tracing::info!(target: "codex_teams::supervisor", event = "run.ending", team_id = %team_id, reason = %ending.reason());
        Ok(ending)
    }

    /// Stops every child, records the team's final state and builds the summary.
    pub async fn finish(
        &self,
        team_id: &str,
        ending: &Ending,
        started: Instant,
    ) -> anyhow::Result<Summary> {
        let finalized = matches!(ending, Ending::Finalized);
        self.supervisor
            .stop_team(
                team_id,
                finalized || matches!(ending, Ending::LeadFailed(_)),
            )
            .await;
        let t = team_id.to_string();
        let new_status = match ending {
            Ending::Finalized => None,
            Ending::LeadFailed(_) => Some(TeamStatus::Failed),
            _ => Some(TeamStatus::Stopped),
        };
        let (status_word, reason) = (ending.status(TeamStatus::Running), ending.reason());
        let team = self
            .hub
            .with_store(move |s| {
                let team = s.team(&t)?;
                match new_status {
                    Some(st) if team.status == TeamStatus::Running => {
                        s.append_event(
                            &t,
                            None,
                            "team.stopped",
                            &serde_json::json!({ "status": status_word.as_str(), "reason": reason }),
                        )?;
                        s.set_team_status(&t, st)
                    }
                    _ => Ok(team),
                }
            })
            .await?;
        self.home.release_owner(team_id);
        let store_path = self.home.store_path();
        let t = team_id.to_string();
        let mut summary = tokio::task::spawn_blocking(move || {
            let store = Store::open(&store_path)?;
            summary::from_store(&store, &t)
        })
        .await??;
        summary.status = ending.status(team.status);
        summary.reason = ending.reason();
        summary.agents_spawned = self.supervisor.agents_spawned().max(summary.agents_spawned);
        summary.peak_threads = self.supervisor.peak_threads();
        summary.wall_ms = started.elapsed().as_millis() as u64;
        if let Some(m) = &self.mock {
            summary.scripted = Some(Scripted {
                requests: m.requests().len(),
                unmatched: m.unmatched_count(),
                errors: m.error_count(),
            });
        }
        Ok(summary)
    }

    /// Drives the team to its end, stops everything, prints the summary; an error unless the
    /// lead finalized. The common tail of `run` and `resume`.
    pub async fn complete(mut self, team_id: &str, started: Instant) -> anyhow::Result<()> {
        let ending = self.drive(team_id).await?;
        let summary = self.finish(team_id, &ending, started).await?;
        self.print(&summary)?;
        self.supervisor.shutdown().await;
        if let Some(m) = self.mock.take() {
            m.shutdown().await;
        }
        match ending {
            Ending::Finalized if summary.status == RunStatus::Finalized => Ok(()),
            Ending::Interrupted(signal, signo) => Err(StoppedBySignal {
                signal,
                signo,
                team_id: team_id.to_string(),
            }
            .into()),
            _ => bail!("the run ended {}: {}", summary.status, summary.reason),
        }
    }

    /// Prints the summary (JSON on stdout, or text on stderr and stdout).
    pub fn print(&self, summary: &Summary) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string(summary)?);
        } else {
            print!("{}", summary.text());
        }
        Ok(())
    }
}

fn env_ms(name: &str) -> Option<Duration> {
    std::env::var(name)
        .ok()?
        .parse::<u64>()
        .ok()
        .map(Duration::from_millis)
}

/// The async runtime a `run` or `resume` drives its team on.
pub fn async_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Sets up JSON logs in `$CODEX_TEAMS_HOME/logs`.
pub fn init_logs(home: &TeamsHome, prefix: &str) -> anyhow::Result<LogGuard> {
    Ok(codex_teams_mcp::logging::init_json_logging(
        &home.log_dir(),
        prefix,
    )?)
}

impl RunArgs {
    /// The job, once [`read_task`] has filled it in.
    fn task(&self) -> &str {
        self.task.as_deref().unwrap_or("")
    }
}

/// The job from the argument, stdin (`-`) or `--task-file`, with errors naming the source.
fn read_task(args: &RunArgs) -> anyhow::Result<String> {
    use std::io::Read;
    if let Some(path) = &args.task_file {
        return std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --task-file {}", path.display()));
    }
    match args.task.as_deref() {
        Some("-") => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read the task from stdin")?;
            Ok(s)
        }
        Some(t) => Ok(t.to_string()),
        None => bail!("no task: give it as an argument, `-` for stdin, or --task-file PATH"),
    }
}

/// `codex-teams run`.
pub fn run(mut args: RunArgs) -> anyhow::Result<()> {
    let task = read_task(&args)?;
    args.task = Some(task);
    // Refuse bad input before anything starts.
    let mut profile = Profile::load(&args.profile)?;
    apply_max_threads(&mut profile, args.common.max_threads)?;
    parse_sandbox(args.common.sandbox.as_deref())?;
    if args.task().trim().is_empty() {
        bail!("the task is empty: say what the team should do");
    }
    let cwd = match &args.cwd {
        Some(c) => c.clone(),
        None => std::env::current_dir()?,
    };
    let cwd = cwd
        .canonicalize()
        .with_context(|| format!("--cwd {}", cwd.display()))?;
    if !cwd.is_dir() {
        bail!("--cwd {} is not a directory", cwd.display());
    }
    let home = TeamsHome::locate()?;
    let guard = init_logs(&home, "run")?;
    let rt = async_runtime()?;
    rt.block_on(async move {
        let started = Instant::now();
        sweep_stale(&home, &home.store_path()).await?;
        let session = Session::open(&args.common, profile, Some(guard), home, false).await?;
        let lead_model = model::resolve(&ModelInputs {
            explicit_model: args.common.model.clone(),
            lead_session_model: None,
            codex_home: model::codex_home(),
            codex_profile: None,
        })?;
        let config = serde_json::json!({
            "model": lead_model.settings.model,
            "model_source": lead_model.model_source,
            "scenario": args
                .common
                .scenario
                .as_ref()
                .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()).display().to_string()),
        });
        let (team, lead) = session
            .hub
            .start_team(
                NewTeam {
                    goal: args.task().to_string(),
                    cwd: cwd.display().to_string(),
                    profile: args.profile.clone(),
                    config,
                },
                LEAD,
            )
            .await?;
        let team_id = team.team_id.clone();
        session.home.claim_owner(&team_id)?;
        if !session.json {
            eprintln!(
                "codex-teams: team {team_id} started in {} (profile {}, up to {} workers)",
                cwd.display(),
                session.profile.name,
                session.profile.cap()
            );
        }
        let sup = &session.supervisor;
        sup.adopt_team(&team_id, &team.goal, &team.cwd, Some(&lead.agent.agent_id));
        let instructions = session
            .profile
            .role(LEAD)
            .map(|r| r.instructions)
            .unwrap_or_default();
        let prompt =
            prompts::lead_prompt(&instructions, args.task(), &team_id, &lead.agent.agent_id);
        sup.adopt_agent(
            &lead.agent,
            Some(lead.token.clone()),
            Phase::Queued,
            Usage::default(),
            Some(prompt),
            0,
        );
        sup.start_first_turn(&lead.agent.agent_id)?;
        session.complete(&team_id, started).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_threads_is_checked_against_the_hard_cap() {
        let mut p = Profile::load("default").unwrap();
        let e = apply_max_threads(&mut p, Some(7)).unwrap_err().to_string();
        assert!(
            e.contains("--max-threads 7") && e.contains("hard cap of 6"),
            "{e}"
        );
        assert!(apply_max_threads(&mut p, Some(0)).is_err());
        apply_max_threads(&mut p, Some(2)).unwrap();
        assert_eq!(p.cap(), 2);
        apply_max_threads(&mut p, None).unwrap();
        assert_eq!(p.cap(), 2);
    }

    #[test]
    fn sandbox_flag_names_the_bad_value() {
        assert_eq!(parse_sandbox(None).unwrap(), None);
        assert_eq!(
            parse_sandbox(Some("read-only")).unwrap(),
            Some(Sandbox::ReadOnly)
        );
        let e = parse_sandbox(Some("none")).unwrap_err().to_string();
        assert!(e.contains("`none`"), "{e}");
    }

    #[test]
    fn endings_map_to_summary_statuses() {
        let word = |e: &Ending, t| e.status(t).as_str();
        assert_eq!(word(&Ending::Finalized, TeamStatus::Finalized), "finalized");
        assert_eq!(word(&Ending::Finalized, TeamStatus::Failed), "failed");
        assert_eq!(
            word(&Ending::Interrupted("SIGINT", 2), TeamStatus::Running),
            "interrupted"
        );
        let budget = Ending::Stop(StopReason::BudgetSpent { spent: 5, total: 4 });
        assert_eq!(word(&budget, TeamStatus::Running), "budget_spent");
        assert_eq!(
            serde_json::to_value(RunStatus::BudgetSpent).unwrap(),
            "budget_spent"
        );
        assert!(budget.reason().contains("5 of 4"));
    }
}

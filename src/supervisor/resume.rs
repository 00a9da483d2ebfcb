//! `codex-teams resume TEAM_ID`: continues a run whose supervisor died or was interrupted.
//! Everything needed is in the store (agents, thread ids, tasks, messages). The store keeps
//! only token hashes and no plaintext token is ever saved, so every agent gets a fresh
//! token here (the old ones stop working at once); the bus is served again on a new port and
//! every resumed codex thread gets the new URL and token through its flags and environment.

use std::time::Instant;

use anyhow::bail;
use codex_teams_store::{AgentState, Store, TeamStatus, Usage as StoreUsage};

use super::events::Usage;
use super::home::TeamsHome;
use super::run::{CommonArgs, Session, async_runtime, init_logs, sweep_stale};
use super::runtime::Phase;
use super::{prompts, rollout};
use crate::policy::Profile;
use crate::policy::restart::{Left, Restart, Thread, restart};
use crate::policy::roles::LEAD;

/// Options of `codex-teams resume`.
#[derive(Debug, Clone, clap::Args)]
pub struct ResumeArgs {
    /// The team to continue (see `codex-teams status`).
    pub team_id: String,
    /// Continue under another team profile (a bundled name or a YAML path) instead of the
    /// one the team started with.
    #[arg(long)]
    pub profile: Option<String>,
    /// A new total token budget for the whole run (lead and workers, spent so far
    /// included): how a run stopped by its budget continues.
    #[arg(long, value_name = "TOKENS")]
    pub budget: Option<u64>,
    #[command(flatten)]
    pub common: CommonArgs,
}

fn usage_of(u: StoreUsage) -> Usage {
    let c = |v: i64| v.max(0) as u64;
    Usage {
        input_tokens: c(u.input_tokens),
        cached_input_tokens: c(u.cached_input_tokens),
        output_tokens: c(u.output_tokens),
        reasoning_output_tokens: c(u.reasoning_output_tokens),
        ..Usage::default()
    }
}

/// One agent as the dead supervisor left it, with a fresh token.
struct Found {
    agent: codex_teams_store::Agent,
    token: String,
    usage: StoreUsage,
    pending: usize,
    /// Tasks it holds claimed.
    held: Vec<codex_teams_store::Task>,
}

/// `codex-teams resume`.
pub fn run(args: ResumeArgs) -> anyhow::Result<()> {
    let home = TeamsHome::locate()?;
    let (team, profile) = check_and_profile(&home, &args)?;
    let guard = init_logs(&home, "run")?;
    let rt = async_runtime()?;
    rt.block_on(async move {
        let started = Instant::now();
        sweep_stale(&home, &home.store_path()).await?;
        home.claim_owner(&team.team_id)?;
        // A team started on a scripted model continues on it unless told otherwise.
        let mut common = args.common.clone();
        if common.scenario.is_none()
            && let Some(p) = team.config.get("scenario").and_then(|v| v.as_str())
        {
            common.scenario = Some(p.into());
        }
        let session = Session::open(&common, profile, Some(guard), home, false).await?;
        let found = reopen(&session, &team.team_id).await?;
        let sup = session.supervisor.clone();
        let lead = found
            .iter()
            .find(|f| f.agent.role == LEAD)
            .map(|f| f.agent.agent_id.clone());
        if !session.json {
            eprintln!(
                "codex-teams: resuming team {} ({} agents)",
                team.team_id,
                found.len()
            );
        }
        // Every agent first, then the team: the control loop (started with the team) must
        // never plan over half of them (it told the lead a ready task had no worker while
        // the idle worker was not adopted yet, and then never nudged the worker).
        let (to_start, to_resume) = adopt_all(&session, &team, found);
        sup.adopt_team(&team.team_id, &team.goal, &team.cwd, lead.as_deref());
        for id in to_start {
            sup.start_first_turn(&id)?;
        }
        for (id, msg) in to_resume {
            sup.resume_now(&id, msg);
        }
        session.complete(&team.team_id, started).await
    })
}

/// The team can be resumed here (not ended, not supervised elsewhere); the profile it
/// continues under, with `--budget` and `--max-threads` applied.
fn check_and_profile(
    home: &TeamsHome,
    args: &ResumeArgs,
) -> anyhow::Result<(codex_teams_store::Team, Profile)> {
    let store = Store::open(&home.store_path())?;
    let team = store.team(&args.team_id)?;
    if matches!(team.status, TeamStatus::Finalized | TeamStatus::Failed) {
        bail!(
            "team {} has already ended ({:?}); nothing to resume",
            team.team_id,
            team.status
        );
    }
    if let Some(pid) = home.owner_alive(&team.team_id) {
        bail!(
            "team {} is still supervised by a running codex-teams (pid {pid})",
            team.team_id
        );
    }
    let profile_name = args.profile.clone().unwrap_or_else(|| team.profile.clone());
    let mut profile = Profile::load(&profile_name)?;
    if let Some(budget) = args.budget {
        let spent = store
            .team_usage(&team.team_id)
            .map(|u| (u.input_tokens + u.output_tokens).max(0) as u64)
            .unwrap_or(0);
        if budget <= spent + profile.budget.lead_reserve_tokens {
            bail!(
                "--budget {budget} does not cover what team {} already spent ({spent} tokens) plus the lead's reserve ({}); give more",
                team.team_id,
                profile.budget.lead_reserve_tokens
            );
        }
        profile.budget.total_tokens = budget;
    }
    super::run::apply_max_threads(&mut profile, args.common.max_threads)?;
    Ok((team, profile))
}

/// Marks the team running again (with the seam the replay shows) and reads every agent,
/// each with a fresh token: whatever the dead supervisor handed out is refused from now on.
async fn reopen(session: &Session, team_id: &str) -> anyhow::Result<Vec<Found>> {
    let t = team_id.to_string();
    let found = session
        .hub
        .with_store(move |s| {
            let listed = s.list_agents(&t)?;
            let interrupted: Vec<&str> = listed
                .iter()
                .filter(|a| a.state == AgentState::Running)
                .map(|a| a.agent_id.as_str())
                .collect();
            let previous = s.team(&t)?.status.as_str();
            let seam =
                serde_json::json!({ "previous_status": previous, "interrupted": interrupted });
            s.append_event(&t, None, "team.resumed", &seam)?;
            s.set_team_status(&t, TeamStatus::Running)?;
            let mut found = Vec::new();
            for a in &listed {
                let minted = codex_teams_mcp::rotate_agent_token(s, &t, &a.agent_id)?;
                let filter = codex_teams_store::TaskFilter {
                    status: Some(codex_teams_store::TaskStatus::Claimed),
                    claimed_by: Some(a.agent_id.clone()),
                    ready_only: false,
                };
                found.push(Found {
                    usage: s.agent_usage(&t, &a.agent_id)?,
                    pending: s.pending_count(&t, &a.agent_id)?,
                    held: s.list_tasks(&t, &filter)?,
                    agent: minted.agent,
                    token: minted.token,
                });
            }
            Ok(found)
        })
        .await?;
    Ok(found)
}

/// Hands every agent to the supervisor in the phase [`restart`] decides; returns the leads
/// to start over and the agents to continue with their note.
fn adopt_all(
    session: &Session,
    team: &codex_teams_store::Team,
    found: Vec<Found>,
) -> (Vec<String>, Vec<(String, String)>) {
    let sup = &session.supervisor;
    let codex_home = sup.options().codex_home.clone();
    let (mut to_start, mut to_resume) = (Vec::new(), Vec::new());
    for f in found {
        let a = &f.agent;
        let thread = match &a.thread_id {
            None => Thread::None,
            Some(th) => rollout::thread_state(codex_home.as_deref(), th),
        };
        let left = Left {
            is_lead: a.role == LEAD,
            was_running: a.state == AgentState::Running,
            stopped: a.state == AgentState::Stopped,
            failed: a.state == AgentState::Failed,
            holds_claims: !f.held.is_empty(),
            thread,
        };
        let decision = restart(&left);
        tracing::info!(target: "codex_teams::supervisor", event = "resume.agent", team_id = %team.team_id, agent_id = %a.agent_id, thread = ?thread, decision = ?decision);
        let mut agent = a.clone();
        let (phase, first_prompt) = match decision {
            Restart::Keep if left.failed => (Phase::Failed, None),
            Restart::Keep => (Phase::Stopped, None),
            Restart::Idle => (Phase::Idle, None),
            // Held back from the control loop (which would resume it with a plain "ready
            // task" nudge first) until it is restarted with the note that its turn was cut.
            Restart::Continue => {
                let note = prompts::restart_nudge(f.pending, &f.held);
                to_resume.push((a.agent_id.clone(), note));
                (Phase::Stopped, None)
            }
            Restart::StartOver => {
                agent.thread_id = None;
                if left.is_lead {
                    to_start.push(a.agent_id.clone());
                    (
                        Phase::Queued,
                        Some(lead_first_prompt(session, team, &a.agent_id)),
                    )
                } else {
                    // The store keeps the lead's brief; the task claimed for it at spawn is on
                    // the board, so its first prompt (rebuilt from role, brief and goal when
                    // the control loop admits it) names that task again.
                    let handoff = codex_teams_mcp::Handoff {
                        task: f.held.first().cloned(),
                        nothing_ready: false,
                    };
                    agent.brief = codex_teams_mcp::brief_with(&a.brief, &handoff);
                    (Phase::Queued, None)
                }
            }
        };
        // pending_seen 0: an idle agent with waiting messages is resumed at once.
        sup.adopt_agent(
            &agent,
            Some(f.token),
            phase,
            usage_of(f.usage),
            first_prompt,
            0,
        );
    }
    (to_start, to_resume)
}

fn lead_first_prompt(session: &Session, team: &codex_teams_store::Team, lead_id: &str) -> String {
    let instructions = session
        .profile
        .role(LEAD)
        .map(|r| r.instructions)
        .unwrap_or_default();
    prompts::lead_prompt(&instructions, &team.goal, &team.team_id, lead_id)
}

//! `codex-teams resume TEAM_ID`: continues a run whose supervisor died or was interrupted.
//! Everything needed is in the store (agents, thread ids, tasks, messages). The store keeps
//! only token hashes and no plaintext token is ever saved, so every agent gets a fresh
//! token here (the old ones stop working at once); the bus is served again on a new port and
//! every resumed codex thread gets the new URL and token through its flags and environment.

use std::time::Instant;

use anyhow::{Context, bail};
use codex_teams_store::{AgentState, Store, TeamStatus, Usage as StoreUsage};

use super::events::Usage;
use super::home::TeamsHome;
use super::prompts;
use super::run::{CommonArgs, Session, init_logs, sweep_stale};
use super::runtime::{Phase, Supervisor};
use crate::policy::Profile;
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

/// `codex-teams resume`.
pub fn run(args: ResumeArgs) -> anyhow::Result<()> {
    let home = TeamsHome::locate()?;
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
    drop(store);
    let guard = init_logs(&home, "run")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
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
        let team_id = team.team_id.clone();
        let t = team_id.clone();
        let (agents, tokens, usages, (pendings, held)) = session
            .hub
            .with_store(move |s| {
                let listed = s.list_agents(&t)?;
                // The replay's seam between the runs: what the previous supervisor left.
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
                let mut agents = Vec::new();
                let mut tokens = Vec::new();
                let mut usages = Vec::new();
                let mut pendings = Vec::new();
                let mut held = Vec::new();
                for a in &listed {
                    // Whatever token the dead supervisor handed out is refused from now on.
                    let minted = codex_teams_mcp::rotate_agent_token(s, &t, &a.agent_id)?;
                    agents.push(minted.agent);
                    tokens.push(minted.token);
                    usages.push(s.agent_usage(&t, &a.agent_id)?);
                    pendings.push(s.pending_count(&t, &a.agent_id)?);
                    let filter = codex_teams_store::TaskFilter {
                        status: Some(codex_teams_store::TaskStatus::Claimed),
                        claimed_by: Some(a.agent_id.clone()),
                        ready_only: false,
                    };
                    held.push(s.list_tasks(&t, &filter)?);
                }
                Ok((agents, tokens, usages, (pendings, held)))
            })
            .await?;
        let sup = session.supervisor.clone();
        let lead = agents.iter().find(|a| a.role == LEAD);
        sup.adopt_team(
            &team_id,
            &team.goal,
            &team.cwd,
            lead.map(|a| a.agent_id.as_str()),
        );
        if !session.json {
            eprintln!(
                "codex-teams: resuming team {team_id} ({} agents)",
                agents.len()
            );
        }
        let mut to_resume = Vec::new();
        let mut to_start = Vec::new();
        let pendings = pendings.into_iter().zip(held);
        for (((a, token), u), (pending, held)) in
            agents.iter().zip(tokens).zip(usages).zip(pendings)
        {
            let totals = usage_of(u);
            let (phase, first_prompt) = match (a.state, &a.thread_id) {
                (AgentState::Stopped, _) => (Phase::Stopped, None),
                (AgentState::Failed, _) => (Phase::Failed, None),
                (AgentState::Running, Some(_)) => {
                    to_resume.push((a.agent_id.clone(), prompts::restart_nudge(pending, &held)));
                    // Held back from the control loop (which would resume it with a plain
                    // "ready task" nudge first) until it is restarted below with the note
                    // that its turn was interrupted.
                    (Phase::Stopped, None)
                }
                (_, Some(_)) => (Phase::Idle, None),
                (_, None) if a.role == LEAD => {
                    to_start.push(a.agent_id.clone());
                    let instructions = session
                        .profile
                        .role(LEAD)
                        .map(|r| r.instructions)
                        .unwrap_or_default();
                    (
                        Phase::Queued,
                        Some(prompts::lead_prompt(
                            &instructions,
                            &team.goal,
                            &team_id,
                            &a.agent_id,
                        )),
                    )
                }
                (_, None) => (Phase::Queued, None),
            };
            let _ = Supervisor::phase_of(a.state);
            // pending_seen 0: an idle agent with waiting messages is resumed at once.
            sup.adopt_agent(a, Some(token), phase, totals, first_prompt, 0);
        }
        for id in to_start {
            sup.start_first_turn(&id)?;
        }
        for (id, msg) in to_resume {
            sup.resume_now(&id, msg);
        }
        session.complete(&team_id, started).await
    })
}

//! Starting a turn: admission to a slot, the `codex exec` command line, the agent's token and
//! environment, then the process itself (see [`super::super::worker::run_turn`]).

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::super::command::{ExecCommand, TOKEN_ENV, TeamEndpoint};
use super::super::events::UsageMeter;
use super::super::meter::Meter;
use super::super::model::{self, ModelInputs};
use super::super::process;
use super::super::prompts;
use super::super::rollout::RolloutTail;
use super::super::worker::{self, TurnOutcome, TurnSpec};
use super::super::worker_instructions;
use super::state::{AgentRt, TurnKind};
use super::{AGENT_ENV, ROLE_ENV, Supervisor};
use crate::policy::plan::Phase;

impl Supervisor {
    // ------------------------------------------------------------------ launching

    pub(super) fn launch(&self, agent_id: &str, kind: TurnKind) {
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
            // The turn's prompt points it to its inbox: the notes are read with the rest.
            a.notes = 0;
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
        self.spawn_owned(async move {
            me.turn(id, kind).await;
        });
    }

    pub(super) fn command_for(
        &self,
        a: &AgentRt,
        team_cwd: PathBuf,
        url: String,
    ) -> anyhow::Result<ExecCommand> {
        let role = self.opts.profile.role(&a.role)?;
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
        let iso =
            super::super::isolation::for_child(self.opts.codex_home.as_deref(), None, &team_cwd);
        let mut cmd = ExecCommand::new(team_cwd, settings);
        cmd.scripted_base_url = self.opts.scripted_base_url.clone();
        cmd.lean = true;
        if !a.is_lead() {
            // The lead keeps codex's own instructions: it is the user's codex (or stands in
            // for it in `run`), talking with the user; a worker only does its task.
            cmd.instructions_file = Some(worker_instructions::ensure(&self.opts.home.dir)?);
        }
        cmd.disable_servers = iso.disable;
        cmd.sandbox = Some(self.opts.sandbox_override.unwrap_or(role.sandbox));
        cmd.team = Some(TeamEndpoint {
            name: iso.bus_name,
            url,
            enabled_tools: Some(tools),
            required: true,
        });
        Ok(cmd)
    }

    pub(super) async fn turn(self: Arc<Self>, agent_id: String, kind: TurnKind) {
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
            kind = kind.word(), live_workers = self.slots.live());
        let me = self.clone();
        let id2 = agent_id.clone();
        let out = worker::run_turn(hub, spec, move |pgid| {
            let mut st = me.lock();
            if let Some(a) = st.agents.get_mut(&id2) {
                a.pgid = Some(pgid);
                if a.stop_requested {
                    let grace = me.opts.grace;
                    me.spawn_owned(async move {
                        let _ = process::terminate(pgid, grace).await;
                    });
                }
            }
        })
        .await;
        drop(slot);
        self.turn_ended(&agent_id, out).await;
    }

    pub(super) async fn prepare(
        &self,
        agent_id: &str,
        kind: &TurnKind,
    ) -> anyhow::Result<Option<(TurnSpec, String)>> {
        let addr = self.http_addr().await?;
        self.ensure_token(agent_id).await?;
        let metering = self.metering_for(agent_id).await?;
        let st = self.lock();
        let a = st
            .agents
            .get(agent_id)
            .ok_or_else(|| anyhow::anyhow!("unknown agent {agent_id}"))?;
        let team = st.teams.get(&a.team_id).filter(|t| !t.stopping);
        let Some(team) = team.filter(|_| !a.stop_requested) else {
            return Ok(None);
        };
        let url = codex_teams_mcp::http::agent_url(addr, agent_id);
        let spec = self.turn_spec(a, team.cwd.clone(), url, kind, metering)?;
        Ok(Some((spec, a.team_id.clone())))
    }

    /// The process to run for `a`'s turn: its command line and prompt (on stdin: the task
    /// text may hold anything the user typed), environment, meter and time limit.
    fn turn_spec(
        &self,
        a: &AgentRt,
        cwd: PathBuf,
        url: String,
        kind: &TurnKind,
        metering: Option<(&Meter, u64)>,
    ) -> anyhow::Result<TurnSpec> {
        let agent_id = a.agent_id.as_str();
        let mut cmd = self.command_for(a, cwd, url)?;
        let metered = self.route_through_meter(a, &mut cmd, metering);
        let (args, stdin) = match kind {
            TurnKind::First(prompt) => cmd.start_args_stdin(prompt)?,
            TurnKind::Resume(msg) => {
                let thread = a.thread_id.as_deref().ok_or_else(|| {
                    anyhow::anyhow!("agent {agent_id} has no codex thread to resume")
                })?;
                cmd.resume_args_stdin(thread, msg)?
            }
        };
        // Workers run with the supervisor's environment, so the same Codex home.
        let codex_home = self.opts.codex_home.clone().or_else(model::codex_home);
        let (meter, rollout) = match (kind, a.thread_id.as_deref()) {
            // The proxy meters this turn exactly; the rollout would count it twice.
            (TurnKind::Resume(_), _) if metered.is_some() => {
                (UsageMeter::resume_from(a.totals), RolloutTail::new(None))
            }
            (TurnKind::First(_), _) if metered.is_some() => {
                (UsageMeter::new(), RolloutTail::new(None))
            }
            (TurnKind::Resume(_), Some(th)) => (
                UsageMeter::resume_from(a.totals),
                RolloutTail::resuming(codex_home.as_deref(), th),
            ),
            (TurnKind::Resume(_), None) => (
                UsageMeter::resume_from(a.totals),
                RolloutTail::new(codex_home.as_deref()),
            ),
            (TurnKind::First(_), _) => (UsageMeter::new(), RolloutTail::new(codex_home.as_deref())),
        };
        let token = a
            .token
            .clone()
            .ok_or_else(|| anyhow::anyhow!("agent {agent_id} has no bearer token"))?;
        let env: Vec<(OsString, OsString)> = vec![
            (TOKEN_ENV.into(), token.into()),
            (AGENT_ENV.into(), agent_id.into()),
            (ROLE_ENV.into(), a.role.clone().into()),
        ];
        Ok(TurnSpec {
            team_id: a.team_id.clone(),
            agent_id: agent_id.to_string(),
            program: self.opts.codex_bin.clone(),
            args,
            env,
            cwd: cmd.cwd.clone(),
            marker: a.team_id.clone(),
            meter,
            timeout: (!a.is_lead())
                .then(|| Duration::from_secs(self.opts.profile.timeouts.worker_turn_secs)),
            grace: self.opts.grace,
            rollout,
            stdin,
            on_response: metered
                .is_none()
                .then(|| self.rollout_budget_hook(&a.team_id, agent_id, a.is_lead())),
            metered,
        })
    }

    /// Gives an agent whose plaintext token this process does not hold (adopted from the
    /// store) a fresh one: minted, its hash stored, the old one refused from then on.
    /// Plaintext tokens therefore never need to outlive the process that minted them.
    pub(super) async fn ensure_token(&self, agent_id: &str) -> anyhow::Result<()> {
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

    /// The first turn of an admitted worker: its role's instructions, brief and the goal.
    pub(super) fn launch_first(&self, agent_id: &str) {
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
}

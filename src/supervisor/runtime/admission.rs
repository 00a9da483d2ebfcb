//! A spawn the lead asks for: registered as queued, then admitted, told to wait or refused by
//! the policy (see [`crate::policy::plan::admit_new_spawn`]).

use codex_teams_mcp::{SpawnError, SpawnRequest};
use codex_teams_store::TaskFilter;

use super::Supervisor;
use super::control::BoardRead;
use super::state::Identity;
use crate::policy::fanout::Admission;
use crate::policy::plan::{self, Phase};
use crate::policy::roles::LEAD;

impl Supervisor {
    /// The policy's answer to a spawn just registered as queued.
    async fn admission(&self, team_id: &str, agent_id: &str) -> anyhow::Result<Admission> {
        let t = team_id.to_string();
        let hub = self.hub()?;
        let read = hub.with_store(move |s| {
            let usage = s.team_usage(&t)?;
            Ok(BoardRead {
                tasks: s.list_tasks(&t, &TaskFilter::default())?,
                ready: s.ready_tasks(&t)?,
                spent: (usage.input_tokens + usage.output_tokens).max(0) as u64,
                ..BoardRead::default()
            })
        });
        let read = read.await?;
        let st = self.lock();
        let check = plan::admit_new_spawn(&self.snapshot(&st, team_id, &read), agent_id);
        if let Some(d) = &check.decision {
            tracing::info!(target: "codex_teams::supervisor", event = "fanout.decision", team_id = %team_id, agent_id = %agent_id,
                band = %d.band, target = d.target, running = check.running, admission = ?check.admission, reason = %d.reason);
        }
        Ok(check.admission)
    }

    async fn ensure_team_known(&self, team_id: &str) -> anyhow::Result<()> {
        if self.lock().teams.contains_key(team_id) {
            return Ok(());
        }
        let t = team_id.to_string();
        let (team, agents) = self
            .hub()?
            .with_store(move |s| Ok((s.team(&t)?, s.list_agents(&t)?)))
            .await?;
        let lead = agents
            .iter()
            .find(|a| a.role == LEAD)
            .map(|a| a.agent_id.clone());
        self.adopt_team(team_id, &team.goal, &team.cwd, lead.as_deref());
        Ok(())
    }

    /// Registers the spawn as queued and asks the policy: it starts now, waits for the
    /// control loop, or is refused (and forgotten) with the reason.
    pub(super) async fn spawn_inner(&self, req: SpawnRequest) -> Result<(), SpawnError> {
        self.ensure_team_known(&req.team_id)
            .await
            .map_err(|e| SpawnError::Failed {
                what: format!("cannot load team {}", req.team_id),
                source: e.into(),
            })?;
        // Decided one at a time and never during a pass: the store read below is awaited, and
        // spawns asked for at once must not all count the same running workers.
        let _admitting = self.tick_pass.lock().await;
        {
            let mut st = self.lock();
            if st
                .teams
                .get(&req.team_id)
                .is_some_and(|t| t.stopping || t.finalized_at.is_some())
            {
                return Err(SpawnError::Refused(format!(
                    "team {} is ending; no new workers",
                    req.team_id
                )));
            }
            let id = Identity {
                team_id: req.team_id.clone(),
                agent_id: req.agent_id.clone(),
                name: req.name.clone(),
                role: req.role.clone(),
                brief: req.brief.clone(),
                lead_model: req.model.clone(),
            };
            st.insert_agent(id, Some(req.token.clone()), Phase::Queued);
        }
        match self.admission(&req.team_id, &req.agent_id).await {
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
                Err(SpawnError::Refused(why))
            }
            Err(e) => {
                self.lock().agents.remove(&req.agent_id);
                Err(SpawnError::Failed {
                    what: format!("cannot admit {}", req.agent_id),
                    source: e.into(),
                })
            }
        }
    }
}

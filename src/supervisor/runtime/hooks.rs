//! The MCP layer's hooks into the supervisor ([`codex_teams_mcp::Runtime`]).

use std::time::Instant;

use codex_teams_mcp::{Runtime, RuntimeFuture, SpawnError, SpawnRequest};

use super::Supervisor;

impl Runtime for Supervisor {
    fn spawn(&self, req: SpawnRequest) -> RuntimeFuture<'_, Result<(), SpawnError>> {
        Box::pin(async move {
            let (team, agent) = (req.team_id.clone(), req.agent_id.clone());
            let r = self.spawn_inner(req).await;
            if let Err(why) = &r {
                tracing::info!(target: "codex_teams::supervisor", event = "spawn.refused", team_id = %team, agent_id = %agent, reason = %why);
            }
            r
        })
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

    fn team_started<'a>(
        &'a self,
        team_id: &'a str,
        lead_agent_id: &'a str,
    ) -> RuntimeFuture<'a, ()> {
        Box::pin(async move {
            let t = team_id.to_string();
            if let Ok(hub) = self.hub()
                && let Ok(team) = hub.with_store(move |s| s.team(&t)).await
            {
                self.adopt_team(team_id, &team.goal, &team.cwd, Some(lead_agent_id));
            }
            // Another supervisor's start-up sweep must see this team as alive.
            let (home, t) = (self.opts.home.clone(), team_id.to_string());
            let claimed = tokio::task::spawn_blocking(move || home.claim_owner(&t)).await;
            if let Ok(Err(e)) = claimed {
                tracing::warn!(target: "codex_teams::supervisor", event = "owner.claim_error", team_id = %team_id, error = %format!("{e:#}"));
            }
        })
    }

    fn session_ended(&self, why: &'static str) -> RuntimeFuture<'_, ()> {
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

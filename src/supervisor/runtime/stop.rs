//! Stopping a team's children (the run ends, a signal, the interactive session closes).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use codex_teams_store::{AgentState, TeamStatus};

use super::super::process::{self, Pgid};
use super::super::worker;
use super::Supervisor;
use crate::policy::roles::LEAD;

/// How long stopping a team waits for the proxy to read the usage of responses still being
/// served (a little past the proxy's own drain limit).
const SETTLE_LIMIT: Duration = Duration::from_secs(35);

impl Supervisor {
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
        // A response the provider was still serving when its turn was stopped is read to its
        // usage by the proxy; the team's count is final only after that.
        if let Some(meter) = self.meter.get() {
            let left = meter.settle_team(team_id, SETTLE_LIMIT).await;
            if left > 0 {
                tracing::warn!(target: "codex_teams::supervisor", event = "meter.unsettled", team_id = %team_id, open = left);
            }
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

    /// Every team this process supervises and has not finalized: workers stopped (those
    /// mid-turn stay `running` in the store so `resume` restarts them), the team marked
    /// `stopped` with the reason in its event log, the lead `idle` (it is the user's own
    /// codex: `resume` gives the team a headless lead).
    pub(super) async fn end_session(&self, why: &'static str) {
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
        self.shutdown().await;
    }
}

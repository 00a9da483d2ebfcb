//! When a turn ends: the store learns the agent's state, mail that arrived meanwhile resumes
//! it, and a worker that failed gives its claims back and may get a replacement.

use std::sync::Arc;
use std::time::Instant;

use codex_teams_mcp::{SpawnRequest, TeamHub};
use codex_teams_store::{AgentState, NewAgent, Recipient};

use super::super::prompts;
use super::super::worker::TurnOutcome;
use super::Supervisor;
use super::control::BoardRead;
use super::state::TurnKind;
use crate::policy::plan::{self, Phase, Replacement};

/// What a replacement inherits from the worker it replaces.
struct Dead {
    name: String,
    role: String,
    brief: String,
    lead_model: Option<String>,
}

impl Supervisor {
    /// Sends the lead a supervisor note about `about` (sent in that agent's name, the way
    /// every supervisor note is, so it needs no sender of its own). With `wake`, the lead is
    /// woken for it: it has something to decide. Without, the note waits in its inbox for
    /// its next turn (a turn costs the lead a model request over its whole context): the
    /// lead's count of mail already weighed is raised first, so the plan does not resume it
    /// for this note alone.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn tell_lead(
        &self,
        hub: &Arc<TeamHub>,
        team_id: &str,
        lead: &str,
        about: &str,
        body: String,
        kind: &str,
        wake: bool,
    ) {
        if !wake && let Some(l) = self.lock().agents.get_mut(lead) {
            l.pending_seen += 1;
            l.notes += 1;
        }
        let (t, a, l) = (team_id.to_string(), about.to_string(), lead.to_string());
        let key = format!("supervisor-{kind}-{about}-{}", now_ms());
        let sent = hub
            .with_store(move |s| s.send(&t, &a, Recipient::Agent(l), &body, &key))
            .await;
        match sent {
            Ok(_) if wake => hub.message_arrived(team_id, lead),
            Ok(_) => {
                tracing::info!(target: "codex_teams::supervisor", event = "lead.noted", team_id = %team_id, agent_id = %about, kind = %kind)
            }
            Err(e) => {
                tracing::warn!(target: "codex_teams::supervisor", event = "lead.note_failed", team_id = %team_id, agent_id = %about, error = %e)
            }
        }
    }

    pub(super) async fn finish_stopped(&self, agent_id: &str) {
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

    pub(super) async fn turn_ended(&self, agent_id: &str, out: TurnOutcome) {
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
                // Nothing for the lead to decide: a replacement or a live worker takes the
                // released work up, and work no worker can take wakes the lead by itself
                // (`plan`'s unstaffed-work rule). It reads the note on its next turn.
                self.tell_lead(&hub, &team_id, &lead, agent_id, body, "failed", false)
                    .await;
            }
        }
        if resume_again {
            self.launch(agent_id, TurnKind::Resume(prompts::messages_nudge(pending)));
        }
        self.kick();
    }

    /// A worker failed: the tasks it held go back to the board at once (waiting out its
    /// lease would stall the run), and the policy decides whether a replacement with the same
    /// role and brief is spawned ([`plan::replace_failed`]). Returns what happened, for the
    /// lead's note.
    async fn recover_from_failure(
        &self,
        hub: &Arc<TeamHub>,
        team_id: &str,
        agent_id: &str,
        why: &str,
    ) -> prompts::AfterFailure {
        let released = release_claims(hub, team_id, agent_id, why).await;
        let decision = {
            let mut st = self.lock();
            let Some(dead) = st.agents.get(agent_id).map(|d| Dead {
                name: d.name.clone(),
                role: d.role.clone(),
                brief: d.brief.clone(),
                lead_model: d.lead_model.clone(),
            }) else {
                return prompts::AfterFailure::default();
            };
            let snap = self.snapshot(&st, team_id, &BoardRead::default());
            let so_far = st.teams.get(team_id).map_or(0, |t| t.replacements);
            let decision = plan::replace_failed(&snap, agent_id, released.len(), so_far);
            if let (Replacement::Spawn { n }, Some(t)) = (&decision, st.teams.get_mut(team_id)) {
                t.replacements = *n;
            }
            (dead, decision)
        };
        let mut after = prompts::AfterFailure {
            released,
            ..Default::default()
        };
        match decision {
            (dead, Replacement::Spawn { n }) => {
                match self.replace(hub, team_id, agent_id, dead, n, why).await {
                    Ok(name) => after.replacement = Some(name),
                    Err(note) => after.note = Some(note),
                }
            }
            (_, Replacement::Refused(note)) => after.note = Some(note),
            (_, Replacement::NotNeeded) => {}
        }
        after
    }

    /// Registers and spawns replacement number `n` for the failed `agent_id`: same role,
    /// brief (with why it is there) and tool list. Returns its name, or why there is none.
    async fn replace(
        &self,
        hub: &Arc<TeamHub>,
        team_id: &str,
        agent_id: &str,
        dead: Dead,
        n: u32,
        why: &str,
    ) -> Result<String, String> {
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
        let minted = hub
            .register_agent(team_id, new)
            .await
            .map_err(|e| format!("no replacement: {e}"))?;
        let new_id = minted.agent.agent_id.clone();
        let req = SpawnRequest {
            team_id: team_id.to_string(),
            agent_id: new_id.clone(),
            role: dead.role,
            name: name.clone(),
            brief,
            token: minted.token,
            model: dead.lead_model,
        };
        if let Err(e) = self.spawn_inner(req).await {
            let t = team_id.to_string();
            let _ = hub
                .with_store(move |s| s.set_agent_state(&t, &new_id, AgentState::Failed, None, None))
                .await;
            return Err(format!("no replacement: {e}"));
        }
        tracing::info!(target: "codex_teams::supervisor", event = "agent.replaced", team_id = %team_id, agent_id = %agent_id, replacement = %new_id);
        Ok(name)
    }
}

/// Hands the tasks a failed agent held back to the board; returns their ids.
async fn release_claims(
    hub: &Arc<TeamHub>,
    team_id: &str,
    agent_id: &str,
    why: &str,
) -> Vec<String> {
    let (t, a, reason) = (team_id.to_string(), agent_id.to_string(), why.to_string());
    match hub
        .with_store(move |s| s.release_claims(&t, &a, &reason))
        .await
    {
        Ok(ids) => {
            if !ids.is_empty() {
                tracing::info!(target: "codex_teams::supervisor", event = "claims.released", team_id = %team_id, agent_id = %agent_id, tasks = ?ids);
                hub.board_changed(team_id);
            }
            ids
        }
        Err(e) => {
            tracing::error!(target: "codex_teams::supervisor", event = "claims.release_error", team_id = %team_id, agent_id = %agent_id, error = %e);
            Vec::new()
        }
    }
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

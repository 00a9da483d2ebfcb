//! Performs the plan's actions: first the bookkeeping in memory (one short lock), then the
//! effects (turns started, process groups signalled), then the store (agent states and one
//! event per action that changes something), then notes to the lead.

use std::sync::Arc;
use std::time::Instant;

use codex_teams_mcp::Runtime;
use codex_teams_mcp::TeamHub;
use codex_teams_store::{AgentState, Store, StoreError, StoreResult, TeamStatus};
use serde_json::json;

use super::super::process::{self, Pgid};
use super::super::prompts;
use super::Supervisor;
use super::state::{State, TurnKind};
use crate::policy::plan::{Action, Nudge, Phase, RetireWhy, StopWhy};

/// The prompt a resumed agent gets for a nudge.
fn nudge_text(nudge: &Nudge) -> String {
    match nudge {
        Nudge::Messages(n) => prompts::messages_nudge(*n),
        Nudge::Tasks(n) => prompts::tasks_nudge(*n),
        Nudge::BoardDone { done, failed } => prompts::board_done_nudge(*done, *failed),
        Nudge::Unstaffed(ids) => prompts::unstaffed_nudge(ids),
    }
}

impl StopWhy {
    fn text(&self) -> String {
        match self {
            StopWhy::Drained => "the team finalized and the drain period is over".into(),
            StopWhy::TurnOverLimit(why) | StopWhy::BudgetSpent(why) => why.clone(),
        }
    }
}

/// Notes an action in this process's memory; returns the process group to signal for a stop.
fn note(st: &mut State, team_id: &str, action: &Action) -> Option<Pgid> {
    if let Action::MarkFinalized
    | Action::TaskNudged { .. }
    | Action::MarkQuiet
    | Action::MarkActive
    | Action::FinalizeCleanBoard { .. }
    | Action::Resume {
        nudge: Nudge::BoardDone { .. },
        ..
    } = action
    {
        let t = st.teams.get_mut(team_id)?;
        match action {
            Action::MarkFinalized => drop(t.finalized_at.get_or_insert_with(Instant::now)),
            Action::TaskNudged {
                task_id,
                version,
                lead,
            } => {
                let told = if *lead {
                    &mut t.lead_told
                } else {
                    &mut t.nudged_tasks
                };
                told.insert((task_id.clone(), *version));
            }
            Action::MarkQuiet => drop(t.quiet_since.get_or_insert_with(Instant::now)),
            Action::MarkActive => t.quiet_since = None,
            _ => t.board_done_nudged = true,
        }
        return None;
    }
    let a = match action {
        Action::StartFirst { agent_id }
        | Action::RefuseSpawn { agent_id, .. }
        | Action::Wake { agent_id, .. }
        | Action::Resume { agent_id, .. }
        | Action::HoldResume { agent_id, .. }
        | Action::Settle { agent_id, .. }
        | Action::Retire { agent_id, .. }
        | Action::StopTurn { agent_id, .. } => st.agents.get_mut(agent_id)?,
        _ => return None,
    };
    match action {
        Action::RefuseSpawn { .. } => a.phase = Phase::Failed,
        Action::Wake { .. } => {
            a.phase = Phase::Idle;
            a.retired_idle = false;
            a.pending_seen = 0;
        }
        Action::Resume {
            nudge: Nudge::Messages(_),
            ..
        } => a.pending_seen = 0,
        Action::HoldResume { pending, .. } => a.pending_seen = *pending,
        Action::Settle { pending_seen, .. } => {
            a.wake = false;
            a.pending_seen = *pending_seen;
        }
        Action::Retire { why, .. } => {
            a.phase = Phase::Stopped;
            if let RetireWhy::Idle { resumable, .. } = why {
                a.retired_idle = *resumable;
            }
        }
        Action::StopTurn { .. } => {
            a.stop_requested = true;
            return a.pgid;
        }
        _ => {}
    }
    None
}

/// The store's record of an action: the agent's new state and an event, when it changes
/// something a reader of the log should see.
fn record(s: &Store, team_id: &str, action: &Action) -> StoreResult<()> {
    let (agent, kind, payload) = match action {
        Action::StartFirst { agent_id } => (agent_id, "agent.admitted", json!({})),
        Action::RefuseSpawn { agent_id, why, .. } => {
            s.set_agent_state(team_id, agent_id, AgentState::Failed, None, None)?;
            (agent_id, "spawn.refused", json!({ "reason": why }))
        }
        Action::Wake { agent_id, unread } => {
            let ids: Vec<String> = s
                .peek_pending_ids(team_id, agent_id, 20)
                .unwrap_or_default();
            let p = json!({"reason": "mail", "unread": unread, "message_ids": ids});
            (agent_id, "agent.woken", p)
        }
        Action::Resume { agent_id, nudge } => {
            let p = match nudge {
                Nudge::Messages(n) => json!({"reason": "mail", "unread": n}),
                Nudge::Tasks(n) => json!({"reason": "ready_tasks", "tasks": n}),
                Nudge::BoardDone { done, failed } => {
                    json!({"reason": "board_done", "done": done, "failed": failed})
                }
                Nudge::Unstaffed(ids) => json!({"reason": "unstaffed", "tasks": ids}),
            };
            (agent_id, "agent.resumed", p)
        }
        Action::HoldResume { agent_id, why, .. } => {
            (agent_id, "resume.held", json!({ "reason": why }))
        }
        Action::Retire { agent_id, why } => {
            s.set_agent_state(team_id, agent_id, AgentState::Stopped, None, None)?;
            let p = match why {
                RetireWhy::TeamEnded => json!({"reason": "team_ended"}),
                RetireWhy::Idle { idle_secs, .. } => {
                    json!({"reason": "idle", "idle_secs": idle_secs})
                }
            };
            (agent_id, "agent.retired", p)
        }
        Action::StopTurn { agent_id, why } => {
            (agent_id, "agent.stopping", json!({ "reason": why.text() }))
        }
        _ => return Ok(()),
    };
    s.append_event(team_id, Some(agent), kind, &payload)?;
    Ok(())
}

/// Whether [`record`] writes anything for this action.
fn recorded(action: &Action) -> bool {
    !matches!(
        action,
        Action::MarkFinalized
            | Action::Settle { .. }
            | Action::TaskNudged { .. }
            | Action::MarkQuiet
            | Action::MarkActive
            | Action::FinalizeCleanBoard { .. }
    )
}

impl Supervisor {
    /// Performs a pass's actions for one team (see the module docs for the order).
    pub(super) async fn apply(
        &self,
        hub: &Arc<TeamHub>,
        team_id: &str,
        actions: Vec<Action>,
    ) -> anyhow::Result<()> {
        let stops: Vec<Option<Pgid>> = {
            let mut st = self.lock();
            actions.iter().map(|a| note(&mut st, team_id, a)).collect()
        };
        for (action, pgid) in actions.iter().zip(stops) {
            self.perform(team_id, action, pgid);
        }
        let to_record: Vec<Action> = actions.iter().filter(|a| recorded(a)).cloned().collect();
        if !to_record.is_empty() {
            let t = team_id.to_string();
            hub.with_store(move |s| {
                for a in &to_record {
                    record(s, &t, a)?;
                }
                Ok(())
            })
            .await?;
        }
        for action in &actions {
            match action {
                Action::RefuseSpawn {
                    agent_id,
                    name,
                    why,
                    budget,
                } => {
                    self.spawn_refused(hub, team_id, agent_id, name, why, *budget)
                        .await
                }
                Action::FinalizeCleanBoard { done } => {
                    self.finalize_clean_board(hub, team_id, *done).await?
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// A spawn the lead was told is waiting has now been refused (the event is already
    /// logged). A task claimed for it at spawn goes back to the board for the others. For
    /// want of budget the lead must hear it (it decides what to drop); refused by the
    /// fan-out, the workers already there suffice (a role no other worker has is never
    /// refused), so mailing it would only wake the lead for two full requests.
    async fn spawn_refused(
        &self,
        hub: &Arc<TeamHub>,
        team_id: &str,
        agent_id: &str,
        name: &str,
        why: &str,
        budget: bool,
    ) {
        let (t, a) = (team_id.to_string(), agent_id.to_string());
        match hub
            .with_store(move |s| s.release_claims(&t, &a, "its waiting spawn was refused"))
            .await
        {
            Ok(released) if !released.is_empty() => hub.board_changed(team_id),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(target: "codex_teams::supervisor", event = "release.failed", team_id = %team_id, agent_id = %agent_id, error = %e)
            }
        }
        let lead_id = self
            .lock()
            .teams
            .get(team_id)
            .and_then(|t| t.lead_id.clone());
        if let Some(lead) = lead_id.filter(|_| budget) {
            let body = spawn_refused_message(name, agent_id, why);
            self.tell_lead(hub, team_id, &lead, agent_id, body, "refused", true)
                .await;
        }
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
                        let p = json!({"outcome": "done", "summary": summary, "by": "supervisor"});
                        s.append_event(&t, lead.as_deref(), "team.finalized", &p)?;
                        Ok(true)
                    }
                    Err(StoreError::Conflict(_)) => Ok(false),
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

    /// The effect of one action on processes, and its log line.
    fn perform(&self, team_id: &str, action: &Action, pgid: Option<Pgid>) {
        match action {
            Action::StartFirst { agent_id } => self.launch_first(agent_id),
            Action::Resume { agent_id, nudge } => {
                self.launch(agent_id, TurnKind::Resume(nudge_text(nudge)))
            }
            Action::StopTurn { agent_id, why } => {
                if let Some(pgid) = pgid {
                    let grace = self.opts.grace;
                    self.spawn_owned(async move {
                        let _ = process::terminate(pgid, grace).await;
                    });
                }
                tracing::info!(target: "codex_teams::supervisor", event = "agent.stopping", team_id = %team_id, agent_id = %agent_id, reason = %why.text());
            }
            Action::RefuseSpawn { agent_id, why, .. } => {
                tracing::info!(target: "codex_teams::supervisor", event = "spawn.refused", team_id = %team_id, agent_id = %agent_id, reason = %why);
            }
            Action::HoldResume { agent_id, why, .. } => {
                tracing::info!(target: "codex_teams::supervisor", event = "resume.refused", team_id = %team_id, agent_id = %agent_id, reason = %why);
            }
            Action::Wake { agent_id, unread } => {
                tracing::info!(target: "codex_teams::supervisor", event = "agent.woken", team_id = %team_id, agent_id = %agent_id, unread = unread);
            }
            Action::Retire {
                agent_id,
                why: RetireWhy::Idle { idle_secs, .. },
            } => {
                tracing::info!(target: "codex_teams::supervisor", event = "agent.retired", team_id = %team_id, agent_id = %agent_id, idle_secs = idle_secs);
            }
            _ => {}
        }
    }
}

/// The lead's note when a waiting spawn is refused after all (compact: one line).
pub(super) fn spawn_refused_message(name: &str, agent_id: &str, why: &str) -> String {
    format!(
        "[codex-teams] worker {name} ({agent_id}) will not start: its waiting spawn was refused: {why}."
    )
}

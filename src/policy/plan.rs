//! The control loop's decisions as one pure function (the sans-I/O core of the supervisor):
//! [`plan`] takes a [`Snapshot`] of one team (what this process knows of its agents, plus the
//! store's board, mail counts and spend) and returns the [`Action`]s to take now. The
//! supervisor's `apply` layer performs them and records them; nothing here reads a clock, a
//! file or a process, so every rule is pinned by the table in `plan/tests.rs`.
//!
//! A pass decides in a fixed order, each step seeing the effect of the ones before it (an
//! admitted spawn counts as running for the next queued one, a worker resumed for its mail is
//! not nudged again for a task): queued spawns, mail, ready work nobody is on, idle shutdown,
//! the board being done, turns to stop, and whether the team is quiet.

mod action;
mod snapshot;

use std::collections::HashSet;
use std::time::Duration;

use codex_teams_store::TaskStatus;

pub use self::action::{Action, Nudge, RetireWhy, StopWhy};
pub use self::snapshot::{AgentView, Phase, Snapshot, TaskView};
use super::budget::{self, TurnKind, Verdict};
use super::fanout::{self, Admission, Decision, FanoutInput};
use super::guard;
use super::roles::LEAD;
use super::spend::Limit;

/// The actions for one team now. Pure: the same snapshot gives the same actions.
pub fn plan(s: &Snapshot<'_>) -> Vec<Action> {
    if s.stopping {
        return Vec::new();
    }
    let mut p = Planner {
        s,
        agents: s.agents.clone(),
        out: Vec::new(),
    };
    let finalized_for = match s.finalized_for {
        Some(d) => Some(d),
        None if s.store_finalized => {
            p.out.push(Action::MarkFinalized);
            Some(Duration::ZERO)
        }
        None => None,
    };
    if let Some(since) = finalized_for {
        p.wind_down(since >= s.drain);
    } else {
        p.admit_queued();
        p.resume_for_mail();
        p.nudge_ready_work();
        p.retire_idle();
        p.nudge_lead_when_board_done();
        p.stop_costly_turns();
    }
    p.mark_quiet();
    p.out
}

/// Most replacement workers one team gets: a worker that keeps failing (an unreachable
/// model, a broken task) must not respawn forever.
pub const MAX_REPLACEMENTS: u32 = 3;

/// What to do about a worker that failed after its claims went back to the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replacement {
    /// Nothing to say: no claims were released, another worker of its role is there to take
    /// them, or the team is ending.
    NotNeeded,
    /// One is needed but the team already had its share; the lead hears this.
    Refused(String),
    /// Spawn replacement number `n` (same role and brief).
    Spawn { n: u32 },
}

/// Whether the failed worker `dead` (its `released` claims back on the board, the team
/// having had `replacements` so far) gets a replacement: only when nobody else of its role
/// is there to take them, the team still runs, and it had fewer than [`MAX_REPLACEMENTS`].
pub fn replace_failed(
    s: &Snapshot<'_>,
    dead: &str,
    released: usize,
    replacements: u32,
) -> Replacement {
    let Some(d) = s.agents.iter().find(|a| a.agent_id == dead) else {
        return Replacement::NotNeeded;
    };
    let covered = s.agents.iter().any(|o| {
        o.agent_id != dead && o.role == d.role && !matches!(o.phase, Phase::Failed | Phase::Stopped)
    });
    let ending = s.stopping || s.finalized_for.is_some() || s.store_finalized;
    if released == 0 || covered || ending {
        return Replacement::NotNeeded;
    }
    if replacements >= MAX_REPLACEMENTS {
        return Replacement::Refused(format!(
            "no replacement: the team already had {MAX_REPLACEMENTS}"
        ));
    }
    Replacement::Spawn {
        n: replacements + 1,
    }
}

/// What a queued spawn's admission check saw: the decision is logged with the answer.
#[derive(Debug, Clone)]
pub struct SpawnCheck {
    pub admission: Admission,
    /// `None` when the budget refused before the fan-out was asked.
    pub decision: Option<Decision>,
    pub running: usize,
}

/// Whether a spawn the lead just asked for (`agent_id`, already in the snapshot as queued)
/// may start now, wait, or is refused: the budget first, then the fan-out policy, which here
/// counts idle workers (reuse them before spawning new ones).
pub fn admit_new_spawn(s: &Snapshot<'_>, agent_id: &str) -> SpawnCheck {
    let input = fanout_input(&s.agents, Some(agent_id), s);
    let refuse = |why: String| SpawnCheck {
        admission: Admission::Refuse(why),
        decision: None,
        running: input.running,
    };
    if let Some(limit) = s.spend_limit {
        return refuse(format!("spawn refused: {limit}"));
    }
    // Workers already running will spend too: their turns are reserved at the estimate, so
    // the controller never starts more than the budget pays for.
    let committed = s.spent + input.running as u64 * s.profile.budget.worker_turn_estimate;
    if let Verdict::Refuse(why) = budget::admit_turn(s.profile, committed, TurnKind::Spawn, None) {
        return refuse(why);
    }
    let decision = fanout::decide(s.profile, &input);
    SpawnCheck {
        admission: admit_spawn(&s.agents, s, agent_id, &decision, input.running),
        decision: Some(decision),
        running: input.running,
    }
}

/// The turns to stop when the metering proxy reports `limit` for `agent_id`'s request: that
/// turn alone for the per-turn cap, every worker's for the workers' share, every turn (the
/// lead's too) for the whole budget.
pub fn stops_for_limit(s: &Snapshot<'_>, agent_id: &str, limit: Limit) -> Vec<Action> {
    s.agents
        .iter()
        .filter(|a| a.phase.busy())
        .filter(|a| match limit {
            Limit::TurnCap { .. } => a.agent_id == agent_id,
            Limit::WorkersShare { .. } => !a.is_lead,
            Limit::RunBudget { .. } => true,
        })
        .map(|a| Action::StopTurn {
            agent_id: a.agent_id.clone(),
            why: match limit {
                Limit::TurnCap { .. } => StopWhy::TurnOverLimit(limit.to_string()),
                _ => StopWhy::BudgetSpent(limit.to_string()),
            },
        })
        .collect()
}

/// The fan-out's admission of one spawn, except that a spawn whose role is the only one
/// able to take an unfinished task is let in (under the cap): refusing it would leave that
/// task to nobody.
fn admit_spawn(
    agents: &[AgentView],
    s: &Snapshot<'_>,
    agent_id: &str,
    decision: &Decision,
    running: usize,
) -> Admission {
    let adm = fanout::admit_spawn(decision, running, 1);
    if matches!(adm, Admission::Allow) || running >= decision.cap {
        return adm;
    }
    let task_roles: Vec<Option<&str>> = s
        .tasks
        .iter()
        .filter(|t| !matches!(t.status, TaskStatus::Done | TaskStatus::Failed))
        .map(|t| t.role.as_deref())
        .collect();
    let others: Vec<&str> = agents
        .iter()
        .filter(|a| a.agent_id != agent_id && !a.is_lead && a.phase != Phase::Stopped)
        .map(|a| a.role.as_str())
        .collect();
    let role = agents
        .iter()
        .find(|a| a.agent_id == agent_id)
        .map_or("", |a| a.role.as_str());
    if fanout::sole_worker_for_a_task(role, &task_roles, &others) {
        return Admission::Allow;
    }
    adm
}

/// The fan-out policy's input from the team's agents and board, leaving out `exclude` (the
/// spawn being decided on).
fn fanout_input(agents: &[AgentView], exclude: Option<&str>, s: &Snapshot<'_>) -> FanoutInput {
    let ready_ids: HashSet<&str> = s.ready.iter().map(|t| t.task_id.as_str()).collect();
    let mut input = FanoutInput {
        tokens_spent: s.spent,
        ready: s.ready.iter().map(|t| t.size).collect(),
        ..FanoutInput::default()
    };
    for t in s
        .tasks
        .iter()
        .filter(|t| !ready_ids.contains(t.task_id.as_str()))
    {
        match t.status {
            TaskStatus::Claimed => input.in_progress.push(t.size),
            TaskStatus::Open => input.blocked += 1,
            _ => {}
        }
    }
    for a in agents
        .iter()
        .filter(|a| !a.is_lead && Some(a.agent_id.as_str()) != exclude)
    {
        if a.phase.busy() {
            input.running += 1;
        } else if a.phase == Phase::Idle {
            input.idle += 1;
        }
    }
    input
}

/// The planner's working copy: each step sees the phases the earlier steps set.
struct Planner<'s, 'p> {
    s: &'s Snapshot<'p>,
    agents: Vec<AgentView>,
    out: Vec<Action>,
}

impl Planner<'_, '_> {
    fn workers(&self) -> impl Iterator<Item = &AgentView> {
        self.agents.iter().filter(|a| !a.is_lead)
    }

    fn set_phase(&mut self, i: usize, phase: Phase) {
        self.agents[i].phase = phase;
    }

    fn resume_refused(&self) -> Option<String> {
        match budget::admit_turn(self.s.profile, self.s.spent, TurnKind::Resume, None) {
            Verdict::Allow => None,
            Verdict::Refuse(why) => Some(why),
        }
    }

    /// The team is finalized: queued and idle workers retire; running ones finish their
    /// turn until the drain period is over, then they are stopped.
    fn wind_down(&mut self, drained: bool) {
        for i in 0..self.agents.len() {
            let a = &self.agents[i];
            if a.is_lead {
                continue;
            }
            let id = a.agent_id.clone();
            match a.phase {
                Phase::Queued | Phase::Idle => {
                    self.set_phase(i, Phase::Stopped);
                    self.out.push(Action::Retire {
                        agent_id: id,
                        why: RetireWhy::TeamEnded,
                    });
                }
                Phase::Starting | Phase::Running if drained && !a.stop_requested => {
                    self.agents[i].stop_requested = true;
                    self.out.push(Action::StopTurn {
                        agent_id: id,
                        why: StopWhy::Drained,
                    });
                }
                _ => {}
            }
        }
    }

    /// Queued spawns, oldest first, against the fan-out policy as it stands after the ones
    /// before them were admitted. An accepted spawn is only ever delayed, not turned into a
    /// resume, so idle workers do not count here.
    fn admit_queued(&mut self) {
        let mut queued: Vec<(u64, usize)> = (0..self.agents.len())
            .filter(|&i| !self.agents[i].is_lead && self.agents[i].phase == Phase::Queued)
            .map(|i| (self.agents[i].seq, i))
            .collect();
        queued.sort();
        for (_, i) in queued {
            let id = self.agents[i].agent_id.clone();
            let mut input = fanout_input(&self.agents, Some(&id), self.s);
            input.idle = 0;
            let decision = fanout::decide(self.s.profile, &input);
            match admit_spawn(&self.agents, self.s, &id, &decision, input.running) {
                Admission::Allow => {
                    self.set_phase(i, Phase::Starting);
                    self.out.push(Action::StartFirst { agent_id: id });
                }
                Admission::Wait(_) => {}
                Admission::Refuse(mut why) => {
                    // With no worker wanted the fan-out reason may not say that the budget
                    // is what refused it; the lead should hear the real cause.
                    if decision.budget_exhausted && !why.contains("budget") {
                        let r = budget::exhausted_reason(
                            self.s.profile,
                            self.s.spent,
                            input.worker_turn_estimate,
                        );
                        why = format!("{why}; {r}");
                    }
                    self.set_phase(i, Phase::Failed);
                    let name = self.agents[i].name.clone();
                    let budget =
                        decision.budget_exhausted || decision.limited_by == fanout::Limit::Budget;
                    self.out.push(Action::RefuseSpawn {
                        agent_id: id,
                        name,
                        why,
                        budget,
                    });
                }
            }
        }
    }

    /// Idle agents with new mail are resumed (workers only while the budget pays for a
    /// turn); a worker retired by idle shutdown is woken by mail first.
    fn resume_for_mail(&mut self) {
        for i in 0..self.agents.len() {
            let a = &self.agents[i];
            let (id, p) = (a.agent_id.clone(), a.pending);
            if a.phase == Phase::Stopped && a.retired_idle && p > 0 {
                let a = &mut self.agents[i];
                a.phase = Phase::Idle;
                a.retired_idle = false;
                a.pending_seen = 0;
                self.out.push(Action::Wake {
                    agent_id: id.clone(),
                    unread: p,
                });
            }
            let a = &self.agents[i];
            if a.phase != Phase::Idle || (a.is_lead && self.s.lead_external) {
                continue;
            }
            let (seen, wake, is_lead) = (a.pending_seen, a.wake, a.is_lead);
            if p > seen || (wake && p > 0) {
                if !is_lead && let Some(why) = self.resume_refused() {
                    self.agents[i].pending_seen = p;
                    self.out.push(Action::HoldResume {
                        agent_id: id,
                        pending: p,
                        why,
                    });
                    continue;
                }
                self.set_phase(i, Phase::Starting);
                self.agents[i].pending_seen = 0;
                self.out.push(Action::Resume {
                    agent_id: id,
                    nudge: Nudge::Messages(p),
                });
            } else if wake || seen > p {
                self.agents[i].wake = false;
                self.agents[i].pending_seen = seen.min(p);
                self.out.push(Action::Settle {
                    agent_id: id,
                    pending_seen: seen.min(p),
                });
            }
        }
    }

    /// Ready work nobody able to take it is on: the idle worker of a fitting role that has
    /// waited longest is resumed, once per task version. Ready work no worker of the team
    /// could take (none fits, or none is left) goes to our idle lead, once per version.
    fn nudge_ready_work(&mut self) {
        let mut unstaffed = Vec::new();
        for task in &self.s.ready {
            let key = (task.task_id.clone(), task.version);
            let fits = |a: &AgentView| task.role.as_deref().is_none_or(|r| r == a.role);
            let busy_fit = self.workers().any(|a| {
                a.phase.owed() && fits(a) && task.claimed_by.as_deref() != Some(&a.agent_id)
            });
            if busy_fit {
                // Someone able to take it is working; it may well take it.
                continue;
            }
            let idle = (0..self.agents.len())
                .filter(|&i| {
                    let a = &self.agents[i];
                    !a.is_lead && a.phase == Phase::Idle && fits(a)
                })
                .max_by_key(|&i| (self.agents[i].idle_for, std::cmp::Reverse(i)));
            let Some(i) = idle else {
                if task.role.as_deref() != Some(LEAD) && !self.s.lead_told.contains(&key) {
                    unstaffed.push(task);
                }
                continue;
            };
            if self.s.nudged.contains(&key) || self.resume_refused().is_some() {
                continue;
            }
            self.set_phase(i, Phase::Starting);
            self.out.push(Action::Resume {
                agent_id: self.agents[i].agent_id.clone(),
                nudge: Nudge::Tasks(1),
            });
            self.out.push(Action::TaskNudged {
                task_id: task.task_id.clone(),
                version: task.version,
                lead: false,
            });
        }
        self.nudge_lead_to_staff(unstaffed);
    }

    /// The lead (ours, idle) hears of ready tasks no worker can take.
    fn nudge_lead_to_staff(&mut self, tasks: Vec<&TaskView>) {
        let s = self.s;
        let lead = s
            .lead_id
            .as_deref()
            .and_then(|l| self.agents.iter().position(|a| a.agent_id == l));
        let Some(i) = lead else { return };
        if tasks.is_empty()
            || s.lead_external
            || self.agents[i].phase != Phase::Idle
            || self.resume_refused().is_some()
        {
            return;
        }
        self.set_phase(i, Phase::Starting);
        self.out.push(Action::Resume {
            agent_id: self.agents[i].agent_id.clone(),
            nudge: Nudge::Unstaffed(tasks.iter().map(|t| t.task_id.clone()).collect()),
        });
        for t in tasks {
            self.out.push(Action::TaskNudged {
                task_id: t.task_id.clone(),
                version: t.version,
                lead: true,
            });
        }
    }

    /// Idle shutdown: a worker idle past the profile's limit with no mail retires.
    fn retire_idle(&mut self) {
        for i in 0..self.agents.len() {
            let a = &self.agents[i];
            let idle_secs = a.idle_for.as_secs();
            if a.phase == Phase::Idle
                && !a.is_lead
                && a.pending == 0
                && guard::should_retire(self.s.profile, idle_secs)
            {
                let resumable = a.has_thread;
                let agent_id = a.agent_id.clone();
                self.set_phase(i, Phase::Stopped);
                self.agents[i].retired_idle = resumable;
                self.out.push(Action::Retire {
                    agent_id,
                    why: RetireWhy::Idle {
                        idle_secs,
                        resumable,
                    },
                });
            }
        }
    }

    /// The board is done and no worker is busy: the idle lead (ours, not the user's) is
    /// asked once to merge and finalize, or, every task done and the lead without mail
    /// (profile `early_stop.finalize_clean_board`), the supervisor finalizes without it.
    fn nudge_lead_when_board_done(&mut self) {
        let s = self.s;
        let done = s
            .tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Done)
            .count();
        let failed = s
            .tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Failed)
            .count();
        let board_done = !s.tasks.is_empty() && done + failed == s.tasks.len();
        let workers_busy = self.workers().any(|a| a.phase.owed());
        let lead = s
            .lead_id
            .as_deref()
            .and_then(|l| self.agents.iter().position(|a| a.agent_id == l));
        let lead_has_nothing = lead.is_some_and(|i| {
            let l = &self.agents[i];
            l.pending <= l.notes && l.phase == Phase::Idle
        });
        if s.profile.early_stop.finalize_clean_board
            && board_done
            && failed == 0
            && !workers_busy
            && lead_has_nothing
            && !s.lead_external
            && !s.board_done_nudged
        {
            self.out.push(Action::FinalizeCleanBoard { done });
            return;
        }
        if !s.profile.early_stop.board_done
            || !board_done
            || workers_busy
            || s.board_done_nudged
            || s.lead_external
        {
            return;
        }
        if let Some(i) = lead
            && self.agents[i].phase == Phase::Idle
        {
            self.set_phase(i, Phase::Starting);
            self.out.push(Action::Resume {
                agent_id: self.agents[i].agent_id.clone(),
                nudge: Nudge::BoardDone { done, failed },
            });
        }
    }

    /// Running worker turns the budget no longer pays for: one over the per-turn limit, or
    /// any once the team's budget is spent (when the profile stops on a spent budget).
    fn stop_costly_turns(&mut self) {
        let s = self.s;
        let total = s.profile.budget.total_tokens;
        let spent_out = s.profile.early_stop.budget_spent && s.spent >= total;
        for a in self.agents.iter_mut() {
            if a.is_lead || a.phase != Phase::Running || a.stop_requested {
                continue;
            }
            let why = if let Some(why) = a
                .turn_tokens
                .and_then(|t| budget::turn_over_limit(s.profile, t))
            {
                StopWhy::TurnOverLimit(why)
            } else if spent_out {
                StopWhy::BudgetSpent(format!("token budget spent: {} of {total} tokens", s.spent))
            } else {
                continue;
            };
            a.stop_requested = true;
            self.out.push(Action::StopTurn {
                agent_id: a.agent_id.clone(),
                why,
            });
        }
    }

    /// Quiet when nothing was started or stopped this pass and nothing runs or is owed.
    fn mark_quiet(&mut self) {
        let activity = self.out.iter().any(|a| {
            matches!(
                a,
                Action::StartFirst { .. } | Action::Resume { .. } | Action::StopTurn { .. }
            )
        });
        let busy = activity || self.agents.iter().any(|a| a.phase.owed());
        match (busy, self.s.quiet) {
            (true, true) => self.out.push(Action::MarkActive),
            (false, false) => self.out.push(Action::MarkQuiet),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;

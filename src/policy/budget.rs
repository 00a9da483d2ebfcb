//! The budget controller (SPEC §6 guardrails) as pure functions: whether the tokens left can
//! pay for another worker turn, and whether the run should stop early. The supervisor feeds in
//! what it counted; nothing here keeps state, so a restarted supervisor decides the same way.

use std::fmt;

use super::profile::Profile;

/// Tokens workers may still spend: the total minus what is spent and the lead's reserve.
pub fn worker_allowance(profile: &Profile, spent: u64) -> u64 {
    let b = &profile.budget;
    b.total_tokens
        .saturating_sub(b.lead_reserve_tokens)
        .saturating_sub(spent)
}

/// How many more worker turns the budget pays for, at `estimate` tokens each (default: the
/// profile's `worker_turn_estimate`; the supervisor may pass a measured average instead).
pub fn affordable_turns(profile: &Profile, spent: u64, estimate: Option<u64>) -> usize {
    let est = estimate
        .unwrap_or(profile.budget.worker_turn_estimate)
        .max(1);
    usize::try_from(worker_allowance(profile, spent) / est).unwrap_or(usize::MAX)
}

/// What a new worker turn is for, so a refusal says what was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnKind {
    Spawn,
    Resume,
}

/// The controller's answer to a spawn or resume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Refuse(String),
}

/// Whether one more worker turn (a new worker or a resumed one) fits the budget.
pub fn admit_turn(profile: &Profile, spent: u64, kind: TurnKind, estimate: Option<u64>) -> Verdict {
    if affordable_turns(profile, spent, estimate) >= 1 {
        return Verdict::Allow;
    }
    let what = match kind {
        TurnKind::Spawn => "spawn",
        TurnKind::Resume => "resume",
    };
    Verdict::Refuse(format!(
        "{what} refused: {}",
        exhausted_reason(profile, spent, estimate)
    ))
}

/// The sentence explaining an exhausted budget, shared by every refusal.
pub fn exhausted_reason(profile: &Profile, spent: u64, estimate: Option<u64>) -> String {
    let b = &profile.budget;
    format!(
        "token budget exhausted: {spent} of {} tokens spent, {} reserved for the lead, {} left for workers, and a worker turn is estimated at {}",
        b.total_tokens,
        b.lead_reserve_tokens,
        worker_allowance(profile, spent),
        estimate.unwrap_or(b.worker_turn_estimate)
    )
}

/// Why a single worker turn must be stopped for its size, if it must.
pub fn turn_over_limit(profile: &Profile, turn_tokens: u64) -> Option<String> {
    let max = profile.budget.worker_turn_max_tokens;
    (turn_tokens > max)
        .then(|| format!("worker turn used {turn_tokens} tokens, over the per-turn limit of {max}"))
}

/// Task counts by status, as `team_status` reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Board {
    pub open: usize,
    pub ready: usize,
    pub claimed: usize,
    pub done: usize,
    pub failed: usize,
}

impl Board {
    /// Nothing left to do: at least one task, and none open, ready or claimed.
    pub fn is_done(&self) -> bool {
        self.open + self.ready + self.claimed == 0 && self.done + self.failed > 0
    }
}

/// What the supervisor knows about a run when it asks whether to stop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunState {
    pub board: Board,
    pub spent: u64,
    pub lead_finalized: bool,
    pub elapsed_secs: u64,
}

/// Why a run stops early. The supervisor stops every worker; for `BoardDone` it then asks the
/// lead to merge and finalize, for the others the run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    LeadFinalized,
    BudgetSpent { spent: u64, total: u64 },
    RunTimeout { elapsed_secs: u64, limit_secs: u64 },
    BoardDone { done: usize, failed: usize },
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::LeadFinalized => write!(f, "the lead finalized the team"),
            StopReason::BudgetSpent { spent, total } => {
                write!(f, "token budget spent: {spent} of {total} tokens")
            }
            StopReason::RunTimeout {
                elapsed_secs,
                limit_secs,
            } => write!(
                f,
                "run timed out after {elapsed_secs} s (limit {limit_secs} s)"
            ),
            StopReason::BoardDone { done, failed } => {
                write!(
                    f,
                    "the task board is done: {done} done, {failed} failed, nothing open"
                )
            }
        }
    }
}

/// Whether to stop now, and why; the rules are checked in the order of `StopReason`. The run
/// timeout always applies; the other rules follow the profile's `early_stop` switches.
pub fn early_stop(profile: &Profile, state: &RunState) -> Option<StopReason> {
    let rules = &profile.early_stop;
    if rules.lead_finalized && state.lead_finalized {
        return Some(StopReason::LeadFinalized);
    }
    if rules.budget_spent && state.spent >= profile.budget.total_tokens {
        return Some(StopReason::BudgetSpent {
            spent: state.spent,
            total: profile.budget.total_tokens,
        });
    }
    if state.elapsed_secs >= profile.timeouts.run_secs {
        return Some(StopReason::RunTimeout {
            elapsed_secs: state.elapsed_secs,
            limit_secs: profile.timeouts.run_secs,
        });
    }
    if rules.board_done && state.board.is_done() {
        return Some(StopReason::BoardDone {
            done: state.board.done,
            failed: state.board.failed,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default() -> Profile {
        Profile::load("default").unwrap()
    }

    #[test]
    fn spawns_and_resumes_stop_at_the_budget() {
        // default: total 2_000_000, reserve 150_000, estimate 60_000 -> 1_850_000 for workers.
        let p = default();
        let cases: &[(u64, Option<u64>, usize)] = &[
            (0, None, 30),
            (1_790_000, None, 1),
            (1_790_001, None, 0),
            (1_850_000, None, 0),
            (5_000_000, None, 0),
            (1_000_000, Some(200_000), 4),
            (1_000_000, Some(0), 850_000), // an estimate of 0 counts as 1 token
        ];
        for (spent, est, turns) in cases {
            assert_eq!(
                affordable_turns(&p, *spent, *est),
                *turns,
                "spent {spent} est {est:?}"
            );
            let v = admit_turn(&p, *spent, TurnKind::Resume, *est);
            assert_eq!(v == Verdict::Allow, *turns > 0, "spent {spent}: {v:?}");
        }
        match admit_turn(&p, 1_800_000, TurnKind::Spawn, None) {
            Verdict::Refuse(r) => {
                assert!(
                    r.starts_with("spawn refused: token budget exhausted"),
                    "{r}"
                );
                assert!(
                    r.contains("1800000 of 2000000") && r.contains("50000 left"),
                    "{r}"
                );
            }
            Verdict::Allow => panic!("allowed past the budget"),
        }
    }

    #[test]
    fn per_turn_limit() {
        let p = default();
        assert_eq!(turn_over_limit(&p, 400_000), None);
        let r = turn_over_limit(&p, 400_001).unwrap();
        assert!(r.contains("400001") && r.contains("400000"), "{r}");
    }

    #[test]
    fn early_stop_rules() {
        let p = default();
        let board = |open, ready, claimed, done, failed| Board {
            open,
            ready,
            claimed,
            done,
            failed,
        };
        let st = |board, spent, lead_finalized, elapsed_secs| RunState {
            board,
            spent,
            lead_finalized,
            elapsed_secs,
        };
        let cases: &[(RunState, Option<StopReason>)] = &[
            (st(board(0, 0, 0, 0, 0), 0, false, 0), None), // nothing created yet
            (st(board(1, 2, 1, 3, 0), 10, false, 5), None),
            (st(board(0, 0, 1, 3, 0), 10, false, 5), None), // one still claimed
            (
                st(board(0, 0, 0, 3, 1), 10, false, 5),
                Some(StopReason::BoardDone { done: 3, failed: 1 }),
            ),
            (
                st(board(2, 0, 0, 0, 0), 2_000_000, false, 5),
                Some(StopReason::BudgetSpent {
                    spent: 2_000_000,
                    total: 2_000_000,
                }),
            ),
            (st(board(2, 0, 0, 0, 0), 1_999_999, false, 5), None),
            (
                st(board(0, 0, 0, 3, 0), 2_500_000, true, 5),
                Some(StopReason::LeadFinalized),
            ),
            (
                st(board(1, 0, 0, 0, 0), 0, false, 3600),
                Some(StopReason::RunTimeout {
                    elapsed_secs: 3600,
                    limit_secs: 3600,
                }),
            ),
        ];
        for (state, want) in cases {
            assert_eq!(early_stop(&p, state), *want, "{state:?}");
        }
        // Switched-off rules do not fire; the run timeout always does.
        let mut off = default();
        off.early_stop.board_done = false;
        off.early_stop.budget_spent = false;
        off.early_stop.lead_finalized = false;
        assert_eq!(
            early_stop(&off, &st(board(0, 0, 0, 3, 0), 9_000_000, true, 1)),
            None
        );
        assert!(matches!(
            early_stop(&off, &st(board(0, 0, 0, 3, 0), 0, true, 4000)),
            Some(StopReason::RunTimeout { .. })
        ));
        assert_eq!(
            StopReason::BudgetSpent { spent: 5, total: 4 }.to_string(),
            "token budget spent: 5 of 4 tokens"
        );
    }
}

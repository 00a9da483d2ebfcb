//! The spend gate (SPEC §6 budget, enforced while turns run): whether one model request may go
//! out, and whether the response just served crossed a limit. The metering proxy
//! (`supervisor::meter`) asks [`admit`] before forwarding each request and [`crossed`] after
//! each response, so a worker turn or a run stops within one model response of its limit, not
//! when the turn happens to end. Pure: it sees only the numbers it is given.

use std::fmt;

use super::profile::Profile;

/// Tokens of the team as the meter sees them at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ledger {
    /// Served and recorded so far (input + output), every agent of the team.
    pub spent: u64,
    /// Estimates held for requests forwarded but not answered yet.
    pub in_flight: u64,
}

/// The turn a request belongs to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Turn {
    /// The lead draws on the whole budget (its reserve included); workers stop short of it.
    pub is_lead: bool,
    /// Served to this turn so far (input + output).
    pub spent: u64,
}

/// A limit a request or response ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// One worker turn reached `worker_turn_max_tokens`.
    TurnCap { spent: u64, max: u64 },
    /// The workers' share (the budget less the lead's reserve) is spent.
    WorkersShare { spent: u64, share: u64, total: u64 },
    /// The whole run budget is spent.
    RunBudget { spent: u64, total: u64 },
}

impl Limit {
    /// Whether the whole team must stop (not only one worker's turn).
    pub fn ends_workers(self) -> bool {
        !matches!(self, Limit::TurnCap { .. })
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Limit::TurnCap { spent, max } => write!(
                f,
                "worker turn stopped: it used {spent} tokens and the next request would pass the per-turn limit of {max} (budget.worker_turn_max_tokens)"
            ),
            Limit::WorkersShare {
                spent,
                share,
                total,
            } => write!(
                f,
                "workers stopped: the team spent {spent} tokens and the workers' share is {share} of the {total}-token budget (the rest is the lead's reserve to finalize)"
            ),
            Limit::RunBudget { spent, total } => {
                write!(f, "token budget spent: {spent} of {total} tokens")
            }
        }
    }
}

/// Output tokens held for a request on top of its input, before its response says.
pub const OUTPUT_ALLOWANCE: u64 = 1_000;

/// Tokens per byte of request body before any response has said better: about four bytes
/// of JSON per token (JSON's quoting makes this high rather than low).
pub const DEFAULT_TOKENS_PER_BYTE: f64 = 0.25;

/// A request's cost before it is served: its input tokens estimated from the body size at
/// `tokens_per_byte` (the team's last measured ratio, 2% added for drift, or
/// [`DEFAULT_TOKENS_PER_BYTE`]) plus [`OUTPUT_ALLOWANCE`].
pub fn estimate_request(body_bytes: usize, tokens_per_byte: Option<f64>) -> u64 {
    let ratio = match tokens_per_byte {
        Some(r) if r.is_finite() && r > 0.0 => (r * 1.02).min(1.0),
        _ => DEFAULT_TOKENS_PER_BYTE,
    };
    (body_bytes as f64 * ratio).ceil() as u64 + OUTPUT_ALLOWANCE
}

/// The ratio a served request measured, for the next estimate.
pub fn measured_ratio(body_bytes: usize, input_tokens: u64) -> Option<f64> {
    (body_bytes >= 1024 && input_tokens > 0).then(|| input_tokens as f64 / body_bytes as f64)
}

fn share(profile: &Profile) -> u64 {
    let b = &profile.budget;
    b.total_tokens.saturating_sub(b.lead_reserve_tokens)
}

/// Whether a request estimated at `estimate` tokens may go out now.
pub fn admit(profile: &Profile, ledger: Ledger, turn: Turn, estimate: u64) -> Result<(), Limit> {
    let b = &profile.budget;
    let committed = ledger.spent + ledger.in_flight;
    if turn.is_lead {
        if committed + estimate > b.total_tokens {
            return Err(Limit::RunBudget {
                spent: ledger.spent,
                total: b.total_tokens,
            });
        }
        return Ok(());
    }
    if turn.spent + estimate > b.worker_turn_max_tokens {
        return Err(Limit::TurnCap {
            spent: turn.spent,
            max: b.worker_turn_max_tokens,
        });
    }
    if committed + estimate > share(profile) {
        return Err(Limit::WorkersShare {
            spent: ledger.spent,
            share: share(profile),
            total: b.total_tokens,
        });
    }
    Ok(())
}

/// Whether the response just recorded put the turn or the team at a limit; the turn is
/// then stopped at once rather than at its next request.
pub fn crossed(profile: &Profile, ledger: Ledger, turn: Turn) -> Option<Limit> {
    let b = &profile.budget;
    if turn.is_lead {
        return (ledger.spent >= b.total_tokens).then_some(Limit::RunBudget {
            spent: ledger.spent,
            total: b.total_tokens,
        });
    }
    if turn.spent >= b.worker_turn_max_tokens {
        return Some(Limit::TurnCap {
            spent: turn.spent,
            max: b.worker_turn_max_tokens,
        });
    }
    (ledger.spent >= share(profile)).then_some(Limit::WorkersShare {
        spent: ledger.spent,
        share: share(profile),
        total: b.total_tokens,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// total 60_000, reserve 10_000 (share 50_000), turn cap 15_000.
    fn profile() -> Profile {
        let mut p = Profile::load("default").unwrap();
        p.budget.total_tokens = 60_000;
        p.budget.lead_reserve_tokens = 10_000;
        p.budget.worker_turn_max_tokens = 15_000;
        p
    }

    fn l(spent: u64, in_flight: u64) -> Ledger {
        Ledger { spent, in_flight }
    }
    fn w(spent: u64) -> Turn {
        Turn {
            is_lead: false,
            spent,
        }
    }
    fn lead(spent: u64) -> Turn {
        Turn {
            is_lead: true,
            spent,
        }
    }

    #[test]
    fn admission_table() {
        let p = profile();
        let cap = |spent| Err(Limit::TurnCap { spent, max: 15_000 });
        let share = |spent| {
            Err(Limit::WorkersShare {
                spent,
                share: 50_000,
                total: 60_000,
            })
        };
        let run = |spent| {
            Err(Limit::RunBudget {
                spent,
                total: 60_000,
            })
        };
        type Case = (&'static str, Ledger, Turn, u64, Result<(), Limit>);
        let cases: &[Case] = &[
            ("fresh worker", l(0, 0), w(0), 10_000, Ok(())),
            ("turn exactly at cap", l(0, 0), w(5_000), 10_000, Ok(())),
            ("turn one past cap", l(0, 0), w(5_001), 10_000, cap(5_001)),
            ("one request above the cap", l(0, 0), w(0), 15_001, cap(0)),
            ("share exactly used", l(40_000, 0), w(0), 10_000, Ok(())),
            ("share one past", l(40_001, 0), w(0), 10_000, share(40_001)),
            (
                "others in flight count",
                l(20_000, 25_000),
                w(0),
                10_000,
                share(20_000),
            ),
            (
                "lead may use the reserve",
                l(45_000, 0),
                lead(0),
                10_000,
                Ok(()),
            ),
            ("lead at the total", l(50_000, 0), lead(0), 10_000, Ok(())),
            (
                "lead past the total",
                l(50_000, 1),
                lead(0),
                10_000,
                run(50_000),
            ),
            (
                "lead has no turn cap",
                l(0, 0),
                lead(40_000),
                10_000,
                Ok(()),
            ),
        ];
        for (what, ledger, turn, est, want) in cases {
            assert_eq!(admit(&p, *ledger, *turn, *est), *want, "{what}");
        }
    }

    #[test]
    fn crossing_table() {
        let p = profile();
        let cases: &[(&str, Ledger, Turn, Option<Limit>)] = &[
            ("under everything", l(10_000, 0), w(5_000), None),
            (
                "turn reached its cap",
                l(10_000, 0),
                w(15_000),
                Some(Limit::TurnCap {
                    spent: 15_000,
                    max: 15_000,
                }),
            ),
            (
                "team reached the share",
                l(50_000, 0),
                w(1),
                Some(Limit::WorkersShare {
                    spent: 50_000,
                    share: 50_000,
                    total: 60_000,
                }),
            ),
            ("lead inside its reserve", l(55_000, 0), lead(30_000), None),
            (
                "lead reached the total",
                l(60_000, 0),
                lead(1),
                Some(Limit::RunBudget {
                    spent: 60_000,
                    total: 60_000,
                }),
            ),
        ];
        for (what, ledger, turn, want) in cases {
            assert_eq!(crossed(&p, *ledger, *turn), *want, "{what}");
        }
    }

    #[test]
    fn estimates_and_words() {
        assert_eq!(estimate_request(0, None), OUTPUT_ALLOWANCE);
        assert_eq!(estimate_request(41_500, None), 10_375 + OUTPUT_ALLOWANCE);
        // A measured 0.2 tokens per byte, plus 2%.
        let est = estimate_request(40_000, Some(0.2)) - OUTPUT_ALLOWANCE;
        assert!((8_160..=8_161).contains(&est), "{est}");
        assert_eq!(
            estimate_request(40_000, Some(f64::NAN)),
            10_000 + OUTPUT_ALLOWANCE
        );
        assert_eq!(measured_ratio(40_000, 8_000), Some(0.2));
        assert_eq!(measured_ratio(100, 8_000), None, "too small to measure");
        assert_eq!(measured_ratio(40_000, 0), None);
        let cap = Limit::TurnCap {
            spent: 14_000,
            max: 15_000,
        };
        assert!(!cap.ends_workers());
        assert!(cap.to_string().contains("worker_turn_max_tokens"));
        let run = Limit::RunBudget {
            spent: 59_000,
            total: 60_000,
        };
        assert!(run.ends_workers());
        assert_eq!(run.to_string(), "token budget spent: 59000 of 60000 tokens");
    }
}

//! The arbitration rules as pure functions: no SQL, no I/O, so every strategy can be tested
//! on tables of votes and the store only records what [`decide`] answers.
//!
//! - `consensus`: every counted vote names the same candidate; with a fixed electorate
//!   every eligible voter must have voted. Otherwise no winner (`split`, `incomplete`).
//! - `strict_vote`: a candidate needs more than half of the eligible voters. Two leaders
//!   with equal votes are a `tie`; a leader below half is `no_majority`.
//! - `lead`: the lead's pick wins whatever the votes say; the votes are advice.
//!
//! The electorate is the fixed voter list when the decision has one; without one, for
//! `strict_vote` the store passes the team's roster of members who may vote (whether they
//! voted or not), and for `consensus` it is everyone who voted. Votes from outside the
//! electorate, or for unknown candidates, are not counted.

use std::collections::{BTreeSet, HashMap};

use crate::{Outcome, StoreError, StoreResult, Strategy, TallyEntry};

/// One voter's choice, as [`decide`] counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ballot<'a> {
    pub voter: &'a str,
    pub candidate: &'a str,
}

/// Decides between `candidates` (ids, in proposal order) under `strategy`. `votes` holds at
/// most one ballot per voter (a later one for the same voter replaces the earlier).
/// `lead_pick` is required for [`Strategy::Lead`] and refused for the others;
/// `eligible` is the fixed electorate, `None` when any voter counts.
///
/// Errors only on a call that makes no sense (a missing or unknown pick); "no winner" is an
/// [`Outcome`] with `winner: None` and the reason.
pub fn decide(
    strategy: Strategy,
    candidates: &[&str],
    votes: &[Ballot<'_>],
    lead_pick: Option<&str>,
    eligible: Option<&[&str]>,
) -> StoreResult<Outcome> {
    let (tally, voted) = count(candidates, votes, eligible);
    let electorate = match eligible {
        Some(list) => list.iter().collect::<BTreeSet<_>>().len(),
        None => voted,
    };
    let mut ranked: Vec<&TallyEntry> = tally.iter().filter(|t| t.votes > 0).collect();
    // Stable: equal counts keep proposal order.
    ranked.sort_by_key(|t| std::cmp::Reverse(t.votes));
    let summary = describe(&tally);

    let (winner, reason, rationale) = match strategy {
        Strategy::Lead => {
            let pick = lead_pick.ok_or_else(|| {
                StoreError::Invalid("strategy lead needs the lead's pick to close".into())
            })?;
            if !candidates.contains(&pick) {
                return Err(StoreError::Invalid(format!(
                    "pick {pick} is not a candidate of this decision (candidates: {})",
                    if candidates.is_empty() {
                        "none".to_string()
                    } else {
                        candidates.join(", ")
                    }
                )));
            }
            let advice = match ranked.first() {
                None => "no votes".to_string(),
                Some(top) if top.candidate_id == pick => format!("votes agree ({summary})"),
                Some(_) => format!("votes were advice ({summary})"),
            };
            (
                Some(pick.to_string()),
                "lead_pick",
                format!("lead picked {pick}; {advice}"),
            )
        }
        Strategy::Consensus | Strategy::StrictVote if lead_pick.is_some() => {
            return Err(StoreError::Invalid(format!(
                "a pick is only for strategy lead; this decision uses {}",
                strategy.as_str()
            )));
        }
        _ if voted == 0 => (None, "no_votes", "no votes were cast".to_string()),
        Strategy::Consensus => {
            let top = ranked[0];
            if ranked.len() > 1 {
                (
                    None,
                    "split",
                    format!("no consensus: votes split ({summary})"),
                )
            } else if voted < electorate {
                (
                    None,
                    "incomplete",
                    format!(
                        "no consensus yet: {voted} of {electorate} eligible voters voted ({summary})"
                    ),
                )
            } else {
                (
                    Some(top.candidate_id.clone()),
                    "unanimous",
                    format!("all {voted} voters chose {}", top.candidate_id),
                )
            }
        }
        Strategy::StrictVote => {
            let top = ranked[0];
            let needed = electorate / 2 + 1;
            if ranked
                .get(1)
                .is_some_and(|second| second.votes == top.votes)
            {
                (
                    None,
                    "tie",
                    format!("tie at {} votes each ({summary})", top.votes),
                )
            } else if top.votes as usize >= needed {
                (
                    Some(top.candidate_id.clone()),
                    "majority",
                    format!(
                        "{} has {} of {electorate} eligible votes (majority is {needed})",
                        top.candidate_id, top.votes
                    ),
                )
            } else {
                (
                    None,
                    "no_majority",
                    format!(
                        "no majority: best is {} with {} of {electorate} eligible votes, {needed} needed ({summary})",
                        top.candidate_id, top.votes
                    ),
                )
            }
        }
    };
    Ok(Outcome {
        winner,
        tally,
        reason: reason.to_string(),
        rationale,
    })
}

/// Counts the ballots that count: each voter once (the last ballot wins), only for known
/// candidates and, with a fixed electorate, only from its members. Returns the tally in
/// proposal order and how many voters were counted.
pub fn count(
    candidates: &[&str],
    votes: &[Ballot<'_>],
    eligible: Option<&[&str]>,
) -> (Vec<TallyEntry>, usize) {
    let mut last: HashMap<&str, &str> = HashMap::new();
    for b in votes {
        let allowed = eligible.is_none_or(|list| list.contains(&b.voter));
        if allowed && candidates.contains(&b.candidate) {
            last.insert(b.voter, b.candidate);
        }
    }
    let tally = candidates
        .iter()
        .map(|c| TallyEntry {
            candidate_id: c.to_string(),
            votes: last.values().filter(|v| *v == c).count() as u32,
        })
        .collect();
    (tally, last.len())
}

/// `cnd-a 2, cnd-b 1` (candidates with votes, in proposal order).
fn describe(tally: &[TallyEntry]) -> String {
    let parts: Vec<String> = tally
        .iter()
        .filter(|t| t.votes > 0)
        .map(|t| format!("{} {}", t.candidate_id, t.votes))
        .collect();
    if parts.is_empty() {
        "no votes".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANDS: &[&str] = &["A", "B", "C"];

    fn ballots<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<Ballot<'a>> {
        pairs
            .iter()
            .map(|&(voter, candidate)| Ballot { voter, candidate })
            .collect()
    }

    /// One row: strategy, votes, lead pick, fixed electorate, expected winner and reason.
    struct Row {
        name: &'static str,
        strategy: Strategy,
        votes: &'static [(&'static str, &'static str)],
        pick: Option<&'static str>,
        eligible: Option<&'static [&'static str]>,
        winner: Option<&'static str>,
        reason: &'static str,
    }

    const AGREE: &[(&str, &str)] = &[("v1", "A"), ("v2", "A"), ("v3", "A")];
    const SPLIT: &[(&str, &str)] = &[("v1", "A"), ("v2", "A"), ("v3", "B")];
    const TIED: &[(&str, &str)] = &[("v1", "A"), ("v2", "B"), ("v3", "A"), ("v4", "B")];
    const THREE_WAY: &[(&str, &str)] = &[("v1", "A"), ("v2", "A"), ("v3", "B"), ("v4", "C")];
    const FOUR: &[&str] = &["v1", "v2", "v3", "v4"];
    const FIVE: &[&str] = &["v1", "v2", "v3", "v4", "v5"];

    fn rows() -> Vec<Row> {
        use Strategy::*;
        let r = |name, strategy, votes, pick, eligible, winner, reason| Row {
            name,
            strategy,
            votes,
            pick,
            eligible,
            winner,
            reason,
        };
        vec![
            // consensus
            r(
                "consensus agreeing",
                Consensus,
                AGREE,
                None,
                None,
                Some("A"),
                "unanimous",
            ),
            r(
                "consensus split",
                Consensus,
                SPLIT,
                None,
                None,
                None,
                "split",
            ),
            r("consensus tied", Consensus, TIED, None, None, None, "split"),
            r(
                "consensus no votes",
                Consensus,
                &[],
                None,
                None,
                None,
                "no_votes",
            ),
            r(
                "consensus agreeing but a fixed voter missing",
                Consensus,
                AGREE,
                None,
                Some(FOUR),
                None,
                "incomplete",
            ),
            r(
                "consensus agreeing, whole fixed electorate",
                Consensus,
                AGREE,
                None,
                Some(&["v1", "v2", "v3"]),
                Some("A"),
                "unanimous",
            ),
            // strict_vote
            r(
                "strict agreeing",
                StrictVote,
                AGREE,
                None,
                None,
                Some("A"),
                "majority",
            ),
            r(
                "strict split 2 of 3",
                StrictVote,
                SPLIT,
                None,
                None,
                Some("A"),
                "majority",
            ),
            r("strict tied", StrictVote, TIED, None, None, None, "tie"),
            r(
                "strict tied, fixed five",
                StrictVote,
                TIED,
                None,
                Some(FIVE),
                None,
                "tie",
            ),
            r(
                "strict plurality below majority",
                StrictVote,
                THREE_WAY,
                None,
                None,
                None,
                "no_majority",
            ),
            r(
                "strict 3 of 3 votes but only 3 of 7 eligible",
                StrictVote,
                AGREE,
                None,
                Some(&["v1", "v2", "v3", "v4", "v5", "v6", "v7"]),
                None,
                "no_majority",
            ),
            r(
                "strict 2 of 4 eligible is not more than half",
                StrictVote,
                &[("v1", "A"), ("v2", "A")],
                None,
                Some(FOUR),
                None,
                "no_majority",
            ),
            r(
                "strict 2 of 5 eligible is no majority",
                StrictVote,
                SPLIT,
                None,
                Some(FIVE),
                None,
                "no_majority",
            ),
            r(
                "strict 3 of 5 eligible is a majority",
                StrictVote,
                &[("v1", "A"), ("v2", "A"), ("v3", "A"), ("v4", "B")],
                None,
                Some(FIVE),
                Some("A"),
                "majority",
            ),
            r(
                "strict no votes",
                StrictVote,
                &[],
                None,
                Some(FOUR),
                None,
                "no_votes",
            ),
            // lead
            r(
                "lead agreeing",
                Lead,
                AGREE,
                Some("A"),
                None,
                Some("A"),
                "lead_pick",
            ),
            r(
                "lead overrides split",
                Lead,
                SPLIT,
                Some("B"),
                None,
                Some("B"),
                "lead_pick",
            ),
            r(
                "lead breaks a tie",
                Lead,
                TIED,
                Some("C"),
                None,
                Some("C"),
                "lead_pick",
            ),
            r(
                "lead without votes",
                Lead,
                &[],
                Some("A"),
                None,
                Some("A"),
                "lead_pick",
            ),
        ]
    }

    #[test]
    fn each_strategy_on_agreeing_split_and_tied_votes() {
        for row in rows() {
            let votes = ballots(row.votes);
            let out = decide(row.strategy, CANDS, &votes, row.pick, row.eligible)
                .unwrap_or_else(|e| panic!("{}: {e}", row.name));
            assert_eq!(
                (out.winner.as_deref(), out.reason.as_str()),
                (row.winner, row.reason),
                "{}: {}",
                row.name,
                out.rationale
            );
            assert_eq!(out.tally.len(), CANDS.len(), "{}", row.name);
            let counted: u32 = out.tally.iter().map(|t| t.votes).sum();
            assert_eq!(counted as usize, row.votes.len(), "{}", row.name);
            assert!(!out.rationale.is_empty(), "{}", row.name);
        }
    }

    #[test]
    fn rationale_says_why() {
        let out = decide(Strategy::StrictVote, CANDS, &ballots(TIED), None, None).unwrap();
        assert_eq!(out.rationale, "tie at 2 votes each (A 2, B 2)");
        let out = decide(
            Strategy::StrictVote,
            CANDS,
            &ballots(SPLIT),
            None,
            Some(FIVE),
        )
        .unwrap();
        assert_eq!(
            out.rationale,
            "no majority: best is A with 2 of 5 eligible votes, 3 needed (A 2, B 1)"
        );
        let out = decide(Strategy::Lead, CANDS, &ballots(SPLIT), Some("B"), None).unwrap();
        assert_eq!(out.rationale, "lead picked B; votes were advice (A 2, B 1)");
        let out = decide(Strategy::Consensus, CANDS, &ballots(SPLIT), None, None).unwrap();
        assert_eq!(out.rationale, "no consensus: votes split (A 2, B 1)");
        assert_eq!(
            out.tally,
            vec![
                TallyEntry {
                    candidate_id: "A".into(),
                    votes: 2
                },
                TallyEntry {
                    candidate_id: "B".into(),
                    votes: 1
                },
                TallyEntry {
                    candidate_id: "C".into(),
                    votes: 0
                },
            ]
        );
    }

    #[test]
    fn only_ballots_that_count_are_counted() {
        // v1 changes its mind (the later ballot replaces the first); v9 is outside the fixed
        // electorate; v2 votes for something that is not a candidate.
        let votes = ballots(&[
            ("v1", "B"),
            ("v2", "Z"),
            ("v9", "B"),
            ("v1", "A"),
            ("v3", "A"),
        ]);
        let (tally, voted) = count(CANDS, &votes, Some(&["v1", "v2", "v3"]));
        assert_eq!(voted, 2);
        assert_eq!(tally[0].votes, 2);
        assert_eq!(tally[1].votes, 0);
        let out = decide(
            Strategy::StrictVote,
            CANDS,
            &votes,
            None,
            Some(&["v1", "v2", "v3"]),
        )
        .unwrap();
        assert_eq!(out.winner.as_deref(), Some("A"));
    }

    #[test]
    fn bad_picks_are_refused() {
        let votes = ballots(AGREE);
        let err = decide(Strategy::Lead, CANDS, &votes, None, None).unwrap_err();
        assert!(err.to_string().contains("needs the lead's pick"), "{err}");
        let err = decide(Strategy::Lead, CANDS, &votes, Some("Q"), None).unwrap_err();
        assert!(
            err.to_string().contains("pick Q is not a candidate"),
            "{err}"
        );
        assert!(err.to_string().contains("A, B, C"), "{err}");
        let err = decide(Strategy::Consensus, CANDS, &votes, Some("A"), None).unwrap_err();
        assert!(err.to_string().contains("only for strategy lead"), "{err}");
        let err = decide(Strategy::Lead, &[], &[], Some("A"), None).unwrap_err();
        assert!(err.to_string().contains("candidates: none"), "{err}");
    }
}

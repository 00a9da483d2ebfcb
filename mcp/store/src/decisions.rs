//! Decisions: the recorded side of arbitration. A decision is opened with a question and a
//! strategy, takes candidates and votes while open, and is closed once with the outcome
//! [`crate::arbitration::decide`] computes from what is stored at that moment. Each step is
//! one `BEGIN IMMEDIATE` transaction that also appends its event, so the log and the tables
//! never disagree.
//!
//! A voter has one current vote per decision: voting again replaces it (the event log keeps
//! every cast), so a voter can change its mind when a better candidate arrives.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::json;

use crate::arbitration::{Ballot, count, decide};
use crate::codec::json_column;
use crate::events::log_event;
use crate::ids::{new_id, now_ms, prefix};
use crate::store::{ensure_member, ensure_team, require_text, within_limit};
use crate::*;

const DECISION_COLS: &str = "decision_id, team_id, question, strategy, status, fixed_voters, \
     created_by, winner, reason, rationale, closed_by, created_at, closed_at";

fn decision_row(r: &Row<'_>) -> rusqlite::Result<(Decision, bool)> {
    Ok((
        Decision {
            decision_id: r.get(0)?,
            team_id: r.get(1)?,
            question: r.get(2)?,
            strategy: r.get(3)?,
            status: r.get(4)?,
            voters: None,
            created_by: r.get(6)?,
            winner: r.get(7)?,
            reason: r.get(8)?,
            rationale: r.get(9)?,
            closed_by: r.get(10)?,
            created_at: r.get(11)?,
            closed_at: r.get(12)?,
        },
        r.get(5)?,
    ))
}

fn candidate_row(r: &Row<'_>) -> rusqlite::Result<Candidate> {
    Ok(Candidate {
        candidate_id: r.get(0)?,
        decision_id: r.get(1)?,
        team_id: r.get(2)?,
        proposer: r.get(3)?,
        artifact_id: r.get(4)?,
        artifact_version: r.get(5)?,
        summary: r.get(6)?,
        created_at: r.get(7)?,
    })
}

fn vote_row(r: &Row<'_>) -> rusqlite::Result<Vote> {
    Ok(Vote {
        decision_id: r.get(0)?,
        team_id: r.get(1)?,
        voter: r.get(2)?,
        candidate_id: r.get(3)?,
        comment: r.get(4)?,
        cast_at: r.get(5)?,
    })
}

fn with_voters(c: &Connection, (mut d, fixed): (Decision, bool)) -> StoreResult<Decision> {
    if fixed {
        let voters = c
            .prepare_cached(
                "SELECT agent_id FROM decision_voters WHERE decision_id = ?1 ORDER BY pos",
            )?
            .query_map([&d.decision_id], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        d.voters = Some(voters);
    }
    Ok(d)
}

/// A decision of the team; one of another team is `NotFound`, like one that does not exist.
fn load_decision(c: &Connection, team_id: &str, decision_id: &str) -> StoreResult<Decision> {
    let found = c
        .prepare_cached(&format!(
            "SELECT {DECISION_COLS} FROM decisions WHERE team_id = ?1 AND decision_id = ?2"
        ))?
        .query_row(params![team_id, decision_id], decision_row)
        .optional()?;
    match found {
        Some(row) => with_voters(c, row),
        None => {
            ensure_team(c, team_id)?;
            Err(StoreError::NotFound {
                kind: "decision",
                id: decision_id.to_string(),
            })
        }
    }
}

fn candidates_of(c: &Connection, decision_id: &str) -> StoreResult<Vec<Candidate>> {
    let rows = c
        .prepare_cached(
            "SELECT candidate_id, decision_id, team_id, proposer, artifact_id, artifact_version,
                    summary, created_at
             FROM candidates WHERE decision_id = ?1 ORDER BY rowid",
        )?
        .query_map([decision_id], candidate_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

fn votes_of(c: &Connection, decision_id: &str) -> StoreResult<Vec<Vote>> {
    let rows = c
        .prepare_cached(
            "SELECT decision_id, team_id, voter, candidate_id, comment, cast_at
             FROM votes WHERE decision_id = ?1 ORDER BY cast_at, voter",
        )?
        .query_map([decision_id], vote_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The decision with its candidates, votes and tally: the stored tally once closed, the
/// current count while open.
fn load_record(c: &Connection, team_id: &str, decision_id: &str) -> StoreResult<DecisionRecord> {
    let decision = load_decision(c, team_id, decision_id)?;
    let candidates = candidates_of(c, decision_id)?;
    let votes = votes_of(c, decision_id)?;
    let tally = if decision.status == DecisionStatus::Open {
        let ids: Vec<&str> = candidates.iter().map(|x| x.candidate_id.as_str()).collect();
        let ballots: Vec<Ballot<'_>> = votes.iter().map(ballot).collect();
        let electorate = electorate(c, &decision)?;
        let eligible: Option<Vec<&str>> = electorate
            .as_ref()
            .map(|v| v.iter().map(String::as_str).collect());
        count(&ids, &ballots, eligible.as_deref()).0
    } else {
        let text: Option<String> = c
            .prepare_cached("SELECT tally FROM decisions WHERE decision_id = ?1")?
            .query_row([decision_id], |r| r.get(0))?;
        match text {
            Some(t) => serde_json::from_value(json_column(t)?).map_err(|e| {
                StoreError::Invalid(format!("decision {decision_id} has a corrupt tally: {e}"))
            })?,
            None => Vec::new(),
        }
    };
    Ok(DecisionRecord {
        decision,
        candidates,
        votes,
        tally,
    })
}

/// The tool an agent must hold to vote. An agent whose recorded tool list lacks it is not
/// part of a decision's default electorate.
pub const VOTE_TOOL: &str = "decision_vote";

/// Who is eligible to vote on a `strict_vote` decision without a voter list: every agent of
/// the team that is not the lead, has not failed, and may vote (its recorded tools include
/// [`VOTE_TOOL`], or it has no recorded list). Whether or not they have voted yet, so one
/// vote of several possible voters is not a majority.
fn default_electorate(c: &Connection, team_id: &str) -> StoreResult<Vec<String>> {
    let ids = c
        .prepare_cached(
            "SELECT agent_id FROM agents
             WHERE team_id = ?1 AND role <> 'lead' AND state <> 'failed'
               AND (tools IS NULL
                    OR EXISTS (SELECT 1 FROM json_each(agents.tools) WHERE value = ?2))
             ORDER BY rowid",
        )?
        .query_map(params![team_id, VOTE_TOOL], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(ids)
}

/// The electorate majorities are counted against: the fixed voter list, else for
/// `strict_vote` the team's [`default_electorate`], else (`consensus`, `lead`) `None`: every
/// voter counts.
fn electorate(c: &Connection, d: &Decision) -> StoreResult<Option<Vec<String>>> {
    match (&d.voters, d.strategy) {
        (Some(list), _) => Ok(Some(list.clone())),
        (None, Strategy::StrictVote) => default_electorate(c, &d.team_id).map(Some),
        (None, _) => Ok(None),
    }
}

/// `Conflict` unless the team is running: a finalized, failed or stopped team takes no new
/// decisions, candidates or votes.
fn refuse_unless_running(c: &Connection, team_id: &str, doing: &str) -> StoreResult<()> {
    let team = crate::teams::load_team(c, team_id)?;
    if team.status == TeamStatus::Running {
        return Ok(());
    }
    Err(StoreError::Conflict(format!(
        "team {team_id} is {}, not running; cannot {doing}",
        team.status.as_str()
    )))
}

fn ballot(v: &Vote) -> Ballot<'_> {
    Ballot {
        voter: &v.voter,
        candidate: &v.candidate_id,
    }
}

/// `Conflict` once the decision is closed: nothing about it changes any more.
fn refuse_unless_open(d: &Decision, doing: &str) -> StoreResult<()> {
    if d.status == DecisionStatus::Open {
        return Ok(());
    }
    let winner = d
        .winner
        .as_deref()
        .map(|w| format!(", winner {w}"))
        .unwrap_or_default();
    Err(StoreError::Conflict(format!(
        "decision {} is already closed ({}{winner}); cannot {doing}",
        d.decision_id,
        d.status.as_str()
    )))
}

impl Store {
    /// Opens a decision on `question`. With `voters`, only those members may vote and they
    /// are the electorate majorities are counted against; without, every member may vote.
    pub fn open_decision(
        &self,
        team_id: &str,
        created_by: &str,
        new: NewDecision,
    ) -> StoreResult<Decision> {
        require_text("decision question", &new.question)?;
        within_limit("decision question", &new.question, self.opts.max_body_bytes)?;
        let voters: Option<Vec<String>> = match new.voters {
            Some(list) if list.is_empty() => {
                return Err(StoreError::Invalid(
                    "voters is empty; leave it out to let every member vote".into(),
                ));
            }
            Some(list) => {
                let mut seen = Vec::new();
                for v in list {
                    if !seen.contains(&v) {
                        seen.push(v);
                    }
                }
                Some(seen)
            }
            None => None,
        };
        let decision_id = new_id(prefix::DECISION);
        let now = now_ms();
        self.write(|c| {
            ensure_member(c, team_id, created_by)?;
            refuse_unless_running(c, team_id, "open a decision")?;
            for v in voters.iter().flatten() {
                ensure_member(c, team_id, v)?;
            }
            c.prepare_cached(
                "INSERT INTO decisions (decision_id, team_id, question, strategy, status,
                                        fixed_voters, created_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?6, ?7)",
            )?
            .execute(params![
                decision_id,
                team_id,
                new.question,
                new.strategy,
                voters.is_some(),
                created_by,
                now
            ])?;
            for (pos, v) in voters.iter().flatten().enumerate() {
                c.prepare_cached(
                    "INSERT INTO decision_voters (decision_id, agent_id, team_id, pos)
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![decision_id, v, team_id, pos as i64])?;
            }
            log_event(
                c,
                team_id,
                Some(created_by),
                "decision.opened",
                &json!({
                    "decision_id": decision_id,
                    "question": new.question,
                    "strategy": new.strategy,
                    "voters": voters,
                }),
            )?;
            load_decision(c, team_id, &decision_id)
        })
    }

    /// Puts a candidate up for an open decision: an artifact version (the newest when no
    /// version is given), a short summary, or both.
    pub fn propose_candidate(
        &self,
        team_id: &str,
        decision_id: &str,
        proposer: &str,
        new: NewCandidate,
    ) -> StoreResult<Candidate> {
        within_limit("candidate summary", &new.summary, self.opts.max_body_bytes)?;
        if new.artifact_version.is_some() && new.artifact_id.is_none() {
            return Err(StoreError::Invalid(
                "artifact_version was given without artifact_id".into(),
            ));
        }
        if new.artifact_id.is_none() && new.summary.trim().is_empty() {
            return Err(StoreError::Invalid(
                "a candidate needs an artifact or a summary".into(),
            ));
        }
        let candidate_id = new_id(prefix::CANDIDATE);
        let now = now_ms();
        self.write(|c| {
            ensure_member(c, team_id, proposer)?;
            let d = load_decision(c, team_id, decision_id)?;
            refuse_unless_open(&d, "add candidates")?;
            refuse_unless_running(c, team_id, "add candidates")?;
            let version = match &new.artifact_id {
                Some(art) => Some(crate::artifacts::existing_version(
                    c,
                    team_id,
                    art,
                    new.artifact_version,
                )?),
                None => None,
            };
            c.prepare_cached(
                "INSERT INTO candidates (candidate_id, decision_id, team_id, proposer, artifact_id,
                                         artifact_version, summary, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                candidate_id,
                decision_id,
                team_id,
                proposer,
                new.artifact_id,
                version,
                new.summary,
                now
            ])?;
            log_event(
                c,
                team_id,
                Some(proposer),
                "decision.proposed",
                &json!({
                    "decision_id": decision_id,
                    "candidate_id": candidate_id,
                    "artifact_id": new.artifact_id,
                    "artifact_version": version,
                }),
            )?;
            let cand = c
                .prepare_cached(
                    "SELECT candidate_id, decision_id, team_id, proposer, artifact_id,
                            artifact_version, summary, created_at
                     FROM candidates WHERE candidate_id = ?1",
                )?
                .query_row([&candidate_id], candidate_row)?;
            Ok(cand)
        })
    }

    /// Records `voter`'s vote for a candidate of an open decision. A second vote by the same
    /// voter replaces the first; the previous choice is returned (`None` for a first vote).
    /// A candidate of another decision is `Invalid`; a voter outside a fixed electorate is
    /// `Conflict`.
    pub fn cast_vote(
        &self,
        team_id: &str,
        decision_id: &str,
        voter: &str,
        candidate_id: &str,
        comment: Option<&str>,
    ) -> StoreResult<(Vote, Option<String>)> {
        if let Some(text) = comment {
            within_limit("vote comment", text, self.opts.max_body_bytes)?;
        }
        let now = now_ms();
        self.write(|c| {
            ensure_member(c, team_id, voter)?;
            let d = load_decision(c, team_id, decision_id)?;
            refuse_unless_open(&d, "vote")?;
            refuse_unless_running(c, team_id, "vote")?;
            if let Some(list) = &d.voters
                && !list.iter().any(|v| v == voter)
            {
                return Err(StoreError::Conflict(format!(
                    "agent {voter} is not a voter of decision {decision_id} (voters: {})",
                    list.join(", ")
                )));
            }
            let of: Option<String> = c
                .prepare_cached(
                    "SELECT decision_id FROM candidates WHERE team_id = ?1 AND candidate_id = ?2",
                )?
                .query_row(params![team_id, candidate_id], |r| r.get(0))
                .optional()?;
            match of {
                None => {
                    return Err(StoreError::NotFound {
                        kind: "candidate",
                        id: candidate_id.to_string(),
                    });
                }
                Some(other) if other != decision_id => {
                    return Err(StoreError::Invalid(format!(
                        "candidate {candidate_id} belongs to decision {other}, not {decision_id}"
                    )));
                }
                Some(_) => {}
            }
            let previous: Option<String> = c
                .prepare_cached(
                    "SELECT candidate_id FROM votes WHERE decision_id = ?1 AND voter = ?2",
                )?
                .query_row(params![decision_id, voter], |r| r.get(0))
                .optional()?;
            c.prepare_cached(
                "INSERT INTO votes (decision_id, voter, team_id, candidate_id, comment, cast_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (decision_id, voter) DO UPDATE SET
                     candidate_id = excluded.candidate_id, comment = excluded.comment,
                     cast_at = excluded.cast_at",
            )?
            .execute(params![
                decision_id,
                voter,
                team_id,
                candidate_id,
                comment,
                now
            ])?;
            log_event(
                c,
                team_id,
                Some(voter),
                "decision.voted",
                &json!({
                    "decision_id": decision_id,
                    "candidate_id": candidate_id,
                    "replaced": previous,
                    "comment": comment,
                }),
            )?;
            let vote = Vote {
                decision_id: decision_id.to_string(),
                team_id: team_id.to_string(),
                voter: voter.to_string(),
                candidate_id: candidate_id.to_string(),
                comment: comment.map(str::to_string),
                cast_at: now,
            };
            Ok((vote, previous))
        })
    }

    /// Closes an open decision with the outcome its strategy gives on the stored candidates
    /// and votes, and records winner, reason, rationale and tally. `pick` is the lead's
    /// choice, required for strategy `lead` and refused otherwise; `note` is appended to the
    /// rationale. A decision closes once: closing again is `Conflict`. With no winner the
    /// status is `no_decision` (open a new decision to try again).
    pub fn close_decision(
        &self,
        team_id: &str,
        decision_id: &str,
        closed_by: &str,
        pick: Option<&str>,
        note: Option<&str>,
    ) -> StoreResult<DecisionRecord> {
        if let Some(text) = note {
            within_limit("decision note", text, self.opts.max_body_bytes)?;
        }
        let now = now_ms();
        self.write(|c| {
            ensure_member(c, team_id, closed_by)?;
            let d = load_decision(c, team_id, decision_id)?;
            refuse_unless_open(&d, "close it again")?;
            let candidates = candidates_of(c, decision_id)?;
            let votes = votes_of(c, decision_id)?;
            let ids: Vec<&str> = candidates.iter().map(|x| x.candidate_id.as_str()).collect();
            let ballots: Vec<Ballot<'_>> = votes.iter().map(ballot).collect();
            let electorate = electorate(c, &d)?;
            let eligible: Option<Vec<&str>> = electorate
                .as_ref()
                .map(|v| v.iter().map(String::as_str).collect());
            let outcome = decide(d.strategy, &ids, &ballots, pick, eligible.as_deref())?;
            let rationale = match note.map(str::trim).filter(|n| !n.is_empty()) {
                Some(n) => format!("{}; note: {n}", outcome.rationale),
                None => outcome.rationale.clone(),
            };
            let status = if outcome.winner.is_some() {
                DecisionStatus::Decided
            } else {
                DecisionStatus::NoDecision
            };
            let tally = serde_json::to_string(&outcome.tally)
                .map_err(|e| StoreError::Invalid(format!("tally is not JSON: {e}")))?;
            c.prepare_cached(
                "UPDATE decisions SET status = ?2, winner = ?3, reason = ?4, rationale = ?5,
                                      tally = ?6, closed_by = ?7, closed_at = ?8
                 WHERE decision_id = ?1",
            )?
            .execute(params![
                decision_id,
                status,
                outcome.winner,
                outcome.reason,
                rationale,
                tally,
                closed_by,
                now
            ])?;
            log_event(
                c,
                team_id,
                Some(closed_by),
                "decision.closed",
                &json!({
                    "decision_id": decision_id,
                    "strategy": d.strategy,
                    "status": status,
                    "winner": outcome.winner,
                    "reason": outcome.reason,
                    "rationale": rationale,
                    "tally": outcome.tally,
                }),
            )?;
            load_record(c, team_id, decision_id)
        })
    }

    /// One decision with its candidates, votes and tally.
    pub fn decision(&self, team_id: &str, decision_id: &str) -> StoreResult<DecisionRecord> {
        self.read(|c| load_record(c, team_id, decision_id))
    }

    /// The team's decisions, oldest first, without candidates and votes.
    pub fn list_decisions(&self, team_id: &str) -> StoreResult<Vec<Decision>> {
        self.read(|c| {
            ensure_team(c, team_id)?;
            let rows = c
                .prepare_cached(&format!(
                    "SELECT {DECISION_COLS} FROM decisions WHERE team_id = ?1 ORDER BY rowid"
                ))?
                .query_map([team_id], decision_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(|r| with_voters(c, r)).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::{Fixture, assert_not_found};
    use crate::*;

    fn open(f: &Fixture, strategy: Strategy, voters: Option<&[String]>) -> Decision {
        f.store
            .open_decision(
                &f.team,
                &f.agents[0],
                NewDecision {
                    question: "which patch?".into(),
                    strategy,
                    voters: voters.map(|v| v.to_vec()),
                },
            )
            .unwrap()
    }

    fn propose(f: &Fixture, d: &str, who: usize, summary: &str) -> String {
        f.store
            .propose_candidate(
                &f.team,
                d,
                &f.agents[who],
                NewCandidate {
                    summary: summary.into(),
                    ..Default::default()
                },
            )
            .unwrap()
            .candidate_id
    }

    fn kinds(f: &Fixture) -> Vec<String> {
        f.store
            .events(&f.team, 0, 1000)
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .filter(|k| k.starts_with("decision."))
            .collect()
    }

    #[test]
    fn a_strict_vote_runs_from_open_to_decided_and_is_logged() {
        let f = Fixture::new(4);
        let s = &f.store;
        let art = s
            .publish_artifact(
                &f.team,
                &f.agents[1],
                NewArtifact {
                    name: "patch-a".into(),
                    content: "diff a".into(),
                    summary: "a".into(),
                    parent_version: None,
                },
            )
            .unwrap();
        let d = open(&f, Strategy::StrictVote, None);
        assert!(d.decision_id.starts_with("dec-"), "{}", d.decision_id);
        assert_eq!((d.status, d.voters.clone()), (DecisionStatus::Open, None));
        let a = s
            .propose_candidate(
                &f.team,
                &d.decision_id,
                &f.agents[1],
                NewCandidate {
                    artifact_id: Some(art.artifact_id.clone()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(a.candidate_id.starts_with("cnd-"));
        assert_eq!(a.artifact_version, Some(1), "newest version recorded");
        let b = propose(&f, &d.decision_id, 2, "patch b");
        // a3 first votes b, then changes its mind: the vote is replaced.
        let (_, prev) = s
            .cast_vote(&f.team, &d.decision_id, &f.agents[3], &b, None)
            .unwrap();
        assert_eq!(prev, None);
        let (v, prev) = s
            .cast_vote(
                &f.team,
                &d.decision_id,
                &f.agents[3],
                &a.candidate_id,
                Some("tests pass"),
            )
            .unwrap();
        assert_eq!(prev.as_deref(), Some(b.as_str()));
        assert_eq!(v.comment.as_deref(), Some("tests pass"));
        s.cast_vote(&f.team, &d.decision_id, &f.agents[2], &b, None)
            .unwrap();
        s.cast_vote(&f.team, &d.decision_id, &f.agents[0], &a.candidate_id, None)
            .unwrap();
        s.cast_vote(&f.team, &d.decision_id, &f.agents[1], &a.candidate_id, None)
            .unwrap();
        let open_rec = s.decision(&f.team, &d.decision_id).unwrap();
        assert_eq!(open_rec.votes.len(), 4);
        assert_eq!(
            open_rec.tally.iter().map(|t| t.votes).collect::<Vec<_>>(),
            [3, 1]
        );

        let rec = s
            .close_decision(&f.team, &d.decision_id, &f.agents[0], None, Some("ship it"))
            .unwrap();
        assert_eq!(rec.decision.status, DecisionStatus::Decided);
        assert_eq!(
            rec.decision.winner.as_deref(),
            Some(a.candidate_id.as_str())
        );
        assert_eq!(rec.decision.reason.as_deref(), Some("majority"));
        let why = rec.decision.rationale.clone().unwrap();
        assert!(
            why.contains("3 of 4") && why.ends_with("note: ship it"),
            "{why}"
        );
        assert_eq!(
            rec.decision.closed_by.as_deref(),
            Some(f.agents[0].as_str())
        );
        assert_eq!(rec, s.decision(&f.team, &d.decision_id).unwrap());
        assert_eq!(
            s.list_decisions(&f.team).unwrap(),
            vec![rec.decision.clone()]
        );
        assert_eq!(
            kinds(&f),
            [
                "decision.opened",
                "decision.proposed",
                "decision.proposed",
                "decision.voted",
                "decision.voted",
                "decision.voted",
                "decision.voted",
                "decision.voted",
                "decision.closed"
            ]
        );
        let closed = s.events(&f.team, 0, 1000).unwrap().pop().unwrap();
        assert_eq!(closed.payload["winner"], a.candidate_id.as_str());
        assert_eq!(closed.payload["tally"][0]["votes"], 3);
        assert_eq!(closed.agent_id.as_deref(), Some(f.agents[0].as_str()));
    }

    #[test]
    fn split_consensus_closes_without_a_winner_and_lead_pick_overrides() {
        let f = Fixture::new(3);
        let s = &f.store;
        let d = open(&f, Strategy::Consensus, None);
        let a = propose(&f, &d.decision_id, 1, "a");
        let b = propose(&f, &d.decision_id, 2, "b");
        s.cast_vote(&f.team, &d.decision_id, &f.agents[1], &a, None)
            .unwrap();
        s.cast_vote(&f.team, &d.decision_id, &f.agents[2], &b, None)
            .unwrap();
        let rec = s
            .close_decision(&f.team, &d.decision_id, &f.agents[0], None, None)
            .unwrap();
        assert_eq!(
            (
                rec.decision.status,
                rec.decision.winner.clone(),
                rec.decision.reason.as_deref()
            ),
            (DecisionStatus::NoDecision, None, Some("split"))
        );

        let d = open(&f, Strategy::Lead, None);
        let a = propose(&f, &d.decision_id, 1, "a");
        let b = propose(&f, &d.decision_id, 2, "b");
        s.cast_vote(&f.team, &d.decision_id, &f.agents[1], &a, None)
            .unwrap();
        s.cast_vote(&f.team, &d.decision_id, &f.agents[2], &a, None)
            .unwrap();
        let err = s
            .close_decision(&f.team, &d.decision_id, &f.agents[0], None, None)
            .unwrap_err();
        assert!(err.to_string().contains("needs the lead's pick"), "{err}");
        let rec = s
            .close_decision(&f.team, &d.decision_id, &f.agents[0], Some(&b), None)
            .unwrap();
        assert_eq!(rec.decision.winner.as_deref(), Some(b.as_str()));
        assert_eq!(rec.tally[0].votes, 2, "votes recorded as advice");
    }

    #[test]
    fn strict_vote_counts_the_whole_roster_not_just_who_voted() {
        // Three members may vote; one vote is not a majority of three (issue 16).
        let f = Fixture::new(3);
        let s = &f.store;
        // A member whose recorded tools do not include voting is not in the electorate,
        // and neither is one whose spawn failed.
        let proposer_only = s
            .add_agent(
                &f.team,
                NewAgent {
                    name: "impl".into(),
                    role: "implementer".into(),
                    tools: Some(vec!["decision_propose".into(), "team_send".into()]),
                    ..Default::default()
                },
            )
            .unwrap()
            .agent_id;
        let failed = s
            .add_agent(
                &f.team,
                NewAgent {
                    name: "gone".into(),
                    role: "reviewer".into(),
                    tools: Some(vec!["decision_vote".into()]),
                    ..Default::default()
                },
            )
            .unwrap()
            .agent_id;
        s.set_agent_state(&f.team, &failed, AgentState::Failed, None, None)
            .unwrap();
        let d = open(&f, Strategy::StrictVote, None);
        let a = s
            .propose_candidate(
                &f.team,
                &d.decision_id,
                &proposer_only,
                NewCandidate {
                    summary: "patch a".into(),
                    ..Default::default()
                },
            )
            .unwrap()
            .candidate_id;
        s.cast_vote(&f.team, &d.decision_id, &f.agents[1], &a, None)
            .unwrap();
        let rec = s
            .close_decision(&f.team, &d.decision_id, &f.agents[0], None, None)
            .unwrap();
        assert_eq!(
            (rec.decision.status, rec.decision.reason.as_deref()),
            (DecisionStatus::NoDecision, Some("no_majority")),
            "{:?}",
            rec.decision.rationale
        );
        let why = rec.decision.rationale.unwrap();
        assert!(why.contains("1 of 3 eligible votes, 2 needed"), "{why}");

        // Two of the three is a majority.
        let d = open(&f, Strategy::StrictVote, None);
        let b = propose(&f, &d.decision_id, 0, "patch b");
        for who in [1, 2] {
            s.cast_vote(&f.team, &d.decision_id, &f.agents[who], &b, None)
                .unwrap();
        }
        let rec = s
            .close_decision(&f.team, &d.decision_id, &f.agents[0], None, None)
            .unwrap();
        assert_eq!(rec.decision.winner.as_deref(), Some(b.as_str()));
        assert!(rec.decision.rationale.unwrap().contains("2 of 3"));
    }

    #[test]
    fn a_team_that_is_not_running_takes_no_decisions() {
        for end in [
            TeamStatus::Finalized,
            TeamStatus::Failed,
            TeamStatus::Stopped,
        ] {
            let f = Fixture::new(2);
            let s = &f.store;
            let d = open(&f, Strategy::StrictVote, None);
            let c = propose(&f, &d.decision_id, 1, "patch");
            s.set_team_status_if(&f.team, TeamStatus::Running, end)
                .unwrap();
            let before = s.events(&f.team, 0, 1000).unwrap().len();
            let refused = [
                s.open_decision(
                    &f.team,
                    &f.agents[0],
                    NewDecision {
                        question: "late?".into(),
                        strategy: Strategy::Consensus,
                        voters: None,
                    },
                )
                .map(|_| ()),
                s.propose_candidate(
                    &f.team,
                    &d.decision_id,
                    &f.agents[1],
                    NewCandidate {
                        summary: "late".into(),
                        ..Default::default()
                    },
                )
                .map(|_| ()),
                s.cast_vote(&f.team, &d.decision_id, &f.agents[0], &c, None)
                    .map(|_| ()),
            ];
            for r in refused {
                match r {
                    Err(StoreError::Conflict(m)) => {
                        assert!(m.contains("not running") && m.contains(end.as_str()), "{m}")
                    }
                    other => panic!("{end:?}: expected a conflict, got {other:?}"),
                }
            }
            assert_eq!(s.list_decisions(&f.team).unwrap().len(), 1);
            assert_eq!(s.events(&f.team, 0, 1000).unwrap().len(), before);
        }
    }

    #[test]
    fn a_fixed_electorate_is_enforced() {
        let f = Fixture::new(4);
        let s = &f.store;
        let voters = vec![
            f.agents[1].clone(),
            f.agents[2].clone(),
            f.agents[1].clone(),
        ];
        let d = open(&f, Strategy::StrictVote, Some(&voters));
        assert_eq!(
            d.voters,
            Some(vec![f.agents[1].clone(), f.agents[2].clone()])
        );
        let a = propose(&f, &d.decision_id, 3, "a");
        let err = s
            .cast_vote(&f.team, &d.decision_id, &f.agents[3], &a, None)
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains("is not a voter")),
            "{err}"
        );
        s.cast_vote(&f.team, &d.decision_id, &f.agents[1], &a, None)
            .unwrap();
        // 1 of 2 eligible is not more than half
        let rec = s
            .close_decision(&f.team, &d.decision_id, &f.agents[0], None, None)
            .unwrap();
        assert_eq!(rec.decision.reason.as_deref(), Some("no_majority"));
    }

    #[test]
    fn refusals_name_the_problem_and_change_nothing() {
        let f = Fixture::new(2);
        let s = &f.store;
        let d = open(&f, Strategy::Consensus, None);
        let a = propose(&f, &d.decision_id, 1, "a");
        let other = open(&f, Strategy::Consensus, None);
        let foreign_cand = propose(&f, &other.decision_id, 1, "o");
        let before = s.events(&f.team, 0, 1000).unwrap();
        let dec = &d.decision_id;

        assert_not_found(s.decision(&f.team, "dec-nope"), "decision");
        assert_not_found(
            s.cast_vote(&f.team, "dec-nope", &f.agents[1], &a, None),
            "decision",
        );
        assert_not_found(
            s.cast_vote(&f.team, dec, &f.agents[1], "cnd-nope", None),
            "candidate",
        );
        let err = s
            .cast_vote(&f.team, dec, &f.agents[1], &foreign_cand, None)
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Invalid(m) if m.contains(&format!("belongs to decision {}", other.decision_id))),
            "{err}"
        );
        let none = NewCandidate::default();
        let err = s
            .propose_candidate(&f.team, dec, &f.agents[1], none)
            .unwrap_err();
        assert!(
            err.to_string().contains("needs an artifact or a summary"),
            "{err}"
        );
        let bad_art = NewCandidate {
            artifact_id: Some("art-nope".into()),
            ..Default::default()
        };
        assert_not_found(
            s.propose_candidate(&f.team, dec, &f.agents[1], bad_art),
            "artifact",
        );
        let q = NewDecision {
            question: " ".into(),
            strategy: Strategy::Lead,
            voters: None,
        };
        assert!(matches!(
            s.open_decision(&f.team, &f.agents[0], q),
            Err(StoreError::Invalid(_))
        ));
        let q = NewDecision {
            question: "q".into(),
            strategy: Strategy::Lead,
            voters: Some(vec![]),
        };
        let err = s.open_decision(&f.team, &f.agents[0], q).unwrap_err();
        assert!(err.to_string().contains("voters is empty"), "{err}");
        let q = NewDecision {
            question: "q".into(),
            strategy: Strategy::Lead,
            voters: Some(vec![f.outsider.clone()]),
        };
        assert_not_found(s.open_decision(&f.team, &f.agents[0], q), "agent");
        let err = s
            .close_decision(&f.team, dec, &f.agents[0], Some(&a), None)
            .unwrap_err();
        assert!(err.to_string().contains("only for strategy lead"), "{err}");
        // cross-team: the other team sees nothing of ours
        assert_not_found(s.decision(&f.other_team, dec), "decision");
        assert_not_found(
            s.cast_vote(&f.other_team, dec, &f.outsider, &a, None),
            "decision",
        );
        assert_not_found(s.cast_vote(&f.team, dec, &f.outsider, &a, None), "agent");
        assert_not_found(
            s.close_decision(&f.other_team, dec, &f.outsider, None, None),
            "decision",
        );
        assert_eq!(s.events(&f.team, 0, 1000).unwrap(), before);
        assert_eq!(
            s.decision(&f.team, dec).unwrap().decision.status,
            DecisionStatus::Open
        );

        // closing twice, and anything after closing
        s.cast_vote(&f.team, dec, &f.agents[1], &a, None).unwrap();
        s.close_decision(&f.team, dec, &f.agents[0], None, None)
            .unwrap();
        let after = s.decision(&f.team, dec).unwrap();
        for err in [
            s.close_decision(&f.team, dec, &f.agents[0], None, None)
                .unwrap_err(),
            s.cast_vote(&f.team, dec, &f.agents[1], &a, None)
                .unwrap_err(),
            s.propose_candidate(
                &f.team,
                dec,
                &f.agents[1],
                NewCandidate {
                    summary: "late".into(),
                    ..Default::default()
                },
            )
            .unwrap_err(),
        ] {
            assert!(
                matches!(&err, StoreError::Conflict(m) if m.contains("already closed (decided")),
                "{err}"
            );
        }
        assert_eq!(s.decision(&f.team, dec).unwrap(), after);
    }
}

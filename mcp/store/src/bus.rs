//! The message bus: at-least-once delivery with idempotent sends.
//!
//! A message is one `messages` row; each recipient gets a `deliveries` row that is leased by
//! `pull_inbox` and ended by `ack`. Messages are numbered by a global sequence (`seq`, the
//! commit order of sends), and pulls hand deliveries out in that order, so a recipient sees
//! each sender's messages in the order they were sent. Pulls and pending counts go through
//! the partial index `deliveries_unacked` (named with `INDEXED BY`, since the planner
//! without statistics would walk the primary key through every acknowledged delivery).

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use crate::events::log_event;
use crate::ids::{lease_ms, new_id, now_ms, prefix};
use crate::store::{ensure_member, ensure_team, require_text, within_limit};
use crate::*;

/// Where a stored message was addressed: `None` is a broadcast.
fn target(to: &Recipient) -> Option<&str> {
    match to {
        Recipient::Agent(id) => Some(id.as_str()),
        Recipient::Broadcast => None,
    }
}

/// The answer for a key that was used before: the first message if it matches this call,
/// a conflict if not.
fn replay_send(
    c: &Connection,
    team_id: &str,
    from_agent: &str,
    to: &Recipient,
    body: &str,
    key: &str,
) -> StoreResult<Option<SendOutcome>> {
    let earlier = c
        .prepare_cached(
            "SELECT seq, message_id, to_agent, body FROM messages
             WHERE team_id = ?1 AND from_agent = ?2 AND idempotency_key = ?3",
        )?
        .query_row(params![team_id, from_agent, key], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .optional()?;
    let Some((seq, message_id, to_agent, first_body)) = earlier else {
        return Ok(None);
    };
    if to_agent.as_deref() != target(to) || first_body != body {
        let what = if first_body != body {
            "body"
        } else {
            "recipient"
        };
        return Err(StoreError::Conflict(format!(
            "idempotency key '{key}' was already used by {from_agent} for message {message_id} \
             with a different {what}"
        )));
    }
    let recipients: i64 = c
        .prepare_cached("SELECT count(*) FROM deliveries WHERE msg_seq = ?1")?
        .query_row([seq], |r| r.get(0))?;
    Ok(Some(SendOutcome {
        message_id,
        created: false,
        recipients: recipients as usize,
    }))
}

/// The agent ids a new message goes to.
fn recipients_of(
    c: &Connection,
    team_id: &str,
    from_agent: &str,
    to: &Recipient,
) -> StoreResult<Vec<String>> {
    match to {
        Recipient::Agent(id) => {
            if id == from_agent {
                return Err(StoreError::Invalid(format!(
                    "{from_agent} cannot send a message to itself"
                )));
            }
            ensure_member(c, team_id, id)?;
            Ok(vec![id.clone()])
        }
        Recipient::Broadcast => {
            let mut stmt = c.prepare_cached(
                "SELECT agent_id FROM agents WHERE team_id = ?1 AND agent_id != ?2 ORDER BY rowid",
            )?;
            let ids = stmt
                .query_map(params![team_id, from_agent], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(ids)
        }
    }
}

impl Store {
    /// Sends `body` to one agent or to every other member. A retry with the same
    /// `idempotency_key` returns the first call's id and creates nothing; the same key with
    /// a different body or recipient is a conflict. Keys are scoped to the sender.
    pub fn send(
        &self,
        team_id: &str,
        from_agent: &str,
        to: Recipient,
        body: &str,
        idempotency_key: &str,
    ) -> StoreResult<SendOutcome> {
        require_text("message body", body)?;
        within_limit("message body", body, self.opts.max_body_bytes)?;
        require_text("idempotency key", idempotency_key)?;
        let now = now_ms();
        self.write(|c| {
            ensure_member(c, team_id, from_agent)?;
            if let Some(done) = replay_send(c, team_id, from_agent, &to, body, idempotency_key)? {
                return Ok(done);
            }
            let recipients = recipients_of(c, team_id, from_agent, &to)?;
            let message_id = new_id(prefix::MESSAGE);
            c.prepare_cached(
                "INSERT INTO messages (message_id, team_id, from_agent, to_agent, body,
                                       idempotency_key, sent_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                message_id,
                team_id,
                from_agent,
                target(&to),
                body,
                idempotency_key,
                now
            ])?;
            let seq = c.last_insert_rowid();
            let mut deliver = c.prepare_cached(
                "INSERT INTO deliveries (recipient, msg_seq, team_id, message_id)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for r in &recipients {
                deliver.execute(params![r, seq, team_id, message_id])?;
            }
            let to_field = target(&to).unwrap_or("*");
            let sent = serde_json::json!({ "message_id": message_id, "to": to_field,
                "recipients": recipients.len(), "bytes": body.len() });
            log_event(c, team_id, Some(from_agent), "message.sent", &sent)?;
            Ok(SendOutcome {
                message_id,
                created: true,
                recipients: recipients.len(),
            })
        })
    }

    /// Hands out up to `max` unacknowledged deliveries for `agent_id` whose lease is free or
    /// expired, leasing them for `lease`. Oldest first (send order), so order per sender is
    /// kept; a delivery whose lease ran out comes back with `attempts` one higher.
    pub fn pull_inbox(
        &self,
        team_id: &str,
        agent_id: &str,
        max: usize,
        lease: Duration,
    ) -> StoreResult<Vec<Delivery>> {
        if max == 0 {
            return Err(StoreError::Invalid("max must be at least 1".into()));
        }
        if lease.is_zero() {
            return Err(StoreError::Invalid("lease must be longer than zero".into()));
        }
        let lease = lease_ms(lease);
        self.write(|c| {
            ensure_member(c, team_id, agent_id)?;
            let now = now_ms();
            let mut pick = c.prepare_cached(
                "SELECT d.msg_seq, m.message_id, m.from_agent, m.body, m.sent_at, d.attempts
                 FROM deliveries d INDEXED BY deliveries_unacked
                 JOIN messages m ON m.seq = d.msg_seq
                 WHERE d.recipient = ?1 AND d.acked_at IS NULL
                   AND (d.lease_until IS NULL OR d.lease_until <= ?2)
                 ORDER BY d.msg_seq
                 LIMIT ?3",
            )?;
            let picked = pick
                .query_map(
                    params![agent_id, now, max.min(i64::MAX as usize) as i64],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            Delivery {
                                message_id: r.get(1)?,
                                team_id: team_id.to_string(),
                                from_agent: r.get(2)?,
                                to_agent: agent_id.to_string(),
                                body: r.get(3)?,
                                sent_at: r.get(4)?,
                                attempts: r.get::<_, u32>(5)? + 1,
                            },
                        ))
                    },
                )?
                .collect::<Result<Vec<_>, _>>()?;
            let mut lease_it = c.prepare_cached(
                "UPDATE deliveries SET lease_until = ?3, attempts = attempts + 1
                 WHERE recipient = ?1 AND msg_seq = ?2",
            )?;
            for (seq, d) in &picked {
                lease_it.execute(params![agent_id, seq, now + lease])?;
                let got = serde_json::json!({ "message_id": d.message_id,
                    "from": d.from_agent, "attempt": d.attempts, "bytes": d.body.len() });
                log_event(c, team_id, Some(agent_id), "message.delivered", &got)?;
            }
            Ok(picked.into_iter().map(|(_, d)| d).collect())
        })
    }

    /// Acknowledges deliveries; returns how many were newly acknowledged. Ids not addressed
    /// to this agent are `NotFound` (and nothing is acknowledged); acknowledging twice is
    /// not an error.
    pub fn ack(&self, team_id: &str, agent_id: &str, message_ids: &[String]) -> StoreResult<usize> {
        self.write(|c| {
            ensure_member(c, team_id, agent_id)?;
            let now = now_ms();
            let mut find = c.prepare_cached(
                "SELECT d.msg_seq, d.acked_at IS NOT NULL FROM deliveries d
                 JOIN messages m ON m.seq = d.msg_seq
                 WHERE m.message_id = ?1 AND m.team_id = ?2 AND d.recipient = ?3",
            )?;
            let mut end = c.prepare_cached(
                "UPDATE deliveries SET acked_at = ?3, lease_until = NULL
                 WHERE recipient = ?1 AND msg_seq = ?2 AND acked_at IS NULL",
            )?;
            let mut newly = 0;
            for id in message_ids {
                let (seq, acked) = find
                    .query_row(params![id, team_id, agent_id], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, bool>(1)?))
                    })
                    .optional()?
                    .ok_or_else(|| StoreError::NotFound {
                        kind: "message for this agent",
                        id: id.clone(),
                    })?;
                if !acked {
                    newly += end.execute(params![agent_id, seq, now])?;
                    let acked = serde_json::json!({ "message_id": id });
                    log_event(c, team_id, Some(agent_id), "message.acked", &acked)?;
                }
            }
            Ok(newly)
        })
    }

    /// Unacknowledged deliveries the agent has not got in hand: never pulled, or pulled
    /// and their lease ran out (a pull now would hand them out). What tells the supervisor
    /// an idle agent has mail and should be resumed; a message the agent pulled and still
    /// holds under lease is not news to it, so it does not count until the lease expires.
    pub fn pending_count(&self, team_id: &str, agent_id: &str) -> StoreResult<usize> {
        let now = now_ms();
        self.read(|c| {
            ensure_member(c, team_id, agent_id)?;
            let n: i64 = c
                .prepare_cached(
                    "SELECT count(*) FROM deliveries INDEXED BY deliveries_unacked
                     WHERE recipient = ?1 AND acked_at IS NULL
                       AND (lease_until IS NULL OR lease_until <= ?2)",
                )?
                .query_row(params![agent_id, now], |r| r.get(0))?;
            Ok(n as usize)
        })
    }

    /// Every message to `agent_id` not acknowledged yet, held under a pull lease or not:
    /// what a run summary reports as `unacked` (mail nobody confirmed handling).
    pub fn unacked_count(&self, team_id: &str, agent_id: &str) -> StoreResult<usize> {
        self.read(|c| {
            ensure_member(c, team_id, agent_id)?;
            let n: i64 = c
                .prepare_cached(
                    "SELECT count(*) FROM deliveries INDEXED BY deliveries_unacked
                     WHERE recipient = ?1 AND acked_at IS NULL",
                )?
                .query_row(params![agent_id], |r| r.get(0))?;
            Ok(n as usize)
        })
    }

    /// Ids of up to `limit` unacknowledged messages for `agent_id`, oldest first, without
    /// leasing them: for the log line that says which mail woke an agent.
    pub fn peek_pending_ids(
        &self,
        team_id: &str,
        agent_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<String>> {
        self.read(|c| {
            ensure_member(c, team_id, agent_id)?;
            let ids = c
                .prepare_cached(
                    "SELECT message_id FROM deliveries INDEXED BY deliveries_unacked
                     WHERE recipient = ?1 AND acked_at IS NULL
                     ORDER BY message_id LIMIT ?2",
                )?
                .query_map(rusqlite::params![agent_id, limit as i64], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(ids)
        })
    }

    /// Messages sent in the team (a broadcast counts once): the run summary's `messages`,
    /// so the supervisor need not query the schema itself. An unknown team is `NotFound`.
    pub fn message_count(&self, team_id: &str) -> StoreResult<usize> {
        self.read(|c| {
            ensure_team(c, team_id)?;
            let n: i64 = c
                .prepare_cached("SELECT count(*) FROM messages WHERE team_id = ?1")?
                .query_row([team_id], |r| r.get(0))?;
            Ok(n.max(0) as usize)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::testutil::{Fixture, assert_not_found};
    use crate::*;

    const LONG: Duration = Duration::from_secs(60);

    fn to(id: &str) -> Recipient {
        Recipient::Agent(id.to_string())
    }

    #[test]
    fn send_pull_ack_round_trip() {
        let f = Fixture::new(2);
        let (s, a, b) = (&f.store, &f.agents[0], &f.agents[1]);
        let out = s.send(&f.team, a, to(b), "hello", "k1").unwrap();
        assert!(out.message_id.starts_with("msg-") && out.created);
        assert_eq!(out.recipients, 1);
        assert_eq!(s.pending_count(&f.team, b).unwrap(), 1);
        assert_eq!(s.pending_count(&f.team, a).unwrap(), 0);

        let got = s.pull_inbox(&f.team, b, 10, LONG).unwrap();
        assert_eq!(got.len(), 1);
        let d = &got[0];
        assert_eq!(
            (
                d.message_id.as_str(),
                d.from_agent.as_str(),
                d.to_agent.as_str()
            ),
            (out.message_id.as_str(), a.as_str(), b.as_str())
        );
        assert_eq!(
            (d.body.as_str(), d.attempts, d.team_id.as_str()),
            ("hello", 1, f.team.as_str())
        );
        // leased: not handed out again, and not pending: the agent has it in hand, so an
        // idle agent is not woken for it (issue 16)
        assert!(s.pull_inbox(&f.team, b, 10, LONG).unwrap().is_empty());
        assert_eq!(s.pending_count(&f.team, b).unwrap(), 0);

        assert_eq!(
            s.ack(&f.team, b, std::slice::from_ref(&out.message_id))
                .unwrap(),
            1
        );
        assert_eq!(
            s.ack(&f.team, b, std::slice::from_ref(&out.message_id))
                .unwrap(),
            0,
            "second ack is a no-op"
        );
        assert_eq!(s.pending_count(&f.team, b).unwrap(), 0);
        assert!(s.pull_inbox(&f.team, b, 10, LONG).unwrap().is_empty());
        assert_eq!(s.ack(&f.team, b, &[]).unwrap(), 0);
    }

    #[test]
    fn idempotent_retry_creates_nothing() {
        let f = Fixture::new(2);
        let (s, a, b) = (&f.store, &f.agents[0], &f.agents[1]);
        let first = s.send(&f.team, a, to(b), "once", "key").unwrap();
        let again = s.send(&f.team, a, to(b), "once", "key").unwrap();
        assert_eq!(
            again,
            SendOutcome {
                created: false,
                ..first.clone()
            }
        );
        assert_eq!(s.pending_count(&f.team, b).unwrap(), 1);
        // keys belong to the sender: b may use the same key for its own message
        let other = s.send(&f.team, b, to(a), "once", "key").unwrap();
        assert!(other.created && other.message_id != first.message_id);
    }

    #[test]
    fn reused_key_with_other_body_or_recipient_conflicts() {
        let f = Fixture::new(3);
        let (s, a, b, c) = (&f.store, &f.agents[0], &f.agents[1], &f.agents[2]);
        let first = s.send(&f.team, a, to(b), "one", "key").unwrap();
        let err = s.send(&f.team, a, to(b), "two", "key").unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains("different body") && m.contains(&first.message_id)),
            "{err}"
        );
        let err = s.send(&f.team, a, to(c), "one", "key").unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains("different recipient")),
            "{err}"
        );
        let err = s
            .send(&f.team, a, Recipient::Broadcast, "one", "key")
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)));
        assert_eq!(s.pending_count(&f.team, c).unwrap(), 0);
    }

    #[test]
    fn broadcast_reaches_every_other_member_once() {
        let f = Fixture::new(4);
        let s = &f.store;
        let out = s
            .send(
                &f.team,
                &f.agents[0],
                Recipient::Broadcast,
                "all hands",
                "b1",
            )
            .unwrap();
        assert_eq!(out.recipients, 3);
        assert_eq!(
            s.pending_count(&f.team, &f.agents[0]).unwrap(),
            0,
            "not to the sender"
        );
        for b in &f.agents[1..] {
            let got = s.pull_inbox(&f.team, b, 10, LONG).unwrap();
            assert_eq!(got.len(), 1);
            assert_eq!(
                (got[0].message_id.as_str(), got[0].to_agent.as_str()),
                (out.message_id.as_str(), b.as_str())
            );
            s.ack(&f.team, b, &[got[0].message_id.clone()]).unwrap();
        }
        // the outsider's team got nothing
        assert_eq!(s.pending_count(&f.other_team, &f.outsider).unwrap(), 0);
        let again = s
            .send(
                &f.team,
                &f.agents[0],
                Recipient::Broadcast,
                "all hands",
                "b1",
            )
            .unwrap();
        assert_eq!((again.created, again.recipients), (false, 3));
    }

    #[test]
    fn expired_lease_redelivers_with_more_attempts() {
        let f = Fixture::new(2);
        let (s, a, b) = (&f.store, &f.agents[0], &f.agents[1]);
        let m = s.send(&f.team, a, to(b), "x", "k").unwrap().message_id;
        let first = s
            .pull_inbox(&f.team, b, 1, Duration::from_millis(250))
            .unwrap();
        assert_eq!(first[0].attempts, 1);
        assert!(s.pull_inbox(&f.team, b, 1, LONG).unwrap().is_empty());
        assert_eq!(s.pending_count(&f.team, b).unwrap(), 0, "held under lease");
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(s.pending_count(&f.team, b).unwrap(), 1, "lease ran out");
        let second = s.pull_inbox(&f.team, b, 1, LONG).unwrap();
        assert_eq!(
            (second[0].message_id.as_str(), second[0].attempts),
            (m.as_str(), 2)
        );
        // an ack after a redelivery ends it for good
        assert_eq!(s.ack(&f.team, b, &[m]).unwrap(), 1);
        std::thread::sleep(Duration::from_millis(5));
        assert!(
            s.pull_inbox(&f.team, b, 1, Duration::from_millis(1))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn order_per_sender_is_kept_across_batches_and_redelivery() {
        let f = Fixture::new(3);
        let (s, a, b, r) = (&f.store, &f.agents[0], &f.agents[1], &f.agents[2]);
        for i in 0..10 {
            s.send(&f.team, a, to(r), &format!("a{i}"), &format!("ka{i}"))
                .unwrap();
            s.send(&f.team, b, to(r), &format!("b{i}"), &format!("kb{i}"))
                .unwrap();
        }
        // a short lease on the first batch, then let it expire: it comes back first
        let first = s
            .pull_inbox(&f.team, r, 4, Duration::from_millis(20))
            .unwrap();
        let bodies: Vec<_> = first.iter().map(|d| d.body.as_str()).collect();
        assert_eq!(bodies, ["a0", "b0", "a1", "b1"]);
        std::thread::sleep(Duration::from_millis(30));
        let mut seen = Vec::new();
        loop {
            let got = s.pull_inbox(&f.team, r, 3, LONG).unwrap();
            if got.is_empty() {
                break;
            }
            let ids: Vec<_> = got.iter().map(|d| d.message_id.clone()).collect();
            seen.extend(got.into_iter().map(|d| d.body));
            s.ack(&f.team, r, &ids).unwrap();
        }
        let from = |p: &str| {
            seen.iter()
                .filter(|x| x.starts_with(p))
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(
            from("a"),
            (0..10).map(|i| format!("a{i}")).collect::<Vec<_>>()
        );
        assert_eq!(
            from("b"),
            (0..10).map(|i| format!("b{i}")).collect::<Vec<_>>()
        );
        assert_eq!(seen.len(), 20);
    }

    #[test]
    fn body_limit_is_enforced_with_a_clear_error() {
        let opts = StoreOptions {
            max_body_bytes: 8,
            ..Default::default()
        };
        let f = Fixture::with_options(2, opts);
        let (s, a, b) = (&f.store, &f.agents[0], &f.agents[1]);
        s.send(&f.team, a, to(b), "12345678", "ok").unwrap();
        let err = s.send(&f.team, a, to(b), "123456789", "big").unwrap_err();
        assert!(matches!(
            err,
            StoreError::TooLarge {
                what: "message body",
                size: 9,
                limit: 8
            }
        ));
        assert_eq!(
            err.to_string(),
            "message body is 9 bytes, over the limit of 8 bytes"
        );
        // the default is 16 KiB
        let f = Fixture::new(2);
        let big = "x".repeat(16 * 1024 + 1);
        assert!(matches!(
            f.store
                .send(&f.team, &f.agents[0], to(&f.agents[1]), &big, "k"),
            Err(StoreError::TooLarge { .. })
        ));
        f.store
            .send(&f.team, &f.agents[0], to(&f.agents[1]), &big[1..], "k")
            .unwrap();
    }

    #[test]
    fn bad_input_and_foreign_ids_are_refused() {
        let f = Fixture::new(2);
        let (s, a, b) = (&f.store, &f.agents[0], &f.agents[1]);
        assert!(
            matches!(s.send(&f.team, a, to(b), "", "k"), Err(StoreError::Invalid(m)) if m.contains("message body"))
        );
        assert!(
            matches!(s.send(&f.team, a, to(b), "x", " "), Err(StoreError::Invalid(m)) if m.contains("idempotency key"))
        );
        assert!(
            matches!(s.send(&f.team, a, to(a), "x", "k"), Err(StoreError::Invalid(m)) if m.contains("itself"))
        );
        assert_not_found(s.send(&f.team, a, to(&f.outsider), "x", "k"), "agent");
        assert_not_found(s.send(&f.team, &f.outsider, to(b), "x", "k"), "agent");
        assert_not_found(s.send("team-nope", a, to(b), "x", "k"), "team");
        assert_not_found(s.send(&f.team, a, to("agt-nope"), "x", "k"), "agent");

        assert!(matches!(
            s.pull_inbox(&f.team, b, 0, LONG),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            s.pull_inbox(&f.team, b, 1, Duration::ZERO),
            Err(StoreError::Invalid(_))
        ));
        assert_not_found(s.pull_inbox(&f.team, &f.outsider, 1, LONG), "agent");
        assert_not_found(s.pending_count(&f.team, &f.outsider), "agent");

        let m = s.send(&f.team, a, to(b), "x", "k").unwrap().message_id;
        // only the recipient can ack, and an unknown id rolls the whole ack back
        assert_not_found(
            s.ack(&f.team, a, std::slice::from_ref(&m)),
            "message for this agent",
        );
        assert_not_found(
            s.ack(&f.team, b, &[m.clone(), "msg-nope".into()]),
            "message for this agent",
        );
        assert_eq!(s.pending_count(&f.team, b).unwrap(), 1);
        assert_not_found(
            s.ack(&f.team, &f.outsider, std::slice::from_ref(&m)),
            "agent",
        );
        assert_not_found(
            s.ack(&f.other_team, &f.outsider, std::slice::from_ref(&m)),
            "message for this agent",
        );
        assert_eq!(s.ack(&f.team, b, &[m]).unwrap(), 1);
    }

    #[test]
    fn message_count_counts_sends_per_team() {
        let f = Fixture::new(3);
        let s = &f.store;
        assert_eq!(s.message_count(&f.team).unwrap(), 0);
        s.send(&f.team, &f.agents[0], to(&f.agents[1]), "one", "k1")
            .unwrap();
        s.send(&f.team, &f.agents[1], Recipient::Broadcast, "all", "k2")
            .unwrap();
        // A retried send (same key) is the same message.
        s.send(&f.team, &f.agents[0], to(&f.agents[1]), "one", "k1")
            .unwrap();
        assert_eq!(
            s.message_count(&f.team).unwrap(),
            2,
            "a broadcast counts once"
        );
        assert_eq!(s.message_count(&f.other_team).unwrap(), 0);
        assert_not_found(s.message_count("team-nope"), "team");
    }
}

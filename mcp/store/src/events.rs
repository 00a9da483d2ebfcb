//! The append-only event log: the timeline `replay` reads back. Triggers in the schema
//! refuse any UPDATE or DELETE, so history cannot be rewritten through SQL either.

use rusqlite::params;

use crate::codec::json_column;
use crate::ids::now_ms;
use crate::store::{ensure_member, ensure_team, require_text};
use crate::*;

/// Appends one event inside the caller's transaction, so a change and its log line commit
/// together. The caller has already checked the team and agent. The payload is redacted
/// ([`crate::redact`]) like every event the store writes.
pub(crate) fn log_event(
    c: &rusqlite::Connection,
    team_id: &str,
    agent_id: Option<&str>,
    kind: &str,
    payload: &serde_json::Value,
) -> StoreResult<i64> {
    let payload = crate::redact::redact_json(payload);
    let at = now_ms();
    c.prepare_cached(
        "INSERT INTO events (team_id, agent_id, kind, payload, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![team_id, agent_id, kind, payload.to_string(), at])?;
    let seq = c.last_insert_rowid();
    crate::event_trace::hold(Event {
        seq,
        team_id: team_id.to_string(),
        agent_id: agent_id.map(str::to_string),
        kind: kind.to_string(),
        payload,
        at,
    });
    Ok(seq)
}

impl Store {
    /// Appends to the team's event log; returns its sequence number (global, increasing).
    /// Secrets in the payload are redacted first ([`crate::redact`]): the event log is read
    /// back by `replay` and summaries, and outlives the run.
    pub fn append_event(
        &self,
        team_id: &str,
        agent_id: Option<&str>,
        kind: &str,
        payload: &serde_json::Value,
    ) -> StoreResult<i64> {
        require_text("event kind", kind)?;
        self.write(|c| {
            match agent_id {
                Some(agent) => ensure_member(c, team_id, agent)?,
                None => ensure_team(c, team_id)?,
            }
            log_event(c, team_id, agent_id, kind, payload)
        })
    }

    /// Events of the team after `after_seq` whose kind starts with `kind_prefix` (e.g.
    /// `"task."`), oldest first, at most `limit`: what a cursor over one part of the log reads
    /// without wading through the rest.
    pub fn events_of_kind(
        &self,
        team_id: &str,
        after_seq: i64,
        kind_prefix: &str,
        limit: usize,
    ) -> StoreResult<Vec<Event>> {
        self.read(|c| {
            ensure_team(c, team_id)?;
            let mut stmt = c.prepare_cached(
                "SELECT seq, team_id, agent_id, kind, payload, at FROM events
                 WHERE team_id = ?1 AND seq > ?2 AND substr(kind, 1, length(?3)) = ?3
                 ORDER BY seq LIMIT ?4",
            )?;
            let events = stmt
                .query_map(
                    params![
                        team_id,
                        after_seq,
                        kind_prefix,
                        limit.min(i64::MAX as usize) as i64
                    ],
                    event_row,
                )?
                .collect::<Result<_, _>>()?;
            Ok(events)
        })
    }

    /// The sequence number of the team's newest event (0 when it has none): where a new
    /// cursor starts.
    pub fn last_event_seq(&self, team_id: &str) -> StoreResult<i64> {
        self.read(|c| {
            ensure_team(c, team_id)?;
            let seq: i64 = c
                .prepare_cached("SELECT coalesce(max(seq), 0) FROM events WHERE team_id = ?1")?
                .query_row([team_id], |r| r.get(0))?;
            Ok(seq)
        })
    }

    /// Events of the team after `after_seq`, oldest first, at most `limit`.
    pub fn events(&self, team_id: &str, after_seq: i64, limit: usize) -> StoreResult<Vec<Event>> {
        self.read(|c| {
            ensure_team(c, team_id)?;
            let mut stmt = c.prepare_cached(
                "SELECT seq, team_id, agent_id, kind, payload, at FROM events
                 WHERE team_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?;
            let events = stmt
                .query_map(
                    params![team_id, after_seq, limit.min(i64::MAX as usize) as i64],
                    event_row,
                )?
                .collect::<Result<_, _>>()?;
            Ok(events)
        })
    }
}

/// One `events` row, selected as `seq, team_id, agent_id, kind, payload, at`.
fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Event> {
    Ok(Event {
        seq: r.get(0)?,
        team_id: r.get(1)?,
        agent_id: r.get(2)?,
        kind: r.get(3)?,
        payload: json_column(r.get(4)?)?,
        at: r.get(5)?,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testutil::{Fixture, assert_not_found};
    use crate::*;

    #[test]
    fn events_append_and_page() {
        let f = Fixture::new(1);
        let s = &f.store;
        let a = &f.agents[0];
        // The fixture's own team.started and agent.added come first.
        let base = s.last_event_seq(&f.team).unwrap();
        let s1 = s
            .append_event(&f.team, None, "team.started", &json!({"goal": "x"}))
            .unwrap();
        let s2 = s
            .append_event(&f.team, Some(a), "agent.spawned", &json!({}))
            .unwrap();
        s.append_event(&f.other_team, None, "team.started", &json!(null))
            .unwrap();
        let s3 = s
            .append_event(&f.team, Some(a), "message.sent", &json!([1, 2]))
            .unwrap();
        assert!(s1 < s2 && s2 < s3);
        let all = s.events(&f.team, base, 100).unwrap();
        assert_eq!(
            all.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![s1, s2, s3]
        );
        assert_eq!(all[0].payload, json!({"goal": "x"}));
        assert_eq!(all[1].agent_id.as_deref(), Some(a.as_str()));
        let page = s.events(&f.team, s1, 1).unwrap();
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].kind, "agent.spawned");
        assert!(s.events(&f.team, s3, 10).unwrap().is_empty());
    }

    #[test]
    fn task_changes_are_logged_and_read_by_kind() {
        let f = Fixture::new(1);
        let s = &f.store;
        let a = &f.agents[0];
        assert_eq!(
            s.events_of_kind(&f.team, 0, "", 100).unwrap()[0].kind,
            "team.started"
        );
        s.append_event(&f.team, Some(a), "codex.item.updated", &json!({}))
            .unwrap();
        let start = s.last_event_seq(&f.team).unwrap();
        let t = s
            .create_task(
                &f.team,
                a,
                NewTask {
                    title: "t".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        s.append_event(&f.team, Some(a), "codex.item.updated", &json!({}))
            .unwrap();
        let t = s
            .claim_task(
                &f.team,
                Some(&t.task_id),
                a,
                std::time::Duration::from_secs(60),
            )
            .unwrap();
        s.update_task(
            &f.team,
            &t.task_id,
            a,
            t.version,
            TaskUpdate {
                status: Some(TaskStatus::Done),
                ..Default::default()
            },
        )
        .unwrap();
        let got = s.events_of_kind(&f.team, start, "task.", 100).unwrap();
        assert_eq!(
            got.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
            ["task.created", "task.claimed", "task.updated"]
        );
        assert!(
            got.iter()
                .all(|e| e.payload["task_id"] == t.task_id.as_str())
        );
        assert_eq!(got[2].payload["status"], "done");
        assert_eq!(got[2].agent_id.as_deref(), Some(a.as_str()));
        assert_eq!(s.last_event_seq(&f.team).unwrap(), got[2].seq);
        let after = s.events_of_kind(&f.team, got[0].seq, "task.", 1).unwrap();
        assert_eq!(after[0].kind, "task.claimed");
        assert!(
            s.events_of_kind(&f.other_team, 0, "task.", 10)
                .unwrap()
                .is_empty()
        );
        assert_not_found(s.events_of_kind("team-nope", 0, "task.", 10), "team");
        assert_not_found(s.last_event_seq("team-nope"), "team");
    }

    #[test]
    fn every_event_the_store_writes_is_redacted() {
        let f = Fixture::new(1);
        let s = &f.store;
        let a = &f.agents[0];
        let key = "sk-live0123456789abcdefghijklmnop";
        s.create_task(
            &f.team,
            a,
            NewTask {
                title: format!("deploy with {key}"),
                ..Default::default()
            },
        )
        .unwrap();
        s.append_event(
            &f.team,
            Some(a),
            "team.finalized",
            &json!({"summary": "db password=hunter2-secret", "api_key": "abc"}),
        )
        .unwrap();
        let text = serde_json::to_string(&s.events(&f.team, 0, 100).unwrap()).unwrap();
        for secret in [key, "hunter2-secret", "\"abc\""] {
            assert!(!text.contains(secret), "{secret} stored: {text}");
        }
        assert!(text.contains("sk-[REDACTED]"), "{text}");
    }

    #[test]
    fn bus_artifact_agent_and_usage_events_carry_their_ids() {
        let f = Fixture::new(2);
        let s = &f.store;
        let (a, b) = (&f.agents[0], &f.agents[1]);
        let start = s.last_event_seq(&f.team).unwrap();
        let body = "a body the log must not keep";
        let sent = s
            .send(&f.team, a, Recipient::Agent(b.clone()), body, "k1")
            .unwrap();
        // A retried send creates nothing, so it logs nothing either.
        s.send(&f.team, a, Recipient::Agent(b.clone()), body, "k1")
            .unwrap();
        let got = s
            .pull_inbox(&f.team, b, 10, std::time::Duration::from_secs(60))
            .unwrap();
        assert_eq!(got.len(), 1);
        s.ack(&f.team, b, std::slice::from_ref(&sent.message_id))
            .unwrap();
        s.ack(&f.team, b, std::slice::from_ref(&sent.message_id))
            .unwrap();
        let art = s
            .publish_artifact(
                &f.team,
                a,
                NewArtifact {
                    name: "notes".into(),
                    content: "twelve bytes".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        s.record_artifact_read(&f.team, b, &art).unwrap();
        s.set_agent_state(&f.team, b, AgentState::Running, None, Some(42))
            .unwrap();
        s.set_agent_state(&f.team, b, AgentState::Running, Some("thr"), Some(42))
            .unwrap();
        s.record_usage(
            &f.team,
            b,
            Usage {
                input_tokens: 10,
                output_tokens: 3,
                ..Default::default()
            },
        )
        .unwrap();
        let ev = s.events(&f.team, start, 100).unwrap();
        let kinds: Vec<&str> = ev.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "message.sent",
                "message.delivered",
                "message.acked",
                "artifact.published",
                "artifact.read",
                "agent.state",
                "usage.recorded"
            ]
        );
        for e in &ev[..3] {
            assert_eq!(e.payload["message_id"], sent.message_id.as_str());
        }
        assert_eq!(ev[0].agent_id.as_deref(), Some(a.as_str()));
        assert_eq!(ev[0].payload["to"], b.as_str());
        assert_eq!(ev[0].payload["bytes"], body.len());
        assert_eq!(ev[1].agent_id.as_deref(), Some(b.as_str()));
        assert_eq!(ev[1].payload["attempt"], 1);
        assert_eq!(ev[2].agent_id.as_deref(), Some(b.as_str()));
        assert!(
            ev[3..5]
                .iter()
                .all(|e| e.payload["artifact_id"] == art.artifact_id.as_str())
        );
        assert_eq!(ev[3].payload["bytes"], 12);
        assert_eq!(ev[4].agent_id.as_deref(), Some(b.as_str()));
        assert_eq!(ev[5].payload["to"], "running");
        assert_eq!(ev[6].payload["input_tokens"], 10);
        let text = serde_json::to_string(&ev).unwrap();
        assert!(!text.contains(body) && !text.contains("twelve"), "{text}");
        assert_not_found(s.record_artifact_read(&f.other_team, b, &art), "agent");
    }

    #[test]
    fn event_errors() {
        let f = Fixture::new(1);
        let s = &f.store;
        assert!(matches!(
            s.append_event(&f.team, None, "", &json!({})),
            Err(StoreError::Invalid(_))
        ));
        assert_not_found(s.append_event("team-nope", None, "k", &json!({})), "team");
        assert_not_found(
            s.append_event(&f.team, Some(&f.outsider), "k", &json!({})),
            "agent",
        );
        assert_not_found(s.events("team-nope", 0, 10), "team");
    }

    #[test]
    fn the_log_cannot_be_rewritten() {
        let f = Fixture::new(0);
        f.store
            .append_event(&f.team, None, "k", &json!({}))
            .unwrap();
        let raw = rusqlite::Connection::open(&f.db.path).unwrap();
        let upd = raw
            .execute("UPDATE events SET kind = 'forged'", [])
            .unwrap_err();
        assert!(upd.to_string().contains("append-only"), "{upd}");
        let del = raw.execute("DELETE FROM events", []).unwrap_err();
        assert!(del.to_string().contains("append-only"), "{del}");
        assert_eq!(
            f.store.events(&f.team, 0, 10).unwrap().last().unwrap().kind,
            "k"
        );
    }
}

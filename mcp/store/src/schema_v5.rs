//! Schema v5: fewer pages written per message. A commit writes one WAL frame per page it
//! changed, and `bench bus` found the WAL writes to be the largest part of a send, so:
//! - `deliveries` is clustered by message (`msg_seq`, then recipient) instead of by
//!   recipient: the deliveries of messages sent together sit on one page instead of one
//!   page per recipient. Pulls go through `deliveries_unacked`, which is keyed by
//!   recipient and holds only what is not acknowledged, so it stays a page or two.
//! - `events.seq` is a plain `INTEGER PRIMARY KEY`: `AUTOINCREMENT` only differs in never
//!   reusing the number of a deleted row, and the log's triggers forbid deleting one;
//!   it cost a write to `sqlite_sequence` in every commit that logged an event.
//!
//! Both tables are made again and their rows copied, in the migration's transaction.

/// The step from v4 to v5.
pub(crate) const V5: &str = r#"
CREATE TABLE deliveries_v5 (
    recipient   TEXT NOT NULL,
    msg_seq     INTEGER NOT NULL REFERENCES messages (seq),
    team_id     TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    lease_until INTEGER,
    attempts    INTEGER NOT NULL DEFAULT 0,
    acked_at    INTEGER,
    PRIMARY KEY (msg_seq, recipient),
    FOREIGN KEY (team_id, recipient) REFERENCES agents (team_id, agent_id)
) WITHOUT ROWID;
INSERT INTO deliveries_v5 (recipient, msg_seq, team_id, message_id, lease_until, attempts, acked_at)
    SELECT recipient, msg_seq, team_id, message_id, lease_until, attempts, acked_at FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_v5 RENAME TO deliveries;
CREATE INDEX deliveries_unacked ON deliveries (recipient, msg_seq) WHERE acked_at IS NULL;

CREATE TABLE events_v5 (
    seq      INTEGER PRIMARY KEY,
    team_id  TEXT NOT NULL REFERENCES teams (team_id),
    agent_id TEXT,
    kind     TEXT NOT NULL,
    payload  TEXT NOT NULL,
    at       INTEGER NOT NULL,
    FOREIGN KEY (team_id, agent_id) REFERENCES agents (team_id, agent_id)
);
INSERT INTO events_v5 (seq, team_id, agent_id, kind, payload, at)
    SELECT seq, team_id, agent_id, kind, payload, at FROM events;
DROP TABLE events;
ALTER TABLE events_v5 RENAME TO events;
CREATE INDEX events_by_team ON events (team_id, seq);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
"#;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rusqlite::Connection;

    use crate::schema::{APPLICATION_ID, MIGRATIONS};
    use crate::testutil::TestDb;
    use crate::*;

    /// A file as a v4 build left it, with a delivered, an acknowledged and a pending
    /// message and two events: after the upgrade every row is there, the bus carries on
    /// where it was, and new events continue the old numbering.
    #[test]
    fn v4_file_upgrades_with_its_messages_and_events() {
        let db = TestDb::new();
        let c = Connection::open(&db.path).unwrap();
        c.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;
             PRAGMA application_id = {APPLICATION_ID};"
        ))
        .unwrap();
        for step in &MIGRATIONS[..4] {
            c.execute_batch(step).unwrap();
        }
        c.execute_batch(
            r#"
            INSERT INTO teams VALUES ('team-1', 'g', '/repo', 'default', '{}', 'running', 1, 1);
            INSERT INTO agents (agent_id, team_id, name, role, state, brief, created_at, updated_at)
                VALUES ('agt-a', 'team-1', 'lead', 'lead', 'running', '', 1, 1),
                       ('agt-b', 'team-1', 'w1', 'implementer', 'idle', '', 1, 1);
            INSERT INTO messages (seq, message_id, team_id, from_agent, to_agent, body, idempotency_key, sent_at)
                VALUES (1, 'msg-1', 'team-1', 'agt-a', 'agt-b', 'acked', 'k1', 2),
                       (2, 'msg-2', 'team-1', 'agt-a', 'agt-b', 'pending', 'k2', 3);
            INSERT INTO deliveries (recipient, msg_seq, team_id, message_id, attempts, acked_at)
                VALUES ('agt-b', 1, 'team-1', 'msg-1', 1, 5), ('agt-b', 2, 'team-1', 'msg-2', 0, NULL);
            INSERT INTO events (team_id, agent_id, kind, payload, at)
                VALUES ('team-1', NULL, 'team.started', '{}', 1), ('team-1', 'agt-a', 'x', '{}', 2);
            PRAGMA user_version = 4;
            "#,
        )
        .unwrap();
        drop(c);

        let s = Store::open(&db.path).unwrap();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(s.unacked_count("team-1", "agt-b").unwrap(), 1);
        let got = s
            .pull_inbox("team-1", "agt-b", 10, Duration::from_secs(60))
            .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].message_id.as_str(), got[0].body.as_str()),
            ("msg-2", "pending")
        );
        assert_eq!(s.ack("team-1", "agt-b", &["msg-2".to_string()]).unwrap(), 1);
        assert_eq!(s.ack("team-1", "agt-b", &["msg-1".to_string()]).unwrap(), 0);
        let sent = s
            .send(
                "team-1",
                "agt-b",
                Recipient::Agent("agt-a".into()),
                "new",
                "k3",
            )
            .unwrap();
        assert!(sent.created);
        let events = s.events("team-1", 0, 100).unwrap();
        let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
        assert_eq!(&seqs[..2], &[1, 2], "old events keep their numbers");
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        assert!(seqs.len() > 2, "the pull, the ack and the send were logged");
        let refused = s.conn.execute("DELETE FROM events WHERE seq = 1", []);
        assert!(refused.is_err(), "the log stays append-only");
        let ok: String = s
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        let fk_violations = s
            .conn
            .prepare("PRAGMA foreign_key_check")
            .unwrap()
            .query_map([], |_| Ok(()))
            .unwrap()
            .count();
        assert_eq!(fk_violations, 0);
    }
}

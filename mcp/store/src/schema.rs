//! Forward-only migrations. The schema version lives in `PRAGMA user_version`; each step
//! takes the file from version `n - 1` to `n`. On open, every pending step runs in one
//! `BEGIN IMMEDIATE` transaction, so concurrent openers apply them once and a crash leaves
//! the file at the old version. A file newer than this build is refused, never touched.

use rusqlite::Connection;

use crate::{StoreError, StoreResult};

/// Marks a SQLite file as a codex-teams database (`PRAGMA application_id`), ASCII "CXTM".
pub(crate) const APPLICATION_ID: i32 = 0x4358_544D;

/// v1: teams, agents, the bus, the task board, artifacts and the event log.
pub(crate) const V1: &str = r#"
CREATE TABLE teams (
    team_id    TEXT PRIMARY KEY,
    goal       TEXT NOT NULL,
    cwd        TEXT NOT NULL,
    profile    TEXT NOT NULL,
    config     TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('running', 'finalized', 'failed', 'stopped')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE agents (
    agent_id   TEXT PRIMARY KEY,
    team_id    TEXT NOT NULL REFERENCES teams (team_id),
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'running', 'idle', 'stopped', 'failed')),
    thread_id  TEXT,
    pgid       INTEGER,
    model      TEXT,
    brief      TEXT NOT NULL,
    token_hash TEXT UNIQUE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (team_id, name),
    UNIQUE (team_id, agent_id)
);

CREATE TABLE messages (
    seq             INTEGER PRIMARY KEY,
    message_id      TEXT NOT NULL UNIQUE,
    team_id         TEXT NOT NULL,
    from_agent      TEXT NOT NULL,
    to_agent        TEXT,
    body            TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    sent_at         INTEGER NOT NULL,
    UNIQUE (team_id, from_agent, idempotency_key),
    FOREIGN KEY (team_id, from_agent) REFERENCES agents (team_id, agent_id),
    FOREIGN KEY (team_id, to_agent) REFERENCES agents (team_id, agent_id)
);

CREATE TABLE deliveries (
    recipient   TEXT NOT NULL,
    msg_seq     INTEGER NOT NULL REFERENCES messages (seq),
    team_id     TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    lease_until INTEGER,
    attempts    INTEGER NOT NULL DEFAULT 0,
    acked_at    INTEGER,
    PRIMARY KEY (recipient, msg_seq),
    FOREIGN KEY (team_id, recipient) REFERENCES agents (team_id, agent_id)
) WITHOUT ROWID;

CREATE TABLE tasks (
    task_id         TEXT PRIMARY KEY,
    team_id         TEXT NOT NULL REFERENCES teams (team_id),
    title           TEXT NOT NULL,
    description     TEXT NOT NULL,
    role            TEXT,
    status          TEXT NOT NULL CHECK (status IN ('open', 'claimed', 'done', 'failed')),
    claimed_by      TEXT,
    lease_until     INTEGER,
    progress        TEXT,
    result_artifact TEXT,
    result_version  INTEGER,
    version         INTEGER NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (team_id, task_id),
    FOREIGN KEY (team_id, created_by) REFERENCES agents (team_id, agent_id),
    FOREIGN KEY (team_id, claimed_by) REFERENCES agents (team_id, agent_id),
    FOREIGN KEY (team_id, result_artifact) REFERENCES artifacts (team_id, artifact_id)
);
CREATE INDEX tasks_by_status ON tasks (team_id, status);

CREATE TABLE task_deps (
    task_id TEXT NOT NULL,
    dep_id  TEXT NOT NULL,
    team_id TEXT NOT NULL,
    pos     INTEGER NOT NULL,
    PRIMARY KEY (task_id, dep_id),
    FOREIGN KEY (team_id, task_id) REFERENCES tasks (team_id, task_id),
    FOREIGN KEY (team_id, dep_id) REFERENCES tasks (team_id, task_id)
) WITHOUT ROWID;
CREATE INDEX task_deps_by_dep ON task_deps (dep_id);

CREATE TABLE blobs (
    team_id TEXT NOT NULL REFERENCES teams (team_id),
    sha256  TEXT NOT NULL,
    size    INTEGER NOT NULL,
    content TEXT NOT NULL,
    UNIQUE (team_id, sha256)
);

CREATE TABLE artifacts (
    artifact_id TEXT PRIMARY KEY,
    team_id     TEXT NOT NULL REFERENCES teams (team_id),
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (team_id, name),
    UNIQUE (team_id, artifact_id)
);

CREATE TABLE artifact_versions (
    artifact_id TEXT NOT NULL,
    version     INTEGER NOT NULL CHECK (version >= 1),
    team_id     TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    summary     TEXT NOT NULL,
    author      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (artifact_id, version),
    FOREIGN KEY (team_id, artifact_id) REFERENCES artifacts (team_id, artifact_id),
    FOREIGN KEY (team_id, sha256) REFERENCES blobs (team_id, sha256),
    FOREIGN KEY (team_id, author) REFERENCES agents (team_id, agent_id)
) WITHOUT ROWID;

CREATE TABLE events (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id  TEXT NOT NULL REFERENCES teams (team_id),
    agent_id TEXT,
    kind     TEXT NOT NULL,
    payload  TEXT NOT NULL,
    at       INTEGER NOT NULL,
    FOREIGN KEY (team_id, agent_id) REFERENCES agents (team_id, agent_id)
);
CREATE INDEX events_by_team ON events (team_id, seq);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
"#;

/// v2: the per-turn token usage ledger, and a partial index over unacknowledged
/// deliveries so an inbox pull stays fast however much acknowledged history piles up.
pub(crate) const V2: &str = r#"
CREATE TABLE usage (
    seq                     INTEGER PRIMARY KEY,
    team_id                 TEXT NOT NULL,
    agent_id                TEXT NOT NULL,
    input_tokens            INTEGER NOT NULL CHECK (input_tokens >= 0),
    cached_input_tokens     INTEGER NOT NULL CHECK (cached_input_tokens >= 0),
    output_tokens           INTEGER NOT NULL CHECK (output_tokens >= 0),
    reasoning_output_tokens INTEGER NOT NULL CHECK (reasoning_output_tokens >= 0),
    at                      INTEGER NOT NULL,
    FOREIGN KEY (team_id, agent_id) REFERENCES agents (team_id, agent_id)
);
CREATE INDEX usage_by_agent ON usage (team_id, agent_id);
CREATE INDEX deliveries_unacked ON deliveries (recipient, msg_seq) WHERE acked_at IS NULL;
"#;

/// v3: arbitration. A decision, its fixed electorate (if any), the candidates put up for
/// it and one current vote per voter. Composite keys keep every row inside its team and a
/// vote inside its decision, even through raw SQL.
pub(crate) const V3: &str = r#"
CREATE TABLE decisions (
    decision_id TEXT PRIMARY KEY,
    team_id     TEXT NOT NULL REFERENCES teams (team_id),
    question    TEXT NOT NULL,
    strategy    TEXT NOT NULL CHECK (strategy IN ('consensus', 'lead', 'strict_vote')),
    status      TEXT NOT NULL CHECK (status IN ('open', 'decided', 'no_decision')),
    fixed_voters INTEGER NOT NULL CHECK (fixed_voters IN (0, 1)),
    created_by  TEXT NOT NULL,
    winner      TEXT,
    reason      TEXT,
    rationale   TEXT,
    tally       TEXT,
    closed_by   TEXT,
    created_at  INTEGER NOT NULL,
    closed_at   INTEGER,
    UNIQUE (team_id, decision_id),
    FOREIGN KEY (team_id, created_by) REFERENCES agents (team_id, agent_id),
    FOREIGN KEY (team_id, closed_by) REFERENCES agents (team_id, agent_id),
    FOREIGN KEY (team_id, decision_id, winner)
        REFERENCES candidates (team_id, decision_id, candidate_id)
        DEFERRABLE INITIALLY DEFERRED
);

CREATE TABLE decision_voters (
    decision_id TEXT NOT NULL,
    agent_id    TEXT NOT NULL,
    team_id     TEXT NOT NULL,
    pos         INTEGER NOT NULL,
    PRIMARY KEY (decision_id, agent_id),
    FOREIGN KEY (team_id, decision_id) REFERENCES decisions (team_id, decision_id),
    FOREIGN KEY (team_id, agent_id) REFERENCES agents (team_id, agent_id)
) WITHOUT ROWID;

CREATE TABLE candidates (
    candidate_id     TEXT PRIMARY KEY,
    decision_id      TEXT NOT NULL,
    team_id          TEXT NOT NULL,
    proposer         TEXT NOT NULL,
    artifact_id      TEXT,
    artifact_version INTEGER,
    summary          TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    UNIQUE (team_id, decision_id, candidate_id),
    CHECK ((artifact_id IS NULL) = (artifact_version IS NULL)),
    FOREIGN KEY (team_id, decision_id) REFERENCES decisions (team_id, decision_id),
    FOREIGN KEY (team_id, proposer) REFERENCES agents (team_id, agent_id),
    FOREIGN KEY (team_id, artifact_id) REFERENCES artifacts (team_id, artifact_id),
    FOREIGN KEY (artifact_id, artifact_version) REFERENCES artifact_versions (artifact_id, version)
);
CREATE INDEX candidates_by_decision ON candidates (decision_id);

CREATE TABLE votes (
    decision_id  TEXT NOT NULL,
    voter        TEXT NOT NULL,
    team_id      TEXT NOT NULL,
    candidate_id TEXT NOT NULL,
    comment      TEXT,
    cast_at      INTEGER NOT NULL,
    PRIMARY KEY (decision_id, voter),
    FOREIGN KEY (team_id, voter) REFERENCES agents (team_id, agent_id),
    FOREIGN KEY (team_id, decision_id, candidate_id)
        REFERENCES candidates (team_id, decision_id, candidate_id)
) WITHOUT ROWID;
"#;

/// v4: the team tools each agent may call, recorded when it is created (a JSON array of tool
/// names; NULL: no per-agent restriction, as for every agent made before v4 and for a lead).
pub(crate) const V4: &str = r#"
ALTER TABLE agents ADD COLUMN tools TEXT CHECK (tools IS NULL OR json_valid(tools));
"#;

/// The steps in order: `MIGRATIONS[i]` takes the file to version `i + 1`. Append only;
/// never edit a shipped step. (v5: [`crate::schema_v5`].)
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, crate::schema_v5::V5];

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Reads `PRAGMA user_version`.
pub(crate) fn user_version(conn: &Connection) -> StoreResult<u32> {
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    Ok(v as u32)
}

/// Brings the file to [`SCHEMA_VERSION`]; runs inside the caller's write transaction.
pub(crate) fn migrate(conn: &Connection) -> StoreResult<()> {
    let found = user_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::Invalid(format!(
            "database schema version {found} is newer than this build of codex-teams knows \
             ({SCHEMA_VERSION}); use a newer codex-teams"
        )));
    }
    let app_id: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    if app_id != 0 && app_id != APPLICATION_ID {
        return Err(StoreError::Invalid(format!(
            "not a codex-teams database (application_id {app_id:#x})"
        )));
    }
    if found == 0 {
        let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
        if tables > 0 {
            return Err(StoreError::Invalid(
                "not a codex-teams database (it has tables but no codex-teams schema version)"
                    .into(),
            ));
        }
        conn.execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID}"))?;
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        conn.execute_batch(step)?;
        conn.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rusqlite::Connection;

    use super::*;
    use crate::testutil::TestDb;
    use crate::*;

    /// A file as a v1 build left it: v1 schema, version 1, and a bit of everything in it.
    fn make_v1(path: &std::path::Path) {
        let c = Connection::open(path).unwrap();
        c.execute_batch("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;")
            .unwrap();
        c.execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID};"))
            .unwrap();
        c.execute_batch(V1).unwrap();
        c.execute_batch(
            r#"
            INSERT INTO teams VALUES ('team-1', 'old goal', '/repo', 'default', '{"k":1}', 'running', 1, 1);
            INSERT INTO agents (agent_id, team_id, name, role, state, thread_id, brief, token_hash, created_at, updated_at)
                VALUES ('agt-a', 'team-1', 'lead', 'lead', 'running', 'th-a', '', 'hash-a', 1, 1),
                       ('agt-b', 'team-1', 'w1', 'implementer', 'idle', NULL, 'brief', NULL, 1, 1);
            INSERT INTO messages (seq, message_id, team_id, from_agent, to_agent, body, idempotency_key, sent_at)
                VALUES (1, 'msg-1', 'team-1', 'agt-a', 'agt-b', 'acked one', 'k1', 2),
                       (2, 'msg-2', 'team-1', 'agt-a', 'agt-b', 'pending one', 'k2', 3);
            INSERT INTO deliveries (recipient, msg_seq, team_id, message_id, attempts, acked_at)
                VALUES ('agt-b', 1, 'team-1', 'msg-1', 1, 5), ('agt-b', 2, 'team-1', 'msg-2', 0, NULL);
            INSERT INTO tasks (task_id, team_id, title, description, status, version, created_by, created_at, updated_at)
                VALUES ('tsk-1', 'team-1', 'first', '', 'done', 3, 'agt-a', 1, 1),
                       ('tsk-2', 'team-1', 'second', '', 'open', 1, 'agt-a', 1, 1);
            INSERT INTO task_deps VALUES ('tsk-2', 'tsk-1', 'team-1', 0);
            INSERT INTO blobs (team_id, sha256, size, content) VALUES ('team-1', 'abc', 3, 'old');
            INSERT INTO artifacts VALUES ('art-1', 'team-1', 'plan', 1);
            INSERT INTO artifact_versions VALUES ('art-1', 1, 'team-1', 'abc', 3, 's', 'agt-a', 1);
            INSERT INTO events (team_id, agent_id, kind, payload, at) VALUES ('team-1', NULL, 'team.started', '{}', 1);
            PRAGMA user_version = 1;
            "#,
        )
        .unwrap();
    }

    /// A file as a v2 build left it: v1 data, the v2 steps, and a usage row.
    fn make_v2(path: &std::path::Path) {
        make_v1(path);
        let c = Connection::open(path).unwrap();
        c.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
        c.execute_batch(V2).unwrap();
        c.execute_batch(
            "INSERT INTO usage (team_id, agent_id, input_tokens, cached_input_tokens,
                                output_tokens, reasoning_output_tokens, at)
                 VALUES ('team-1', 'agt-b', 100, 40, 10, 5, 6);
             PRAGMA user_version = 2;",
        )
        .unwrap();
    }

    fn integrity_and_keys_ok(s: &Store) {
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

    #[test]
    fn ships_more_than_one_step() {
        const { assert!(SCHEMA_VERSION >= 3) };
    }

    #[test]
    fn v2_file_upgrades_to_v3_with_its_data_intact() {
        let db = TestDb::new();
        make_v2(&db.path);
        let s = Store::open(&db.path).unwrap();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
        // v2 data survives
        assert_eq!(
            s.agent_usage("team-1", "agt-b").unwrap(),
            Usage {
                input_tokens: 100,
                cached_input_tokens: 40,
                output_tokens: 10,
                reasoning_output_tokens: 5
            }
        );
        assert_eq!(s.team("team-1").unwrap().goal, "old goal");
        assert_eq!(s.pending_count("team-1", "agt-b").unwrap(), 1);
        assert_eq!(s.ready_tasks("team-1").unwrap()[0].task_id, "tsk-2");
        assert_eq!(
            s.read_artifact("team-1", "art-1", None).unwrap().content,
            "old"
        );
        // and v3's decisions work on it, pointing at the old rows
        let d = s
            .open_decision(
                "team-1",
                "agt-a",
                NewDecision {
                    question: "keep the old plan?".into(),
                    strategy: Strategy::Consensus,
                    voters: Some(vec!["agt-b".into()]),
                },
            )
            .unwrap();
        let cand = s
            .propose_candidate(
                "team-1",
                &d.decision_id,
                "agt-b",
                NewCandidate {
                    artifact_id: Some("art-1".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(cand.artifact_version, Some(1));
        s.cast_vote("team-1", &d.decision_id, "agt-b", &cand.candidate_id, None)
            .unwrap();
        let rec = s
            .close_decision("team-1", &d.decision_id, "agt-a", None, None)
            .unwrap();
        assert_eq!(rec.decision.winner, Some(cand.candidate_id));
        let kinds: Vec<String> = s
            .events("team-1", 0, 100)
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds[0], "team.started");
        assert_eq!(kinds.last().map(String::as_str), Some("decision.closed"));
        integrity_and_keys_ok(&s);
        drop(s);
        // reopening is a no-op
        assert_eq!(
            Store::open(&db.path).unwrap().schema_version().unwrap(),
            SCHEMA_VERSION
        );
    }

    #[test]
    fn fresh_file_gets_current_schema_and_pragmas() {
        let db = TestDb::new();
        let opts = StoreOptions {
            busy_timeout_ms: 1234,
            ..Default::default()
        };
        let s = Store::open_with(&db.path, opts).unwrap();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
        let pragma = |p: &str| -> String {
            s.conn
                .query_row(&format!("PRAGMA {p}"), [], |r| {
                    r.get::<_, rusqlite::types::Value>(0)
                })
                .map(|v| match v {
                    rusqlite::types::Value::Integer(i) => i.to_string(),
                    rusqlite::types::Value::Text(t) => t,
                    other => format!("{other:?}"),
                })
                .unwrap()
        };
        assert_eq!(pragma("journal_mode"), "wal");
        assert_eq!(pragma("foreign_keys"), "1");
        assert_eq!(pragma("synchronous"), "1", "NORMAL");
        assert_eq!(pragma("busy_timeout"), "1234");
        assert_eq!(pragma("application_id"), APPLICATION_ID.to_string());
        drop(s);
        // reopening changes nothing
        let s = Store::open(&db.path).unwrap();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn v1_file_upgrades_with_its_data_intact() {
        let db = TestDb::new();
        make_v1(&db.path);
        let s = Store::open(&db.path).unwrap();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);

        let team = s.team("team-1").unwrap();
        assert_eq!(
            (team.goal.as_str(), team.config["k"].as_i64()),
            ("old goal", Some(1))
        );
        let agents = s.list_agents("team-1").unwrap();
        assert_eq!(agents.len(), 2);
        assert_eq!(agents[0].thread_id.as_deref(), Some("th-a"));
        assert_eq!(s.agent_by_token_hash("hash-a").unwrap().agent_id, "agt-a");
        // the bus: the acked message stays acked, the pending one is delivered
        assert_eq!(s.pending_count("team-1", "agt-b").unwrap(), 1);
        let got = s
            .pull_inbox("team-1", "agt-b", 10, Duration::from_secs(60))
            .unwrap();
        assert_eq!(
            got.iter().map(|d| d.body.as_str()).collect::<Vec<_>>(),
            ["pending one"]
        );
        let retry = s
            .send(
                "team-1",
                "agt-a",
                Recipient::Agent("agt-b".into()),
                "acked one",
                "k1",
            )
            .unwrap();
        assert_eq!((retry.message_id.as_str(), retry.created), ("msg-1", false));
        // the board: tsk-2 is ready since its dependency is done
        let ready = s.ready_tasks("team-1").unwrap();
        assert_eq!(
            ready.iter().map(|t| t.task_id.as_str()).collect::<Vec<_>>(),
            ["tsk-2"]
        );
        assert_eq!(ready[0].deps, ["tsk-1"]);
        let a = s.read_artifact("team-1", "art-1", None).unwrap();
        assert_eq!((a.content.as_str(), a.meta.version), ("old", 1));
        assert_eq!(s.events("team-1", 0, 10).unwrap()[0].kind, "team.started");
        // and what v2 added works on the upgraded file
        let turn = Usage {
            input_tokens: 7,
            ..Default::default()
        };
        s.record_usage("team-1", "agt-b", turn).unwrap();
        assert_eq!(s.agent_usage("team-1", "agt-b").unwrap(), turn);
        let has_index: i64 = s
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'deliveries_unacked'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(has_index, 1);
        integrity_and_keys_ok(&s);
    }

    #[test]
    fn newer_file_is_refused_and_left_alone() {
        let db = TestDb::new();
        drop(Store::open(&db.path).unwrap());
        let c = Connection::open(&db.path).unwrap();
        c.execute_batch(&format!("PRAGMA user_version = {}", SCHEMA_VERSION + 5))
            .unwrap();
        drop(c);
        let err = Store::open(&db.path).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
        assert!(
            msg.contains(&format!("version {}", SCHEMA_VERSION + 5)) && msg.contains("newer"),
            "{msg}"
        );
        let c = Connection::open(&db.path).unwrap();
        let v: u32 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION + 5);
    }

    #[test]
    fn foreign_sqlite_files_are_refused() {
        let db = TestDb::new();
        Connection::open(&db.path)
            .unwrap()
            .execute_batch("CREATE TABLE notes (x)")
            .unwrap();
        let err = Store::open(&db.path).unwrap_err().to_string();
        assert!(err.contains("not a codex-teams database"), "{err}");

        let db = TestDb::new();
        Connection::open(&db.path)
            .unwrap()
            .execute_batch("PRAGMA application_id = 7")
            .unwrap();
        let err = Store::open(&db.path).unwrap_err().to_string();
        assert!(err.contains("not a codex-teams database"), "{err}");

        let db = TestDb::new();
        let err = Store::open_with(
            &db.path,
            StoreOptions {
                max_body_bytes: 0,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)));

        let missing = db.path.join("no-such-dir").join("teams.db");
        let err = Store::open(&missing).unwrap_err().to_string();
        assert!(
            err.contains("cannot open database") && err.contains("no-such-dir"),
            "{err}"
        );
    }

    #[test]
    fn concurrent_first_opens_migrate_once() {
        let db = TestDb::new();
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let path = db.path.clone();
                std::thread::spawn(move || {
                    // Each opener races to create the schema; the migration transaction
                    // makes exactly one of them apply it. (Openers in separate processes
                    // are exercised by the store-torture tests.)
                    let s = Store::open(&path).unwrap();
                    s.schema_version().unwrap()
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), SCHEMA_VERSION);
        }
    }
}

//! The raw-SQLite floor of `codex-teams bench bus`: the bus's work as bare statements on
//! one connection, one thread, nothing of ours in between (no gate, no retry loop, no
//! membership or idempotency checks), on the same schema, file system and pull batch.
//!
//! Two shapes are measured:
//! - `per_call`: one transaction per call, as the bus API commits them: each send, each
//!   pull of up to `batch`, each ack of what a pull returned. The bus cannot do less and
//!   keep "a send that returned is committed".
//! - `batched`: one transaction per `batch` sends, one per pull, one per ack: what a
//!   program that owns the whole workload could do, the engine's speed for this work.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use codex_teams_store::rusqlite::{self, Connection, params};
use serde::Serialize;

/// Messages per second the engine reached, both shapes.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Floor {
    pub per_call_msgs_per_sec: f64,
    pub batched_msgs_per_sec: f64,
}

/// Sends each agent makes before it pulls (the bus benchmark's burst).
const BURST: usize = 16;
/// A lease far in the future: nothing is redelivered during a floor run.
const LEASE_MS: i64 = 300_000;

/// Measures both shapes on fresh copies of the database at `db` (a store already holding
/// team `team_id` with members `agents`): `messages` sent round-robin, pulled in `batch`es.
pub fn measure(
    db: &Path,
    team_id: &str,
    agents: &[String],
    messages: usize,
    batch: usize,
) -> anyhow::Result<Floor> {
    let run = |shape: Shape| -> anyhow::Result<f64> {
        let copy = db.with_extension(format!("floor-{shape:?}.db"));
        std::fs::copy(db, &copy).with_context(|| format!("copying {}", db.display()))?;
        let conn = open(&copy)?;
        let start = Instant::now();
        let done = drive(&conn, team_id, agents, messages, batch, shape)?;
        let secs = start.elapsed().as_secs_f64().max(1e-6);
        anyhow::ensure!(
            done == messages,
            "floor acknowledged {done} of {messages} messages"
        );
        Ok(messages as f64 / secs)
    };
    Ok(Floor {
        per_call_msgs_per_sec: run(Shape::PerCall)?,
        batched_msgs_per_sec: run(Shape::Batched)?,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    PerCall,
    Batched,
}

/// The store's connection settings: WAL and [`codex_teams_store::configure_connection`]
/// (synchronous=NORMAL, foreign keys, in-memory statement journals, stable plans).
fn open(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    anyhow::ensure!(
        mode.eq_ignore_ascii_case("wal"),
        "no WAL on {}",
        path.display()
    );
    codex_teams_store::configure_connection(&conn)?;
    Ok(conn)
}

/// Every agent in turn sends a burst round-robin to the others, then pulls its inbox and
/// acknowledges what it got, until everything is acknowledged. Returns how many were.
fn drive(
    c: &Connection,
    team: &str,
    agents: &[String],
    total: usize,
    batch: usize,
    shape: Shape,
) -> anyhow::Result<usize> {
    let n = agents.len();
    let (mut sent, mut acked, mut k) = (0usize, 0usize, vec![0usize; n]);
    let mut pending_sends = 0usize;
    if shape == Shape::Batched {
        c.execute_batch("BEGIN IMMEDIATE")?;
    }
    while acked < total {
        for me in 0..n {
            for _ in 0..BURST.min(total - sent) {
                let to = &agents[(me + 1 + k[me] % (n - 1)) % n];
                send(c, team, &agents[me], to, sent, shape == Shape::PerCall)?;
                (sent, k[me], pending_sends) = (sent + 1, k[me] + 1, pending_sends + 1);
                if shape == Shape::Batched && (pending_sends == batch || sent == total) {
                    c.execute_batch("COMMIT")?;
                    pending_sends = 0;
                    c.execute_batch("BEGIN IMMEDIATE")?;
                }
            }
            let seqs = pull(c, &agents[me], batch)?;
            acked += ack(c, &agents[me], &seqs)?;
        }
    }
    if shape == Shape::Batched {
        c.execute_batch("COMMIT")?;
    }
    Ok(acked)
}

/// Runs `sql` as its own transaction when `own_tx`, else inside the caller's.
fn in_tx<T>(
    c: &Connection,
    own_tx: bool,
    f: impl FnOnce() -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    if !own_tx {
        return f();
    }
    c.execute_batch("BEGIN IMMEDIATE")?;
    let v = f()?;
    c.execute_batch("COMMIT")?;
    Ok(v)
}

fn send(
    c: &Connection,
    team: &str,
    from: &str,
    to: &str,
    n: usize,
    own_tx: bool,
) -> rusqlite::Result<()> {
    let id = format!("msg-floor-{n:012}");
    let body = format!("{n:>16} floor/{n}");
    in_tx(c, own_tx, || {
        c.prepare_cached(
            "INSERT INTO messages (message_id, team_id, from_agent, to_agent, body,
                                   idempotency_key, sent_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![id, team, from, to, body, n.to_string(), 0])?;
        let seq = c.last_insert_rowid();
        c.prepare_cached(
            "INSERT INTO deliveries (recipient, msg_seq, team_id, message_id)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![to, seq, team, id])?;
        Ok(())
    })
}

/// Leases up to `batch` deliveries of `me`; their sequence numbers. Always its own
/// transaction in `per_call`; inside the open one in `batched` (autocommit is off there).
fn pull(c: &Connection, me: &str, batch: usize) -> rusqlite::Result<Vec<i64>> {
    in_tx(c, c.is_autocommit(), || {
        let seqs = c
            .prepare_cached(
                "SELECT d.msg_seq, m.message_id, m.from_agent, m.body, m.sent_at, d.attempts
                 FROM deliveries d INDEXED BY deliveries_unacked
                 JOIN messages m ON m.seq = d.msg_seq
                 WHERE d.recipient = ?1 AND d.acked_at IS NULL
                   AND (d.lease_until IS NULL OR d.lease_until <= ?2)
                 ORDER BY d.msg_seq LIMIT ?3",
            )?
            .query_map(params![me, 1, batch as i64], |r| r.get::<_, i64>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut lease = c.prepare_cached(
            "UPDATE deliveries SET lease_until = ?3, attempts = attempts + 1
             WHERE recipient = ?1 AND msg_seq = ?2",
        )?;
        for s in &seqs {
            lease.execute(params![me, s, LEASE_MS])?;
        }
        Ok(seqs)
    })
}

fn ack(c: &Connection, me: &str, seqs: &[i64]) -> rusqlite::Result<usize> {
    in_tx(c, c.is_autocommit(), || {
        let mut end = c.prepare_cached(
            "UPDATE deliveries SET acked_at = ?3, lease_until = NULL
             WHERE recipient = ?1 AND msg_seq = ?2 AND acked_at IS NULL",
        )?;
        let mut n = 0;
        for s in seqs {
            n += end.execute(params![me, s, 2])?;
        }
        Ok(n)
    })
}

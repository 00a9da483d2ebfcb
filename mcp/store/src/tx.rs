//! Transactions: every write is one `BEGIN IMMEDIATE` transaction, retried a bounded number
//! of times with jittered backoff when SQLite answers BUSY or LOCKED, so a caller only ever
//! sees [`StoreError::Busy`] once every retry is spent.
//!
//! Writers inside one process also queue on an in-process gate per database file before
//! asking SQLite for the write lock. SQLite's own busy handler sleeps in steps of
//! milliseconds; the gate hands the lock over without sleeping, which keeps the bus fast
//! when many connections of one process (the MCP server, the bench) write at once. Across
//! processes only SQLite's lock and the retry loop apply.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::Duration;

use rand::Rng;
use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};

use crate::{Store, StoreError, StoreResult};

/// The in-process write gate of one database file: a ticket lock, so writers get the
/// lock in arrival order and none starves behind a thread that keeps writing.
#[derive(Default)]
pub(crate) struct Gate {
    tickets: Mutex<(u64, u64)>,
    turn: Condvar,
}

/// A writer's turn at the gate; the next ticket is served when it is dropped.
pub(crate) struct Turn<'a>(&'a Gate);

impl Gate {
    /// Waits for this caller's turn.
    pub(crate) fn enter(&self) -> Turn<'_> {
        let mut t = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        let mine = t.0;
        t.0 += 1;
        while t.1 != mine {
            t = self.turn.wait(t).unwrap_or_else(|e| e.into_inner());
        }
        Turn(self)
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut t = self.0.tickets.lock().unwrap_or_else(|e| e.into_inner());
        t.1 += 1;
        drop(t);
        self.0.turn.notify_all();
    }
}

/// The gate for `path`, shared by every [`Store`] of this process opened on the same file.
pub(crate) fn gate_for(path: &Path) -> Arc<Gate> {
    static GATES: OnceLock<Mutex<HashMap<PathBuf, Weak<Gate>>>> = OnceLock::new();
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut gates = GATES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(gate) = gates.get(&key).and_then(Weak::upgrade) {
        return gate;
    }
    gates.retain(|_, g| g.strong_count() > 0);
    let gate = Arc::new(Gate::default());
    gates.insert(key, Arc::downgrade(&gate));
    gate
}

/// True when an error means "someone else holds the lock; try again".
pub(crate) fn is_busy(err: &StoreError) -> bool {
    match err {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
            matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
        }
        _ => false,
    }
}

/// How long to wait before retry number `retry` (1-based): exponential from 2 ms, capped at
/// 250 ms, drawn uniformly from the upper half so colliding writers spread out.
pub(crate) fn backoff(retry: u32) -> Duration {
    let ceiling_us: u64 = (2_000u64 << retry.saturating_sub(1).min(16)).min(250_000);
    let us = rand::rng().random_range(ceiling_us / 2..=ceiling_us);
    Duration::from_micros(us)
}

/// Runs `attempt` until it succeeds, fails with something other than BUSY, or has been
/// retried `retries` times.
pub(crate) fn with_retry<T>(
    retries: u32,
    mut attempt: impl FnMut() -> StoreResult<T>,
) -> StoreResult<T> {
    let mut tries = 0u32;
    loop {
        tries += 1;
        match attempt() {
            Err(err) if is_busy(&err) => {
                if tries > retries {
                    return Err(StoreError::Busy { attempts: tries });
                }
                std::thread::sleep(backoff(tries));
            }
            other => return other,
        }
    }
}

/// One transaction of `behavior` around `f`, committed when `f` succeeds and rolled back
/// (by dropping it) when anything fails, the commit included.
fn once<T>(
    conn: &Connection,
    behavior: TransactionBehavior,
    f: &mut impl FnMut(&Connection) -> StoreResult<T>,
) -> StoreResult<T> {
    let tx = Transaction::new_unchecked(conn, behavior)?;
    let value = f(&tx)?;
    tx.commit()?;
    Ok(value)
}

impl Store {
    /// Runs `f` in a write transaction (`BEGIN IMMEDIATE`), retrying the whole of it on
    /// BUSY. `f` may therefore run more than once and must keep its effects in the database.
    pub(crate) fn write<T>(
        &self,
        mut f: impl FnMut(&Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let _turn = self.gate.enter();
        let out = with_retry(self.opts.busy_retries, || {
            crate::event_trace::discard();
            once(&self.conn, TransactionBehavior::Immediate, &mut f)
        });
        match out {
            Ok(_) => crate::event_trace::committed(),
            Err(_) => crate::event_trace::discard(),
        }
        out
    }

    /// Runs `f` in a read transaction so its statements see one snapshot.
    pub(crate) fn read<T>(
        &self,
        mut f: impl FnMut(&Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        with_retry(self.opts.busy_retries, || {
            once(&self.conn, TransactionBehavior::Deferred, &mut f)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TestDb;
    use crate::{NewTeam, StoreOptions};

    fn busy() -> StoreError {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        ))
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        assert!(backoff(1) <= Duration::from_millis(2));
        assert!(backoff(1) >= Duration::from_millis(1));
        assert!(backoff(4) >= Duration::from_millis(8));
        for n in 1..40 {
            assert!(backoff(n) <= Duration::from_millis(250));
        }
    }

    #[test]
    fn retry_stops_after_the_bound_with_busy() {
        let mut calls = 0;
        let r: StoreResult<()> = with_retry(3, || {
            calls += 1;
            Err(busy())
        });
        assert!(matches!(r, Err(StoreError::Busy { attempts: 4 })), "{r:?}");
        assert_eq!(calls, 4);
    }

    #[test]
    fn retry_passes_other_errors_through_at_once() {
        let mut calls = 0;
        let r: StoreResult<()> = with_retry(3, || {
            calls += 1;
            Err(StoreError::Conflict("x".into()))
        });
        assert!(matches!(r, Err(StoreError::Conflict(_))));
        assert_eq!(calls, 1);
    }

    #[test]
    fn retry_succeeds_once_busy_clears() {
        let mut calls = 0;
        let r = with_retry(5, || {
            calls += 1;
            if calls < 3 { Err(busy()) } else { Ok(calls) }
        });
        assert_eq!(r.unwrap(), 3);
    }

    /// A foreign connection (another "process": no shared gate) holds the write lock; with
    /// no busy_timeout and two retries the store gives up with `Busy`, and nothing is written.
    #[test]
    fn held_lock_exhausts_retries_into_busy() {
        let db = TestDb::new();
        let opts = StoreOptions {
            busy_timeout_ms: 0,
            busy_retries: 2,
            ..Default::default()
        };
        let store = Store::open_with(&db.path, opts).unwrap();
        let other = Connection::open(&db.path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let err = store
            .create_team(NewTeam {
                goal: "g".into(),
                ..Default::default()
            })
            .unwrap_err();
        assert!(matches!(err, StoreError::Busy { attempts: 3 }), "{err:?}");
        assert_eq!(err.to_string(), "database busy after 3 attempts");
        other.execute_batch("ROLLBACK").unwrap();
        assert!(store.list_teams().unwrap().is_empty());
    }

    /// The lock is released while the store is backing off: the write then goes through
    /// without the caller seeing BUSY.
    #[test]
    fn lock_released_during_backoff_is_retried_transparently() {
        let db = TestDb::new();
        let opts = StoreOptions {
            busy_timeout_ms: 0,
            busy_retries: 12,
            ..Default::default()
        };
        let store = Store::open_with(&db.path, opts).unwrap();
        let other = Connection::open(&db.path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            other.execute_batch("COMMIT").unwrap();
        });
        let team = store
            .create_team(NewTeam {
                goal: "g".into(),
                ..Default::default()
            })
            .unwrap();
        release.join().unwrap();
        assert_eq!(store.team(&team.team_id).unwrap().goal, "g");
    }
}

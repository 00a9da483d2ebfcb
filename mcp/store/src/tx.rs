//! Transactions: every write is one `BEGIN IMMEDIATE` transaction, retried a bounded number
//! of times with jittered backoff when SQLite answers BUSY or LOCKED, so a caller only ever
//! sees [`StoreError::Busy`] once every retry is spent.
//!
//! Writers inside one process queue at a gate per database file ([`crate::group`]) and are
//! committed in groups: SQLite's busy handler sleeps in steps of milliseconds, the gate
//! does not, and one commit carries every write that arrived while the last one ran.
//! Across processes only SQLite's lock and the retry loop apply.

use std::time::Duration;

use rand::Rng;
use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};

use crate::{Store, StoreError, StoreResult};

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
pub(crate) fn once<T>(
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
    /// It may also run on another connection of this process, in that writer's
    /// transaction (group commit, [`crate::group`]): it must only use the connection it is
    /// given; hence `Send`.
    pub(crate) fn write<T: Send>(
        &self,
        mut f: impl FnMut(&Connection) -> StoreResult<T> + Send,
    ) -> StoreResult<T> {
        let busy = Duration::from_millis(self.opts.busy_timeout_ms);
        let mut out = None;
        let mut events = Vec::new();
        // The write may run on another thread (the group's leader): its events are taken
        // from that thread's hold right after it ran, and logged here once committed.
        let mut work = |c: &Connection| {
            crate::event_trace::discard();
            let r = f(c);
            events = crate::event_trace::take();
            out = Some(r?);
            Ok(())
        };
        self.gate
            .submit(&self.conn, busy, self.opts.busy_retries, &mut work)?;
        crate::event_trace::log_all(&events);
        out.ok_or_else(|| StoreError::Invalid("a committed write left no result".into()))
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

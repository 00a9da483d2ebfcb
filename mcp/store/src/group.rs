//! Group commit: the writes of one process to one database file that arrive while another
//! is being written are committed together, in one `BEGIN IMMEDIATE` transaction.
//!
//! A commit costs the same whether it carries one write or ten (the WAL frames of the hot
//! pages, the lock round trip); `bench bus` showed it to be nearly all of a send. So
//! writers queue at the file's [`Gate`]; the first one that finds nobody writing becomes
//! the leader, opens one transaction on the process's writer connection and runs every
//! queued write in it, each in its own savepoint, taking in the writes that queue while it
//! works, and waiting briefly for the writers that were busy a moment ago only once it has
//! run out of work. A write that fails is rolled back alone and its caller gets its own
//! error, the others commit. The callers wait until their write is committed, so "a call
//! that returned is committed" holds as before, and every write's events stay in the same
//! transaction as its changes. Across processes only SQLite's lock and the retry loop apply.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior};

use crate::checkpoint::Checkpointer;
use crate::settings::configure;
use crate::tx::{is_busy, once, with_retry};
use crate::{StoreError, StoreResult};

/// A write's work as the leader calls it: the caller's closure, lifetime-erased. `Send`
/// because the leader may be another thread than the one that queued it.
type Work = dyn FnMut(&Connection) -> StoreResult<()> + Send;

/// A queued write. The pointer stays valid while its caller waits in [`Gate::submit`],
/// and only the leader calls it, while holding no lock the caller needs.
struct Job(*mut Work);

// SAFETY: the closure behind the pointer is `Send` (see `Work`), so calling it from the
// leader's thread is sound; it is called by exactly one thread at a time (the leader),
// while the thread that queued it is blocked in `submit` until the job's result is
// published under the gate's mutex, which orders the call before anything the caller does
// next. The pointer itself is only dereferenced while that caller waits (see `submit`).
unsafe impl Send for Job {}

impl Job {
    fn call(&self, c: &Connection) -> StoreResult<()> {
        // SAFETY: see `Job`: the closure outlives the call and nobody else touches it.
        unsafe { (*self.0)(c) }
    }
}

#[derive(Default)]
struct State {
    /// A leader is running a group.
    leading: bool,
    next_id: u64,
    queue: Vec<(u64, Job)>,
    /// Results of finished jobs, taken by their callers.
    done: HashMap<u64, StoreResult<()>>,
    /// When each connection (by address) last queued a write.
    recent: HashMap<usize, Instant>,
    /// A leader is waiting for writers to queue.
    gathering: bool,
}

/// The write queue of one database file in this process, and the connection its groups
/// are written on.
pub(crate) struct Gate {
    path: PathBuf,
    state: Mutex<State>,
    wake: Condvar,
    arrived: Condvar,
    /// One connection writes for the whole process: its page cache stays warm from one
    /// group to the next (a connection that sees another one's commit starts cold).
    /// Opened by the first leader; `None` until then or if it could not be opened.
    writer: Mutex<Option<Writer>>,
    /// A store of this process opened the path since the writer last checked that it is
    /// still the file at the path.
    reopened: AtomicBool,
}

/// The connection a process writes a file through, and its checkpointer.
struct Writer {
    // Field order is drop order: the connection closes before the checkpointer is joined.
    conn: Connection,
    /// `None` when the thread could not start: SQLite's automatic checkpoints stay on.
    checkpoints: Option<Checkpointer>,
    /// Groups committed since the last nudge.
    since_nudge: u32,
    /// Checkpoint passes the writer has caught up after.
    seen_passes: u64,
    /// Device and inode of the file `conn` opened.
    file: (u64, u64),
}

/// Device and inode of the file at `path`.
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

impl Gate {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn new(path: PathBuf) -> Gate {
        Gate {
            path,
            state: Mutex::default(),
            wake: Condvar::new(),
            arrived: Condvar::new(),
            writer: Mutex::new(None),
            reopened: AtomicBool::new(false),
        }
    }

    /// Runs the group on the process's writer connection (its caller's own connection
    /// when that cannot be opened), with the caller's busy timeout.
    fn run_on_writer(
        &self,
        own: &Connection,
        busy: Duration,
        retries: u32,
        lead: &mut Leading<'_>,
    ) -> Vec<StoreResult<()>> {
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        // The file at the path was replaced (deleted and made again) since a store of this
        // process last opened it: write the new one. Checked only then, not per group.
        if self.reopened.swap(false, Ordering::Relaxed)
            && writer
                .as_ref()
                .is_some_and(|w| Some(w.file) != file_id(&self.path))
        {
            *writer = None;
        }
        if writer.is_none() {
            *writer = open_writer(&self.path).ok();
        }
        match writer.as_mut() {
            Some(w) if w.conn.busy_timeout(busy).is_ok() => {
                catch_up(w);
                let results = run_group(&w.conn, retries, lead);
                w.since_nudge += 1;
                if w.since_nudge >= CHECKPOINT_EVERY
                    && let Some(cp) = &w.checkpoints
                {
                    cp.nudge();
                    w.since_nudge = 0;
                }
                results
            }
            _ => run_group(own, retries, lead),
        }
    }

    /// Runs `work` in a write transaction, alone or with the writes queued beside it, and
    /// returns once it is committed (or has failed). `retries` bounds BUSY retries, `busy`
    /// is SQLite's busy timeout for each try.
    pub(crate) fn submit(
        &self,
        conn: &Connection,
        busy: Duration,
        retries: u32,
        work: &mut (dyn FnMut(&Connection) -> StoreResult<()> + Send + '_),
    ) -> StoreResult<()> {
        // SAFETY: only the lifetime is erased; `submit` does not return before the job is
        // finished (its result taken from `done`, published also when a job panics, see
        // `Leading`), so the closure outlives every call.
        let job = Job(unsafe {
            std::mem::transmute::<
                *mut (dyn FnMut(&Connection) -> StoreResult<()> + Send + '_),
                *mut Work,
            >(work)
        });
        let mut st = self.lock();
        let id = st.next_id;
        st.next_id += 1;
        st.queue.push((id, job));
        let now = Instant::now();
        st.recent.insert(conn as *const Connection as usize, now);
        if st.gathering {
            self.arrived.notify_one();
        }
        loop {
            if let Some(result) = st.done.remove(&id) {
                return result;
            }
            if st.leading {
                st = self.wake.wait(st).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            // Nobody is writing and this job is not done, so it is in the queue: lead.
            st.leading = true;
            let mut lead = Leading::start(self, &mut st);
            drop(st);
            lead.results = self.run_on_writer(conn, busy, retries, &mut lead);
            drop(lead); // publishes the results
            st = self.lock();
        }
    }
}

/// Once the checkpointer has finished a pass over a WAL past [`WAL_LIMIT_FRAMES`],
/// checkpoints on the writer, before its next group, what was committed during that pass:
/// the WAL is then wholly in the database and that group writes it from its start again.
/// When writes pause, a background pass catches up by itself and SQLite starts the WAL over
/// on the next write; under steady writes a passive checkpoint never catches up, and the
/// WAL grew without end (`bench bus` left 500 MB, and an extending write costs twice an
/// overwrite). Catching up costs the group two syncs (p50 5 ms, p90 9 ms measured on the
/// loaded build machine), so it is kept for that bound and not done after every pass.
fn catch_up(w: &mut Writer) {
    let Some(cp) = &w.checkpoints else {
        return;
    };
    let passes = cp.passes();
    if passes == w.seen_passes || cp.wal_frames() < WAL_LIMIT_FRAMES {
        return;
    }
    w.seen_passes = passes;
    // BUSY: the checkpointer has started its next pass; the writer catches up after it.
    let done = w
        .conn
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0));
    if let Err(e) = done.map_err(StoreError::from)
        && !is_busy(&e)
    {
        tracing::warn!(target: "codex_teams::store", event = "store.checkpoint_failed", error = %e, "WAL checkpoint on the writer failed");
    }
}

/// A writer that wrote this recently is expected to write again soon.
const RECENT: Duration = Duration::from_millis(2);
/// The longest a leader, with its transaction open and nothing left to run, waits for them:
/// `bench bus` had the best p50 and p99 near here (none: p50 8-12 ms; 150 µs: 3.6 ms;
/// 500 µs: more time lost waiting). Another process's writer may wait as long for the lock.
const WINDOW: Duration = Duration::from_micros(150);

/// The leader's turn: the writes it took into its group, and, on drop (also when a job
/// panicked), a result published for every one of them and the gate opened to the next
/// leader, so no caller waits forever.
struct Leading<'a> {
    gate: &'a Gate,
    ids: Vec<u64>,
    jobs: Vec<Job>,
    results: Vec<StoreResult<()>>,
    /// Writers of this process that wrote a moment ago: the group waits for this many.
    siblings: usize,
    /// When the group stops waiting for them: [`WINDOW`] after it first had to.
    deadline: Option<Instant>,
}

impl<'a> Leading<'a> {
    /// A group of everything queued now, expecting every writer that wrote a moment ago.
    fn start(gate: &'a Gate, st: &mut State) -> Leading<'a> {
        let now = Instant::now();
        st.recent.retain(|_, t| now.duration_since(*t) < RECENT);
        let mut lead = Leading {
            gate,
            ids: Vec::new(),
            jobs: Vec::new(),
            results: Vec::new(),
            siblings: st.recent.len(),
            deadline: None,
        };
        lead.take(st);
        lead
    }

    fn take(&mut self, st: &mut State) {
        for (id, job) in st.queue.drain(..) {
            self.ids.push(id);
            self.jobs.push(job);
        }
    }

    /// Called by the leader once it has run every job it holds, its transaction still
    /// open: takes the writes queued since, and when there are none and a sibling has not
    /// joined yet, waits for one until the deadline. False when the group is complete.
    /// So the leader works while its siblings come, instead of waiting for them first.
    fn take_more(&mut self) -> bool {
        let mut st = self.gate.lock();
        if st.queue.is_empty() && self.jobs.len() < self.siblings {
            st.gathering = true;
            let deadline = *self.deadline.get_or_insert_with(|| Instant::now() + WINDOW);
            while st.queue.is_empty() {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                st = (self.gate.arrived)
                    .wait_timeout(st, left)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            st.gathering = false;
        }
        let more = !st.queue.is_empty();
        self.take(&mut st);
        more
    }
}

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        let mut results = std::mem::take(&mut self.results).into_iter();
        let mut st = self.gate.lock();
        for id in &self.ids {
            let r = results.next().unwrap_or_else(|| {
                Err(StoreError::Invalid(
                    "a write committed in the same group panicked; nothing was written".into(),
                ))
            });
            st.done.insert(*id, r);
        }
        st.leading = false;
        drop(st);
        self.gate.wake.notify_all();
    }
}

/// Runs the group's jobs and returns one result per job, in order.
fn run_group(conn: &Connection, retries: u32, lead: &mut Leading<'_>) -> Vec<StoreResult<()>> {
    match with_retry(retries, || together(conn, lead)) {
        Ok(results) => results,
        Err(StoreError::Busy { attempts }) => lead
            .jobs
            .iter()
            .map(|_| Err(StoreError::Busy { attempts }))
            .collect(),
        // The transaction itself failed (its commit, or an error that ended it): every job
        // was rolled back; run them one by one so each caller gets its own outcome.
        Err(_) => lead
            .jobs
            .iter()
            .map(|job| {
                with_retry(retries, || {
                    once(conn, TransactionBehavior::Immediate, &mut |c| job.call(c))
                })
            })
            .collect(),
    }
}

/// One `BEGIN IMMEDIATE` transaction around every job of the group, each in a savepoint,
/// taking in the writes that queue while it runs (see [`Leading::take_more`]).
fn together(conn: &Connection, lead: &mut Leading<'_>) -> StoreResult<Vec<StoreResult<()>>> {
    let run = |sql: &str| -> StoreResult<()> {
        conn.prepare_cached(sql)?.execute([])?;
        Ok(())
    };
    run("BEGIN IMMEDIATE")?;
    let _open = RollbackUnlessCommitted(conn);
    let mut results = Vec::with_capacity(lead.jobs.len());
    let mut i = 0;
    while i < lead.jobs.len() || lead.take_more() {
        run("SAVEPOINT job")?;
        match lead.jobs[i].call(conn) {
            Ok(()) => {
                run("RELEASE job")?;
                results.push(Ok(()));
            }
            Err(e) if is_busy(&e) || conn.is_autocommit() => return Err(e),
            Err(e) => {
                run("ROLLBACK TO job")?;
                run("RELEASE job")?;
                results.push(Err(e));
            }
        }
        i += 1;
    }
    // Nothing to keep: a commit would still write the pages the failed writes touched.
    run(if results.iter().all(Result::is_err) {
        "ROLLBACK"
    } else {
        "COMMIT"
    })?;
    Ok(results)
}

/// Rolls back the transaction open on the connection, if any, when dropped: what ends a
/// group whose transaction failed part way.
struct RollbackUnlessCommitted<'c>(&'c Connection);

impl Drop for RollbackUnlessCommitted<'_> {
    fn drop(&mut self) {
        if !self.0.is_autocommit() {
            let _ = self.0.execute_batch("ROLLBACK");
        }
    }
}

/// The WAL size, in frames, past which the writer catches up after a checkpoint pass
/// ([`catch_up`]): 64 MiB of 4 KiB pages (256 frames in tests, to see it happen).
const WAL_LIMIT_FRAMES: u64 = if cfg!(test) { 256 } else { 16_000 };

/// Groups between two checkpoint nudges: about the 1000 WAL pages at which SQLite would
/// checkpoint by itself, at a handful of pages per group.
const CHECKPOINT_EVERY: u32 = 100;

/// The writer connection: the store's settings (WAL is the file's, set by `Store::open`),
/// checkpoints by a [`Checkpointer`] when it starts.
fn open_writer(path: &Path) -> rusqlite::Result<Writer> {
    let conn = Connection::open(path)?;
    let file = file_id(path).ok_or(rusqlite::Error::InvalidPath(path.to_path_buf()))?;
    configure(&conn)?;
    let checkpoints = Checkpointer::start(path).ok();
    if checkpoints.is_some() {
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0")?;
    }
    Ok(Writer {
        conn,
        checkpoints,
        since_nudge: 0,
        seen_passes: 0,
        file,
    })
}

/// The gate for `path`, shared by every [`crate::Store`] of this process on the same file.
pub(crate) fn gate_for(path: &Path) -> Arc<Gate> {
    static GATES: OnceLock<Mutex<HashMap<PathBuf, Weak<Gate>>>> = OnceLock::new();
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut gates = GATES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(gate) = gates.get(&key).and_then(Weak::upgrade) {
        gate.reopened.store(true, Ordering::Relaxed);
        return gate;
    }
    gates.retain(|_, g| g.strong_count() > 0);
    let gate = Arc::new(Gate::new(key.clone()));
    gates.insert(key, Arc::downgrade(&gate));
    gate
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;

    /// Many threads write through one gate at once; every odd write inserts its row and
    /// then fails. Each caller gets its own outcome, and only the even rows are in the file,
    /// whether a write ran alone or in a group.
    #[test]
    fn a_failing_write_in_a_group_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        let setup = Connection::open(&path).unwrap();
        setup
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER PRIMARY KEY);")
            .unwrap();
        let (threads, per) = (6, 200);
        let gate = gate_for(&path);
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (path, gate, barrier) = (path.clone(), gate.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let conn = Connection::open(&path).unwrap();
                    conn.busy_timeout(std::time::Duration::from_secs(5))
                        .unwrap();
                    barrier.wait();
                    (0..per)
                        .map(|k| {
                            let x = (i * per + k) as i64;
                            let mut work = |c: &Connection| {
                                c.execute("INSERT INTO t (x) VALUES (?1)", [x])?;
                                if x % 2 == 1 {
                                    return Err(StoreError::Conflict(format!("odd {x}")));
                                }
                                Ok(())
                            };
                            (
                                x,
                                gate.submit(&conn, std::time::Duration::from_secs(5), 5, &mut work),
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            for (x, got) in h.join().unwrap() {
                match got {
                    Ok(()) => assert_eq!(x % 2, 0),
                    Err(StoreError::Conflict(m)) => assert_eq!(m, format!("odd {x}")),
                    Err(e) => panic!("{x}: {e}"),
                }
            }
        }
        let (rows, odd): (i64, i64) = setup
            .query_row(
                "SELECT count(*), count(*) FILTER (WHERE x % 2 = 1) FROM t",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((rows, odd), ((threads * per / 2) as i64, 0));
    }

    /// Under steady writes from one process the WAL is written from its start again once
    /// it passes its bound (the writer catches up on a checkpoint pass's tail) instead of
    /// growing with every commit.
    #[test]
    fn the_wal_stops_growing_under_steady_writes() {
        let f = crate::testutil::Fixture::new(2);
        let commits = CHECKPOINT_EVERY as u64 * 15;
        for _ in 0..commits {
            f.store
                .append_event(
                    &f.team,
                    Some(&f.agents[0]),
                    "test.tick",
                    &serde_json::json!({}),
                )
                .unwrap();
        }
        let wal = std::fs::metadata(format!("{}-wal", f.db.path.display())).unwrap();
        // Each commit writes at least two frames (the event row and its index entry) of
        // a 4 KiB page and a 24-byte header: a WAL never started again holds them all.
        let never_restarted = commits * 2 * (4096 + 24);
        assert!(
            wal.len() < never_restarted / 3,
            "WAL of {} bytes after {commits} commits (never restarted: {never_restarted})",
            wal.len()
        );
    }

    /// A database deleted and made again at the same path while a store of this process
    /// still has the old one open: writes go to the new file, not the deleted one.
    #[test]
    fn a_replaced_file_gets_the_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let old = crate::Store::open(&path).unwrap();
        let team = |s: &crate::Store| {
            s.create_team(crate::NewTeam {
                goal: "g".into(),
                ..Default::default()
            })
            .unwrap()
        };
        team(&old);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let new = crate::Store::open(&path).unwrap();
        team(&new);
        assert_eq!(new.list_teams().unwrap().len(), 1);
        drop(old);
    }
}

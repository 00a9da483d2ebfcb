//! WAL checkpoints off the write path.
//!
//! By default SQLite checkpoints inside the commit that takes the WAL past 1000 pages: that
//! writer copies the pages into the database and syncs it while every other writer waits
//! on the lock. `bench bus` measured it as the whole of the bus's tail latency (p99 ~40 ms
//! with, ~7 ms without) and a third of its throughput. So the process's writer connection
//! ([`crate::group`]) turns automatic checkpoints off and nudges this thread instead, which
//! runs `PRAGMA wal_checkpoint(PASSIVE)` on its own connection: it takes no write lock and
//! gives up on pages a reader still needs, so writers never wait for it. Owned by the
//! writer; stopped and joined when the writer is dropped.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use rusqlite::Connection;

/// The checkpointing thread of one database file.
pub(crate) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    flags: Mutex<Flags>,
    wake: Condvar,
    /// Passes finished so far.
    passes: AtomicU64,
    /// Frames in the WAL when the last pass started.
    wal_frames: AtomicU64,
}

#[derive(Default)]
struct Flags {
    due: bool,
    stop: bool,
}

impl Checkpointer {
    /// Opens a connection to `path` and starts the thread; an error leaves the caller to
    /// keep SQLite's automatic checkpoints.
    pub(crate) fn start(path: &Path) -> std::io::Result<Checkpointer> {
        let conn = Connection::open(path).map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared::default());
        let theirs = shared.clone();
        let thread = std::thread::Builder::new()
            .name("store-checkpoint".into())
            .spawn(move || run(&conn, &theirs))?;
        Ok(Checkpointer {
            shared,
            thread: Some(thread),
        })
    }

    /// How many checkpoint passes have finished: the writer catches up after each one
    /// (see `group::Gate::catch_up`).
    pub(crate) fn passes(&self) -> u64 {
        self.shared.passes.load(Ordering::Acquire)
    }

    /// How many frames the WAL held when the last pass ran.
    pub(crate) fn wal_frames(&self) -> u64 {
        self.shared.wal_frames.load(Ordering::Acquire)
    }

    /// Asks for a checkpoint soon; several nudges before it runs make one checkpoint.
    pub(crate) fn nudge(&self) {
        let mut f = self.shared.flags.lock().unwrap_or_else(|e| e.into_inner());
        f.due = true;
        drop(f);
        self.shared.wake.notify_one();
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let mut f = self.shared.flags.lock().unwrap_or_else(|e| e.into_inner());
        f.stop = true;
        drop(f);
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(conn: &Connection, shared: &Shared) {
    loop {
        let mut f = shared.flags.lock().unwrap_or_else(|e| e.into_inner());
        while !f.due && !f.stop {
            f = shared.wake.wait(f).unwrap_or_else(|e| e.into_inner());
        }
        if f.stop {
            return;
        }
        f.due = false;
        drop(f);
        // (busy, WAL frames, frames checkpointed); a partial checkpoint is fine: the next
        // nudge continues it.
        match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1)) {
            Ok(frames) => shared
                .wal_frames
                .store(frames.max(0) as u64, Ordering::Release),
            Err(e) => {
                tracing::warn!(target: "codex_teams::store", event = "store.checkpoint_failed", error = %e, "background WAL checkpoint failed");
            }
        }
        shared.passes.fetch_add(1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A nudge moves committed pages from the WAL into the database file.
    #[test]
    fn a_nudge_checkpoints_the_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
                 CREATE TABLE t (x); INSERT INTO t VALUES (1), (2), (3);",
            )
            .unwrap();
        let db_len = || std::fs::metadata(&path).unwrap().len();
        let before = db_len(); // at most the header page: the table is still in the WAL
        assert!(before <= 4096, "{before}");
        let cp = Checkpointer::start(&path).unwrap();
        cp.nudge();
        let mut waited = 0;
        while db_len() == before && waited < 200 {
            std::thread::sleep(std::time::Duration::from_millis(10));
            waited += 1;
        }
        drop(cp);
        assert!(db_len() > before, "the database file got the table's pages");
    }
}

//! Runs synchronous store calls from async code.
//!
//! A small pool of open connections rather than one `Store::open` per call: opening runs
//! the migration check and connection pragmas every time, while a kept connection costs
//! one file handle. Each call takes an idle connection (or opens one), runs on tokio's
//! blocking pool, and puts it back; SQLite (WAL, busy_timeout, BEGIN IMMEDIATE in the store)
//! coordinates the connections, including those of other processes.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use codex_teams_store::{Store, StoreError, StoreOptions, StoreResult};

/// Idle connections kept; more may be open at once under load, the extras are closed.
const MAX_IDLE: usize = 8;

/// Why a pooled call failed: the store said no, or the blocking task died.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The blocking task running a store call panicked or was cancelled.
    #[error("store call did not finish")]
    Unfinished(#[source] tokio::task::JoinError),
}

pub(crate) struct StorePool {
    path: PathBuf,
    opts: StoreOptions,
    idle: Mutex<Vec<Store>>,
}

impl StorePool {
    /// Opens the first connection now, so a bad path or a failed migration shows at startup.
    pub(crate) fn open(path: &Path, opts: StoreOptions) -> StoreResult<StorePool> {
        let first = Store::open_with(path, opts.clone())?;
        Ok(StorePool {
            path: path.to_path_buf(),
            opts,
            idle: Mutex::new(vec![first]),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn take(&self) -> StoreResult<Store> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match pooled {
            Some(s) => Ok(s),
            None => Store::open_with(&self.path, self.opts.clone()),
        }
    }

    fn give_back(&self, store: Store) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(store);
        }
    }

    /// Runs `f` with a connection on the blocking pool.
    pub(crate) async fn run<T, F>(self: &std::sync::Arc<Self>, f: F) -> Result<T, HubError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> StoreResult<T> + Send + 'static,
    {
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            let store = pool.take()?;
            let out = f(&store);
            // A connection whose call failed is still sound (each call is one transaction).
            pool.give_back(store);
            out
        })
        .await
        .map_err(HubError::Unfinished)?
        .map_err(HubError::from)
    }
}

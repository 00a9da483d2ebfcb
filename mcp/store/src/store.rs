//! The [`Store`] handle: opening a file, its pragmas, and the membership checks every
//! team-scoped operation starts with.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use std::sync::Arc;

use crate::group::{Gate, gate_for};
use crate::settings::STATEMENT_CACHE;
use crate::{StoreError, StoreOptions, StoreResult, schema};

/// One connection to a codex-teams database file. Open one per thread or process; they
/// coordinate through the file, so any number may be open at once.
pub struct Store {
    pub(crate) conn: Connection,
    pub(crate) opts: StoreOptions,
    pub(crate) gate: Arc<Gate>,
}

// Callers move a Store into blocking tasks and worker threads.
const _: fn() = || {
    fn must_be_send<T: Send>() {}
    must_be_send::<Store>();
};

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.conn.path())
            .field("opts", &self.opts)
            .finish()
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub fn open(path: &Path) -> StoreResult<Store> {
        Self::open_with(path, StoreOptions::default())
    }

    /// Like [`Store::open`] with explicit limits, e.g. a smaller body limit from a profile.
    pub fn open_with(path: &Path, opts: StoreOptions) -> StoreResult<Store> {
        if opts.max_body_bytes == 0 || opts.max_artifact_bytes == 0 {
            return Err(StoreError::Invalid(
                "max_body_bytes and max_artifact_bytes must be at least 1".into(),
            ));
        }
        // Owner-only before SQLite creates anything (its -wal/-shm copy the file's mode).
        let fixes = crate::files::secure_db_files(path).map_err(|e| {
            StoreError::Invalid(format!("cannot open database {}: {e}", path.display()))
        })?;
        for fix in &fixes {
            tracing::warn!(target: "codex_teams::store", event = "file.mode_fixed", path = %fix.path.display(), was = format!("{:o}", fix.was), now = format!("{:o}", fix.now), "{fix}");
        }
        let conn = Connection::open(path).map_err(|e| {
            StoreError::Invalid(format!("cannot open database {}: {e}", path.display()))
        })?;
        // The busy handler goes first: even switching to WAL may wait for another opener.
        conn.busy_timeout(Duration::from_millis(opts.busy_timeout_ms))?;
        // Every statement of the store cached: the default 16 is fewer than one request mix uses.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let store = Store {
            conn,
            gate: gate_for(path),
            opts,
        };
        crate::tx::with_retry(store.opts.busy_retries, || {
            let mode: String = store
                .conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(StoreError::Invalid(format!(
                    "{} cannot use WAL journal mode (got {mode}); use a local file system",
                    path.display()
                )));
            }
            Ok(())
        })?;
        crate::settings::configure(&store.conn)?;
        store.write(schema::migrate)?;
        // SQLite made the -wal/-shm with the database's mode; make sure of it.
        crate::files::secure_db_files(path).map_err(|e| {
            StoreError::Invalid(format!("cannot open database {}: {e}", path.display()))
        })?;
        Ok(store)
    }

    /// Opens an existing database for reading only: no migration, no file created or
    /// changed, writes refused by SQLite. What `watch` and `replay` use beside a live run.
    /// A database at an older or newer schema than this build is refused by name.
    pub fn open_read_only(path: &Path) -> StoreResult<Store> {
        let opts = StoreOptions::default();
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
            | rusqlite::OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| {
            StoreError::Invalid(format!("cannot open database {}: {e}", path.display()))
        })?;
        conn.busy_timeout(Duration::from_millis(opts.busy_timeout_ms))?;
        let store = Store {
            conn,
            gate: gate_for(path),
            opts,
        };
        let version = schema::user_version(&store.conn)?;
        if version != schema::SCHEMA_VERSION {
            return Err(StoreError::Invalid(format!(
                "database {} is at schema v{version}; this build reads v{}: run any \
                 codex-teams command that writes (e.g. `status`) to migrate it",
                path.display(),
                schema::SCHEMA_VERSION
            )));
        }
        Ok(store)
    }

    /// The schema version the file is at.
    pub fn schema_version(&self) -> StoreResult<u32> {
        schema::user_version(&self.conn)
    }

    /// The limits in force.
    pub fn options(&self) -> &StoreOptions {
        &self.opts
    }
}

/// `NotFound` for a team that does not exist.
pub(crate) fn ensure_team(conn: &Connection, team_id: &str) -> StoreResult<()> {
    let found = conn
        .prepare_cached("SELECT 1 FROM teams WHERE team_id = ?1")?
        .query_row([team_id], |_| Ok(()))
        .optional()?;
    found.ok_or_else(|| StoreError::NotFound {
        kind: "team",
        id: team_id.to_string(),
    })
}

/// `NotFound` unless `agent_id` is a member of `team_id` (an agent of another team is not
/// found: this is where team-scoped access control starts). A missing team is reported as such.
pub(crate) fn ensure_member(conn: &Connection, team_id: &str, agent_id: &str) -> StoreResult<()> {
    let found = conn
        .prepare_cached("SELECT 1 FROM agents WHERE team_id = ?1 AND agent_id = ?2")?
        .query_row(params![team_id, agent_id], |_| Ok(()))
        .optional()?;
    match found {
        Some(()) => Ok(()),
        None => {
            ensure_team(conn, team_id)?;
            Err(StoreError::NotFound {
                kind: "agent",
                id: agent_id.to_string(),
            })
        }
    }
}

/// `Invalid` when a required text is empty or only blanks.
pub(crate) fn require_text(what: &str, value: &str) -> StoreResult<()> {
    if value.trim().is_empty() {
        return Err(StoreError::Invalid(format!("{what} is empty")));
    }
    Ok(())
}

/// `TooLarge` when `value` is over `limit` bytes.
pub(crate) fn within_limit(what: &'static str, value: &str, limit: usize) -> StoreResult<()> {
    if value.len() > limit {
        return Err(StoreError::TooLarge {
            what,
            size: value.len(),
            limit,
        });
    }
    Ok(())
}

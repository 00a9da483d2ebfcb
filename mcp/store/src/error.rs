//! The one error type callers of the store see.

/// Errors a store call can return; each names what was wrong so it can be shown to a user
/// or a model as is.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An id (team, agent, task, message, artifact) that does not exist in the caller's team.
    #[error("{kind} not found: {id}")]
    NotFound { kind: &'static str, id: String },
    /// A write that lost a race or broke a rule of state: stale version, task not ready,
    /// task held by another agent, idempotency key reused with a different body.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A body or artifact over its configured limit.
    #[error("{what} is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        what: &'static str,
        size: usize,
        limit: usize,
    },
    /// Input the store refuses on its face: empty names, a dependency cycle, bad values.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The database stayed busy through every retry.
    #[error("database busy after {attempts} attempts")]
    Busy { attempts: u32 },
    /// Anything else from SQLite.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Result alias for store calls.
pub type StoreResult<T> = Result<T, StoreError>;

//! The persistence layer of codex-teams.
//!
//! Synchronous on purpose: every call is one short SQLite transaction, so callers in async
//! code run it on a blocking thread. It knows nothing of MCP, HTTP or processes; the MCP
//! layer and the supervisor are thin clients of this API.
//!
//! One [`Store`] wraps one connection. Open one per thread or process; they coordinate
//! through the database file (WAL, `busy_timeout`, `BEGIN IMMEDIATE`, bounded retry).

mod api;
mod error;
mod model;

pub use api::Store;
pub use error::{StoreError, StoreResult};
pub use model::*;

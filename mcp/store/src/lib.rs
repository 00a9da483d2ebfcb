//! The persistence layer of codex-teams.
//!
//! Synchronous on purpose: every call is one short SQLite transaction, so callers in async
//! code run it on a blocking thread. It knows nothing of MCP, HTTP or processes; the MCP
//! layer and the supervisor are thin clients of this API.
//!
//! One [`Store`] wraps one connection. Open one per thread or process; they coordinate
//! through the database file (WAL, `busy_timeout`, `BEGIN IMMEDIATE`, bounded retry).
//! `docs/store.md` describes the schema and the locking strategy.

pub mod arbitration;
mod artifacts;
mod bus;
mod checkpoint;
mod codec;
mod decisions;
mod error;
mod event_trace;
mod events;
pub mod files;
mod group;
mod ids;
mod model;
pub mod redact;
mod schema;
mod schema_v5;
mod settings;
mod store;
mod tasks;
mod teams;
mod tx;

#[cfg(test)]
mod testutil;

pub use artifacts::sha256_hex;
pub use decisions::VOTE_TOOL;
pub use error::{StoreError, StoreResult};
pub use event_trace::EVENTS_TARGET;
pub use model::*;
/// The SQLite binding the store is built on, for code that measures the engine itself
/// (`codex-teams bench bus`'s raw-SQLite floor) with exactly the same build of SQLite.
pub use rusqlite;
pub use schema::SCHEMA_VERSION;
/// The settings every store connection gets; public so a benchmark of the raw engine
/// (`bench bus`'s floor) runs with exactly the same ones.
pub use settings::configure as configure_connection;
pub use store::Store;

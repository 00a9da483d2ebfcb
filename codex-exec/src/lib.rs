//! The one place that knows what `codex exec --json` prints and where the pinned codex
//! binary is.
//!
//! Both the supervisor (which runs codex for real) and the test harness (which runs it
//! against the mock model) need the same two facts; keeping them here means a new codex
//! event kind or a new install location is handled once, for product and tests alike.
//!
//! - [`events`]: typed `codex exec --json` lines ([`ExecEvent`]) and per-turn token
//!   accounting across resumes ([`UsageMeter`]).
//! - [`binary`]: finding the codex CLI ([`find_codex`]): `$CODEX_BIN`, else `codex` on
//!   `PATH`, else the project's install under `.tools/codex`.
//! - [`native`]: the native binary behind the npm launcher ([`resolve_codex`]), so a worker
//!   is codex's own process tree without a resident Node parent.

pub mod binary;
pub mod events;
pub mod native;

pub use binary::{CODEX_VERSION, CodexNotFound, find_codex, project_codex_path, workspace_root};
pub use events::{
    EventParseError, ExecEvent, FileChange, Item, ItemKind, TodoItem, Usage, UsageMeter,
};
pub use native::{CodexLaunch, resolve_once as resolve_codex};

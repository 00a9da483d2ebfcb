//! The process-owning core of the supervisor (SPEC §3): child processes and their groups,
//! codex's JSONL event stream, the six-slot worker cap, model inheritance and the
//! `codex exec` command line; on top, the [`runtime::Supervisor`] that implements the MCP
//! layer's `Runtime` with real workers, and the `run`, `resume` and `status` commands.

pub mod command;
pub mod digest;
pub mod events;
pub mod home;
pub mod isolation;
pub mod meter;
pub mod model;
pub mod process;
pub mod procfs;
pub mod progress;
pub mod prompts;
pub mod reaper;
pub mod resume;
pub mod rollout;
pub mod run;
pub mod runtime;
pub mod slots;
pub mod status;
pub mod summary;
#[cfg(test)]
mod testutil;
pub mod worker;
pub mod worker_instructions;

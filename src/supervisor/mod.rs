//! The process-owning core of the supervisor (SPEC §3): child processes and their groups,
//! codex's JSONL event stream, the six-slot worker cap, model inheritance and the
//! `codex exec` command line. Wiring these to the store and the bus comes on top.

pub mod command;
pub mod events;
pub mod guardian;
pub mod model;
pub mod process;
pub mod slots;
#[cfg(test)]
mod testutil;

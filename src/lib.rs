//! codex-teams: a supervisor that runs OpenAI's Codex CLI as a team of processes.

pub mod bench;
pub mod bench_bus;
pub mod bench_floor;
pub mod bench_proc;
pub mod bench_spawn;
pub mod cli;
pub mod install;
pub mod policy;
pub mod replay;
pub mod supervisor;
pub mod version;
pub mod watch;

//! The scripted model: the only stand-in in codex-teams' tests and benchmarks.

pub mod cli;

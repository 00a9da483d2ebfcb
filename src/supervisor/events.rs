//! `codex exec --json` events and per-turn token accounting, from the shared
//! `codex-teams-codex-exec` crate (the test harness parses codex's output with the same types).

pub use codex_teams_codex_exec::events::*;

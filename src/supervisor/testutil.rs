//! Helpers shared by the supervisor's tests.

use std::path::PathBuf;

/// The pinned codex 0.169.0, found by the shared rule
/// ([`codex_teams_codex_exec::find_codex`]), with the scratch install in /tmp/codexpin as a
/// last resort for development machines. Tests that need codex fail loudly without it
/// rather than pass without having run it.
pub fn pinned_codex() -> PathBuf {
    codex_teams_codex_exec::find_codex().unwrap_or_else(|e| {
        let scratch = PathBuf::from("/tmp/codexpin/node_modules/.bin/codex");
        if scratch.is_file() {
            return scratch;
        }
        panic!(
            "codex {} not found: {e}",
            codex_teams_codex_exec::CODEX_VERSION
        )
    })
}

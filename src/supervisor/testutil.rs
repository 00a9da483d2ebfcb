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

/// The `codex-teams` binary cargo built next to this test binary
/// (`target/<profile>/deps/<test>` → `target/<profile>/codex-teams`): the watcher program
/// of the library's own unit tests. Cargo builds it for `cargo test` whenever integration
/// tests are built too; alone (`cargo test --lib`), build it first.
pub fn codex_teams_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("codex-teams"))
        .expect("test binary under target/<profile>/deps");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build --bin codex-teams` before `cargo test --lib`",
        bin.display()
    );
    bin
}

//! Helpers shared by the supervisor's tests.

use std::path::{Path, PathBuf};

/// The pinned codex 0.169.0: `$CODEX_BIN`, the scratch install in /tmp/codexpin, or the
/// project's own install under `.tools/codex`. Tests that need codex fail loudly without it
/// rather than pass without having run it.
pub fn pinned_codex() -> PathBuf {
    let candidates = [
        std::env::var_os("CODEX_BIN").map(PathBuf::from),
        Some(PathBuf::from("/tmp/codexpin/node_modules/.bin/codex")),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/codex/node_modules/.bin/codex")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "codex 0.169.0 not found: set CODEX_BIN or install it into .tools/codex \
                 (scripts/install.sh) or /tmp/codexpin"
            )
        })
}

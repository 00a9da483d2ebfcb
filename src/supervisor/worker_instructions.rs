//! The base instructions a worker's codex runs with (`-c model_instructions_file=...`), in
//! place of codex's own ~22 K-character prompt, which is written for a user's interactive
//! session (permissions dialogue, plugins, presentation) and was half of every worker request
//! (measured on 0.169.0: a worker's first request 8,976 -> 4,630 input tokens). A worker's
//! job comes from its brief and task; this keeps only what a coding agent in a shared
//! workspace needs.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// The text itself; short on purpose: every worker request carries it.
pub const TEXT: &str = "\
You are a coding agent (Codex) working as one member of a team in a shared workspace; \
other agents may be editing other files at the same time.

- Work only on what your task asks. Read the relevant code before changing it; make the \
smallest correct change, in the style of the code around it.
- Use the shell tool to inspect files and run commands (prefer `rg` to search) and \
`apply_patch` to edit files. Never revert or overwrite changes you did not make; never run \
destructive git commands (reset --hard, checkout --, clean, push).
- Verify: run the tests that cover your change and fix what you broke. Say plainly if \
something could not be verified.
- Do not ask for permission for ordinary, reversible work in the workspace; if the task is \
unclear, ask the lead with your team tools instead of guessing.
- Report through your team tools as your brief says. Your final message ends your turn: keep \
it to a line or two (what changed, what was verified).
";

/// Writes [`TEXT`] to `dir/worker-instructions.md` (owner-only, `0600`) unless it is there
/// already, and returns the path for `model_instructions_file`.
pub fn ensure(dir: &Path) -> anyhow::Result<PathBuf> {
    let path = dir.join("worker-instructions.md");
    if std::fs::read_to_string(&path).is_ok_and(|s| s == TEXT) {
        return Ok(path);
    }
    let tmp = dir.join(format!("worker-instructions.md.{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(TEXT.as_bytes())
        .with_context(|| format!("writing {}", tmp.display()))?;
    drop(f);
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn written_owner_only_and_rewritten_when_changed() {
        let dir = tempfile::tempdir().unwrap();
        let p = super::ensure(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), super::TEXT);
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
        std::fs::write(&p, "stale").unwrap();
        assert_eq!(super::ensure(dir.path()).unwrap(), p);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), super::TEXT);
    }
}

//! Finding the codex CLI: `$CODEX_BIN`, else `codex` on `PATH`, else the project-local
//! install that `scripts/install-codex.sh` makes. One rule for the supervisor and the tests,
//! so they never run different binaries by accident.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The Codex CLI version the project pins (and `scripts/install-codex.sh` installs).
pub const CODEX_VERSION: &str = "0.169.0";

/// The workspace root (where `.tools/` and `scripts/` live), fixed at build time.
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Where `scripts/install-codex.sh` puts the binary.
pub fn project_codex_path() -> PathBuf {
    workspace_root().join(".tools/codex/node_modules/.bin/codex")
}

/// No usable codex binary; the message says how to install one, so a machine without codex
/// fails loudly instead of silently skipping work.
#[derive(Debug, thiserror::Error)]
pub enum CodexNotFound {
    /// `$CODEX_BIN` names something that is neither a file nor a command on `PATH`.
    #[error(
        "CODEX_BIN={} is not an executable file; {}",
        bin.display(),
        how_to_install(local)
    )]
    BadCodexBin {
        /// The value of `$CODEX_BIN`.
        bin: PathBuf,
        /// The project-local install location, for the hint.
        local: PathBuf,
    },
    /// Nothing anywhere.
    #[error(
        "codex CLI not found (no $CODEX_BIN, no `codex` on PATH, nothing at {}): {}",
        local.display(),
        how_to_install(local)
    )]
    Missing {
        /// The project-local install location that was checked.
        local: PathBuf,
    },
}

fn how_to_install(local: &Path) -> String {
    format!(
        "run `scripts/install-codex.sh` to install @openai/codex@{CODEX_VERSION} (it lands at {}), \
         or set CODEX_BIN to a codex binary",
        local.display()
    )
}

/// Finds the codex binary: `$CODEX_BIN` (a path or a command name), else `codex` on `PATH`,
/// else the project-local install ([`project_codex_path`]).
pub fn find_codex() -> Result<PathBuf, CodexNotFound> {
    locate(
        std::env::var_os("CODEX_BIN").filter(|v| !v.is_empty()),
        true,
        &project_codex_path(),
    )
}

fn locate(
    codex_bin: Option<OsString>,
    use_path: bool,
    local: &Path,
) -> Result<PathBuf, CodexNotFound> {
    if let Some(bin) = codex_bin {
        let path = PathBuf::from(&bin);
        if path.is_file() {
            return Ok(path);
        }
        if let Ok(found) = which::which(&bin) {
            return Ok(found);
        }
        return Err(CodexNotFound::BadCodexBin {
            bin: path,
            local: local.to_path_buf(),
        });
    }
    if use_path && let Ok(found) = which::which("codex") {
        return Ok(found);
    }
    if local.is_file() {
        return Ok(local.to_path_buf());
    }
    Err(CodexNotFound::Missing {
        local: local.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_codex_error_says_how_to_install() {
        let nowhere = Path::new("/nonexistent/.tools/codex/node_modules/.bin/codex");
        let msg = locate(None, false, nowhere).unwrap_err().to_string();
        assert!(msg.contains("scripts/install-codex.sh"), "{msg}");
        assert!(msg.contains("codex CLI not found"), "{msg}");
        assert!(msg.contains(CODEX_VERSION), "{msg}");
        let msg = locate(Some("/nonexistent/codex".into()), true, nowhere)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("CODEX_BIN=/nonexistent/codex"), "{msg}");
        assert!(msg.contains("scripts/install-codex.sh"), "{msg}");
    }

    #[test]
    fn search_order_is_codex_bin_then_path_then_local() {
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("local-codex");
        std::fs::write(&local, "#!/bin/sh\n").unwrap();
        let explicit = dir.path().join("explicit-codex");
        std::fs::write(&explicit, "#!/bin/sh\n").unwrap();
        // $CODEX_BIN wins over everything.
        assert_eq!(
            locate(Some(explicit.clone().into()), true, &local).unwrap(),
            explicit
        );
        // Without it and without PATH, the local install is used.
        assert_eq!(locate(None, false, &local).unwrap(), local);
        // A command name in $CODEX_BIN is looked up on PATH.
        assert_eq!(
            locate(Some("sh".into()), false, &local).unwrap(),
            which::which("sh").unwrap()
        );
    }

    #[test]
    fn project_install_lives_under_the_workspace_tools_dir() {
        let path = project_codex_path();
        assert!(path.starts_with(workspace_root()));
        assert!(path.ends_with(".tools/codex/node_modules/.bin/codex"));
        assert!(workspace_root().join("scripts/install-codex.sh").is_file());
    }
}

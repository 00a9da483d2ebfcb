//! Which codex is installed and whether we support it. The facts we rely on (MCP entry keys,
//! `default_tools_approval_mode`, the lean worker flags) were checked on the pinned version;
//! older ones lack some of them.

use std::path::{Path, PathBuf};

/// Oldest codex we support (`docs/codex-facts`: every fact re-checked on this pin).
pub const MIN_SUPPORTED: (u32, u32, u32) = (0, 169, 0);

/// A codex we found and asked for its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundCodex {
    /// The binary.
    pub path: PathBuf,
    /// `major.minor.patch` as printed by `codex --version`.
    pub version: (u32, u32, u32),
}

/// Why codex cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CodexCheckError {
    /// Nothing on PATH, no `$CODEX_BIN`.
    #[error(
        "codex not found: install it (`npm install -g @openai/codex@{min}`) or set CODEX_BIN to its path"
    , min = fmt_version(MIN_SUPPORTED))]
    Missing,
    /// It did not run or printed something else.
    #[error("{path}: `codex --version` failed: {detail}")]
    Unreadable {
        /// The binary.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// Too old.
    #[error(
        "{path} is codex {found}, older than the supported {min}: upgrade with `npm install -g @openai/codex@{min}`",
        found = fmt_version(*version),
        min = fmt_version(MIN_SUPPORTED)
    )]
    TooOld {
        /// The binary.
        path: PathBuf,
        /// Its version.
        version: (u32, u32, u32),
    },
}

/// `0.169.0`.
pub fn fmt_version(v: (u32, u32, u32)) -> String {
    format!("{}.{}.{}", v.0, v.1, v.2)
}

/// Parses `codex-cli 0.169.0` (or a bare `0.169.0`, or `0.170.0-alpha.1`).
pub fn parse_version(out: &str) -> Option<(u32, u32, u32)> {
    let word = out.split_whitespace().last()?;
    let core = word.split(['-', '+']).next()?;
    let mut it = core.split('.').map(|p| p.parse::<u32>().ok());
    let v = (it.next()??, it.next()??, it.next()??);
    it.next().is_none().then_some(v)
}

/// Finds codex (`$CODEX_BIN`, else `codex` on PATH) and checks its version.
pub fn find_supported() -> Result<FoundCodex, CodexCheckError> {
    let path = match std::env::var_os("CODEX_BIN").filter(|v| !v.is_empty()) {
        Some(bin) => {
            let p = PathBuf::from(&bin);
            if p.is_file() {
                p
            } else {
                which::which(&bin).map_err(|_| CodexCheckError::Missing)?
            }
        }
        None => which::which("codex").map_err(|_| CodexCheckError::Missing)?,
    };
    check(&path)
}

/// Runs `path --version` and checks it against [`MIN_SUPPORTED`].
pub fn check(path: &Path) -> Result<FoundCodex, CodexCheckError> {
    let out = std::process::Command::new(path)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| CodexCheckError::Unreadable {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = parse_version(text.trim()).ok_or_else(|| CodexCheckError::Unreadable {
        path: path.to_path_buf(),
        detail: format!(
            "exit {}, printed {:?}",
            out.status,
            text.trim().chars().take(80).collect::<String>()
        ),
    })?;
    if version < MIN_SUPPORTED {
        return Err(CodexCheckError::TooOld {
            path: path.to_path_buf(),
            version,
        });
    }
    Ok(FoundCodex {
        path: path.to_path_buf(),
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        for (text, want) in [
            ("codex-cli 0.169.0", Some((0, 169, 0))),
            ("0.170.2\n", Some((0, 170, 2))),
            ("codex-cli 1.0.0-alpha.3", Some((1, 0, 0))),
            ("codex-cli", None),
            ("codex-cli 0.169", None),
            ("", None),
        ] {
            assert_eq!(parse_version(text), want, "{text:?}");
        }
        assert!((0, 168, 9) < MIN_SUPPORTED && (0, 169, 0) >= MIN_SUPPORTED);
    }

    /// A fake codex that prints an old version is refused by name, with the fix.
    #[test]
    fn old_and_broken_binaries_are_refused_clearly() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("codex");
        std::fs::write(&old, "#!/bin/sh\necho codex-cli 0.120.0\n").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = check(&old).unwrap_err().to_string();
        assert!(err.contains("older than the supported 0.169.0"), "{err}");
        assert!(
            err.contains("npm install -g @openai/codex@0.169.0"),
            "{err}"
        );
        std::fs::write(&old, "#!/bin/sh\necho hello\n").unwrap();
        let err = check(&old).unwrap_err().to_string();
        assert!(err.contains("`codex --version` failed"), "{err}");
    }
}

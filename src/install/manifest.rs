//! What `install` added, kept beside the skill so `uninstall` removes exactly that: never a
//! binary, config file or folder the user had before.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The record. Paths are absolute.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// Version of codex-teams that installed.
    pub version: String,
    /// The binary install put on PATH.
    pub binary: PathBuf,
    /// Whether install copied it there (false: it was already that file).
    pub binary_copied: bool,
    /// `config.toml` did not exist before install.
    pub config_created: bool,
    /// The Codex home did not exist before install.
    pub codex_home_created: bool,
    /// `$CODEX_HOME/skills` did not exist before install.
    pub skills_dir_created: bool,
}

impl Manifest {
    /// Reads the manifest in `skill_dir`; `None` when there is none.
    pub fn read(skill_dir: &Path) -> anyhow::Result<Option<Manifest>> {
        let path = skill_dir.join(super::skill::MANIFEST);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .with_context(|| format!("{} is not a codex-teams install record", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Writes it (0600) into `skill_dir`.
    pub fn write(&self, skill_dir: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self).expect("serializable") + "\n";
        super::write_atomic(
            &skill_dir.join(super::skill::MANIFEST),
            text.as_bytes(),
            0o600,
        )
    }
}

/// Where the binary goes: `PREFIX/bin/codex-teams`.
pub fn binary_path(prefix: &Path) -> PathBuf {
    prefix.join("bin").join("codex-teams")
}

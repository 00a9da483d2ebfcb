//! Putting codex-teams into a user's own Codex, and taking it out again (SPEC §1.4):
//! `install` (binary on PATH, `[mcp_servers.codex-teams]` in `$CODEX_HOME/config.toml`, the
//! skill in `$CODEX_HOME/skills/agent-teams`), `uninstall` (exactly that, undone) and
//! `check-config` (each requirement ok or FAIL with its fix). The scripts in `scripts/` are
//! thin wrappers over these commands so the logic is Rust and tested.

pub mod check;
pub mod codex_version;
pub mod entry;
pub mod manifest;
pub mod setup;
pub mod skill;
pub mod uninstall;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// Where the user's Codex keeps its config: `--codex-home`, else `$CODEX_HOME`, else
/// `~/.codex` (codex's own rule).
pub fn resolve_codex_home(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = flag {
        return absolute(p);
    }
    crate::supervisor::model::codex_home()
        .context("neither --codex-home, CODEX_HOME nor HOME is set")
        .and_then(|p| absolute(&p))
}

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    if p.is_absolute() {
        Ok(p.to_path_buf())
    } else {
        Ok(std::env::current_dir()
            .context("cannot read the current directory")?
            .join(p))
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so a
/// crash never leaves a half-written config; `mode` applies to the new file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path
        .parent()
        .with_context(|| format!("{} has no parent folder", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.codex-teams-tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// One line of what a command did, for people (`  config   added ...`) and programs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Step {
    /// `binary`, `config`, `skill`, `store`.
    pub what: &'static str,
    /// `installed`, `updated`, `unchanged`, `removed`, `absent`, `kept`.
    pub action: &'static str,
    /// The path acted on.
    pub path: PathBuf,
    /// A note for the user, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

pub(crate) fn print_steps(steps: &[Step], json: bool, extra: serde_json::Value) {
    if json {
        let mut v = serde_json::json!({ "steps": steps });
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        println!("{v}");
        return;
    }
    for s in steps {
        println!(
            "  {:<7} {:<9} {}{}",
            s.what,
            s.action,
            s.path.display(),
            s.note
                .as_deref()
                .map(|n| format!("  ({n})"))
                .unwrap_or_default()
        );
    }
}

//! The `agent-teams` skill, embedded in the binary so `codex-teams install` works from a
//! release tarball or `cargo install` with no checkout beside it.

use std::path::{Path, PathBuf};

/// Folder name under `$CODEX_HOME/skills`.
pub const SKILL_DIR: &str = "agent-teams";

/// File in the installed skill folder that records what install did, so uninstall removes
/// exactly that and nothing of the user's.
pub const MANIFEST: &str = ".codex-teams-install.json";

/// Every file of the skill: path inside the folder, contents.
pub const FILES: &[(&str, &str)] = &[
    (
        "SKILL.md",
        include_str!("../../skills/agent-teams/SKILL.md"),
    ),
    (
        "references/roles.md",
        include_str!("../../skills/agent-teams/references/roles.md"),
    ),
    (
        "references/policies.md",
        include_str!("../../skills/agent-teams/references/policies.md"),
    ),
];

/// `$CODEX_HOME/skills/agent-teams`.
pub fn dir(codex_home: &Path) -> PathBuf {
    codex_home.join("skills").join(SKILL_DIR)
}

/// Files of the installed skill that are missing or differ from this binary's copy.
pub fn stale_files(codex_home: &Path) -> Vec<String> {
    let d = dir(codex_home);
    FILES
        .iter()
        .filter(|(rel, text)| std::fs::read_to_string(d.join(rel)).ok().as_deref() != Some(*text))
        .map(|(rel, _)| rel.to_string())
        .collect()
}

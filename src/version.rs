//! The version line: the package version and the commit it was built from, so a bug report
//! or `check-config` names exactly what runs.

/// `0.1.0 (commit 1a2b3c4d5e6f)`.
pub fn long() -> &'static str {
    concat!(
        env!("CARGO_PKG_VERSION"),
        " (commit ",
        env!("CODEX_TEAMS_COMMIT"),
        ")"
    )
}

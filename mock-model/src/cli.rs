//! `codex-teams mock-model`.

/// Options of `codex-teams mock-model`.
#[derive(Debug, clap::Args)]
pub struct MockModelArgs {
    /// Scenario file (YAML).
    #[arg(long)]
    pub scenario: std::path::PathBuf,
}

/// Serves until killed.
pub fn run(_args: MockModelArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}

//! `codex-teams bench bus`: throughput and latency of the message bus through a file database.

/// Options of `codex-teams bench bus`.
#[derive(Debug, clap::Args)]
pub struct BenchBusArgs {
    /// How many messages to send, pull and acknowledge in all.
    #[arg(long, default_value_t = 20_000)]
    pub messages: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs the benchmark.
pub fn run(_args: BenchBusArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}

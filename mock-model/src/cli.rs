//! `codex-teams mock-model`: the scripted model as a standalone server.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

use crate::latency::Latency;
use crate::scenario::Scenario;
use crate::server::{MockModel, Options};

/// Options of `codex-teams mock-model`.
#[derive(Debug, clap::Args)]
pub struct MockModelArgs {
    /// Scenario file (YAML, see docs/scenarios.md).
    #[arg(long)]
    pub scenario: PathBuf,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Delay before each reply, in milliseconds (same as `--latency MS`).
    #[arg(long, conflicts_with = "latency")]
    pub latency_ms: Option<u64>,
    /// Latency model: `REQUEST_MS+TOKEN_MS/tok` (per request plus per output token), e.g.
    /// `800+20/tok` [default: the scenario's `latency`, else none].
    #[arg(long)]
    pub latency: Option<crate::latency::Latency>,
    /// Append every request and its token counts to this JSONL file.
    #[arg(long)]
    pub log: Option<PathBuf>,
}

/// Loads the scenario, prints `listening on http://127.0.0.1:PORT/v1` and serves until
/// killed; on SIGINT/SIGTERM it prints a summary to stderr and stops.
pub fn run(args: MockModelArgs) -> anyhow::Result<()> {
    let scenario = Scenario::load(&args.scenario)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async move {
        let handle = MockModel::start(
            scenario,
            Options {
                port: args.port,
                latency: args.latency.or(args
                    .latency_ms
                    .map(|ms| Latency::per_request(Duration::from_millis(ms)))),
                log_path: args.log,
            },
        )
        .await?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", handle.base_url())?;
        out.flush()?;
        drop(out);
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
        let requests = handle.requests();
        eprintln!(
            "mock-model: {} requests, {} unmatched, {} errors",
            requests.len(),
            handle.unmatched_count(),
            handle.error_count()
        );
        handle.shutdown().await;
        Ok(())
    })
}

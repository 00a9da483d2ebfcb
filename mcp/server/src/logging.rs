//! JSON log setup for the binaries. The events themselves are emitted by the handlers
//! (target `codex_teams::bus` for messages, tasks and artifacts); this decides where they
//! go. Filter with `CODEX_TEAMS_LOG` (or `RUST_LOG`), default `info`.
//!
//! rmcp logs whole JSON-RPC messages, tool arguments included, at debug and trace; those
//! would put message bodies and pasted secrets in the log. [`secret_guard`] drops them
//! whatever the filter says, so every subscriber built here is safe at any level.

use std::path::Path;

use tracing::Level;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{FilterFn, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

/// The level filter from `CODEX_TEAMS_LOG`, else `RUST_LOG`, else `info`.
pub fn env_filter() -> EnvFilter {
    EnvFilter::try_from_env("CODEX_TEAMS_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Drops events of dependencies that log raw protocol traffic below INFO.
pub fn secret_guard() -> FilterFn {
    filter_fn(|m| {
        let raw_traffic = ["rmcp", "hyper", "reqwest", "h2", "tower_http"]
            .iter()
            .any(|t| m.target().starts_with(t));
        !(raw_traffic && *m.level() > Level::INFO)
    })
}

/// Installs a global JSON-lines subscriber writing to `make_writer`, filtered by `filter`
/// and [`secret_guard`]. Fails if one is already set.
pub fn init_json_logging_with<W>(make_writer: W, filter: EnvFilter) -> anyhow::Result<()>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_writer(make_writer)
        .with_filter(filter)
        .with_filter(secret_guard());
    tracing_subscriber::registry()
        .with(layer)
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot set the log subscriber: {e}"))
}

/// Logs JSON lines to `<dir>/<prefix>.<date>.jsonl`, rotated daily, 14 files kept. Keep the
/// guard alive for the life of the process (dropping it flushes).
pub fn init_json_logging(dir: &Path, prefix: &str) -> anyhow::Result<WorkerGuard> {
    std::fs::create_dir_all(dir)?;
    let appender = Builder::new()
        .rotation(Rotation::DAILY)
        .filename_prefix(prefix)
        .filename_suffix("jsonl")
        .max_log_files(14)
        .build(dir)?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    init_json_logging_with(writer, env_filter())?;
    Ok(guard)
}

/// Logs JSON lines to stderr (a stdio MCP server keeps stdout for the protocol; Codex keeps
/// a server's stderr in its own log). Does nothing if a subscriber is already set.
pub fn init_stderr_json_logging() {
    let _ = init_json_logging_with(std::io::stderr, env_filter());
}

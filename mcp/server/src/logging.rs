//! JSON log setup for the binaries. The events themselves are emitted by the handlers
//! (target `codex_teams::bus` for messages, tasks and artifacts); this decides where they
//! go. Filter with `CODEX_TEAMS_LOG` (or `RUST_LOG`), default `info`.
//!
//! rmcp logs whole JSON-RPC messages, tool arguments included, at debug and trace, and MCP
//! session ids at info; those would put message bodies, pasted secrets and session
//! capabilities in the log. [`secret_guard`] drops them whatever the filter says, so every
//! subscriber built here is safe at any level.
//!
//! Size: a logged value a caller controls goes through [`bounded`] (at most
//! [`MAX_LOGGED_BYTES`]), and log files rotate by size ([`crate::log_file`]).

use std::io;
use std::path::{Path, PathBuf};

use tracing::Level;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{FilterFn, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

use crate::log_file::{DEFAULT_KEEP, DEFAULT_MAX_BYTES, SizeCappedFile};

/// The level filter from `CODEX_TEAMS_LOG`, else `RUST_LOG`, else `info`.
pub fn env_filter() -> EnvFilter {
    EnvFilter::try_from_env("CODEX_TEAMS_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Drops events of dependencies that log raw protocol traffic or session ids below WARN,
/// and any event with a `session_id` field (an MCP session id lets its holder use the
/// session; the HTTP layer binds sessions to their agent, but they stay out of logs).
pub fn secret_guard() -> FilterFn {
    filter_fn(|m| {
        let raw_traffic = ["rmcp", "hyper", "reqwest", "h2", "tower_http"]
            .iter()
            .any(|t| m.target().starts_with(t));
        let carries_session = m.fields().field("session_id").is_some();
        let noisy = raw_traffic && *m.level() > Level::WARN;
        !(noisy || carries_session)
    })
}

/// Whether message log lines carry a (redacted) preview of the body: only when
/// `CODEX_TEAMS_LOG_BODIES=1`. By default the log keeps ids and sizes, never bodies.
pub fn log_bodies() -> bool {
    std::env::var_os("CODEX_TEAMS_LOG_BODIES").is_some_and(|v| v == "1")
}

/// The most bytes of a caller-controlled value (tool arguments, an error text) one log
/// event carries.
pub const MAX_LOGGED_BYTES: usize = 512;

/// `s` cut to at most `max` bytes (on a character boundary), with its original size noted
/// when cut: one 7 MB tool call must not make a 7 MB log line. Redact before cutting, so a
/// secret is never cut into a shape the redaction rules miss.
pub fn bounded(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!("{}… [truncated, {} bytes]", &s[..end], s.len()))
}

/// One JSON object per line, event fields at the top level, no span noise.
fn json_layer<S, W>(make_writer: W) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_writer(make_writer)
}

/// Why logging could not be set up; names the path that failed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The log directory (or its `teams/` subdirectory) could not be made private.
    #[error("cannot create the log directory {}", path.display())]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The log file could not be opened.
    #[error("cannot open a log file in {}", path.display())]
    File {
        /// The directory of the file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A global subscriber was already installed.
    #[error("cannot set the log subscriber")]
    Subscriber(#[source] tracing_subscriber::util::TryInitError),
}

/// Installs a global JSON-lines subscriber writing to `make_writer`, filtered by `filter`
/// and [`secret_guard`]. Fails if one is already set.
pub fn init_json_logging_with<W>(make_writer: W, filter: EnvFilter) -> Result<(), LogError>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let layer = json_layer(make_writer)
        .with_filter(filter)
        .with_filter(secret_guard());
    tracing_subscriber::registry()
        .with(layer)
        .try_init()
        .map_err(LogError::Subscriber)
}

/// Flushes the log writers when dropped: keep it alive for the life of the process.
#[must_use = "dropping the guard stops the log writers"]
pub struct LogGuard {
    _writers: Vec<WorkerGuard>,
}

/// Logs JSON lines to `<dir>/<prefix>.jsonl`, rotated by size (16 MiB per file, 4 older
/// files kept: at most 80 MiB), and each line with a `team_id` also to
/// `<dir>/teams/<team_id>.jsonl` ([`crate::team_log`], 8 MiB, 2 older kept). Directories
/// are made `0700` and files `0600`.
pub fn init_json_logging(dir: &Path, prefix: &str) -> Result<LogGuard, LogError> {
    let fix =
        codex_teams_store::files::ensure_private_dir(dir).map_err(|source| LogError::Dir {
            path: dir.to_path_buf(),
            source,
        })?;
    let file =
        SizeCappedFile::open(dir, prefix, DEFAULT_MAX_BYTES, DEFAULT_KEEP).map_err(|source| {
            LogError::File {
                path: dir.to_path_buf(),
                source,
            }
        })?;
    let teams_dir = dir.join("teams");
    let teams = crate::team_log::TeamFiles::new(&teams_dir).map_err(|source| LogError::Dir {
        path: teams_dir.clone(),
        source,
    })?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let (team_writer, team_guard) = tracing_appender::non_blocking(teams);
    let per_team = json_layer(team_writer)
        .with_filter(env_filter())
        .with_filter(filter_fn(|m| m.fields().field("team_id").is_some()))
        .with_filter(secret_guard());
    tracing_subscriber::registry()
        .with(
            json_layer(writer)
                .with_filter(env_filter())
                .with_filter(secret_guard()),
        )
        .with(per_team)
        .try_init()
        .map_err(LogError::Subscriber)?;
    if let Some(fix) = fix {
        tracing::warn!(target: "codex_teams::logging", event = "file.mode_fixed", path = %fix.path.display(), "{fix}");
    }
    Ok(LogGuard {
        _writers: vec![guard, team_guard],
    })
}

/// Logs JSON lines to stderr (a stdio MCP server keeps stdout for the protocol; Codex keeps
/// a server's stderr in its own log). Does nothing if a subscriber is already set.
pub fn init_stderr_json_logging() {
    let _ = init_json_logging_with(std::io::stderr, env_filter());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_cuts_on_a_char_boundary_and_names_the_size() {
        assert_eq!(bounded("short", 10), "short");
        let s = "é".repeat(10); // 20 bytes
        let b = bounded(&s, 5);
        assert_eq!(b, "éé… [truncated, 20 bytes]");
    }

    #[test]
    fn a_log_directory_that_cannot_exist_is_named_with_its_cause() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, "").unwrap();
        let logs = file.join("logs");
        let Err(err) = init_json_logging(&logs, "t") else {
            panic!("a log directory under a file must fail");
        };
        assert!(
            matches!(&err, LogError::Dir { path, .. } if *path == logs),
            "{err:?}"
        );
        assert!(
            err.to_string().contains(&logs.display().to_string()),
            "{err}"
        );
        let cause = std::error::Error::source(&err).expect("the OS error is kept");
        assert!(cause.downcast_ref::<io::Error>().is_some(), "{cause:?}");
    }
}

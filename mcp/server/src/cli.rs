//! `codex-teams mcp`: the stdio MCP server an interactive Codex session registers.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use codex_teams_store::StoreError;
use tokio::signal::unix::{SignalKind, signal};

use crate::hub::{Caller, HubError, HubOptions, TeamHub};
use crate::logging::LogError;
use crate::runtime::{NoopRuntime, Runtime};
use crate::stdio::StdioError;

/// Why `codex-teams mcp` could not start or stopped with an error; each names what failed
/// and where, and keeps the cause.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// No database was named and no home directory is known.
    #[error("neither --db, CODEX_TEAMS_HOME nor HOME is set")]
    NoHome,
    /// Logging could not be set up.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The database's directory could not be created.
    #[error("cannot create {}", path.display())]
    DbDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Tokio could not start, or a signal handler could not be installed.
    #[error("cannot start the async runtime ({what})")]
    Runtime {
        /// What was being set up.
        what: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The store could not be opened or migrated.
    #[error("cannot open the store {}", path.display())]
    Store {
        /// The database file.
        path: PathBuf,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// `--team/--agent` did not name an agent of the store.
    #[error("--team {team} --agent {agent}")]
    Lead {
        /// The team asked for.
        team: String,
        /// The agent asked for.
        agent: String,
        /// Why it could not be read.
        #[source]
        source: HubError,
    },
    /// `--team/--agent` named an agent that is not the team's lead.
    #[error("agent {agent} of team {team} has role {role}, not lead")]
    NotLead {
        /// The team.
        team: String,
        /// The agent.
        agent: String,
        /// Its role.
        role: String,
    },
    /// The stdio session failed.
    #[error(transparent)]
    Session(#[from] StdioError),
}

/// Options of `codex-teams mcp`.
#[derive(Debug, Clone, clap::Args)]
pub struct McpArgs {
    /// Database file [default: $CODEX_TEAMS_HOME/teams.db, else ~/.codex-teams/teams.db].
    #[arg(long, env = "CODEX_TEAMS_DB")]
    pub db: Option<PathBuf>,
    /// Act as the lead of this existing team (with --agent) instead of waiting for team_start.
    #[arg(long, requires = "agent")]
    pub team: Option<String>,
    /// The lead's agent id in --team.
    #[arg(long, requires = "team")]
    pub agent: Option<String>,
    /// Write JSON logs to daily-rotated files here instead of stderr.
    #[arg(long, env = "CODEX_TEAMS_LOG_DIR")]
    pub log_dir: Option<PathBuf>,
}

/// The database used when none is named: `$CODEX_TEAMS_HOME/teams.db`, else
/// `~/.codex-teams/teams.db` (HOME survives Codex's cleared MCP-server environment).
pub fn default_db_path() -> Result<PathBuf, ServeError> {
    if let Some(home) = std::env::var_os("CODEX_TEAMS_HOME") {
        return Ok(PathBuf::from(home).join("teams.db"));
    }
    let home = std::env::var_os("HOME").ok_or(ServeError::NoHome)?;
    Ok(PathBuf::from(home).join(".codex-teams").join("teams.db"))
}

/// The team home (the default database's directory) is made owner-only, and tightened with a
/// warning when found looser; the directory of a `--db` the user chose is only created
/// owner-only when missing.
fn prepare_db_dir(dir: &std::path::Path, team_home: bool) -> std::io::Result<()> {
    use codex_teams_store::files;
    if !team_home {
        return files::create_missing_dirs(dir);
    }
    if let Some(fix) = files::ensure_private_dir(dir)? {
        tracing::warn!(target: "codex_teams::mcp", event = "file.mode_fixed", path = %fix.path.display(), "{fix}");
    }
    Ok(())
}

/// Runs the stdio server with no supervisor attached (spawned agents stay pending).
pub fn run(args: McpArgs) -> Result<(), ServeError> {
    run_with_runtime(args, Arc::new(NoopRuntime))
}

/// Runs the stdio server; `runtime` launches the workers `team_spawn` records.
pub fn run_with_runtime(args: McpArgs, runtime: Arc<dyn Runtime>) -> Result<(), ServeError> {
    let _guard = match &args.log_dir {
        Some(dir) => Some(crate::logging::init_json_logging(dir, "mcp")?),
        None => {
            crate::logging::init_stderr_json_logging();
            None
        }
    };
    let (db, in_team_home) = match args.db {
        Some(p) => (p, false),
        None => (default_db_path()?, true),
    };
    if let Some(parent) = db.parent().filter(|p| !p.as_os_str().is_empty()) {
        prepare_db_dir(parent, in_team_home).map_err(|source| ServeError::DbDir {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let runtime_error = |what| move |source| ServeError::Runtime { what, source };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(runtime_error("tokio"))?;
    rt.block_on(async move {
        let hub = TeamHub::open(&db, runtime, HubOptions::default()).map_err(|source| {
            ServeError::Store {
                path: db.clone(),
                source,
            }
        })?;
        let lead = match (args.team, args.agent) {
            (Some(team), Some(agent)) => {
                let (t, a) = (team.clone(), agent.clone());
                let a = hub
                    .with_store(move |s| s.agent(&t, &a))
                    .await
                    .map_err(|source| ServeError::Lead {
                        team,
                        agent,
                        source,
                    })?;
                let c = Caller::of(&a);
                if !c.is_lead() {
                    return Err(ServeError::NotLead {
                        team: c.team_id,
                        agent: c.agent_id,
                        role: c.role,
                    });
                }
                hub.serve_team(&c.team_id);
                Some(c)
            }
            _ => None,
        };
        let runtime = hub.runtime.clone();
        let mut term = signal(SignalKind::terminate()).map_err(runtime_error("SIGTERM handler"))?;
        let mut int = signal(SignalKind::interrupt()).map_err(runtime_error("SIGINT handler"))?;
        let mut hup = signal(SignalKind::hangup()).map_err(runtime_error("SIGHUP handler"))?;
        let (result, why) = tokio::select! {
            r = crate::stdio::serve_stdio(hub, lead) => (r, "the lead's session ended"),
            _ = term.recv() => (Ok(()), "SIGTERM"),
            _ = int.recv() => (Ok(()), "SIGINT"),
            _ = hup.recv() => (Ok(()), "SIGHUP"),
        };
        runtime.session_ended(why).await;
        Ok(result?)
    })
}

//! `codex-teams mcp`: the stdio MCP server an interactive Codex session registers.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tokio::signal::unix::{SignalKind, signal};

use crate::hub::{Caller, HubOptions, TeamHub};
use crate::runtime::{NoopRuntime, Runtime};

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
pub fn default_db_path() -> anyhow::Result<PathBuf> {
    if let Some(home) = std::env::var_os("CODEX_TEAMS_HOME") {
        return Ok(PathBuf::from(home).join("teams.db"));
    }
    let home =
        std::env::var_os("HOME").context("neither --db, CODEX_TEAMS_HOME nor HOME is set")?;
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
pub fn run(args: McpArgs) -> anyhow::Result<()> {
    run_with_runtime(args, Arc::new(NoopRuntime))
}

/// Runs the stdio server; `runtime` launches the workers `team_spawn` records.
pub fn run_with_runtime(args: McpArgs, runtime: Arc<dyn Runtime>) -> anyhow::Result<()> {
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
        prepare_db_dir(parent, in_team_home)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let hub = TeamHub::open(&db, runtime, HubOptions::default())
            .with_context(|| format!("cannot open the store {}", db.display()))?;
        let lead = match (args.team, args.agent) {
            (Some(team), Some(agent)) => {
                let a = hub
                    .with_store(move |s| s.agent(&team, &agent))
                    .await
                    .context("--team/--agent")?;
                let c = Caller::of(&a);
                anyhow::ensure!(
                    c.is_lead(),
                    "agent {} of team {} has role {}, not lead",
                    c.agent_id,
                    c.team_id,
                    c.role
                );
                hub.serve_team(&c.team_id);
                Some(c)
            }
            _ => None,
        };
        let runtime = hub.runtime.clone();
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let mut hup = signal(SignalKind::hangup())?;
        let (result, why) = tokio::select! {
            r = crate::stdio::serve_stdio(hub, lead) => (r, "the lead's session ended"),
            _ = term.recv() => (Ok(()), "SIGTERM"),
            _ = int.recv() => (Ok(()), "SIGINT"),
            _ = hup.recv() => (Ok(()), "SIGHUP"),
        };
        runtime.session_ended(why).await;
        result
    })
}

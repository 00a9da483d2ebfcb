//! Command-line surface: one clap tree, each subcommand handing off to its module.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Runs OpenAI's Codex CLI as a team: a lead and up to six worker processes on a shared bus.
#[derive(Debug, Parser)]
#[command(name = "codex-teams", version = crate::version::long(), about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Benchmarks of the project's own parts.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Register codex-teams in your Codex: binary on PATH, MCP entry, skill.
    Install(crate::install::setup::InstallArgs),
    /// Remove exactly what `install` added (the team store stays unless --purge).
    Uninstall(crate::install::uninstall::UninstallArgs),
    /// Check that your Codex can run teams: each item ok or FAIL with its fix.
    CheckConfig(crate::install::check::CheckArgs),
    /// Serve the scripted model (OpenAI Responses API) from a scenario file.
    MockModel(codex_teams_mock_model::cli::MockModelArgs),
    /// Serve the team tools over MCP on stdio (register this in Codex's config).
    Mcp(codex_teams_mcp::cli::McpArgs),
    /// Check or show a team profile (fan-out, budget, timeouts, roles).
    #[command(subcommand)]
    Profile(crate::policy::cli::ProfileCommand),
    /// Run a team headless: a lead codex and the workers it asks for, until done.
    Run(crate::supervisor::run::RunArgs),
    /// Continue a team whose supervisor died or was interrupted.
    Resume(crate::supervisor::resume::ResumeArgs),
    /// Show teams, or one team's agents, tasks and usage.
    Status(crate::supervisor::status::StatusArgs),
    /// Replay a team's run from the store: timeline, turns, tokens; --json or --html.
    Replay(crate::replay::ReplayArgs),
    /// Watch a team live in the terminal (one line per event when not on a terminal).
    Watch(crate::watch::WatchArgs),
    /// Internal: the watcher that kills a dead supervisor's leftover children.
    #[command(name = "__reap", hide = true)]
    Reap { tag: String },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Message-bus throughput and latency through a file database with concurrent agents.
    Bus(crate::bench_bus::BenchBusArgs),
    /// Per-worker memory and time to first model request: npm launcher vs native codex.
    Spawn(crate::bench_spawn::BenchSpawnArgs),
    /// The eval set (benchmarks/tasks) by solo, fixed-6 and adaptive arms: tokens, time,
    /// quality, a report and a verdict (scripts/benchmark.sh).
    Run(crate::bench::BenchRunArgs),
}

/// `codex-teams mcp` with the supervisor attached, so `team_spawn` starts real workers.
fn run_mcp(args: codex_teams_mcp::cli::McpArgs) -> anyhow::Result<()> {
    if let Some(team) = std::env::var_os(crate::supervisor::process::MARKER_ENV) {
        anyhow::bail!(
            "codex-teams mcp will not run inside a codex child of team {}: workers and a run's lead use their own bus and cannot start teams",
            team.to_string_lossy()
        );
    }
    let db = match &args.db {
        Some(p) => p.clone(),
        None => codex_teams_mcp::cli::default_db_path()?,
    };
    let runtime = crate::supervisor::runtime::mcp_runtime(db)?;
    Ok(codex_teams_mcp::cli::run_with_runtime(args, runtime)?)
}

/// Parses the command line, runs the command, and maps errors to a non-zero exit.
pub fn main() -> ExitCode {
    // Only the codex-teams binary runs this: it is the process watcher's program.
    if let Ok(exe) = std::env::current_exe() {
        crate::supervisor::reaper::set_program(exe);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench(BenchCommand::Bus(args)) => crate::bench_bus::run(args),
        Command::Bench(BenchCommand::Spawn(args)) => crate::bench_spawn::run(args),
        Command::Bench(BenchCommand::Run(args)) => crate::bench::run(args),
        Command::Install(args) => crate::install::setup::run(args),
        Command::Uninstall(args) => crate::install::uninstall::run(args),
        Command::CheckConfig(args) => crate::install::check::run(args),
        Command::MockModel(args) => codex_teams_mock_model::cli::run(args),
        Command::Mcp(args) => run_mcp(args),
        Command::Profile(cmd) => crate::policy::cli::run(cmd),
        Command::Run(args) => crate::supervisor::run::run(args),
        Command::Resume(args) => crate::supervisor::resume::run(args),
        Command::Status(args) => crate::supervisor::status::run(args),
        Command::Replay(args) => crate::replay::run(args),
        Command::Watch(args) => crate::watch::run(args),
        Command::Reap { tag } => crate::supervisor::reaper::reap_main(&tag),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            match err.downcast_ref::<crate::supervisor::run::StoppedBySignal>() {
                Some(sig) => ExitCode::from(sig.exit_code()),
                None => ExitCode::FAILURE,
            }
        }
    }
}

//! Command-line surface: one clap tree, each subcommand handing off to its module.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Runs OpenAI's Codex CLI as a team: a lead and up to six worker processes on a shared bus.
#[derive(Debug, Parser)]
#[command(name = "codex-teams", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Benchmarks of the project's own parts.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Serve the scripted model (OpenAI Responses API) from a scenario file.
    MockModel(codex_teams_mock_model::cli::MockModelArgs),
    /// Serve the team tools over MCP on stdio (register this in Codex's config).
    Mcp(codex_teams_mcp::cli::McpArgs),
    /// Check or show a team profile (fan-out, budget, timeouts, roles).
    #[command(subcommand)]
    Profile(crate::policy::cli::ProfileCommand),
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Message-bus throughput and latency through a file database with concurrent agents.
    Bus(crate::bench_bus::BenchBusArgs),
}

/// Parses the command line, runs the command, and maps errors to a non-zero exit.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench(BenchCommand::Bus(args)) => crate::bench_bus::run(args),
        Command::MockModel(args) => codex_teams_mock_model::cli::run(args),
        Command::Mcp(args) => codex_teams_mcp::cli::run(args),
        Command::Profile(cmd) => crate::policy::cli::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

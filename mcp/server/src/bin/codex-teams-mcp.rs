//! The stdio server on its own, the same code as `codex-teams mcp`: lets this crate's tests
//! run the real server as a child process without building the whole product binary.

use clap::Parser;

/// Serve the codex-teams tools over MCP on stdio.
#[derive(Debug, Parser)]
#[command(name = "codex-teams-mcp", version)]
struct Args {
    #[command(flatten)]
    mcp: codex_teams_mcp::cli::McpArgs,
}

fn main() -> std::process::ExitCode {
    match codex_teams_mcp::cli::run(Args::parse().mcp) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // Through anyhow for the `: cause: cause` chain.
            eprintln!("error: {:#}", anyhow::Error::from(e));
            std::process::ExitCode::FAILURE
        }
    }
}

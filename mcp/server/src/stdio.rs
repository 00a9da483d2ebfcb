//! The stdio transport: the user's interactive Codex runs `codex-teams mcp` and talks to it
//! as the lead of the teams it starts.

use std::sync::Arc;

use rmcp::ServiceExt;

use crate::hub::{Caller, TeamHub};
use crate::server::TeamServer;

/// Serves one MCP session on stdin/stdout until the client closes it. `lead` makes the
/// session act as an existing team's lead; `None` waits for `team_start`.
pub async fn serve_stdio(hub: Arc<TeamHub>, lead: Option<Caller>) -> anyhow::Result<()> {
    let server = TeamServer::stdio(hub, lead);
    let running = server.serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    Ok(())
}

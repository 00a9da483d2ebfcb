//! The stdio transport: the user's interactive Codex runs `codex-teams mcp` and talks to it
//! as the lead of the teams it starts.

use std::sync::Arc;

use rmcp::ServiceExt;

use crate::hub::{Caller, TeamHub};
use crate::server::TeamServer;

/// Why a stdio session failed.
#[derive(Debug, thiserror::Error)]
pub enum StdioError {
    /// The client never completed MCP's initialize handshake.
    #[error("the MCP session on stdio could not start")]
    Start(#[source] Box<rmcp::service::ServerInitializeError>),
    /// The task serving the session panicked or was cancelled.
    #[error("the MCP session on stdio ended abnormally")]
    Join(#[source] tokio::task::JoinError),
}

/// Serves one MCP session on stdin/stdout until the client closes it. `lead` makes the
/// session act as an existing team's lead; `None` waits for `team_start`.
pub async fn serve_stdio(hub: Arc<TeamHub>, lead: Option<Caller>) -> Result<(), StdioError> {
    let server = TeamServer::stdio(hub, lead);
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| StdioError::Start(Box::new(e)))?;
    running.waiting().await.map_err(StdioError::Join)?;
    Ok(())
}

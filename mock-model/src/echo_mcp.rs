//! A tiny stdio MCP server (binary `mock-echo-mcp`) that tests register with codex to
//! check the MCP round trip end to end: codex calls it, its output reaches the model.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{Json, ServerHandler, ServiceExt, schemars, tool, tool_handler, tool_router};
use serde::{Deserialize, Serialize};

/// Arguments of `echo`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct EchoArgs {
    /// Text to send back.
    pub text: String,
}

/// Arguments of `new_ticket`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct NewTicketArgs {
    /// Title of the ticket.
    pub title: String,
}

/// Result of `new_ticket`: an id the caller must reuse, to test value capture.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Ticket {
    /// Fresh id, unique within this server process.
    pub ticket_id: String,
    /// The title given.
    pub title: String,
}

/// The server: `echo` and `new_ticket`.
#[derive(Debug, Clone)]
pub struct EchoServer {
    tool_router: ToolRouter<Self>,
    next: Arc<AtomicU64>,
}

impl Default for EchoServer {
    fn default() -> Self {
        Self::new()
    }
}

#[tool_router]
impl EchoServer {
    /// A server with its tool router.
    pub fn new() -> Self {
        Self {
            tool_router: Self::tool_router(),
            next: Arc::new(AtomicU64::new(1)),
        }
    }

    /// Returns `echo: TEXT`.
    #[tool(description = "Return the given text, prefixed with `echo: `")]
    async fn echo(&self, Parameters(args): Parameters<EchoArgs>) -> String {
        format!("echo: {}", args.text)
    }

    /// Returns a fresh ticket id.
    #[tool(description = "Create a ticket and return its id")]
    async fn new_ticket(&self, Parameters(args): Parameters<NewTicketArgs>) -> Json<Ticket> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        Json(Ticket {
            ticket_id: format!("TCK-{}-{n}", std::process::id()),
            title: args.title,
        })
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for EchoServer {}

/// Serves on stdin/stdout until the client closes them.
pub async fn serve_stdio() -> anyhow::Result<()> {
    let service = EchoServer::new().serve(rmcp::transport::stdio()).await?;
    service.waiting().await?;
    Ok(())
}

//! The codex-teams MCP tool surface: a thin layer over `codex-teams-store` built on rmcp.
//!
//! Two transports share one in-process [`TeamHub`]:
//! - stdio (`codex-teams mcp`), where the caller is the session's lead (made by
//!   `team_start`, or named at startup);
//! - streamable HTTP on 127.0.0.1 with one endpoint per agent, `/agents/<agent_id>/mcp`,
//!   where the caller is whoever owns the bearer token.
//!
//! Identity never comes from tool arguments. Processes are not started here: `team_spawn`
//! records the agent and hands the launch to a [`Runtime`] (the supervisor).

pub mod cli;
mod errors;
mod handoff;
pub mod http;
mod hub;
pub mod log_file;
pub mod logging;
mod pool;
pub mod redact;
pub mod runtime;
mod schema_compact;
pub mod schemas;
mod server;
pub mod stdio;
pub mod team_log;
pub mod token;
pub mod tool_names;
pub mod types;
mod unread;

pub use errors::{codes, store_error};
pub use handoff::{Handoff, brief_with};
pub use http::{HttpLimits, HttpServer, serve_http, serve_http_with};
pub use hub::{
    Caller, HubError, HubOptions, MintedAgent, TeamHub, register_agent, rotate_agent_token,
    start_team,
};
pub use runtime::{NoopRuntime, Runtime, RuntimeFuture, SpawnError, SpawnRequest};
pub use server::TeamServer;
pub use stdio::{StdioError, serve_stdio};
pub use tool_names::{LEAD_ONLY_TOOLS, TOOL_NAMES};

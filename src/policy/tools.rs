//! The names of the team tools (docs/tools.md), for role and profile checks. The MCP server
//! crate that defines the tools owns the list; its tests keep it equal to the tool router
//! and to the checked-in `mcp/schemas/*.json`.

pub use codex_teams_mcp::tool_names::{
    LEAD_ONLY_TOOLS as LEAD_ONLY, TOOL_NAMES as TOOLS, is_lead_only, is_tool,
};

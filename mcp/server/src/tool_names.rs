//! The names of the team tools, next to the router that defines them, so other crates (the
//! role and profile checks) can validate tool lists without starting a server. A unit test
//! keeps [`TOOL_NAMES`] equal to the router's tools.

/// Every tool the `team` MCP server offers (docs/tools.md).
pub const TOOL_NAMES: &[&str] = &[
    "team_start",
    "team_status",
    "team_finalize",
    "team_spawn",
    "team_send",
    "team_broadcast",
    "team_pull_inbox",
    "team_ack",
    "team_wait",
    "task_create",
    "task_plan",
    "task_claim",
    "task_update",
    "task_list",
    "artifact_publish",
    "artifact_read",
    "artifact_list",
    "decision_open",
    "decision_propose",
    "decision_vote",
    "decision_close",
    "decision_get",
];

/// Tools only a lead may hold: listed to leads only, and giving one to a worker role is a
/// configuration error.
pub const LEAD_ONLY_TOOLS: &[&str] = &[
    "team_start",
    "team_spawn",
    "team_finalize",
    "decision_open",
    "decision_close",
];

/// Whether `name` is a tool the server offers.
pub fn is_tool(name: &str) -> bool {
    TOOL_NAMES.contains(&name)
}

/// Whether `name` is reserved for the lead.
pub fn is_lead_only(name: &str) -> bool {
    LEAD_ONLY_TOOLS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::TeamServer;
    use std::collections::BTreeSet;

    #[test]
    fn names_match_the_tool_router() {
        let routed: BTreeSet<String> = TeamServer::tools()
            .into_iter()
            .map(|t| t.name.to_string())
            .collect();
        let listed: BTreeSet<String> = TOOL_NAMES.iter().map(|t| t.to_string()).collect();
        assert_eq!(listed.len(), TOOL_NAMES.len(), "duplicate in TOOL_NAMES");
        assert_eq!(listed, routed);
    }

    #[test]
    fn lead_only_tools_are_real_tools() {
        assert!(LEAD_ONLY_TOOLS.iter().all(|t| is_tool(t)));
        assert!(is_lead_only("team_spawn"));
        assert!(!is_lead_only("team_send"));
        assert!(!is_tool("spawn_agent"));
    }
}

//! The names of the team tools (docs/tools.md), so role and profile tool lists can be checked
//! without linking the MCP server. A test keeps this list equal to `mcp/schemas/*.json`.

/// Every tool the `team` MCP server offers.
pub const TOOLS: &[&str] = &[
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

/// Tools only the lead may hold; giving one to a worker role is a configuration error.
pub const LEAD_ONLY: &[&str] = &[
    "team_start",
    "team_spawn",
    "team_finalize",
    "decision_open",
    "decision_close",
];

/// Whether `name` is a tool the server offers.
pub fn is_tool(name: &str) -> bool {
    TOOLS.contains(&name)
}

/// Whether `name` is reserved for the lead.
pub fn is_lead_only(name: &str) -> bool {
    LEAD_ONLY.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn tool_list_matches_the_checked_in_schemas() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/mcp/schemas");
        let mut from_files = BTreeSet::new();
        for entry in std::fs::read_dir(dir).expect("mcp/schemas exists") {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
            let schema: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            assert_eq!(schema["name"], stem.as_str(), "{}", path.display());
            from_files.insert(stem);
        }
        let ours: BTreeSet<String> = TOOLS.iter().map(|t| t.to_string()).collect();
        assert_eq!(ours, from_files);
        assert!(LEAD_ONLY.iter().all(|t| is_tool(t)));
        assert!(!is_tool("spawn_agent"));
    }
}

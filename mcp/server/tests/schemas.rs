//! The checked-in schemas match the code. `UPDATE_SCHEMAS=1 cargo test -p codex-teams-mcp
//! --test schemas` rewrites them.

use codex_teams_mcp::schemas::{render, schema_dir, tool_schemas, write_schemas};

const TOOLS: &[&str] = &[
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

#[test]
fn every_required_tool_exists_with_object_schemas() {
    let schemas = tool_schemas();
    for name in TOOLS {
        let (_, doc) = schemas
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("tool {name} missing"));
        assert_eq!(doc["input"]["type"], "object", "{name} input");
        assert_eq!(doc["output"]["type"], "object", "{name} output");
        let d = doc["description"].as_str().unwrap_or_default();
        assert!(!d.is_empty() && d.len() <= 140, "{name} description: {d:?}");
    }
    assert_eq!(schemas.len(), TOOLS.len(), "unexpected extra tools");
}

#[test]
fn checked_in_schemas_match_the_code() {
    let dir = schema_dir();
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        write_schemas(&dir).expect("write schemas");
    }
    let mut drift = Vec::new();
    for (name, doc) in tool_schemas() {
        let path = dir.join(format!("{name}.json"));
        match std::fs::read_to_string(&path) {
            Ok(text) if text == render(&doc) => {}
            Ok(_) => drift.push(format!("{} differs", path.display())),
            Err(e) => drift.push(format!("{}: {e}", path.display())),
        }
    }
    let files = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
    if files != tool_schemas().len() {
        drift.push(format!(
            "{} holds {files} files, expected {}",
            dir.display(),
            tool_schemas().len()
        ));
    }
    assert!(
        drift.is_empty(),
        "schemas drifted from the code (rerun with UPDATE_SCHEMAS=1):\n{}",
        drift.join("\n")
    );
}

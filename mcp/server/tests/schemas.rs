//! The checked-in schemas match the code. `UPDATE_SCHEMAS=1 cargo test -p codex-teams-mcp
//! --test schemas` rewrites them.

use std::collections::BTreeSet;

use codex_teams_mcp::schemas::{render, schema_dir, tool_schemas, write_schemas};
use codex_teams_mcp::{LEAD_ONLY_TOOLS, TOOL_NAMES as TOOLS};

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

#[test]
fn schema_files_are_exactly_the_tool_names() {
    let dir = schema_dir();
    let mut from_files = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("mcp/schemas exists") {
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
    assert!(LEAD_ONLY_TOOLS.iter().all(|t| TOOLS.contains(t)));
}

//! The checked-in `mcp/schemas/<tool>.json` files: generated from the tool router (the same
//! schemas clients receive), compared by a test so they cannot drift from the code.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::server::TeamServer;

/// `(tool name, {name, description, input, output})` for every tool, sorted by name.
pub fn tool_schemas() -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = TeamServer::tools()
        .into_iter()
        .map(|t| {
            let doc = json!({
                "name": t.name,
                "description": t.description,
                "input": Value::Object((*t.input_schema).clone()),
                "output": t.output_schema.map(|s| Value::Object((*s).clone())).unwrap_or(Value::Null),
            });
            (t.name.to_string(), doc)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Where the files live in the source tree.
pub fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas")
}

/// The file text for one tool (pretty JSON, trailing newline).
pub fn render(doc: &Value) -> String {
    let mut s = serde_json::to_string_pretty(doc).unwrap_or_default();
    s.push('\n');
    s
}

/// Rewrites every tool's file in `dir` and removes `.json` files of tools that no longer
/// exist.
pub fn write_schemas(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let schemas = tool_schemas();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if path.extension().is_some_and(|e| e == "json") && !schemas.iter().any(|(n, _)| n == stem)
        {
            std::fs::remove_file(&path)?;
        }
    }
    for (name, doc) in &schemas {
        std::fs::write(dir.join(format!("{name}.json")), render(doc))?;
    }
    Ok(())
}

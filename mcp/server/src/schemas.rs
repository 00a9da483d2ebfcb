//! The checked-in `mcp/schemas/<tool>.json` files: generated from the tool router (the same
//! schemas clients receive), compared by a test so they cannot drift from the code.

use std::path::{Path, PathBuf};

use rmcp::model::JsonObject;
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

/// Shrinks a generated input schema without changing what it accepts for a model: drops
/// `$schema`, `default: null` and integer `format`s, inlines `$defs`, and writes optional
/// fields as their plain type (absent is how a model leaves them out).
pub fn compact_input_schema(schema: &mut JsonObject) {
    schema.remove("$schema");
    let defs = match schema.remove("$defs") {
        Some(Value::Object(d)) => d,
        _ => JsonObject::new(),
    };
    let required: Vec<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if let Some(Value::Object(props)) = schema.get_mut("properties") {
        for (name, prop) in props.iter_mut() {
            compact_node(prop, &defs);
            if !required.contains(name) {
                drop_null(prop);
            }
        }
    }
}

fn compact_node(v: &mut Value, defs: &JsonObject) {
    match v {
        Value::Object(o) => {
            let target = o
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/$defs/"))
                .and_then(|n| defs.get(n))
                .and_then(Value::as_object)
                .cloned();
            if let Some(mut def) = target {
                def.remove("description");
                let field_desc = o.get("description").cloned();
                *o = def;
                if let Some(d) = field_desc {
                    o.insert("description".into(), d);
                }
            }
            if o.get("default") == Some(&Value::Null) {
                o.remove("default");
            }
            if o.get("format")
                .and_then(Value::as_str)
                .is_some_and(|f| f.starts_with("uint") || f.starts_with("int"))
            {
                o.remove("format");
            }
            for child in o.values_mut() {
                compact_node(child, defs);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| compact_node(i, defs)),
        _ => {}
    }
}

/// `type: [T, "null"]` → `type: T`; `anyOf: [X, {type: null}]` → X.
fn drop_null(prop: &mut Value) {
    let Value::Object(o) = prop else { return };
    if let Some(Value::Array(types)) = o.get("type") {
        let non_null: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        if non_null.len() == 1 {
            o.insert("type".into(), non_null[0].clone());
        }
    }
    let any = o.get("anyOf").and_then(Value::as_array).cloned();
    if let Some(any) = any {
        let non_null: Vec<Value> = any
            .into_iter()
            .filter(|a| a.get("type") != Some(&Value::String("null".into())))
            .collect();
        if non_null.len() == 1 {
            o.remove("anyOf");
            if let Value::Object(inner) = &non_null[0] {
                for (k, v) in inner {
                    o.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
    }
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

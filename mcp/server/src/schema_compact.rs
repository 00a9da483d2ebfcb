//! Input schemas as the model sees them: the ones schemars generates, made smaller without
//! changing what they accept. Used by the tool router (`server`), and so by the checked-in
//! files (`schemas`) that are generated from it.

use rmcp::model::JsonObject;
use serde_json::Value;

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

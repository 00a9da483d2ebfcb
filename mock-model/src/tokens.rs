//! Token accounting with the real o200k_base tokenizer, so benchmark numbers measure what
//! codex really sends rather than an estimate.
//!
//! What is tokenized (documented in `docs/scenarios.md`):
//! - input: the request's `tools` array as the raw JSON text codex sent, then the
//!   `instructions` string, then each `input` item as the raw JSON text codex sent, in
//!   this order (the order a provider renders them: tools, system, conversation). Each
//!   segment is encoded on its own and the token lists are concatenated, so a request
//!   that only appends items shares every earlier segment's tokens exactly.
//! - output: for each emitted item, a message's text, or a function call's namespace,
//!   name and `arguments` string.

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use tiktoken_rs::CoreBPE;

/// The tokenizer; loading it parses the vocabulary once per process.
pub fn bpe() -> &'static CoreBPE {
    tiktoken_rs::o200k_base_singleton()
}

/// Tokens of one text, special-token strings treated as plain text.
pub fn encode(text: &str) -> Vec<u32> {
    bpe().encode_ordinary(text)
}

/// The parts of a request body that count as input, kept as the raw JSON codex sent.
#[derive(Debug, Deserialize)]
pub struct RawRequest<'a> {
    /// `instructions` string.
    #[serde(default)]
    pub instructions: Option<String>,
    /// `input` items, raw.
    #[serde(borrow)]
    pub input: Vec<&'a RawValue>,
    /// `tools` array, raw.
    #[serde(borrow, default)]
    pub tools: Option<&'a RawValue>,
}

/// The request's input tokens, in the order described in the module docs.
pub fn request_tokens(req: &RawRequest<'_>) -> Vec<u32> {
    let mut tokens = Vec::new();
    if let Some(tools) = req.tools {
        tokens.extend(encode(tools.get()));
    }
    if let Some(instructions) = &req.instructions {
        tokens.extend(encode(instructions));
    }
    for item in &req.input {
        tokens.extend(encode(item.get()));
    }
    tokens
}

/// Output tokens of the items the server emits.
pub fn output_tokens(items: &[Value]) -> usize {
    items
        .iter()
        .map(|item| match item.get("type").and_then(Value::as_str) {
            Some("message") => item["content"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c.get("text").and_then(Value::as_str))
                .map(|t| encode(t).len())
                .sum::<usize>(),
            _ => ["namespace", "name", "arguments"]
                .iter()
                .filter_map(|k| item.get(*k).and_then(Value::as_str))
                .map(|t| encode(t).len())
                .sum(),
        })
        .sum()
}

/// Length of the common prefix of two token lists.
pub fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_with_o200k() {
        // "hello world" is two tokens in o200k_base.
        assert_eq!(encode("hello world").len(), 2);
        assert_eq!(
            output_tokens(&[crate::scenario::assistant_message("m", "hello world")]),
            2
        );
    }

    #[test]
    fn appending_items_keeps_the_prefix() {
        let a = r#"{"instructions":"be brief","input":[{"type":"message","role":"user","content":"hi"}],"tools":[{"type":"function","name":"f"}]}"#;
        let b = r#"{"instructions":"be brief","input":[{"type":"message","role":"user","content":"hi"},{"type":"function_call_output","call_id":"c","output":"ok"}],"tools":[{"type":"function","name":"f"}]}"#;
        let ta = request_tokens(&serde_json::from_str(a).unwrap());
        let tb = request_tokens(&serde_json::from_str(b).unwrap());
        assert!(tb.len() > ta.len());
        assert_eq!(common_prefix(&ta, &tb), ta.len());
        let c = json!({"input": [], "instructions": "other"}).to_string();
        let tc = request_tokens(&serde_json::from_str(&c).unwrap());
        assert!(common_prefix(&ta, &tc) < ta.len());
    }
}

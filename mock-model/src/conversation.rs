//! A read-only view of one Responses-API request: the parts scenarios match on.
//!
//! Codex resends the whole conversation with every request, so everything a rule needs
//! (prompt, instructions, tool calls and outputs of the current turn) is derived here from
//! the request body alone, with no per-conversation state in the server.

use serde_json::Value;

/// One tool output found in the request's `input`, joined with the call that caused it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// `call_id` shared by the call and its output.
    pub call_id: String,
    /// Function name of the call (`exec_command`, or an MCP tool's name).
    pub tool: String,
    /// Namespace of the call (`mcp__<server>` for MCP tools), if any.
    pub namespace: Option<String>,
    /// The output exactly as codex sent it (content arrays joined to text).
    pub raw: String,
    /// The useful text: for shell tools the part after codex's `Output:` header, else `raw`.
    pub text: String,
    /// Exit code codex reported for a shell command (`Process exited with code N`).
    pub exit_code: Option<i64>,
    /// `text` parsed as JSON, when it is JSON (MCP tools that return JSON objects).
    pub json: Option<Value>,
}

impl ToolOutput {
    /// The output as one JSON object: the fields templates reach as `last_output.<field>`.
    pub fn to_value(&self) -> Value {
        serde_json::json!({
            "call_id": self.call_id,
            "tool": self.tool,
            "namespace": self.namespace,
            "raw": self.raw,
            "text": self.text,
            "exit_code": self.exit_code,
            "json": self.json,
        })
    }
}

/// A tool call found in the request's `input`.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// `call_id` of the call.
    pub call_id: String,
    /// Function name.
    pub name: String,
    /// Namespace (`mcp__<server>`), if any.
    pub namespace: Option<String>,
    /// Arguments as sent (a JSON string for function calls).
    pub arguments: String,
}

/// What the scenario matcher sees of a request.
#[derive(Debug, Clone, Default)]
pub struct Conversation {
    /// `model` field of the request.
    pub model: Option<String>,
    /// `prompt_cache_key` of the request (codex sets it to the thread id).
    pub prompt_cache_key: Option<String>,
    /// The `instructions` field followed by the text of every developer/system message.
    pub instructions: String,
    /// Text of the latest user message that is a real prompt (not a `<tagged>` context block).
    pub prompt: Option<String>,
    /// Every text in `input`: messages, call arguments and outputs, one per line.
    pub input_text: String,
    /// Tool calls made after the prompt (this turn), in order.
    pub turn_calls: Vec<ToolCall>,
    /// Tool outputs received after the prompt (this turn), in order.
    pub turn_outputs: Vec<ToolOutput>,
    /// Every tool output in the conversation, in order.
    pub all_outputs: Vec<ToolOutput>,
}

impl Conversation {
    /// The latest tool output of the current turn.
    pub fn last_output(&self) -> Option<&ToolOutput> {
        self.turn_outputs.last()
    }

    /// The latest output, anywhere in the conversation, of the tool with this name.
    pub fn latest_output_of<'a>(&'a self, tool: &'a str) -> Option<&'a ToolOutput> {
        self.outputs_of(tool).last()
    }

    /// Every output of `tool` (bare name or `namespace.name`) in the conversation, in order.
    pub fn outputs_of<'a>(
        &'a self,
        tool: &'a str,
    ) -> impl DoubleEndedIterator<Item = &'a ToolOutput> {
        self.all_outputs.iter().filter(move |o| {
            o.tool == tool
                || o.namespace
                    .as_deref()
                    .is_some_and(|ns| format!("{ns}.{}", o.tool) == tool)
        })
    }

    /// Builds the view from a request body; `Err` names what is malformed.
    pub fn from_request(body: &Value) -> Result<Self, String> {
        let obj = body
            .as_object()
            .ok_or_else(|| "request body must be a JSON object".to_string())?;
        let input = obj
            .get("input")
            .ok_or_else(|| "request body has no `input` field".to_string())?
            .as_array()
            .ok_or_else(|| "`input` must be an array of items".to_string())?;
        let mut conv = Conversation {
            model: obj.get("model").and_then(Value::as_str).map(str::to_owned),
            prompt_cache_key: obj
                .get("prompt_cache_key")
                .and_then(Value::as_str)
                .map(str::to_owned),
            ..Default::default()
        };
        let mut instructions: Vec<String> = Vec::new();
        match obj.get("instructions") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => instructions.push(s.clone()),
            Some(_) => return Err("`instructions` must be a string".into()),
        }
        let mut texts: Vec<String> = Vec::new();
        let mut calls: Vec<ToolCall> = Vec::new();
        // Index into `calls`/`all_outputs` where the current turn starts.
        let mut turn_calls_from = 0;
        let mut turn_outputs_from = 0;
        for (i, item) in input.iter().enumerate() {
            let kind = item
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("message");
            match kind {
                "message" => {
                    let role = item.get("role").and_then(Value::as_str).unwrap_or("");
                    let text = message_text(item.get("content"));
                    match role {
                        "developer" | "system" => instructions.push(text.clone()),
                        "user" if is_prompt(&text) => {
                            conv.prompt = Some(text.clone());
                            turn_calls_from = calls.len();
                            turn_outputs_from = conv.all_outputs.len();
                        }
                        _ => {}
                    }
                    texts.push(text);
                }
                "function_call" | "custom_tool_call" => {
                    let call = ToolCall {
                        call_id: str_field(item, "call_id"),
                        name: str_field(item, "name"),
                        namespace: item
                            .get("namespace")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                        arguments: match item.get("arguments").or_else(|| item.get("input")) {
                            Some(Value::String(s)) => s.clone(),
                            Some(v) => v.to_string(),
                            None => String::new(),
                        },
                    };
                    texts.push(call.arguments.clone());
                    calls.push(call);
                }
                k if k.ends_with("_output") => {
                    let call_id = str_field(item, "call_id");
                    let raw = output_text(item.get("output"));
                    let call = calls.iter().rev().find(|c| c.call_id == call_id);
                    let tool = call.map(|c| c.name.clone()).unwrap_or_default();
                    let namespace = call.and_then(|c| c.namespace.clone());
                    let (text, exit_code) = split_tool_output(&raw);
                    let json = serde_json::from_str::<Value>(text.trim())
                        .ok()
                        .filter(|v| v.is_object() || v.is_array());
                    texts.push(raw.clone());
                    conv.all_outputs.push(ToolOutput {
                        call_id,
                        tool,
                        namespace,
                        raw,
                        text,
                        exit_code,
                        json,
                    });
                }
                _ => {
                    if item.as_object().is_none() {
                        return Err(format!("`input[{i}]` must be an object"));
                    }
                }
            }
        }
        conv.instructions = instructions.join("\n");
        conv.input_text = texts.join("\n");
        conv.turn_calls = calls[turn_calls_from..].to_vec();
        conv.turn_outputs = conv.all_outputs[turn_outputs_from..].to_vec();
        Ok(conv)
    }
}

/// A user message is a prompt unless it is one of codex's injected context blocks
/// (`<environment_context>...`, `<user_instructions>...`, `# AGENTS.md instructions ...`).
fn is_prompt(text: &str) -> bool {
    let t = text.trim();
    let tagged = t.starts_with('<') && t.ends_with('>');
    !(tagged || t.starts_with("# AGENTS.md instructions"))
}

fn str_field(item: &Value, key: &str) -> String {
    item.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Joins the `text` of each content part (`input_text`, `output_text`, ...).
fn message_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Tool outputs are a string, or an array of content parts, or (older shapes) an object
/// with `content`.
fn output_text(output: Option<&Value>) -> String {
    match output {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(_)) => message_text(output),
        Some(Value::Object(o)) => match o.get("content") {
            Some(c) => output_text(Some(c)),
            None => Value::Object(o.clone()).to_string(),
        },
        Some(v) => v.to_string(),
        None => String::new(),
    }
}

/// Codex wraps tool output in a header (`Chunk ID`, `Wall time`, `Process exited with code
/// N`, `Output:`; MCP results get `Wall time` and `Output:`); the tool's own output follows
/// the `Output:` line.
fn split_tool_output(raw: &str) -> (String, Option<i64>) {
    let exit_code = raw.lines().find_map(|l| {
        l.strip_prefix("Process exited with code ")
            .and_then(|n| n.trim().parse().ok())
    });
    // MCP tool outputs carry the same kind of header (`Wall time: ...`, `Output:`).
    let known_header = ["Chunk ID:", "Wall time:", "Process exited", "Exit code:"]
        .iter()
        .any(|h| raw.starts_with(h));
    if known_header && let Some(pos) = raw.find("Output:\n") {
        let header_like = |l: &str| l.contains(':') || l.starts_with("Process ");
        if raw[..pos].lines().all(header_like) {
            return (raw[pos + "Output:\n".len()..].to_owned(), exit_code);
        }
    }
    (raw.to_owned(), exit_code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body() -> Value {
        json!({
            "model": "m",
            "prompt_cache_key": "k",
            "input": [
                {"type":"message","role":"developer","content":[{"type":"input_text","text":"You are a tester."}]},
                {"type":"message","role":"user","content":[{"type":"input_text","text":"<environment_context>x</environment_context>"}]},
                {"type":"message","role":"user","content":[{"type":"input_text","text":"first"}]},
                {"type":"function_call","name":"exec_command","call_id":"c0","arguments":"{\"cmd\":\"ls\"}"},
                {"type":"function_call_output","call_id":"c0","output":"old"},
                {"type":"message","role":"user","content":[{"type":"input_text","text":"run it"}]},
                {"type":"function_call","name":"exec_command","call_id":"c1","arguments":"{\"cmd\":\"echo hi\"}"},
                {"type":"function_call_output","call_id":"c1","output":"Chunk ID: ab\nWall time: 0.0 seconds\nProcess exited with code 3\nOriginal token count: 2\nOutput:\nhi\n"},
                {"type":"function_call","namespace":"mcp__team","name":"team_claim","call_id":"c2","arguments":"{}"},
                {"type":"function_call_output","call_id":"c2","output":"Wall time: 0.0094 seconds\nOutput:\n{\"task_id\":\"T-7\"}"}
            ]
        })
    }

    #[test]
    fn splits_turns_and_outputs() {
        let c = Conversation::from_request(&body()).unwrap();
        assert_eq!(c.prompt.as_deref(), Some("run it"));
        assert_eq!(c.instructions, "You are a tester.");
        assert_eq!(c.turn_calls.len(), 2);
        assert_eq!(c.turn_outputs.len(), 2);
        assert_eq!(c.all_outputs.len(), 3);
        let shell = &c.turn_outputs[0];
        assert_eq!(shell.text, "hi\n");
        assert_eq!(shell.exit_code, Some(3));
        let mcp = c.last_output().unwrap();
        assert_eq!(mcp.namespace.as_deref(), Some("mcp__team"));
        assert_eq!(mcp.json.as_ref().unwrap()["task_id"], "T-7");
        assert_eq!(
            c.latest_output_of("mcp__team.team_claim").unwrap().call_id,
            "c2"
        );
    }

    #[test]
    fn rejects_bodies_without_input() {
        let err = Conversation::from_request(&json!({"model":"m"})).unwrap_err();
        assert!(err.contains("`input`"), "{err}");
        let err = Conversation::from_request(&json!({"input": 3})).unwrap_err();
        assert!(err.contains("array"), "{err}");
    }
}

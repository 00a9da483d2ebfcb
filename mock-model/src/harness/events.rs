//! Typed `codex exec --json` events (codex-facts.md §2), so tests assert on fields rather
//! than on raw JSON.

use serde::Deserialize;
use serde_json::Value;

/// Token usage in `turn.completed`: codex reports the thread's running totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Usage {
    /// Input tokens, summed over every model request of the thread.
    #[serde(default)]
    pub input_tokens: u64,
    /// Cached input tokens, likewise.
    #[serde(default)]
    pub cached_input_tokens: u64,
    /// Cache-write input tokens, likewise.
    #[serde(default)]
    pub cache_write_input_tokens: u64,
    /// Output tokens, likewise.
    #[serde(default)]
    pub output_tokens: u64,
    /// Reasoning output tokens, likewise.
    #[serde(default)]
    pub reasoning_output_tokens: u64,
}

/// One line of `codex exec --json` output.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `thread.started`.
    ThreadStarted {
        /// Thread id, for `exec resume`.
        thread_id: String,
    },
    /// `turn.started`.
    TurnStarted,
    /// `turn.completed`.
    TurnCompleted {
        /// Running totals of the thread.
        usage: Usage,
    },
    /// `turn.failed`.
    TurnFailed {
        /// `error.message`.
        message: String,
    },
    /// `item.started`.
    ItemStarted(Item),
    /// `item.updated`.
    ItemUpdated(Item),
    /// `item.completed`.
    ItemCompleted(Item),
    /// Top-level `error`.
    Error {
        /// The message.
        message: String,
    },
    /// Any other event, kept whole.
    Other(Value),
}

/// A thread item (`item` of `item.*` events).
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// The model's text answer.
    AgentMessage {
        /// Item id.
        id: String,
        /// The text.
        text: String,
    },
    /// Reasoning summary.
    Reasoning {
        /// Item id.
        id: String,
        /// The text.
        text: String,
    },
    /// A shell command codex ran.
    CommandExecution {
        /// Item id.
        id: String,
        /// The command line as codex ran it.
        command: String,
        /// stdout and stderr together.
        aggregated_output: String,
        /// Exit code, once finished.
        exit_code: Option<i64>,
        /// `in_progress`, `completed`, `failed`, ...
        status: String,
    },
    /// Files codex changed.
    FileChange {
        /// Item id.
        id: String,
        /// The changes, as codex reports them.
        changes: Value,
        /// Status.
        status: Option<String>,
    },
    /// A call of an MCP tool.
    McpToolCall {
        /// Item id.
        id: String,
        /// MCP server name.
        server: String,
        /// Tool name.
        tool: String,
        /// Arguments.
        arguments: Value,
        /// Result, when it succeeded.
        result: Option<Value>,
        /// Error, when it failed.
        error: Option<Value>,
        /// Status.
        status: String,
    },
    /// An error item (e.g. codex's harmless "Model metadata ... not found").
    Error {
        /// Item id.
        id: String,
        /// The message.
        message: String,
    },
    /// Other item types (`collab_tool_call`, `web_search`, `todo_list`, ...), kept whole.
    Other(Value),
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum KnownItem {
    AgentMessage {
        #[serde(default)]
        id: String,
        text: String,
    },
    Reasoning {
        #[serde(default)]
        id: String,
        #[serde(default)]
        text: String,
    },
    CommandExecution {
        #[serde(default)]
        id: String,
        command: String,
        #[serde(default)]
        aggregated_output: String,
        #[serde(default)]
        exit_code: Option<i64>,
        #[serde(default)]
        status: String,
    },
    FileChange {
        #[serde(default)]
        id: String,
        #[serde(default)]
        changes: Value,
        #[serde(default)]
        status: Option<String>,
    },
    McpToolCall {
        #[serde(default)]
        id: String,
        server: String,
        tool: String,
        #[serde(default)]
        arguments: Value,
        #[serde(default)]
        result: Option<Value>,
        #[serde(default)]
        error: Option<Value>,
        #[serde(default)]
        status: String,
    },
    Error {
        #[serde(default)]
        id: String,
        message: String,
    },
}

impl Item {
    /// Types a JSON item; unknown or odd shapes become `Other`.
    pub fn from_value(v: Value) -> Item {
        match serde_json::from_value::<KnownItem>(v.clone()) {
            Ok(KnownItem::AgentMessage { id, text }) => Item::AgentMessage { id, text },
            Ok(KnownItem::Reasoning { id, text }) => Item::Reasoning { id, text },
            Ok(KnownItem::CommandExecution {
                id,
                command,
                aggregated_output,
                exit_code,
                status,
            }) => Item::CommandExecution {
                id,
                command,
                aggregated_output,
                exit_code,
                status,
            },
            Ok(KnownItem::FileChange {
                id,
                changes,
                status,
            }) => Item::FileChange {
                id,
                changes,
                status,
            },
            Ok(KnownItem::McpToolCall {
                id,
                server,
                tool,
                arguments,
                result,
                error,
                status,
            }) => Item::McpToolCall {
                id,
                server,
                tool,
                arguments,
                result,
                error,
                status,
            },
            Ok(KnownItem::Error { id, message }) => Item::Error { id, message },
            Err(_) => Item::Other(v),
        }
    }
}

impl Event {
    /// Parses one stdout line; `None` for lines that are not JSON objects.
    pub fn parse_line(line: &str) -> Option<Event> {
        let v: Value = serde_json::from_str(line.trim()).ok()?;
        let kind = v.get("type")?.as_str()?.to_owned();
        let text = |v: &Value, path: &[&str]| -> String {
            let mut cur = v;
            for p in path {
                cur = &cur[*p];
            }
            cur.as_str().unwrap_or_default().to_owned()
        };
        Some(match kind.as_str() {
            "thread.started" => Event::ThreadStarted {
                thread_id: text(&v, &["thread_id"]),
            },
            "turn.started" => Event::TurnStarted,
            "turn.completed" => match serde_json::from_value(v["usage"].clone()) {
                Ok(usage) => Event::TurnCompleted { usage },
                Err(_) => Event::Other(v),
            },
            "turn.failed" => Event::TurnFailed {
                message: text(&v, &["error", "message"]),
            },
            "item.started" => Event::ItemStarted(Item::from_value(v["item"].clone())),
            "item.updated" => Event::ItemUpdated(Item::from_value(v["item"].clone())),
            "item.completed" => Event::ItemCompleted(Item::from_value(v["item"].clone())),
            "error" => Event::Error {
                message: text(&v, &["message"]),
            },
            _ => Event::Other(v),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codex_lines() {
        let lines = [
            r#"{"type":"thread.started","thread_id":"01a2"}"#,
            r#"{"type":"item.completed","item":{"id":"item_0","type":"error","message":"Model metadata for `m` not found."}}"#,
            r#"{"type":"turn.started"}"#,
            r#"{"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":"/bin/bash -lc 'echo hi'","aggregated_output":"hi\n","exit_code":0,"status":"completed"}}"#,
            r#"{"type":"item.completed","item":{"id":"item_2","type":"agent_message","text":"hello"}}"#,
            r#"{"type":"item.completed","item":{"id":"item_3","type":"todo_list","items":[]}}"#,
            r#"{"type":"turn.completed","usage":{"input_tokens":100,"cached_input_tokens":10,"cache_write_input_tokens":0,"output_tokens":7,"reasoning_output_tokens":0}}"#,
            r#"{"type":"turn.failed","error":{"message":"boom"}}"#,
            "not json",
        ];
        let events: Vec<_> = lines.iter().filter_map(|l| Event::parse_line(l)).collect();
        assert_eq!(events.len(), 8);
        assert_eq!(
            events[0],
            Event::ThreadStarted {
                thread_id: "01a2".into()
            }
        );
        assert!(
            matches!(&events[1], Event::ItemCompleted(Item::Error { message, .. }) if message.contains("metadata"))
        );
        assert!(matches!(
            &events[3],
            Event::ItemCompleted(Item::CommandExecution {
                exit_code: Some(0),
                ..
            })
        ));
        assert!(matches!(&events[5], Event::ItemCompleted(Item::Other(_))));
        assert_eq!(
            events[6],
            Event::TurnCompleted {
                usage: Usage {
                    input_tokens: 100,
                    cached_input_tokens: 10,
                    output_tokens: 7,
                    ..Default::default()
                }
            }
        );
        assert_eq!(
            events[7],
            Event::TurnFailed {
                message: "boom".into()
            }
        );
    }
}

//! Typed view of `codex exec --json` output (codex-facts.md §2) and per-turn token accounting,
//! so the supervisor and the tests read codex's stream through one parser and assert on
//! fields rather than on raw JSON.
//!
//! Codex adds event and item kinds over time, so parsing is forgiving by design: anything we
//! do not know (a new `type`, or a known type whose shape changed) is kept whole as
//! `Other(serde_json::Value)`; only a line that is not a JSON object is an error.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One line of `codex exec --json`.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecEvent {
    /// First event of every run; the id is what `codex exec resume` takes.
    ThreadStarted {
        /// The thread (session) id.
        thread_id: String,
    },
    /// The model started working on the prompt.
    TurnStarted,
    /// The turn ended; `usage` is the *thread's running total* (see [`UsageMeter`]).
    TurnCompleted {
        /// Running totals.
        usage: Usage,
    },
    /// The turn ended in an error.
    TurnFailed {
        /// Codex's message.
        message: String,
    },
    /// An item began (command started, tool call issued, ...).
    ItemStarted(Item),
    /// An item changed (e.g. a todo list ticked).
    ItemUpdated(Item),
    /// An item is final.
    ItemCompleted(Item),
    /// A stream-level error or warning (e.g. "Reconnecting...").
    Error {
        /// Codex's message.
        message: String,
    },
    /// Anything else, kept verbatim.
    Other(Value),
}

/// Token counts as codex reports them. Every field defaults to 0 so older and newer codex
/// versions (which add or drop fields) still parse.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens, cached ones included.
    #[serde(default)]
    pub input_tokens: u64,
    /// Prompt tokens served from the provider's cache.
    #[serde(default)]
    pub cached_input_tokens: u64,
    /// Prompt tokens written to the provider's cache.
    #[serde(default)]
    pub cache_write_input_tokens: u64,
    /// Completion tokens, reasoning included.
    #[serde(default)]
    pub output_tokens: u64,
    /// Reasoning share of the completion tokens.
    #[serde(default)]
    pub reasoning_output_tokens: u64,
}

/// A thread item: its id and what kind of thing it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Codex's item id (`item_0`, ...); empty if codex omitted it.
    pub id: String,
    /// The typed payload.
    pub kind: ItemKind,
}

/// Item payloads by `item.type`.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemKind {
    /// A message from the agent; the last one of a turn is its final answer.
    AgentMessage {
        /// The text.
        text: String,
    },
    /// A reasoning summary.
    Reasoning {
        /// The text.
        text: String,
    },
    /// A shell command.
    CommandExecution {
        /// The command line.
        command: String,
        /// stdout and stderr so far.
        aggregated_output: String,
        /// Set once the command exits.
        exit_code: Option<i64>,
        /// `in_progress`, `completed`, `failed`, `declined`, ...
        status: String,
    },
    /// A patch applied to files.
    FileChange {
        /// What changed.
        changes: Vec<FileChange>,
        /// `completed` or `failed`.
        status: String,
    },
    /// A call to an MCP tool (our team tools show up here).
    McpToolCall {
        /// Server name (`team` for the bus).
        server: String,
        /// Tool name.
        tool: String,
        /// Arguments as sent.
        arguments: Value,
        /// The tool's result, once there is one.
        result: Option<Value>,
        /// The error, if the call failed.
        error: Option<Value>,
        /// `in_progress`, `completed`, `failed`.
        status: String,
    },
    /// A native sub-agent call; workers run with these disabled, so seeing one is a signal.
    CollabToolCall(Value),
    /// A web search; disabled for workers.
    WebSearch(Value),
    /// The agent's plan.
    TodoList {
        /// Plan entries.
        items: Vec<TodoItem>,
    },
    /// A non-fatal error item ("Model metadata ... not found" is one).
    Error {
        /// The message.
        message: String,
    },
    /// An item kind we do not know, kept verbatim (the whole item object).
    Other(Value),
}

/// One file touched by a `file_change` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    /// Path as codex reports it.
    pub path: String,
    /// `add`, `delete` or `update`.
    #[serde(default)]
    pub kind: String,
}

/// One entry of a `todo_list` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TodoItem {
    /// The step.
    pub text: String,
    /// Whether it is done.
    #[serde(default)]
    pub completed: bool,
}

/// A line that is not a JSON object at all.
#[derive(Debug, thiserror::Error)]
#[error("codex output line is not a JSON object ({reason}): {snippet}")]
pub struct EventParseError {
    /// Why.
    pub reason: String,
    /// The start of the offending line.
    pub snippet: String,
}

impl ExecEvent {
    /// Parses one stdout line. Unknown or oddly shaped events become [`ExecEvent::Other`].
    pub fn parse(line: &str) -> Result<ExecEvent, EventParseError> {
        let value: Value = serde_json::from_str(line).map_err(|e| EventParseError {
            reason: e.to_string(),
            snippet: line.chars().take(120).collect(),
        })?;
        if !value.is_object() {
            return Err(EventParseError {
                reason: "not an object".into(),
                snippet: line.chars().take(120).collect(),
            });
        }
        Ok(ExecEvent::from_value(value))
    }

    /// Same as [`ExecEvent::parse`] for an already decoded value (e.g. one read back from the
    /// store's event log).
    pub fn from_value(value: Value) -> ExecEvent {
        typed_event(&value).unwrap_or(ExecEvent::Other(value))
    }

    /// The thread id, if this is `thread.started`.
    pub fn thread_id(&self) -> Option<&str> {
        match self {
            ExecEvent::ThreadStarted { thread_id } => Some(thread_id),
            _ => None,
        }
    }
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key)?.as_str().map(str::to_owned)
}

fn typed_event(v: &Value) -> Option<ExecEvent> {
    let event = match v.get("type")?.as_str()? {
        "thread.started" => ExecEvent::ThreadStarted {
            thread_id: str_field(v, "thread_id")?,
        },
        "turn.started" => ExecEvent::TurnStarted,
        "turn.completed" => ExecEvent::TurnCompleted {
            usage: serde_json::from_value(v.get("usage")?.clone()).ok()?,
        },
        "turn.failed" => ExecEvent::TurnFailed {
            message: v
                .get("error")
                .and_then(|e| str_field(e, "message"))
                .unwrap_or_default(),
        },
        "item.started" => ExecEvent::ItemStarted(typed_item(v.get("item")?)?),
        "item.updated" => ExecEvent::ItemUpdated(typed_item(v.get("item")?)?),
        "item.completed" => ExecEvent::ItemCompleted(typed_item(v.get("item")?)?),
        "error" => ExecEvent::Error {
            message: str_field(v, "message")?,
        },
        _ => return None,
    };
    Some(event)
}

fn typed_item(v: &Value) -> Option<Item> {
    if !v.is_object() {
        return None;
    }
    let id = str_field(v, "id").unwrap_or_default();
    let kind = item_kind(v).unwrap_or_else(|| ItemKind::Other(v.clone()));
    Some(Item { id, kind })
}

fn item_kind(v: &Value) -> Option<ItemKind> {
    let status = || str_field(v, "status").unwrap_or_default();
    let opt = |key: &str| v.get(key).filter(|x| !x.is_null()).cloned();
    let kind = match v.get("type")?.as_str()? {
        "agent_message" => ItemKind::AgentMessage {
            text: str_field(v, "text")?,
        },
        "reasoning" => ItemKind::Reasoning {
            text: str_field(v, "text")?,
        },
        "command_execution" => ItemKind::CommandExecution {
            command: str_field(v, "command")?,
            aggregated_output: str_field(v, "aggregated_output").unwrap_or_default(),
            exit_code: v.get("exit_code").and_then(Value::as_i64),
            status: status(),
        },
        "file_change" => ItemKind::FileChange {
            changes: serde_json::from_value(v.get("changes")?.clone()).ok()?,
            status: status(),
        },
        "mcp_tool_call" => ItemKind::McpToolCall {
            server: str_field(v, "server")?,
            tool: str_field(v, "tool")?,
            arguments: v.get("arguments").cloned().unwrap_or(Value::Null),
            result: opt("result"),
            error: opt("error"),
            status: status(),
        },
        "collab_tool_call" => ItemKind::CollabToolCall(v.clone()),
        "web_search" => ItemKind::WebSearch(v.clone()),
        "todo_list" => ItemKind::TodoList {
            items: serde_json::from_value(v.get("items")?.clone()).ok()?,
        },
        "error" => ItemKind::Error {
            message: str_field(v, "message")?,
        },
        _ => return None,
    };
    Some(kind)
}

/// Turns codex's running totals into per-turn usage for one thread.
///
/// A thread's totals carry across `codex exec resume`, so a meter must outlive the process:
/// seed it with [`UsageMeter::resume_from`] and the totals last seen for that thread (the
/// store keeps them). If a total ever goes *down* (codex reset its counter), the new value
/// is counted as fresh usage rather than producing a negative or lost turn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageMeter {
    last: Usage,
}

impl UsageMeter {
    /// A meter for a new thread.
    pub fn new() -> Self {
        Self::default()
    }

    /// A meter for a resumed thread whose previous running totals were `last`.
    pub fn resume_from(last: Usage) -> Self {
        UsageMeter { last }
    }

    /// The last running totals seen: what to persist for the next resume.
    pub fn totals(&self) -> Usage {
        self.last
    }

    /// Records the totals of a `turn.completed` and returns this turn's share.
    pub fn turn_completed(&mut self, totals: Usage) -> Usage {
        let d = |now: u64, before: u64| if now >= before { now - before } else { now };
        let delta = Usage {
            input_tokens: d(totals.input_tokens, self.last.input_tokens),
            cached_input_tokens: d(totals.cached_input_tokens, self.last.cached_input_tokens),
            cache_write_input_tokens: d(
                totals.cache_write_input_tokens,
                self.last.cache_write_input_tokens,
            ),
            output_tokens: d(totals.output_tokens, self.last.output_tokens),
            reasoning_output_tokens: d(
                totals.reasoning_output_tokens,
                self.last.reasoning_output_tokens,
            ),
        };
        self.last = totals;
        delta
    }
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, o: Usage) {
        self.input_tokens += o.input_tokens;
        self.cached_input_tokens += o.cached_input_tokens;
        self.cache_write_input_tokens += o.cache_write_input_tokens;
        self.output_tokens += o.output_tokens;
        self.reasoning_output_tokens += o.reasoning_output_tokens;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn usage(i: u64, c: u64, o: u64) -> Usage {
        Usage {
            input_tokens: i,
            cached_input_tokens: c,
            output_tokens: o,
            ..Usage::default()
        }
    }

    #[test]
    fn parses_every_known_event() {
        let cases: Vec<(&str, ExecEvent)> = vec![
            (
                r#"{"type":"thread.started","thread_id":"01a2-t"}"#,
                ExecEvent::ThreadStarted {
                    thread_id: "01a2-t".into(),
                },
            ),
            (r#"{"type":"turn.started"}"#, ExecEvent::TurnStarted),
            (
                r#"{"type":"turn.completed","usage":{"input_tokens":100,"cached_input_tokens":20,"cache_write_input_tokens":3,"output_tokens":7,"reasoning_output_tokens":2}}"#,
                ExecEvent::TurnCompleted {
                    usage: Usage {
                        input_tokens: 100,
                        cached_input_tokens: 20,
                        cache_write_input_tokens: 3,
                        output_tokens: 7,
                        reasoning_output_tokens: 2,
                    },
                },
            ),
            (
                r#"{"type":"turn.completed","usage":{"input_tokens":5,"output_tokens":1}}"#,
                ExecEvent::TurnCompleted {
                    usage: usage(5, 0, 1),
                },
            ),
            (
                r#"{"type":"turn.failed","error":{"message":"stream disconnected"}}"#,
                ExecEvent::TurnFailed {
                    message: "stream disconnected".into(),
                },
            ),
            (
                r#"{"type":"error","message":"Reconnecting... 1/5"}"#,
                ExecEvent::Error {
                    message: "Reconnecting... 1/5".into(),
                },
            ),
        ];
        for (line, want) in cases {
            assert_eq!(ExecEvent::parse(line).unwrap(), want, "{line}");
        }
    }

    #[test]
    fn parses_every_known_item() {
        let item = |json: &str| match ExecEvent::parse(json).unwrap() {
            ExecEvent::ItemCompleted(item)
            | ExecEvent::ItemStarted(item)
            | ExecEvent::ItemUpdated(item) => item,
            other => panic!("not an item event: {other:?}"),
        };
        let cases: Vec<(&str, ItemKind)> = vec![
            (
                r#"{"type":"item.completed","item":{"id":"item_3","type":"agent_message","text":"done"}}"#,
                ItemKind::AgentMessage {
                    text: "done".into(),
                },
            ),
            (
                r#"{"type":"item.completed","item":{"id":"item_1","type":"reasoning","text":"**Plan**"}}"#,
                ItemKind::Reasoning {
                    text: "**Plan**".into(),
                },
            ),
            (
                r#"{"type":"item.started","item":{"id":"item_2","type":"command_execution","command":"bash -lc ls","aggregated_output":"","exit_code":null,"status":"in_progress"}}"#,
                ItemKind::CommandExecution {
                    command: "bash -lc ls".into(),
                    aggregated_output: String::new(),
                    exit_code: None,
                    status: "in_progress".into(),
                },
            ),
            (
                r#"{"type":"item.completed","item":{"id":"item_2","type":"command_execution","command":"ls","aggregated_output":"a\nb\n","exit_code":0,"status":"completed"}}"#,
                ItemKind::CommandExecution {
                    command: "ls".into(),
                    aggregated_output: "a\nb\n".into(),
                    exit_code: Some(0),
                    status: "completed".into(),
                },
            ),
            (
                r#"{"type":"item.completed","item":{"id":"item_4","type":"file_change","changes":[{"path":"src/lib.rs","kind":"update"},{"path":"new.txt","kind":"add"}],"status":"completed"}}"#,
                ItemKind::FileChange {
                    changes: vec![
                        FileChange {
                            path: "src/lib.rs".into(),
                            kind: "update".into(),
                        },
                        FileChange {
                            path: "new.txt".into(),
                            kind: "add".into(),
                        },
                    ],
                    status: "completed".into(),
                },
            ),
            (
                r#"{"type":"item.completed","item":{"id":"item_5","type":"mcp_tool_call","server":"team","tool":"team_send","arguments":{"to":"lead"},"result":{"content":[]},"error":null,"status":"completed"}}"#,
                ItemKind::McpToolCall {
                    server: "team".into(),
                    tool: "team_send".into(),
                    arguments: json!({"to":"lead"}),
                    result: Some(json!({"content":[]})),
                    error: None,
                    status: "completed".into(),
                },
            ),
            (
                r#"{"type":"item.updated","item":{"id":"item_6","type":"todo_list","items":[{"text":"a","completed":true},{"text":"b","completed":false}]}}"#,
                ItemKind::TodoList {
                    items: vec![
                        TodoItem {
                            text: "a".into(),
                            completed: true,
                        },
                        TodoItem {
                            text: "b".into(),
                            completed: false,
                        },
                    ],
                },
            ),
            (
                r#"{"type":"item.completed","item":{"id":"item_0","type":"error","message":"Model metadata for `x` not found."}}"#,
                ItemKind::Error {
                    message: "Model metadata for `x` not found.".into(),
                },
            ),
        ];
        for (line, want) in cases {
            assert_eq!(item(line).kind, want, "{line}");
        }
        let web = item(
            r#"{"type":"item.completed","item":{"id":"w","type":"web_search","query":"rust"}}"#,
        );
        assert!(matches!(web.kind, ItemKind::WebSearch(v) if v["query"] == "rust"));
        let collab = item(
            r#"{"type":"item.started","item":{"id":"c","type":"collab_tool_call","tool":"spawn_agent"}}"#,
        );
        assert_eq!(collab.id, "c");
        assert!(matches!(collab.kind, ItemKind::CollabToolCall(v) if v["tool"] == "spawn_agent"));
    }

    #[test]
    fn unknown_or_misshapen_input_is_kept_not_rejected() {
        for line in [
            r#"{"type":"thread.compacted","x":1}"#,
            r#"{"type":"turn.completed"}"#,
            r#"{"type":"thread.started","thread_id":42}"#,
            r#"{"no_type":true}"#,
            r#"{"type":"item.completed"}"#,
        ] {
            let event = ExecEvent::parse(line).unwrap();
            let want: Value = serde_json::from_str(line).unwrap();
            assert_eq!(event, ExecEvent::Other(want), "{line}");
        }
        // An unknown item kind still yields an item event, with the whole item kept.
        let event = ExecEvent::parse(
            r#"{"type":"item.completed","item":{"id":"i9","type":"image_view","path":"a.png"}}"#,
        )
        .unwrap();
        match event {
            ExecEvent::ItemCompleted(Item {
                id,
                kind: ItemKind::Other(v),
            }) => {
                assert_eq!(id, "i9");
                assert_eq!(v["path"], "a.png");
            }
            other => panic!("{other:?}"),
        }
        // A known item with a broken shape is Other too, not an error.
        let event = ExecEvent::parse(
            r#"{"type":"item.completed","item":{"id":"i","type":"file_change","changes":"x"}}"#,
        )
        .unwrap();
        assert!(matches!(
            event,
            ExecEvent::ItemCompleted(Item {
                kind: ItemKind::Other(_),
                ..
            })
        ));
    }

    #[test]
    fn only_non_objects_are_errors() {
        for line in ["", "not json", "[1,2]", "\"str\"", "WARNING: proceeding"] {
            let err = ExecEvent::parse(line).unwrap_err();
            assert!(err.to_string().contains("not a JSON object"), "{err}");
        }
    }

    #[test]
    fn parses_a_real_run_in_order() {
        // The lines of one `codex exec --json` run as 0.169.0 prints them, plus a stray
        // non-JSON line, which is the only thing that fails to parse.
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
        let events: Vec<_> = lines
            .iter()
            .filter_map(|l| ExecEvent::parse(l).ok())
            .collect();
        assert_eq!(events.len(), 8);
        assert_eq!(events[0].thread_id(), Some("01a2"));
        assert!(
            matches!(&events[1], ExecEvent::ItemCompleted(Item { kind: ItemKind::Error { message }, .. }) if message.contains("metadata"))
        );
        assert_eq!(events[2], ExecEvent::TurnStarted);
        assert!(matches!(
            &events[3],
            ExecEvent::ItemCompleted(Item {
                kind: ItemKind::CommandExecution {
                    exit_code: Some(0),
                    ..
                },
                ..
            })
        ));
        assert!(
            matches!(&events[4], ExecEvent::ItemCompleted(Item { id, kind: ItemKind::AgentMessage { text } }) if id == "item_2" && text == "hello")
        );
        assert!(matches!(
            &events[5],
            ExecEvent::ItemCompleted(Item { kind: ItemKind::TodoList { items }, .. }) if items.is_empty()
        ));
        assert_eq!(
            events[6],
            ExecEvent::TurnCompleted {
                usage: usage(100, 10, 7)
            }
        );
        assert_eq!(
            events[7],
            ExecEvent::TurnFailed {
                message: "boom".into()
            }
        );
    }

    #[test]
    fn usage_meter_table() {
        // (description, seed totals, successive running totals, expected per-turn deltas)
        type Case = (&'static str, Usage, Vec<Usage>, Vec<Usage>);
        let cases: Vec<Case> = vec![
            (
                "first turn of a new thread is its own total",
                Usage::default(),
                vec![usage(100, 0, 7)],
                vec![usage(100, 0, 7)],
            ),
            (
                "resume: totals include earlier turns, only the difference counts",
                usage(100, 0, 7),
                vec![usage(260, 90, 19)],
                vec![usage(160, 90, 12)],
            ),
            (
                "three resumes in a row",
                Usage::default(),
                vec![usage(100, 0, 7), usage(250, 100, 10), usage(400, 240, 30)],
                vec![usage(100, 0, 7), usage(150, 100, 3), usage(150, 140, 20)],
            ),
            (
                "an identical total means a turn that cost nothing",
                usage(50, 10, 5),
                vec![usage(50, 10, 5)],
                vec![usage(0, 0, 0)],
            ),
            (
                "a counter reset is counted as fresh usage, never negative",
                usage(500, 100, 50),
                vec![usage(120, 0, 9)],
                vec![usage(120, 0, 9)],
            ),
        ];
        for (what, seed, totals, want) in cases {
            let mut meter = UsageMeter::resume_from(seed);
            let got: Vec<Usage> = totals.iter().map(|t| meter.turn_completed(*t)).collect();
            assert_eq!(got, want, "{what}");
            assert_eq!(meter.totals(), *totals.last().unwrap(), "{what}");
        }
    }

    #[test]
    fn per_turn_sums_equal_the_final_total_across_resumes() {
        // Two processes on one thread: the second is seeded with the first one's totals.
        let mut first = UsageMeter::new();
        let mut sum = Usage::default();
        for line in [
            r#"{"type":"turn.completed","usage":{"input_tokens":1000,"cached_input_tokens":0,"output_tokens":40,"reasoning_output_tokens":5}}"#,
        ] {
            if let ExecEvent::TurnCompleted { usage } = ExecEvent::parse(line).unwrap() {
                sum += first.turn_completed(usage);
            }
        }
        let mut second = UsageMeter::resume_from(first.totals());
        let last = r#"{"type":"turn.completed","usage":{"input_tokens":2300,"cached_input_tokens":900,"output_tokens":95,"reasoning_output_tokens":11}}"#;
        let ExecEvent::TurnCompleted {
            usage: final_totals,
        } = ExecEvent::parse(last).unwrap()
        else {
            panic!()
        };
        sum += second.turn_completed(final_totals);
        assert_eq!(sum, final_totals);
    }
}

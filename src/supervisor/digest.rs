//! What the event log keeps of one `codex exec --json` line: kinds, ids, sizes, tool names
//! and short (redacted) command lines, never message texts or command output. A replay and
//! the `watch` view need to know that a worker ran `python3 -m unittest` and got exit code
//! 0, not the 40 KB it printed; bodies stay in codex's own session files.

use codex_teams_codex_exec::{ExecEvent, Item, ItemKind};
use codex_teams_mcp::redact::preview;
use serde_json::{Value, json};

/// The most characters of a command line or error text kept.
const SHORT: usize = 160;

/// The compact payload stored for `event` (the line's own `type` is the event's kind).
pub fn digest(event: &ExecEvent) -> Value {
    match event {
        ExecEvent::ThreadStarted { thread_id } => json!({ "thread_id": thread_id }),
        ExecEvent::TurnStarted => json!({}),
        ExecEvent::TurnCompleted { usage } => json!({ "usage": usage }),
        ExecEvent::TurnFailed { message } | ExecEvent::Error { message } => {
            json!({ "message": preview(message, SHORT) })
        }
        ExecEvent::ItemStarted(item)
        | ExecEvent::ItemUpdated(item)
        | ExecEvent::ItemCompleted(item) => item_digest(item),
        ExecEvent::Other(v) => json!({ "bytes": v.to_string().len() }),
    }
}

/// An item's id, type and the few fields that say what it did.
fn item_digest(item: &Item) -> Value {
    let mut out = match &item.kind {
        ItemKind::AgentMessage { text } => json!({ "type": "agent_message", "bytes": text.len() }),
        ItemKind::Reasoning { text } => json!({ "type": "reasoning", "bytes": text.len() }),
        ItemKind::CommandExecution {
            command,
            aggregated_output,
            exit_code,
            status,
        } => json!({
            "type": "command_execution",
            "command": preview(command, SHORT),
            "exit_code": exit_code,
            "status": status,
            "output_bytes": aggregated_output.len(),
        }),
        ItemKind::FileChange { changes, status } => json!({
            "type": "file_change",
            "paths": changes.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(),
            "status": status,
        }),
        ItemKind::McpToolCall {
            server,
            tool,
            arguments,
            result,
            error,
            status,
        } => json!({
            "type": "mcp_tool_call",
            "server": server,
            "tool": tool,
            "status": status,
            "args_bytes": arguments.to_string().len(),
            "result_bytes": result.as_ref().map(|r| r.to_string().len()),
            "error": error.as_ref().map(|e| preview(&e.to_string(), SHORT)),
        }),
        ItemKind::CollabToolCall(_) => json!({ "type": "collab_tool_call" }),
        ItemKind::WebSearch(_) => json!({ "type": "web_search" }),
        ItemKind::TodoList { items } => json!({ "type": "todo_list", "entries": items.len() }),
        ItemKind::Error { message } => {
            json!({ "type": "error", "message": preview(message, SHORT) })
        }
        ItemKind::Other(v) => json!({
            "type": v.get("type").and_then(Value::as_str).unwrap_or("unknown"),
        }),
    };
    out["item_id"] = json!(item.id);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> ExecEvent {
        ExecEvent::from_value(serde_json::from_str(line).unwrap())
    }

    #[test]
    fn commands_keep_their_line_and_exit_code_not_their_output() {
        let big = "x".repeat(10_000);
        let e = parse(&format!(
            r#"{{"type":"item.completed","item":{{"id":"item_3","type":"command_execution","command":"python3 -m unittest","aggregated_output":"{big}","exit_code":0,"status":"completed"}}}}"#
        ));
        let d = digest(&e);
        assert_eq!(d["item_id"], "item_3");
        assert_eq!(d["command"], "python3 -m unittest");
        assert_eq!(d["exit_code"], 0);
        assert_eq!(d["output_bytes"], 10_000);
        assert!(!d.to_string().contains(&big[..100]));
    }

    #[test]
    fn messages_and_tool_calls_keep_sizes_and_names() {
        let e = parse(
            r#"{"type":"item.completed","item":{"id":"item_1","type":"agent_message","text":"the secret plan"}}"#,
        );
        assert_eq!(
            digest(&e),
            json!({"type": "agent_message", "bytes": 15, "item_id": "item_1"})
        );
        let e = parse(
            r#"{"type":"item.started","item":{"id":"item_2","type":"mcp_tool_call","server":"team","tool":"team_send","arguments":{"body":"hello"},"status":"in_progress"}}"#,
        );
        let d = digest(&e);
        assert_eq!(d["tool"], "team_send");
        assert_eq!(d["server"], "team");
        assert!(!d.to_string().contains("hello"));
        let e = parse(r#"{"type":"turn.completed","usage":{"input_tokens":7,"output_tokens":2}}"#);
        assert_eq!(digest(&e)["usage"]["input_tokens"], 7);
    }
}

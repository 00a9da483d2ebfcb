//! One line of plain words per event kind: what `replay` prints and `watch` shows without a
//! terminal. Only ids, sizes, names and short fields of the (already redacted) payload are
//! used; the log holds no bodies.

use serde_json::Value;

use super::timeline::Category;

/// The category and the line for an event of `kind` with payload `p`; `name` turns an
/// agent id into its name.
pub fn describe(kind: &str, p: &Value, name: &dyn Fn(&str) -> String) -> (Category, String) {
    let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let n = |k: &str| p.get(k).and_then(Value::as_i64).unwrap_or(0);
    let id = |k: &str| name(&s(k));
    use Category::*;
    match kind {
        "team.started" => (Team, format!("team started (profile {})", s("profile"))),
        "team.finalized" => (Team, format!("finalized: {}", s("outcome"))),
        "team.stopped" => (
            Recovery,
            format!("team stopped ({}): {}", s("status"), s("reason")),
        ),
        "team.session_ended" => (Recovery, format!("session ended: {}", s("reason"))),
        "team.resumed" => (Recovery, resumed(p, name)),
        "agent.added" => (Agent, format!("joined as {}", s("role"))),
        "agent.state" => agent_state(p),
        "agent.retired" => (
            Recovery,
            format!("retired ({}, idle {}s)", s("reason"), n("idle_secs")),
        ),
        "agent.woken" => (
            Recovery,
            format!("woken by {} unread message(s)", n("unread")),
        ),
        "message.sent" => {
            let to = if s("to") == "*" {
                "everyone".to_string()
            } else {
                id("to")
            };
            (
                Message,
                format!("sent {} to {to} ({} B)", s("message_id"), n("bytes")),
            )
        }
        "message.delivered" => (
            Message,
            format!(
                "got {} from {} (attempt {})",
                s("message_id"),
                id("from"),
                n("attempt")
            ),
        ),
        "message.acked" => (Message, format!("acked {}", s("message_id"))),
        "task.created" => (Task, format!("created {} \"{}\"", s("task_id"), s("title"))),
        "task.claimed" => (Task, format!("claimed {}", s("task_id"))),
        "task.updated" => (Task, format!("{} -> {}", s("task_id"), s("status"))),
        "task.released" => (
            Recovery,
            format!("released {} ({})", s("task_id"), s("reason")),
        ),
        "artifact.published" => (
            Artifact,
            format!(
                "published {} \"{}\" v{} ({} B)",
                s("artifact_id"),
                s("name"),
                n("version"),
                n("bytes")
            ),
        ),
        "artifact.read" => (
            Artifact,
            format!(
                "read {} \"{}\" v{} by {}",
                s("artifact_id"),
                s("name"),
                n("version"),
                id("author")
            ),
        ),
        "decision.opened" => (
            Decision,
            format!("opened {} ({})", s("decision_id"), s("strategy")),
        ),
        "decision.proposed" => (
            Decision,
            format!("proposed {} for {}", s("candidate_id"), s("decision_id")),
        ),
        "decision.voted" => (
            Decision,
            format!("voted {} in {}", s("candidate_id"), s("decision_id")),
        ),
        "decision.closed" => (
            Decision,
            format!(
                "closed {} ({}): winner {}",
                s("decision_id"),
                s("status"),
                s("winner")
            ),
        ),
        "usage.recorded" => (
            Detail,
            format!(
                "tokens +in {} (cached {}) +out {}",
                n("input_tokens"),
                n("cached_input_tokens"),
                n("output_tokens")
            ),
        ),
        "codex.turn.started" => (Turn, "turn started".into()),
        "codex.turn.completed" => (Turn, "turn completed".into()),
        "codex.turn.failed" => (Recovery, format!("turn failed: {}", s("message"))),
        "codex.item.completed" => item(p),
        "codex.error" => (Recovery, format!("codex error: {}", s("message"))),
        _ => (Detail, kind.to_string()),
    }
}

fn resumed(p: &Value, name: &dyn Fn(&str) -> String) -> String {
    let was: Vec<String> = p
        .get("interrupted")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(name).collect())
        .unwrap_or_default();
    let previous = p
        .get("previous_status")
        .and_then(Value::as_str)
        .unwrap_or("?");
    if was.is_empty() {
        format!("resumed (was {previous})")
    } else {
        format!(
            "resumed (was {previous}); interrupted mid-turn: {}",
            was.join(", ")
        )
    }
}

fn agent_state(p: &Value) -> (Category, String) {
    let from = p.get("from").and_then(Value::as_str).unwrap_or("");
    let to = p.get("to").and_then(Value::as_str).unwrap_or("");
    match to {
        "running" if from != "running" => {
            let pgid = p.get("pgid").and_then(Value::as_i64).unwrap_or(0);
            (Category::Agent, format!("process started (pgid {pgid})"))
        }
        "idle" => (Category::Agent, "process exited, idle".into()),
        "stopped" => (Category::Agent, "stopped".into()),
        "failed" => (Category::Recovery, format!("failed (was {from})")),
        _ => (Category::Detail, format!("state {from} -> {to}")),
    }
}

/// A finished codex item: tool calls and commands are shown, texts only by size.
fn item(p: &Value) -> (Category, String) {
    let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    match s("type").as_str() {
        "mcp_tool_call" => {
            let failed = p.get("error").is_some_and(|e| !e.is_null());
            let how = if failed { "failed" } else { "ok" };
            (
                Category::Tool,
                format!("{}.{} {how}", s("server"), s("tool")),
            )
        }
        "command_execution" => {
            let code = p.get("exit_code").and_then(Value::as_i64);
            let code = code.map_or("-".to_string(), |c| c.to_string());
            (Category::Tool, format!("$ {} -> exit {code}", s("command")))
        }
        "file_change" => {
            let paths: Vec<&str> = p
                .get("paths")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            (Category::Tool, format!("edited {}", paths.join(", ")))
        }
        "agent_message" => (
            Category::Detail,
            format!(
                "message ({} B)",
                p.get("bytes").and_then(Value::as_i64).unwrap_or(0)
            ),
        ),
        other => (Category::Detail, format!("item {other}")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn d(kind: &str, p: Value) -> (Category, String) {
        describe(kind, &p, &|id: &str| format!("<{id}>"))
    }

    #[test]
    fn bus_events_name_both_agents_and_the_message() {
        let (c, t) = d(
            "message.sent",
            json!({"message_id": "msg-1", "to": "ag-2", "bytes": 12}),
        );
        assert_eq!(c, Category::Message);
        assert_eq!(t, "sent msg-1 to <ag-2> (12 B)");
        let (_, t) = d(
            "message.sent",
            json!({"message_id": "msg-1", "to": "*", "bytes": 1}),
        );
        assert!(t.contains("everyone"), "{t}");
        let (_, t) = d(
            "message.delivered",
            json!({"message_id": "msg-1", "from": "ag-1", "attempt": 2}),
        );
        assert_eq!(t, "got msg-1 from <ag-1> (attempt 2)");
    }

    #[test]
    fn failures_and_resumes_are_recoveries() {
        assert_eq!(
            d("agent.state", json!({"from": "running", "to": "failed"})).0,
            Category::Recovery
        );
        let (c, t) = d(
            "team.resumed",
            json!({"previous_status": "running", "interrupted": ["ag-9"]}),
        );
        assert_eq!(c, Category::Recovery);
        assert!(t.contains("<ag-9>"), "{t}");
        assert_eq!(
            d("task.released", json!({"task_id": "t"})).0,
            Category::Recovery
        );
    }

    #[test]
    fn items_show_tools_and_commands_not_texts() {
        let (c, t) = d(
            "codex.item.completed",
            json!({"type": "command_execution", "command": "ls", "exit_code": 0}),
        );
        assert_eq!((c, t.as_str()), (Category::Tool, "$ ls -> exit 0"));
        let (c, _) = d(
            "codex.item.completed",
            json!({"type": "agent_message", "bytes": 3}),
        );
        assert_eq!(c, Category::Detail);
        assert_eq!(d("something.new", json!({})).1, "something.new");
    }
}

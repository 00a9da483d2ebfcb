//! One line of plain words per event kind: what `replay` prints and `watch` shows without a
//! terminal. Only ids, sizes, names and short fields of the (already redacted) payload are
//! used; the log holds no bodies.

use codex_teams_store::AgentState;
use serde::Serialize;
use serde_json::Value;

/// What an entry is about; `detail` entries (item starts, thread ids, usage records) are in
/// `--json` but left out of the text view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Team,
    Agent,
    Turn,
    Tool,
    Message,
    Task,
    Artifact,
    Decision,
    Recovery,
    Detail,
}

impl Category {
    /// The lower-case word the text and HTML views print.
    pub fn word(self) -> &'static str {
        match self {
            Category::Team => "team",
            Category::Agent => "agent",
            Category::Turn => "turn",
            Category::Tool => "tool",
            Category::Message => "message",
            Category::Task => "task",
            Category::Artifact => "artifact",
            Category::Decision => "decision",
            Category::Recovery => "recovery",
            Category::Detail => "detail",
        }
    }
}

/// Reads the short fields of a payload.
struct Fields<'a> {
    p: &'a Value,
    name: &'a dyn Fn(&str) -> String,
}

impl Fields<'_> {
    fn s(&self, k: &str) -> String {
        self.p
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    }
    fn n(&self, k: &str) -> i64 {
        self.p.get(k).and_then(Value::as_i64).unwrap_or(0)
    }
    /// The name of the agent whose id is in field `k`.
    fn agent(&self, k: &str) -> String {
        (self.name)(&self.s(k))
    }
}

/// The category and the line for an event of `kind` with payload `p`; `name` turns an
/// agent id into its name.
pub fn describe(kind: &str, p: &Value, name: &dyn Fn(&str) -> String) -> (Category, String) {
    let f = Fields { p, name };
    let family = kind.split('.').next().unwrap_or("");
    let found = match family {
        "team" | "agent" | "usage" => life(kind, &f),
        "message" | "task" => bus_and_board(kind, &f),
        "artifact" | "decision" => shared_work(kind, &f),
        "codex" => codex(kind, &f),
        _ => None,
    };
    found.unwrap_or_else(|| (Category::Detail, kind.to_string()))
}

/// The team's and agents' life: start, resume, stop, processes, tokens.
fn life(kind: &str, f: &Fields<'_>) -> Option<(Category, String)> {
    use Category::*;
    Some(match kind {
        "team.started" => (Team, format!("team started (profile {})", f.s("profile"))),
        "team.finalized" => (Team, format!("finalized: {}", f.s("outcome"))),
        "team.stopped" => {
            let why = format!("team stopped ({}): {}", f.s("status"), f.s("reason"));
            (Recovery, why)
        }
        "team.session_ended" => (Recovery, format!("session ended: {}", f.s("reason"))),
        "team.resumed" => (Recovery, resumed(f.p, f.name)),
        "agent.added" => (Agent, format!("joined as {}", f.s("role"))),
        "agent.state" => agent_state(f.p),
        "agent.retired" => {
            let why = format!("retired ({}, idle {}s)", f.s("reason"), f.n("idle_secs"));
            (Recovery, why)
        }
        "agent.woken" => (
            Recovery,
            format!("woken by {} unread message(s)", f.n("unread")),
        ),
        "usage.recorded" => (
            Detail,
            format!(
                "tokens +in {} (cached {}) +out {}",
                f.n("input_tokens"),
                f.n("cached_input_tokens"),
                f.n("output_tokens")
            ),
        ),
        _ => return None,
    })
}

/// Messages over the bus and the task board.
fn bus_and_board(kind: &str, f: &Fields<'_>) -> Option<(Category, String)> {
    use Category::*;
    let (msg, task) = (f.s("message_id"), f.s("task_id"));
    Some(match kind {
        "message.sent" => {
            let to = if f.s("to") == "*" {
                "everyone".to_string()
            } else {
                f.agent("to")
            };
            (Message, format!("sent {msg} to {to} ({} B)", f.n("bytes")))
        }
        "message.delivered" => {
            let got = format!(
                "got {msg} from {} (attempt {})",
                f.agent("from"),
                f.n("attempt")
            );
            (Message, got)
        }
        "message.acked" => (Message, format!("acked {msg}")),
        "task.created" => (Task, format!("created {task} \"{}\"", f.s("title"))),
        "task.claimed" => (Task, format!("claimed {task}")),
        "task.updated" => (Task, format!("{task} -> {}", f.s("status"))),
        "task.released" => (Recovery, format!("released {task} ({})", f.s("reason"))),
        _ => return None,
    })
}

/// Artifacts and decisions between agents.
fn shared_work(kind: &str, f: &Fields<'_>) -> Option<(Category, String)> {
    use Category::*;
    let art = format!(
        "{} \"{}\" v{}",
        f.s("artifact_id"),
        f.s("name"),
        f.n("version")
    );
    let dec = f.s("decision_id");
    Some(match kind {
        "artifact.published" => (Artifact, format!("published {art} ({} B)", f.n("bytes"))),
        "artifact.read" => (Artifact, format!("read {art} by {}", f.agent("author"))),
        "decision.opened" => (Decision, format!("opened {dec} ({})", f.s("strategy"))),
        "decision.proposed" => (
            Decision,
            format!("proposed {} for {dec}", f.s("candidate_id")),
        ),
        "decision.voted" => (Decision, format!("voted {} in {dec}", f.s("candidate_id"))),
        "decision.closed" => {
            let how = format!("closed {dec} ({}): winner {}", f.s("status"), f.s("winner"));
            (Decision, how)
        }
        _ => return None,
    })
}

/// What the supervisor kept of codex's own stream.
fn codex(kind: &str, f: &Fields<'_>) -> Option<(Category, String)> {
    use Category::*;
    Some(match kind {
        "codex.turn.started" => (Turn, "turn started".into()),
        "codex.turn.completed" => (Turn, "turn completed".into()),
        "codex.turn.failed" => (Recovery, format!("turn failed: {}", f.s("message"))),
        "codex.item.completed" => item(f.p),
        "codex.error" => (Recovery, format!("codex error: {}", f.s("message"))),
        _ => return None,
    })
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
    let word = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("");
    let (from, to) = (word("from"), word("to"));
    let state = |s: &str| s.parse::<AgentState>().ok();
    match (state(from), state(to)) {
        (f, Some(AgentState::Running)) if f != Some(AgentState::Running) => {
            let pgid = p.get("pgid").and_then(Value::as_i64).unwrap_or(0);
            (Category::Agent, format!("process started (pgid {pgid})"))
        }
        (_, Some(AgentState::Idle)) => (Category::Agent, "process exited, idle".into()),
        (_, Some(AgentState::Stopped)) => (Category::Agent, "stopped".into()),
        (_, Some(AgentState::Failed)) => (Category::Recovery, format!("failed (was {from})")),
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

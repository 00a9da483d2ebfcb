//! The run rebuilt from the store's event log: one entry per event with its time relative to
//! the team's start, one lane per agent with its turns and tokens, and the path of every
//! message. Pure: it takes the team, its agents and its events and does no I/O, so `replay`,
//! `watch` and the tests read one interpretation of the log.

use std::collections::BTreeMap;

use codex_teams_store::{Agent, AgentState, Event, Millis, Team};
use serde::Serialize;
use serde_json::Value;

pub use super::describe::Category;

/// Token counts of a turn, an agent or the team (same fields as `status --json`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tokens {
    pub input: i64,
    pub cached_input: i64,
    pub output: i64,
    pub reasoning_output: i64,
}

impl Tokens {
    fn add_payload(&mut self, p: &Value) {
        let n = |k: &str| p.get(k).and_then(Value::as_i64).unwrap_or(0);
        self.input += n("input_tokens");
        self.cached_input += n("cached_input_tokens");
        self.output += n("output_tokens");
        self.reasoning_output += n("reasoning_output_tokens");
    }

    /// Adds `o` to these counts.
    pub fn add(&mut self, o: &Tokens) {
        self.input += o.input;
        self.cached_input += o.cached_input;
        self.output += o.output;
        self.reasoning_output += o.reasoning_output;
    }
}

/// The trace ids an event carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ids {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<String>,
}

/// One event of the log, placed on the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// The event's sequence number in the store.
    pub seq: i64,
    /// Milliseconds since the team started.
    pub t_ms: i64,
    pub agent_id: Option<String>,
    /// The agent's name (`lead`, `implementer-2`, ...).
    pub agent: Option<String>,
    /// The other agent involved (a message's recipient or sender), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    pub category: Category,
    /// The event's kind as stored (`message.sent`, `codex.turn.completed`, ...).
    pub kind: String,
    /// One line for people.
    pub text: String,
    #[serde(flatten)]
    pub ids: Ids,
    /// The event's payload as stored (ids, sizes and short fields; redacted).
    pub payload: Value,
}

/// One turn of an agent: from codex's `turn.started` to its end.
#[derive(Debug, Clone, Serialize)]
pub struct Turn {
    pub number: usize,
    pub start_ms: i64,
    /// `None` while the turn runs (or when the log stops inside it).
    pub end_ms: Option<i64>,
    pub outcome: TurnOutcome,
    pub tokens: Tokens,
}

/// How a turn ended, or `running` while it goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnOutcome {
    Running,
    Completed,
    Failed,
    /// The process went away without an end.
    Interrupted,
}

impl TurnOutcome {
    /// The word shown (also the CSS class of the HTML timeline).
    pub fn as_str(self) -> &'static str {
        match self {
            TurnOutcome::Running => "running",
            TurnOutcome::Completed => "completed",
            TurnOutcome::Failed => "failed",
            TurnOutcome::Interrupted => "interrupted",
        }
    }
}

/// One agent's lane.
#[derive(Debug, Clone, Serialize)]
pub struct Lane {
    pub agent_id: String,
    pub name: String,
    pub role: String,
    pub turns: Vec<Turn>,
    /// Every token recorded for the agent (turns and anything metered outside one).
    pub tokens: Tokens,
}

/// A message's path over the bus.
#[derive(Debug, Clone, Serialize)]
pub struct Flow {
    pub message_id: String,
    pub from: String,
    /// The recipient's agent id, or `*` for a broadcast.
    pub to: String,
    pub bytes: i64,
    pub sent_ms: i64,
    /// (recipient, time) of each delivery, redeliveries included.
    pub delivered: Vec<(String, i64)>,
    /// (recipient, time) of each acknowledgement.
    pub acked: Vec<(String, i64)>,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    pub team_id: String,
    pub status: String,
    pub profile: String,
    /// The team's goal, redacted and cut to one line.
    pub goal: String,
    /// When the team started (Unix milliseconds); every `t_ms` counts from here.
    pub started_at: Millis,
    /// Milliseconds from the start to the last event.
    pub duration_ms: i64,
    /// Supervisor sessions: 1 plus the number of resumes.
    pub sessions: usize,
    pub lanes: Vec<Lane>,
    pub entries: Vec<Entry>,
    pub messages: Vec<Flow>,
    pub totals: Tokens,
}

/// Builds the timeline of `team` from its agents and every event of its log, oldest first.
pub fn build(team: &Team, agents: &[Agent], events: &[Event]) -> Timeline {
    let names: BTreeMap<&str, &str> = agents
        .iter()
        .map(|a| (a.agent_id.as_str(), a.name.as_str()))
        .collect();
    let mut lanes: Vec<Lane> = agents
        .iter()
        .map(|a| Lane {
            agent_id: a.agent_id.clone(),
            name: a.name.clone(),
            role: a.role.clone(),
            turns: Vec::new(),
            tokens: Tokens::default(),
        })
        .collect();
    let mut flows: Vec<Flow> = Vec::new();
    let mut entries = Vec::with_capacity(events.len());
    let mut sessions = 1;
    for e in events {
        let t = e.at - team.created_at;
        let lane = e
            .agent_id
            .as_deref()
            .and_then(|id| lanes.iter_mut().find(|l| l.agent_id == id));
        let turn_text = lane.and_then(|l| track_turn(l, e, t));
        track_flow(&mut flows, e, t);
        if e.kind == "team.resumed" {
            sessions += 1;
        }
        entries.push(entry(e, t, &names, turn_text));
    }
    let mut totals = Tokens::default();
    for l in &lanes {
        totals.add(&l.tokens);
    }
    Timeline {
        team_id: team.team_id.clone(),
        status: team.status.as_str().to_string(),
        profile: team.profile.clone(),
        goal: codex_teams_mcp::redact::preview(&team.goal, 100),
        started_at: team.created_at,
        duration_ms: events
            .last()
            .map(|e| e.at - team.created_at)
            .unwrap_or(0)
            .max(0),
        sessions,
        lanes,
        entries,
        messages: flows,
        totals,
    }
}

/// Updates the agent's turns and tokens with `e`; for a turn's end, the text that says how
/// it went and what it cost.
fn track_turn(lane: &mut Lane, e: &Event, t: i64) -> Option<String> {
    match e.kind.as_str() {
        "codex.turn.started" => {
            end_open_turn(lane, t, TurnOutcome::Interrupted);
            let number = lane.turns.len() + 1;
            lane.turns.push(Turn {
                number,
                start_ms: t,
                end_ms: None,
                outcome: TurnOutcome::Running,
                tokens: Tokens::default(),
            });
            Some(format!("turn {number} started"))
        }
        "codex.turn.completed" | "codex.turn.failed" => {
            let outcome = if e.kind.ends_with("completed") {
                TurnOutcome::Completed
            } else {
                TurnOutcome::Failed
            };
            end_open_turn(lane, t, outcome);
            lane.turns.last().map(|turn| {
                format!(
                    "turn {} {} after {}: {}",
                    turn.number,
                    outcome.as_str(),
                    duration(t - turn.start_ms),
                    tokens_text(&turn.tokens)
                )
            })
        }
        "usage.recorded" => {
            lane.tokens.add_payload(&e.payload);
            // Usage settled after a turn ended (a killed turn's rollout) still belongs to it.
            if let Some(turn) = lane.turns.last_mut() {
                turn.tokens.add_payload(&e.payload);
            }
            None
        }
        "agent.state" => {
            let to = e.payload.get("to").and_then(Value::as_str);
            if to.and_then(|s| s.parse::<AgentState>().ok()) != Some(AgentState::Running) {
                end_open_turn(lane, t, TurnOutcome::Interrupted);
            }
            None
        }
        _ => None,
    }
}

fn end_open_turn(lane: &mut Lane, t: i64, outcome: TurnOutcome) {
    if let Some(turn) = lane.turns.last_mut()
        && turn.end_ms.is_none()
    {
        turn.end_ms = Some(t);
        turn.outcome = outcome;
    }
}

/// Follows a message from its send through each delivery and acknowledgement.
fn track_flow(flows: &mut Vec<Flow>, e: &Event, t: i64) {
    let p = &e.payload;
    let Some(id) = p.get("message_id").and_then(Value::as_str) else {
        return;
    };
    let who = e.agent_id.clone().unwrap_or_default();
    match e.kind.as_str() {
        "message.sent" => flows.push(Flow {
            message_id: id.into(),
            from: who,
            to: p.get("to").and_then(Value::as_str).unwrap_or("*").into(),
            bytes: p.get("bytes").and_then(Value::as_i64).unwrap_or(0),
            sent_ms: t,
            delivered: Vec::new(),
            acked: Vec::new(),
        }),
        "message.delivered" | "message.acked" => {
            if let Some(f) = flows.iter_mut().rev().find(|f| f.message_id == id) {
                if e.kind == "message.delivered" {
                    f.delivered.push((who, t));
                } else {
                    f.acked.push((who, t));
                }
            }
        }
        _ => {}
    }
}

fn ids_of(p: &Value) -> Ids {
    let s = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_string);
    Ids {
        task_id: s("task_id"),
        message_id: s("message_id"),
        artifact_id: s("artifact_id"),
        decision_id: s("decision_id"),
    }
}

fn entry(e: &Event, t: i64, names: &BTreeMap<&str, &str>, turn: Option<String>) -> Entry {
    let name = |id: &str| names.get(id).map_or(id.to_string(), |n| n.to_string());
    let p = &e.payload;
    let peer = ["to", "from"]
        .iter()
        .find_map(|k| p.get(*k).and_then(Value::as_str))
        .filter(|id| *id != "*")
        .map(name);
    let (category, text) = match turn {
        Some(text) => (turn_category(&e.kind), text),
        None => super::describe::describe(&e.kind, p, &name),
    };
    Entry {
        seq: e.seq,
        t_ms: t,
        agent_id: e.agent_id.clone(),
        agent: e.agent_id.as_deref().map(name),
        peer,
        category,
        kind: e.kind.clone(),
        text,
        ids: ids_of(p),
        payload: p.clone(),
    }
}

fn turn_category(kind: &str) -> Category {
    if kind == "codex.turn.failed" {
        Category::Recovery
    } else {
        Category::Turn
    }
}

/// `in 1200 (cached 800) out 95`.
pub fn tokens_text(t: &Tokens) -> String {
    format!(
        "in {} (cached {}) out {}",
        t.input, t.cached_input, t.output
    )
}

/// A duration as `1.2s`, `3m04s` or `1h02m`.
pub fn duration(ms: i64) -> String {
    let ms = ms.max(0);
    let s = ms / 1000;
    match s {
        0..60 => format!("{:.1}s", ms as f64 / 1000.0),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// A relative time as `+1:02.345` (minutes, seconds, milliseconds).
pub fn clock(t_ms: i64) -> String {
    let sign = if t_ms < 0 { "-" } else { "+" };
    let ms = t_ms.abs();
    format!(
        "{sign}{}:{:02}.{:03}",
        ms / 60_000,
        (ms / 1000) % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use codex_teams_store::{AgentState, TeamStatus};
    use serde_json::json;

    use super::*;

    fn agent(id: &str, name: &str, role: &str) -> Agent {
        Agent {
            agent_id: id.into(),
            team_id: "team-1".into(),
            name: name.into(),
            role: role.into(),
            state: AgentState::Idle,
            thread_id: None,
            pgid: None,
            model: None,
            brief: String::new(),
            created_at: 1000,
            updated_at: 1000,
            tools: None,
        }
    }

    /// Events at `at`, numbered in order.
    fn log(rows: &[(i64, Option<&str>, &str, Value)]) -> Vec<Event> {
        rows.iter()
            .enumerate()
            .map(|(i, (at, who, kind, p))| Event {
                seq: i as i64 + 1,
                team_id: "team-1".into(),
                agent_id: who.map(str::to_string),
                kind: kind.to_string(),
                payload: p.clone(),
                at: *at,
            })
            .collect()
    }

    fn team() -> Team {
        Team {
            team_id: "team-1".into(),
            goal: "fix it".into(),
            cwd: "/r".into(),
            profile: "default".into(),
            config: json!({}),
            status: TeamStatus::Finalized,
            created_at: 1000,
            updated_at: 9000,
        }
    }

    #[test]
    fn a_cut_turn_is_interrupted_and_later_usage_stays_with_its_turn() {
        let agents = [
            agent("L", "lead", "lead"),
            agent("W", "impl-1", "implementer"),
        ];
        let used =
            |n: i64| json!({"input_tokens": n, "cached_input_tokens": 1, "output_tokens": 2});
        let events = log(&[
            (1000, None, "team.started", json!({"profile": "default"})),
            (1100, Some("W"), "codex.turn.started", json!({})),
            (1200, Some("W"), "usage.recorded", used(10)),
            (
                1300,
                None,
                "team.resumed",
                json!({"previous_status": "running", "interrupted": ["W"]}),
            ),
            (1400, Some("W"), "usage.recorded", used(5)),
            (1500, Some("W"), "codex.turn.started", json!({})),
            (1600, Some("W"), "usage.recorded", used(7)),
            (1700, Some("W"), "codex.turn.completed", json!({})),
            (1800, Some("L"), "usage.recorded", used(100)),
        ]);
        let t = build(&team(), &agents, &events);
        assert_eq!(t.sessions, 2);
        assert_eq!(t.duration_ms, 800);
        let w = &t.lanes[1];
        let got: Vec<(i64, Option<i64>, &str, i64)> = w
            .turns
            .iter()
            .map(|x| (x.start_ms, x.end_ms, x.outcome.as_str(), x.tokens.input))
            .collect();
        assert_eq!(
            got,
            [
                (100, Some(500), "interrupted", 15),
                (500, Some(700), "completed", 7)
            ]
        );
        assert_eq!(w.tokens.input, 22);
        assert_eq!(t.lanes[0].tokens.input, 100);
        assert_eq!(
            t.lanes[0].turns.len(),
            0,
            "usage outside a turn still counts"
        );
        assert_eq!(
            (t.totals.input, t.totals.cached_input, t.totals.output),
            (122, 4, 8)
        );
        let done = t
            .entries
            .iter()
            .find(|e| e.kind == "codex.turn.completed")
            .unwrap();
        assert_eq!(
            done.text,
            "turn 2 completed after 0.2s: in 7 (cached 1) out 2"
        );
        assert!(t.entries[3].text.contains("impl-1"), "{:?}", t.entries[3]);
        assert_eq!(t.entries.len(), events.len());
    }

    #[test]
    fn a_message_is_followed_from_send_to_ack_by_its_id() {
        let agents = [
            agent("A", "lead", "lead"),
            agent("B", "impl-1", "implementer"),
        ];
        let events = log(&[
            (
                1010,
                Some("A"),
                "message.sent",
                json!({"message_id": "m1", "to": "B", "bytes": 9}),
            ),
            (
                1020,
                Some("B"),
                "message.delivered",
                json!({"message_id": "m1", "from": "A", "attempt": 1}),
            ),
            (
                1030,
                Some("B"),
                "message.delivered",
                json!({"message_id": "m1", "from": "A", "attempt": 2}),
            ),
            (
                1040,
                Some("B"),
                "message.acked",
                json!({"message_id": "m1"}),
            ),
            (
                1050,
                Some("B"),
                "message.acked",
                json!({"message_id": "unknown"}),
            ),
        ]);
        let t = build(&team(), &agents, &events);
        assert_eq!(t.messages.len(), 1);
        let f = &t.messages[0];
        assert_eq!(
            (f.from.as_str(), f.to.as_str(), f.bytes, f.sent_ms),
            ("A", "B", 9, 10)
        );
        assert_eq!(f.delivered, [("B".to_string(), 20), ("B".to_string(), 30)]);
        assert_eq!(f.acked, [("B".to_string(), 40)]);
        assert_eq!(t.entries[0].peer.as_deref(), Some("impl-1"));
        assert_eq!(t.entries[1].peer.as_deref(), Some("lead"));
        assert_eq!(t.entries[0].ids.message_id.as_deref(), Some("m1"));
        assert_eq!(t.entries[0].category, Category::Message);
    }

    #[test]
    fn clocks_and_durations_read_well() {
        assert_eq!(clock(62_345), "+1:02.345");
        assert_eq!(clock(-5), "-0:00.005");
        assert_eq!(duration(1_250), "1.2s");
        assert_eq!(duration(184_000), "3m04s");
        assert_eq!(duration(3_720_000), "1h02m");
    }
}

//! `watch` without a terminal: one line (or JSON object) per event, oldest first, following
//! the log until the team is no longer running, no process supervises it any more, and every
//! event has been printed.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use codex_teams_store::{Event, Store, TeamStatus};

use crate::replay::describe::describe;
use crate::replay::timeline::clock;

/// Prints every event of `team_id` to `out` as it comes; returns once the team has stopped
/// and `supervised` (is a supervisor still at work on it?) says no.
pub fn follow(
    store: &Store,
    team_id: &str,
    interval: Duration,
    json: bool,
    out: &mut dyn Write,
    supervised: &dyn Fn() -> bool,
) -> anyhow::Result<()> {
    let started = store.team(team_id)?.created_at;
    let mut names: HashMap<String, String> = HashMap::new();
    let mut cursor = 0;
    loop {
        // Read the status first: events written before it changed are all in the page below.
        let running = store.team(team_id)?.status == TeamStatus::Running || supervised();
        let page = store.events(team_id, cursor, 1000)?;
        for e in &page {
            if let Some(id) = &e.agent_id
                && !names.contains_key(id)
            {
                for a in store.list_agents(team_id)? {
                    names.insert(a.agent_id, a.name);
                }
            }
            writeln!(out, "{}", line(e, started, &names, json))?;
            cursor = e.seq;
        }
        out.flush()?;
        if page.is_empty() {
            if !running {
                return Ok(());
            }
            std::thread::sleep(interval);
        }
    }
}

/// One event as text (`+0:01.234  lead  task  created task-1 "..."`) or as JSON.
pub fn line(e: &Event, started: i64, names: &HashMap<String, String>, json: bool) -> String {
    let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_string());
    let (category, text) = describe(&e.kind, &e.payload, &name);
    let who = e.agent_id.as_deref().map(name);
    if json {
        return serde_json::json!({
            "seq": e.seq, "t_ms": e.at - started, "kind": e.kind, "category": category,
            "agent_id": e.agent_id, "agent": who, "text": text, "payload": e.payload,
        })
        .to_string();
    }
    format!(
        "{:>11}  {:<14}  {:<8}  {text}",
        clock(e.at - started),
        who.as_deref().unwrap_or("team"),
        category.word()
    )
}

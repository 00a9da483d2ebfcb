//! Tokens per agent from what codex really sent: the scripted model's request log (one JSON
//! line per request, o200k counts), grouped by thread (`prompt_cache_key`) and named by the
//! role line of the thread's first prompt. This, not our own summary, is the benchmark's
//! source of truth for tokens.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;

use crate::policy::roles::LEAD;
use serde::{Deserialize, Serialize};

/// One agent's (one codex thread's) spend in a run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct AgentUsage {
    /// `lead`, the worker's name (`implementer-2`), or `solo`.
    pub agent: String,
    /// `lead`, the worker's role, or `solo`.
    pub role: String,
    /// Model requests this agent made.
    pub requests: u64,
    pub input: u64,
    pub cached: u64,
    pub output: u64,
}

/// The request log, read back.
#[derive(Debug, Clone, Default)]
pub struct LogTotals {
    /// In order of each agent's first request.
    pub agents: Vec<AgentUsage>,
    /// Requests no rule answered (or whose reply failed): the scenario did not fit.
    pub unmatched: usize,
}

#[derive(Deserialize)]
struct Line {
    prompt_cache_key: Option<String>,
    outcome: String,
    input_tokens: u64,
    cached_tokens: u64,
    output_tokens: u64,
    #[serde(default)]
    body: serde_json::Value,
}

/// Who a thread is, from its first request: the supervisor's prompts say `You are NAME
/// (ID, role: ROLE)` to a worker and `(you are agent ID, role: lead)` to the lead.
fn who(body: &serde_json::Value) -> (String, String) {
    let text = body.get("input").map(|i| i.to_string()).unwrap_or_default();
    if text.contains(", role: lead)") {
        return (LEAD.into(), LEAD.into());
    }
    let re = regex::Regex::new(r"You are ([A-Za-z0-9_.-]+) \([^,()]+, role: ([a-z]+)\)")
        .expect("static regex");
    match re.captures(&text) {
        Some(c) => (c[1].to_string(), c[2].to_string()),
        None => ("solo".into(), "solo".into()),
    }
}

/// Reads a request log (a missing file is an empty run).
pub fn read_log(path: &Path) -> anyhow::Result<LogTotals> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut out = LogTotals::default();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (n, raw) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let line: Line = serde_json::from_str(raw)
            .with_context(|| format!("{} line {}: not a request record", path.display(), n + 1))?;
        if line.outcome != "matched" {
            out.unmatched += 1;
        }
        let key = line.prompt_cache_key.clone().unwrap_or_default();
        let i = *index.entry(key).or_insert_with(|| {
            let (agent, role) = who(&line.body);
            out.agents.push(AgentUsage {
                agent,
                role,
                ..AgentUsage::default()
            });
            out.agents.len() - 1
        });
        let a = &mut out.agents[i];
        a.requests += 1;
        a.input += line.input_tokens;
        a.cached += line.cached_tokens;
        a.output += line.output_tokens;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(key: &str, prompt: &str, input: u64, cached: u64) -> String {
        serde_json::json!({
            "prompt_cache_key": key, "outcome": "matched", "input_tokens": input,
            "cached_tokens": cached, "output_tokens": 5,
            "body": {"input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]}]},
        })
        .to_string()
    }

    #[test]
    fn groups_requests_by_thread_and_names_each_agent() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("r.jsonl");
        let lines = [
            line(
                "t1",
                "You are the lead of codex-teams team x (you are agent agt-1, role: lead).",
                100,
                0,
            ),
            line(
                "t2",
                "You are implementer-1 (agt-2, role: implementer) in a codex-teams team.",
                50,
                0,
            ),
            line(
                "t1",
                "You are the lead of codex-teams team x (you are agent agt-1, role: lead).",
                120,
                100,
            ),
            line("t3", "fix the bug", 70, 0),
        ];
        std::fs::write(&log, lines.join("\n")).unwrap();
        let t = read_log(&log).unwrap();
        let names: Vec<_> = t
            .agents
            .iter()
            .map(|a| (a.agent.as_str(), a.role.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("lead", "lead"),
                ("implementer-1", "implementer"),
                ("solo", "solo")
            ]
        );
        assert_eq!(
            (t.agents[0].requests, t.agents[0].input, t.agents[0].cached),
            (2, 220, 100)
        );
        assert_eq!(t.unmatched, 0);
        assert!(
            read_log(&dir.path().join("none.jsonl"))
                .unwrap()
                .agents
                .is_empty()
        );
    }
}

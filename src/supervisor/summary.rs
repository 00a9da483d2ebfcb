//! The run summary (SPEC §7): agents, peak threads, tokens in/cached/out per agent, wall
//! time, tasks, messages, artifacts and outcome, read back from the store so `run`, `resume`
//! and `status` report the same numbers.

use std::collections::BTreeMap;

use codex_teams_store::{AgentState, Store, TaskFilter, TaskStatus, TeamStatus};
use serde::Serialize;

/// How a run ended, or `running` while it goes on: one word shared by the summary, the
/// `team.stopped` event and the exit message, so a script can match on it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    #[default]
    Running,
    Finalized,
    Failed,
    BudgetSpent,
    Timeout,
    Interrupted,
    Stalled,
    Stopped,
}

impl RunStatus {
    /// The word in the summary.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Finalized => "finalized",
            RunStatus::Failed => "failed",
            RunStatus::BudgetSpent => "budget_spent",
            RunStatus::Timeout => "timeout",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Stalled => "stalled",
            RunStatus::Stopped => "stopped",
        }
    }
}

impl From<TeamStatus> for RunStatus {
    fn from(t: TeamStatus) -> Self {
        match t {
            TeamStatus::Running => RunStatus::Running,
            TeamStatus::Finalized => RunStatus::Finalized,
            TeamStatus::Failed => RunStatus::Failed,
            TeamStatus::Stopped => RunStatus::Stopped,
        }
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One agent's tokens in the summary.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AgentTokens {
    pub role: String,
    pub name: String,
    pub state: AgentState,
    pub input: i64,
    pub cached_input: i64,
    pub output: i64,
}

/// Token totals: codex's own counts, summed over every recorded turn.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Tokens {
    pub input: i64,
    pub cached_input: i64,
    pub output: i64,
    pub by_agent: BTreeMap<String, AgentTokens>,
}

/// Task counts.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct TaskCounts {
    pub total: usize,
    pub done: usize,
    pub failed: usize,
}

/// What the scripted model server saw (only with `--scenario`).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Scripted {
    pub requests: usize,
    pub unmatched: usize,
    pub errors: usize,
}

/// The summary object (`--json` prints it as one line).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub team_id: String,
    pub status: RunStatus,
    /// One sentence on why the run ended.
    pub reason: String,
    /// Workers that really ran: a codex process was started for them. Spawns the fan-out
    /// policy or the budget refused are counted in `spawns_refused` instead.
    pub agents_spawned: usize,
    /// Worker requests that never got a process (refused, or still waiting at the end).
    pub spawns_refused: usize,
    pub peak_threads: usize,
    pub tokens: Tokens,
    pub wall_ms: u64,
    pub tasks: TaskCounts,
    pub messages: usize,
    /// Unacknowledged deliveries left in the team's inboxes.
    pub unacked: usize,
    pub artifacts: usize,
    /// The model workers ran with (after inheritance), if one was set.
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scripted: Option<Scripted>,
}

/// Reads the store's side of the summary (tokens, tasks, messages, artifacts). The caller
/// fills in status, wall time, peak threads and the spawn count it knows.
pub fn from_store(store: &Store, team_id: &str) -> anyhow::Result<Summary> {
    let mut s = Summary {
        team_id: team_id.to_string(),
        ..Summary::default()
    };
    let team = store.team(team_id)?;
    s.status = team.status.into();
    for a in store.list_agents(team_id)? {
        let u = store.agent_usage(team_id, &a.agent_id)?;
        s.tokens.input += u.input_tokens;
        s.tokens.cached_input += u.cached_input_tokens;
        s.tokens.output += u.output_tokens;
        s.unacked += store.unacked_count(team_id, &a.agent_id)?;
        if a.role != crate::policy::roles::LEAD {
            // A thread id or a recorded process group means a codex child was started.
            if a.thread_id.is_some() || a.pgid.is_some() {
                s.agents_spawned += 1;
            } else {
                s.spawns_refused += 1;
            }
            if s.model.is_none() {
                s.model = a.model.clone();
            }
        }
        s.tokens.by_agent.insert(
            a.agent_id.clone(),
            AgentTokens {
                role: a.role.clone(),
                name: a.name.clone(),
                state: a.state,
                input: u.input_tokens,
                cached_input: u.cached_input_tokens,
                output: u.output_tokens,
            },
        );
    }
    if s.model.is_none() {
        // No worker: the lead's model as `run` recorded it.
        s.model = team
            .config
            .get("model")
            .and_then(|m| m.as_str())
            .map(str::to_string);
    }
    let tasks = store.list_tasks(team_id, &TaskFilter::default())?;
    s.tasks.total = tasks.len();
    s.tasks.done = tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Done)
        .count();
    s.tasks.failed = tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Failed)
        .count();
    s.artifacts = store.list_artifacts(team_id)?.len();
    s.messages = store.message_count(team_id)?;
    Ok(s)
}

impl Summary {
    /// The text form printed at the end of a run without `--json`.
    pub fn text(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "team {}: {} ({})\n",
            self.team_id, self.status, self.reason
        ));
        out.push_str(&format!(
            "  agents spawned {}, peak threads {}, wall {:.1} s, model {}\n",
            self.agents_spawned,
            self.peak_threads,
            self.wall_ms as f64 / 1000.0,
            self.model.as_deref().unwrap_or("(codex default)")
        ));
        out.push_str(&format!(
            "  tasks {} ({} done, {} failed), messages {}, artifacts {}\n",
            self.tasks.total, self.tasks.done, self.tasks.failed, self.messages, self.artifacts
        ));
        out.push_str(&format!(
            "  tokens: input {} (cached {}), output {}\n",
            self.tokens.input, self.tokens.cached_input, self.tokens.output
        ));
        out.push_str(&format!(
            "    {:<14} {:<12} {:<8} {:>9} {:>9} {:>7}  agent id\n",
            "agent", "role", "state", "input", "cached", "output"
        ));
        for (id, a) in &self.tokens.by_agent {
            out.push_str(&format!(
                "    {:<14} {:<12} {:<8} {:>9} {:>9} {:>7}  {}\n",
                a.name,
                a.role,
                a.state.as_str(),
                a.input,
                a.cached_input,
                a.output,
                id
            ));
        }
        if let Some(sc) = &self.scripted {
            out.push_str(&format!(
                "  scripted model: {} requests, {} unmatched, {} errors\n",
                sc.requests, sc.unmatched, sc.errors
            ));
        }
        out.push_str(&format!(
            "  replay: codex-teams replay {}   (--html FILE for a page with a lane per agent)\n",
            self.team_id
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_ends_with_a_token_table_and_the_replay_command() {
        let mut s = Summary {
            team_id: "team-7".into(),
            ..Summary::default()
        };
        s.tokens.by_agent.insert(
            "agt-1".into(),
            AgentTokens {
                role: "implementer".into(),
                name: "implementer-1".into(),
                state: AgentState::Stopped,
                input: 1200,
                cached_input: 800,
                output: 95,
            },
        );
        let text = s.text();
        let lines: Vec<&str> = text.lines().collect();
        let head = lines.iter().position(|l| l.contains("agent id")).unwrap();
        let row = lines[head + 1];
        for (word, value) in [("input", "1200"), ("cached", "800"), ("output", "95")] {
            let end = lines[head].find(word).unwrap() + word.len();
            assert_eq!(
                &row[end - value.len()..end],
                value,
                "{word} column:\n{text}"
            );
        }
        assert_eq!(
            lines
                .last()
                .unwrap()
                .split_whitespace()
                .take(4)
                .collect::<Vec<_>>(),
            ["replay:", "codex-teams", "replay", "team-7"]
        );
    }
}

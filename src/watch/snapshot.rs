//! What `watch` shows, read from the store in one pass: agents with state, role, current
//! task, turn time, tokens and last tool calls; the task board; the latest messages; the
//! machine's worker gauge; the budget. Built on the replay's timeline, so the live view and
//! the replay agree on every turn and token.

use codex_teams_store::{AgentState, Store, TaskFilter, TaskStatus, TeamStatus};
use serde::Serialize;

use crate::policy::MAX_WORKERS;
use crate::replay::timeline::{Category, Timeline, Tokens, clock};
use crate::supervisor::status::ShownState;

/// How many tool calls per agent and messages are kept.
const RECENT: usize = 8;

/// One agent's row.
#[derive(Debug, Clone, Serialize)]
pub struct AgentRow {
    pub agent_id: String,
    pub name: String,
    pub role: String,
    /// The store's state; `interrupted` for an agent left mid-turn by a team that stopped.
    pub state: ShownState,
    /// The task it holds (`task_id title`).
    pub task: Option<String>,
    /// How long its current turn has run (ms), when it is in one.
    pub turn_ms: Option<i64>,
    pub turns: usize,
    pub tokens: Tokens,
    /// Its latest tool calls and commands, newest last.
    pub tools: Vec<String>,
}

/// One task on the board.
#[derive(Debug, Clone, Serialize)]
pub struct TaskRow {
    pub task_id: String,
    pub title: String,
    pub status: TaskStatus,
    pub owner: Option<String>,
}

/// Everything one frame shows.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub team_id: String,
    pub status: TeamStatus,
    pub goal: String,
    /// Milliseconds since the team started (to now while it runs, else to its last event).
    pub elapsed_ms: i64,
    pub agents: Vec<AgentRow>,
    pub tasks: Vec<TaskRow>,
    /// The latest bus events, newest last.
    pub messages: Vec<String>,
    /// Worker processes running now in every team of this store (the cap is per machine).
    pub workers_live: usize,
    pub cap: usize,
    /// Tokens spent (input + output) and the profile's budget, if it could be read.
    pub spent: i64,
    pub budget: Option<u64>,
    /// The newest event the snapshot includes.
    pub last_seq: i64,
}

impl Snapshot {
    /// Reads the team's state now; `now_ms` is the wall clock (Unix ms).
    pub fn load(store: &Store, team_id: &str, now_ms: i64) -> anyhow::Result<Snapshot> {
        let team = store.team(team_id)?;
        let agents = store.list_agents(team_id)?;
        let events = crate::replay::all_events(store, team_id)?;
        let last_seq = events.last().map_or(0, |e| e.seq);
        let t = crate::replay::timeline::build(&team, &agents, &events);
        let tasks = store.list_tasks(team_id, &TaskFilter::default())?;
        let running = team.status == TeamStatus::Running;
        let now_rel = if running {
            now_ms - team.created_at
        } else {
            t.duration_ms
        };
        let name_of = |id: &str| {
            agents
                .iter()
                .find(|a| a.agent_id == id)
                .map_or(id.to_string(), |a| a.name.clone())
        };
        let rows = agents
            .iter()
            .map(|a| {
                let task = tasks
                    .iter()
                    .find(|k| {
                        k.claimed_by.as_deref() == Some(&a.agent_id)
                            && k.status == TaskStatus::Claimed
                    })
                    .map(|k| format!("{} {}", k.task_id, k.title));
                let state = ShownState::of(team.status, a.state);
                agent_row(&t, &a.agent_id, state, task, now_rel)
            })
            .collect();
        let board = tasks
            .iter()
            .map(|k| TaskRow {
                task_id: k.task_id.clone(),
                title: k.title.clone(),
                status: k.status,
                owner: k.claimed_by.as_deref().map(name_of),
            })
            .collect();
        let budget = crate::policy::Profile::load(&team.profile)
            .ok()
            .map(|p| p.budget.total_tokens);
        Ok(Snapshot {
            team_id: team.team_id.clone(),
            status: team.status,
            goal: t.goal.clone(),
            elapsed_ms: now_rel.max(0),
            agents: rows,
            tasks: board,
            messages: recent_messages(&t),
            workers_live: live_workers(store)?,
            cap: MAX_WORKERS,
            spent: t.totals.input + t.totals.output,
            budget,
            last_seq,
        })
    }
}

fn agent_row(
    t: &Timeline,
    agent_id: &str,
    state: ShownState,
    task: Option<String>,
    now_rel: i64,
) -> AgentRow {
    let lane = t.lanes.iter().find(|l| l.agent_id == agent_id);
    let open = lane
        .and_then(|l| l.turns.last())
        .filter(|turn| turn.end_ms.is_none() && state == ShownState::Agent(AgentState::Running));
    let mut tools: Vec<String> = t
        .entries
        .iter()
        .filter(|e| e.agent_id.as_deref() == Some(agent_id) && e.category == Category::Tool)
        .map(|e| format!("{} {}", clock(e.t_ms), e.text))
        .collect();
    tools.drain(..tools.len().saturating_sub(RECENT));
    AgentRow {
        agent_id: agent_id.to_string(),
        name: lane.map_or(agent_id.to_string(), |l| l.name.clone()),
        role: lane.map_or(String::new(), |l| l.role.clone()),
        state,
        task,
        turn_ms: open.map(|turn| (now_rel - turn.start_ms).max(0)),
        turns: lane.map_or(0, |l| l.turns.len()),
        tokens: lane.map(|l| l.tokens).unwrap_or_default(),
        tools,
    }
}

fn recent_messages(t: &Timeline) -> Vec<String> {
    let mut out: Vec<String> = t
        .entries
        .iter()
        .filter(|e| e.category == Category::Message)
        .map(|e| {
            format!(
                "{} {}: {}",
                clock(e.t_ms),
                e.agent.as_deref().unwrap_or("?"),
                e.text
            )
        })
        .collect();
    out.drain(..out.len().saturating_sub(RECENT));
    out
}

/// Worker agents (not leads) with a live process in running teams of this store.
fn live_workers(store: &Store) -> anyhow::Result<usize> {
    let mut n = 0;
    for team in store.list_teams()? {
        if team.status != TeamStatus::Running {
            continue;
        }
        n += store
            .list_agents(&team.team_id)?
            .iter()
            .filter(|a| a.state == AgentState::Running && a.role != crate::policy::roles::LEAD)
            .count();
    }
    Ok(n)
}

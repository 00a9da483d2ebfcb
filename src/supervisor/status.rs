//! `codex-teams status [TEAM_ID] [--json]`: the teams in the store, or one team's agents,
//! tasks and usage. Read-only; works while a run is going on.

use codex_teams_store::{AgentState, Store, TaskFilter, TeamStatus};
use serde_json::{Value, json};

use super::home::TeamsHome;
use super::summary;

/// Options of `codex-teams status`.
#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// One team in detail [default: every team, newest last].
    pub team_id: Option<String>,
    /// One JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// An agent's state as `status` and `watch` show it: the store's, except that an agent
/// recorded mid-turn in a team that is no longer running has no process: it was
/// interrupted, and `resume` restarts it. Saying `running` there would be a lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShownState {
    Agent(AgentState),
    Interrupted,
}

impl serde::Serialize for ShownState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl ShownState {
    /// What to show for an agent in `agent` state on a team in `team` status.
    pub fn of(team: TeamStatus, agent: AgentState) -> Self {
        if team != TeamStatus::Running && agent == AgentState::Running {
            ShownState::Interrupted
        } else {
            ShownState::Agent(agent)
        }
    }

    /// The word shown.
    pub fn as_str(self) -> &'static str {
        match self {
            ShownState::Agent(a) => a.as_str(),
            ShownState::Interrupted => "interrupted",
        }
    }
}

/// The status as JSON (what `--json` prints).
pub fn collect(home: &TeamsHome, team_id: Option<&str>) -> anyhow::Result<Value> {
    let path = home.store_path();
    let store = Store::open(&path)?;
    match team_id {
        None => {
            let mut teams = Vec::new();
            for t in store.list_teams()? {
                let s = summary::from_store(&store, &t.team_id)?;
                teams.push(json!({
                    "team_id": t.team_id,
                    "status": t.status,
                    "goal": codex_teams_mcp::redact::preview(&t.goal, 80),
                    "agents": s.tokens.by_agent.len(),
                    "tasks": s.tasks,
                    "tokens": {"input": s.tokens.input, "cached_input": s.tokens.cached_input, "output": s.tokens.output},
                    "supervised_by": home.owner_alive(&t.team_id),
                }));
            }
            Ok(json!({ "teams": teams }))
        }
        Some(id) => {
            let team = store.team(id)?;
            let s = summary::from_store(&store, id)?;
            let mut agents = Vec::new();
            for a in store.list_agents(id)? {
                let u = s.tokens.by_agent.get(&a.agent_id);
                let count = |f: fn(&summary::AgentTokens) -> i64| u.map_or(0, f);
                agents.push(json!({
                    "agent_id": a.agent_id, "name": a.name, "role": a.role,
                    "state": ShownState::of(team.status, a.state), "thread_id": a.thread_id, "pgid": a.pgid,
                    "model": a.model, "inbox": store.pending_count(id, &a.agent_id)?,
                    "tokens": {"input": count(|u| u.input), "cached_input": count(|u| u.cached_input), "output": count(|u| u.output)},
                }));
            }
            let tasks: Vec<Value> = store
                .list_tasks(id, &TaskFilter::default())?
                .into_iter()
                .map(|t| {
                    json!({
                        "task_id": t.task_id, "title": t.title, "status": t.status,
                        "role": t.role, "claimed_by": t.claimed_by,
                        "artifact": t.result_artifact,
                    })
                })
                .collect();
            // Why a team that is not running stopped: the last stop the log records.
            let reason = ["team.stopped", "team.session_ended", "team.finalized"]
                .iter()
                .filter_map(|k| store.events_of_kind(id, 0, k, 1000).ok()?.pop())
                .max_by_key(|e| e.seq)
                .and_then(|e| {
                    e.payload
                        .get("reason")
                        .cloned()
                        .or_else(|| e.payload.get("summary").cloned())
                });
            Ok(json!({
                "team_id": team.team_id,
                "status": team.status,
                "reason": reason,
                "goal": team.goal,
                "cwd": team.cwd,
                "profile": team.profile,
                "supervised_by": home.owner_alive(id),
                "agents": agents,
                "tasks": tasks,
                "task_counts": s.tasks,
                "messages": s.messages,
                "unacked": s.unacked,
                "artifacts": s.artifacts,
                "tokens": {"input": s.tokens.input, "cached_input": s.tokens.cached_input, "output": s.tokens.output},
            }))
        }
    }
}

/// `codex-teams status`.
pub fn run(args: StatusArgs) -> anyhow::Result<()> {
    let home = TeamsHome::locate()?;
    let v = collect(&home, args.team_id.as_deref())?;
    if args.json {
        println!("{}", serde_json::to_string(&v)?);
        return Ok(());
    }
    if let Some(teams) = v.get("teams").and_then(Value::as_array) {
        if teams.is_empty() {
            println!("no teams in {}", home.store_path().display());
        }
        for t in teams {
            println!(
                "{}  {:<10} tasks {}/{} done  tokens in {} out {}  {}",
                t["team_id"].as_str().unwrap_or(""),
                t["status"].as_str().unwrap_or(""),
                t["tasks"]["done"],
                t["tasks"]["total"],
                t["tokens"]["input"],
                t["tokens"]["output"],
                t["goal"].as_str().unwrap_or("")
            );
        }
        return Ok(());
    }
    println!(
        "team {} ({}) in {}: {}",
        v["team_id"].as_str().unwrap_or(""),
        v["status"].as_str().unwrap_or(""),
        v["cwd"].as_str().unwrap_or(""),
        v["goal"].as_str().unwrap_or("")
    );
    println!("agents:");
    for a in v["agents"].as_array().into_iter().flatten() {
        println!(
            "  {:<14} {:<12} {:<8} inbox {:<3} tokens in {} out {}  {}",
            a["name"].as_str().unwrap_or(""),
            a["role"].as_str().unwrap_or(""),
            a["state"].as_str().unwrap_or(""),
            a["inbox"],
            a["tokens"]["input"],
            a["tokens"]["output"],
            a["agent_id"].as_str().unwrap_or("")
        );
    }
    println!("tasks:");
    for t in v["tasks"].as_array().into_iter().flatten() {
        println!(
            "  {:<8} {}  {}",
            t["status"].as_str().unwrap_or(""),
            t["task_id"].as_str().unwrap_or(""),
            t["title"].as_str().unwrap_or("")
        );
    }
    println!(
        "messages {} ({} unacknowledged), artifacts {}, tokens in {} (cached {}) out {}",
        v["messages"],
        v["unacked"],
        v["artifacts"],
        v["tokens"]["input"],
        v["tokens"]["cached_input"],
        v["tokens"]["output"]
    );
    Ok(())
}

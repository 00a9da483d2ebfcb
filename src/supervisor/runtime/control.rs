//! The control loop: each pass reads every team's snapshot (memory plus one store read off
//! the runtime threads), asks the policy's [`plan`] what to do, and hands the actions to
//! [`super::apply`]. Deciding lives in the policy; this file only gathers the facts.

use std::collections::HashMap;
use std::sync::Arc;

use codex_teams_mcp::TeamHub;
use codex_teams_store::{Task, TaskFilter, TeamStatus};

use super::Supervisor;
use super::state::State;
use crate::policy::fanout::TaskSize;
use crate::policy::plan::{self, Snapshot, TaskView};

/// What one pass reads from the store for a team.
#[derive(Debug, Default)]
pub(super) struct BoardRead {
    pub(super) store_finalized: bool,
    pub(super) tasks: Vec<Task>,
    pub(super) ready: Vec<Task>,
    pub(super) spent: u64,
    /// Unacknowledged mail per agent.
    pub(super) pending: HashMap<String, usize>,
}

/// The planner's view of a store task.
pub(super) fn task_view(t: &Task) -> TaskView {
    TaskView {
        task_id: t.task_id.clone(),
        version: t.version,
        status: t.status,
        role: t.role.clone(),
        claimed_by: t.claimed_by.clone(),
        size: TaskSize::estimate(&t.description),
    }
}

impl Supervisor {
    /// One pass of the control loop over every team: admit queued spawns, resume idle agents
    /// that have mail or ready work, retire idle workers, stop workers of finalized teams.
    /// A team that is over (finalized or stopped, every worker stopped) is skipped.
    pub async fn tick(&self) -> anyhow::Result<()> {
        let _pass = self.tick_pass.lock().await;
        let hub = self.hub()?;
        let teams = self.lock().live_teams();
        for team_id in teams {
            self.tick_team(&hub, &team_id).await?;
        }
        Ok(())
    }

    async fn tick_team(&self, hub: &Arc<TeamHub>, team_id: &str) -> anyhow::Result<()> {
        let agent_ids: Vec<String> = {
            let st = self.lock();
            if st.teams.get(team_id).is_none_or(|t| t.stopping) {
                return Ok(());
            }
            st.team_agents(team_id)
                .iter()
                .map(|a| a.agent_id.clone())
                .collect()
        };
        let read = read_board(hub, team_id, agent_ids).await?;
        let actions = {
            let st = self.lock();
            let snap = self.snapshot(&st, team_id, &read);
            plan::plan(&snap)
        };
        self.apply(hub, team_id, actions).await
    }

    /// The planner's snapshot of a team from memory and a store read.
    pub(super) fn snapshot<'a>(
        &'a self,
        st: &State,
        team_id: &str,
        read: &BoardRead,
    ) -> Snapshot<'a> {
        let team = st.teams.get(team_id);
        let agents = st
            .team_agents(team_id)
            .into_iter()
            .map(|a| a.view(read.pending.get(&a.agent_id).copied().unwrap_or(0)))
            .collect();
        Snapshot {
            profile: &self.opts.profile,
            lead_external: self.opts.lead_external,
            stopping: team.is_none_or(|t| t.stopping),
            store_finalized: read.store_finalized,
            finalized_for: team.and_then(|t| t.finalized_at).map(|at| at.elapsed()),
            drain: self.opts.drain,
            lead_id: team.and_then(|t| t.lead_id.clone()),
            board_done_nudged: team.is_some_and(|t| t.board_done_nudged),
            nudged: team.map(|t| t.nudged_tasks.clone()).unwrap_or_default(),
            lead_told: team.map(|t| t.lead_told.clone()).unwrap_or_default(),
            quiet: team.is_some_and(|t| t.quiet_since.is_some()),
            agents,
            tasks: read.tasks.iter().map(task_view).collect(),
            ready: read.ready.iter().map(task_view).collect(),
            spent: read.spent,
            spend_limit: team.and_then(|t| t.spend_limit),
        }
    }
}

/// The store's side of a team's snapshot, read on the blocking pool.
pub(super) async fn read_board(
    hub: &Arc<TeamHub>,
    team_id: &str,
    agent_ids: Vec<String>,
) -> anyhow::Result<BoardRead> {
    let t = team_id.to_string();
    let read = hub
        .with_store(move |s| {
            let mut pending = HashMap::new();
            for id in &agent_ids {
                pending.insert(id.clone(), s.pending_count(&t, id)?);
            }
            let usage = s.team_usage(&t)?;
            Ok(BoardRead {
                store_finalized: s.team(&t)?.status != TeamStatus::Running,
                tasks: s.list_tasks(&t, &TaskFilter::default())?,
                ready: s.ready_tasks(&t)?,
                spent: (usage.input_tokens + usage.output_tokens).max(0) as u64,
                pending,
            })
        })
        .await?;
    Ok(read)
}

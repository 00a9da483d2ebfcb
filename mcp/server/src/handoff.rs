//! Handing work to a worker without a model turn spent on asking for it: a spawn can carry
//! the task it is for (claimed at spawn, so the worker's first turn starts on it), a worker
//! spawned with nothing ready is told so (it ends its turn at once), and completing a task
//! can claim and return the next ready one for the same role. Each saves one full request
//! (~10 K tokens of Codex context) per worker. Store-level only; the handlers call these.

use std::time::Duration;

use codex_teams_store::{NewTask, Store, StoreError, Task};

use crate::types::{Role, SpawnTaskArgs};

/// Appended to a worker's brief when nothing is ready for its role at spawn.
pub const NOTHING_READY: &str =
    "No task is ready for you now: end your turn at once; you are resumed when one is.";

/// What a spawn hands its worker.
#[derive(Debug, Clone, Default)]
pub struct Handoff {
    /// The task claimed for the worker.
    pub task: Option<Task>,
    /// No task was asked for and none is ready for the role.
    pub nothing_ready: bool,
}

/// Whether a task suits `role` (a task without a role suits anyone).
fn fits(t: &Task, role: &str) -> bool {
    t.role.as_deref().is_none_or(|r| r == role)
}

/// The task a spawn carries.
#[derive(Debug, Clone)]
pub enum SpawnTask {
    /// None: the worker is told whether anything is ready for its role.
    None,
    /// A ready task on the board (`task_id`).
    Existing(String),
    /// A new task (`task`) the lead files in the same call; created by `lead_id`.
    New { lead_id: String, task: NewTask },
}

/// The spawn's task from `team_spawn`'s `task_id` / `task` arguments: at most one of them;
/// an inline task's role defaults to the worker's. `Err` names what is wrong.
pub fn spawn_task(
    lead_id: &str,
    role: Role,
    task_id: Option<String>,
    task: Option<SpawnTaskArgs>,
) -> Result<SpawnTask, String> {
    match (task_id, task) {
        (Some(_), Some(_)) => {
            Err("give task_id (a task on the board) or task (a new one), not both".into())
        }
        (Some(id), None) => Ok(SpawnTask::Existing(id)),
        (None, None) => Ok(SpawnTask::None),
        (None, Some(t)) => {
            if t.title.trim().is_empty() {
                return Err("task.title is empty".into());
            }
            Ok(SpawnTask::New {
                lead_id: lead_id.to_string(),
                task: NewTask {
                    title: t.title,
                    description: t.description.unwrap_or_default(),
                    role: Some(t.role.unwrap_or(role).as_str().to_string()),
                    deps: t.deps,
                },
            })
        }
    }
}

/// At spawn: claims the spawn's task for the new agent (creating it first when it is new,
/// in the claim's transaction), or, without one, notes whether anything is ready for its
/// role.
pub fn at_spawn(
    s: &Store,
    team_id: &str,
    agent_id: &str,
    role: &str,
    task: SpawnTask,
    lease: Duration,
) -> Result<Handoff, StoreError> {
    let claimed = match task {
        SpawnTask::Existing(id) => s.claim_task(team_id, Some(&id), agent_id, lease)?,
        SpawnTask::New { lead_id, task } => {
            s.create_task_claimed(team_id, &lead_id, agent_id, task, lease)?
        }
        SpawnTask::None => {
            return Ok(Handoff {
                task: None,
                nothing_ready: !s.ready_tasks(team_id)?.iter().any(|t| fits(t, role)),
            });
        }
    };
    Ok(Handoff {
        task: Some(claimed),
        nothing_ready: false,
    })
}

/// The brief the worker's first prompt carries: the lead's, plus its task or the note that
/// nothing is ready.
pub fn brief_with(brief: &str, h: &Handoff) -> String {
    match (&h.task, h.nothing_ready) {
        (Some(t), _) => format!(
            "{brief}\n\nYour task, claimed for you: {} ({})\n{}\nWhen it is done call task_update with status done and next=true: that hands you the next ready task, if any; with none, end your turn.",
            t.task_id, t.title, t.description
        ),
        (None, true) => format!("{brief}\n\n{NOTHING_READY}"),
        (None, false) => brief.to_string(),
    }
}

/// After a task is done or failed: claims the oldest ready task that fits `role` for the
/// agent (skipping any another agent claimed first). `None`: nothing is ready.
pub fn claim_next(
    s: &Store,
    team_id: &str,
    agent_id: &str,
    role: &str,
    lease: Duration,
) -> Result<Option<Task>, StoreError> {
    for t in s
        .ready_tasks(team_id)?
        .into_iter()
        .filter(|t| fits(t, role))
    {
        match s.claim_task(team_id, Some(&t.task_id), agent_id, lease) {
            Ok(t) => return Ok(Some(t)),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// The note returned with `next=true` when nothing is ready.
pub const END_TURN: &str = "Nothing else is ready for you: end your turn now.";

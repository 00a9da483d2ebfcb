//! Handing work to a worker without a model turn spent on asking for it: a spawn can carry
//! the task it is for (claimed at spawn, so the worker's first turn starts on it), a worker
//! spawned with nothing ready is told so (it ends its turn at once), and completing a task
//! can claim and return the next ready one for the same role. Each saves one full request
//! (~10 K tokens of Codex context) per worker. Store-level only; the handlers call these.

use std::time::Duration;

use codex_teams_store::{Store, StoreError, Task};

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

/// At spawn: claims `task_id` for the new agent, or, without one, notes whether anything
/// is ready for its role.
pub fn at_spawn(
    s: &Store,
    team_id: &str,
    agent_id: &str,
    role: &str,
    task_id: Option<&str>,
    lease: Duration,
) -> Result<Handoff, StoreError> {
    match task_id {
        Some(id) => Ok(Handoff {
            task: Some(s.claim_task(team_id, Some(id), agent_id, lease)?),
            nothing_ready: false,
        }),
        None => Ok(Handoff {
            task: None,
            nothing_ready: !s.ready_tasks(team_id)?.iter().any(|t| fits(t, role)),
        }),
    }
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

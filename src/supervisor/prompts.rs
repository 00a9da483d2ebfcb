//! What the supervisor says to its codex children: the first prompt of the lead and of each
//! worker (role instructions, the job, how to use the bus), and the short nudges a resumed
//! thread gets. Kept compact: every word is paid for in every later request of the thread.

/// First prompt of a `run`'s lead.
pub fn lead_prompt(instructions: &str, task: &str, team_id: &str, agent_id: &str) -> String {
    format!(
        "You are the lead of codex-teams team {team_id} (you are agent {agent_id}, role: lead).\n\
         {instructions}\n\n\
         How this works: your team tools are the codex-teams bus's MCP tools. `team_spawn` returns at \
         once; workers run as separate processes. When you have nothing left to do but wait, \
         end your turn: you are resumed with a new prompt when a message arrives. Read it with \
         `team_pull_inbox` and `team_ack` what you handled. Call `team_finalize` when the job \
         is done.\n\n\
         The job:\n{task}\n"
    )
}

/// First prompt of a worker.
pub fn worker_prompt(
    instructions: &str,
    brief: &str,
    goal: &str,
    name: &str,
    agent_id: &str,
    role: &str,
) -> String {
    format!(
        "You are {name} ({agent_id}, role: {role}) in a codex-teams team.\n\
         {instructions}\n\n\
         How this works: your team tools are the codex-teams bus's MCP tools. Take work with \
         `task_claim`, report with `task_update` and `artifact_publish`, tell the lead with \
         `team_send` (to \"lead\"). Check `team_pull_inbox` first and `team_ack` what you \
         handled. When your work is done, end your turn: you are resumed if a message or a \
         task arrives for you.\n\n\
         Team goal: {goal}\n\n\
         Your brief from the lead:\n{brief}\n"
    )
}

/// Resume prompt for an agent with new messages.
pub fn messages_nudge(pending: usize) -> String {
    let s = if pending == 1 { "" } else { "s" };
    format!(
        "codex-teams: you have {pending} new message{s}. Call team_pull_inbox, handle them, team_ack them, then end your turn."
    )
}

/// Resume prompt for an idle worker when ready work appears on the board.
pub fn tasks_nudge(ready: usize) -> String {
    let s = if ready == 1 { "" } else { "s" };
    format!(
        "codex-teams: {ready} ready task{s} on the board for your role. Claim one with task_claim and do it, then end your turn."
    )
}

/// Resume prompt for the lead when every task on the board is done or failed.
pub fn board_done_nudge(done: usize, failed: usize) -> String {
    format!(
        "codex-teams: the task board is done ({done} done, {failed} failed). Check the results (artifact_list, team_pull_inbox), then call team_finalize."
    )
}

/// Resume prompt for the lead when ready tasks have no worker able to take them (none was
/// spawned for them, say the lead's spawns were cut by a crash, or their workers ended).
pub fn unstaffed_nudge(task_ids: &[String]) -> String {
    let n = task_ids.len();
    let s = if n == 1 { "" } else { "s" };
    let shown: Vec<&str> = task_ids.iter().take(20).map(String::as_str).collect();
    format!(
        "codex-teams: {n} ready task{s} with no worker able to take them: {}. Spawn workers for them (team_spawn with task_id), or do them yourself, then end your turn.",
        shown.join(" ")
    )
}

/// Resume prompt after the supervisor restarted while this agent was mid-turn.
/// It names the tasks the agent still holds, so it can go on with them at once instead of
/// spending a request to find out.
pub fn restart_nudge(pending: usize, held: &[codex_teams_store::Task]) -> String {
    let mut out = format!(
        "codex-teams: the supervisor restarted and your last turn was interrupted. Continue your work where it stopped ({pending} unread messages; team_pull_inbox, task_list mine=true), then end your turn."
    );
    for t in held {
        let what: String = t.description.chars().take(400).collect();
        out.push_str(&format!(
            "\nYou hold task {} (version {}): {}. {what}",
            t.task_id, t.version, t.title
        ));
    }
    out
}

/// What the supervisor did about a failed worker, for the lead's note.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AfterFailure {
    /// Tasks it held, now back on the board.
    pub released: Vec<String>,
    /// The replacement worker's name, if one was spawned.
    pub replacement: Option<String>,
    /// Why none was, when that matters.
    pub note: Option<String>,
}

/// Body of the message the lead gets when a worker stops unexpectedly.
pub fn worker_failed_message(
    name: &str,
    agent_id: &str,
    why: &str,
    after: &AfterFailure,
) -> String {
    let mut out = format!("[codex-teams] worker {name} ({agent_id}) stopped: {why}.");
    if !after.released.is_empty() {
        out.push_str(&format!(
            " Its tasks are back on the board: {}.",
            after.released.join(", ")
        ));
    }
    if let Some(r) = &after.replacement {
        out.push_str(&format!(" Replacement {r} (same role and brief) started."));
    }
    if let Some(n) = &after.note {
        out.push_str(&format!(" {n}."));
    }
    out
}

/// Body of the message the lead gets when the budget stops a worker's turn (`all`: every
/// worker, the workers' share is spent).
pub fn spend_limit_message(name: &str, agent_id: &str, why: &str, all: bool) -> String {
    if all {
        format!(
            "[codex-teams] {why}. No worker runs any more (the last was {name}, {agent_id}). Finalize with what the team has: call team_finalize with a summary of what is done and what is not."
        )
    } else {
        format!(
            "[codex-teams] worker {name} ({agent_id}): {why}. Its claimed tasks are back on the board; split them smaller or finish without them."
        )
    }
}

/// The brief of a replacement worker: the original, plus why it is there.
pub fn replacement_brief(brief: &str, old_name: &str, why: &str) -> String {
    let why: String = why.chars().take(300).collect();
    format!(
        "{brief}\n\n(You replace {old_name}, who stopped: {why}. Its tasks are back on the board; claim them.)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scenarios and tests tell conversations apart by these lines; keep them stable.
    #[test]
    fn prompts_carry_the_role_line_and_the_job() {
        let lead = lead_prompt("LEAD RULES", "fix it", "team-1", "agt-1");
        assert!(lead.contains("role: lead") && lead.contains("The job:\nfix it"));
        assert!(lead.contains("LEAD RULES") && lead.contains("team_finalize"));
        let w = worker_prompt(
            "IMPL RULES",
            "do T1",
            "the goal",
            "implementer-1",
            "agt-2",
            "implementer",
        );
        assert!(w.contains("role: implementer") && w.contains("do T1") && w.contains("the goal"));
        assert!(
            !w.contains("role: lead"),
            "a worker prompt must not look like the lead's"
        );
        assert_eq!(messages_nudge(1), messages_nudge(1));
        assert!(messages_nudge(2).contains("2 new messages"));
        assert!(messages_nudge(1).contains("1 new message."));
        assert!(tasks_nudge(1).contains("on the board for your role"));
        assert!(board_done_nudge(2, 1).contains("task board is done"));
        assert!(restart_nudge(0, &[]).contains("supervisor restarted"));
    }
}

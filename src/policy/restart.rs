//! What `resume` does with each agent the dead supervisor left (issue 11): restart it with
//! a note, leave it idle for the control loop, or start it over on a fresh thread. Decided
//! from what the store says (state, claims) and what codex's own session rollout shows
//! (did the agent's first prompt reach the thread, did its last turn end), so a restart
//! costs a model request only when there is interrupted work to continue.

/// How far the agent's codex thread got, from its rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thread {
    /// The store names no thread (the agent never started).
    None,
    /// The store names one but codex has no rollout for it, or the rollout never got the
    /// agent's first prompt (killed while codex was starting): resuming it would lose the
    /// role and brief.
    Unusable,
    /// The first prompt is in the thread; `turn_open` when its last turn never ended.
    Usable { turn_open: bool },
}

/// What the store says of one agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Left {
    pub is_lead: bool,
    /// The store's state was `running`: the supervisor died with a turn of it in flight (or
    /// not yet seen to end).
    pub was_running: bool,
    pub stopped: bool,
    pub failed: bool,
    /// It holds claimed tasks.
    pub holds_claims: bool,
    pub thread: Thread,
}

/// The decision for one agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// Ended for good: stays as it is.
    Keep,
    /// Resumable, nothing to continue now: idle; the control loop wakes it for a ready task
    /// or a message like any idle agent.
    Idle,
    /// Its thread is resumed at once with the note naming what it holds.
    Continue,
    /// Its first turn starts (again) on a new thread with its full first prompt (role, brief,
    /// the task claimed for it): it never started, or its thread is unusable.
    StartOver,
}

/// The rule. A worker is continued only when it holds a claim (the only work the board
/// knows it had); the lead only when its turn was really cut (its rollout shows the turn
/// open). Everything else resumable waits idle at no cost.
pub fn restart(a: &Left) -> Restart {
    if a.stopped || a.failed {
        return Restart::Keep;
    }
    match a.thread {
        Thread::None | Thread::Unusable => Restart::StartOver,
        Thread::Usable { turn_open } => {
            let cut = a.was_running && turn_open;
            if a.is_lead {
                if cut {
                    Restart::Continue
                } else {
                    Restart::Idle
                }
            } else if a.holds_claims {
                Restart::Continue
            } else {
                Restart::Idle
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn left(is_lead: bool, was_running: bool, holds_claims: bool, thread: Thread) -> Left {
        Left {
            is_lead,
            was_running,
            stopped: false,
            failed: false,
            holds_claims,
            thread,
        }
    }

    #[test]
    fn the_restart_table() {
        use Restart::*;
        let open = Thread::Usable { turn_open: true };
        let ended = Thread::Usable { turn_open: false };
        let rows: &[(&str, Left, Restart)] = &[
            (
                "lead never started",
                left(true, false, false, Thread::None),
                StartOver,
            ),
            (
                "worker queued, never started",
                left(false, false, true, Thread::None),
                StartOver,
            ),
            (
                "worker killed before its prompt reached codex",
                left(false, true, true, Thread::Unusable),
                StartOver,
            ),
            (
                "lead whose rollout is gone",
                left(true, true, false, Thread::Unusable),
                StartOver,
            ),
            ("lead cut mid-turn", left(true, true, false, open), Continue),
            (
                "lead whose turn had ended (store not told yet)",
                left(true, true, false, ended),
                Idle,
            ),
            ("lead idle", left(true, false, false, ended), Idle),
            (
                "worker cut mid-task",
                left(false, true, true, open),
                Continue,
            ),
            (
                "worker ended its turn still holding a claim",
                left(false, true, true, ended),
                Continue,
            ),
            (
                "worker idle holding a claim",
                left(false, false, true, ended),
                Continue,
            ),
            (
                "worker cut after completing its task",
                left(false, true, false, open),
                Idle,
            ),
            (
                "worker idle with nothing",
                left(false, false, false, ended),
                Idle,
            ),
            (
                "stopped agent",
                Left {
                    stopped: true,
                    ..left(false, true, true, open)
                },
                Keep,
            ),
            (
                "failed agent",
                Left {
                    failed: true,
                    ..left(false, true, true, open)
                },
                Keep,
            ),
        ];
        for (name, l, want) in rows {
            assert_eq!(restart(l), *want, "{name}");
        }
    }
}

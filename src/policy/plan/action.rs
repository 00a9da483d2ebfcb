//! What the planner returns: the things the supervisor should do now, each with its reason.

/// How an idle agent is told why it is resumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nudge {
    /// Unread mail (how many messages).
    Messages(usize),
    /// Ready work nobody is on (how many tasks).
    Tasks(usize),
    /// The lead: the board is done, merge and finalize.
    BoardDone { done: usize, failed: usize },
    /// The lead: these ready tasks have no worker able to take them (none was spawned, or
    /// they all ended): staff them or do them.
    Unstaffed(Vec<String>),
}

/// Why a worker is retired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetireWhy {
    /// The team was finalized: queued and idle workers will not run again.
    TeamEnded,
    /// Idle shutdown; `resumable`: it has a thread, so mail for it wakes it again.
    Idle { idle_secs: u64, resumable: bool },
}

/// Why a running turn is stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopWhy {
    /// The team was finalized and the drain period is over.
    Drained,
    /// The turn crossed the profile's `worker_turn_max_tokens`.
    TurnOverLimit(String),
    /// The team's token budget is spent.
    BudgetSpent(String),
}

/// One thing the supervisor should do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The store says the team is finalized: note the instant (the drain counts from it).
    MarkFinalized,
    /// Admit a queued spawn: its first turn starts (it waits for a slot).
    StartFirst { agent_id: String },
    /// A queued spawn will never start: it fails and a task claimed for it goes back to the
    /// board. `budget`: the budget refused it, which the lead must hear (it decides what to
    /// drop); refused by the fan-out, the workers already there suffice and it is only logged.
    RefuseSpawn {
        agent_id: String,
        name: String,
        why: String,
        budget: bool,
    },
    /// Every task is done, none failed, the idle lead has no mail: the supervisor finalizes
    /// the team itself (profile `early_stop.finalize_clean_board`), sparing a lead turn.
    FinalizeCleanBoard { done: usize },
    /// Mail arrived for a worker idle shutdown retired: it is resumable again.
    Wake { agent_id: String, unread: usize },
    /// Resume an idle agent's codex thread.
    Resume { agent_id: String, nudge: Nudge },
    /// Mail waits for an idle worker but the budget pays for no resume: remember it was seen.
    HoldResume {
        agent_id: String,
        pending: usize,
        why: String,
    },
    /// Nothing new for an idle agent: forget a stale wake-up, lower its seen-mail count.
    Settle {
        agent_id: String,
        pending_seen: usize,
    },
    /// A ready task an idle worker (or, with `lead`, the lead) was told of: not again at
    /// this version. Two records, so telling the lead never keeps a worker from hearing of
    /// the task later, nor the other way round.
    TaskNudged {
        task_id: String,
        version: u32,
        lead: bool,
    },
    /// The worker will not run again (until mail wakes it, for idle shutdown).
    Retire { agent_id: String, why: RetireWhy },
    /// Stop a running turn: SIGTERM to its process group, SIGKILL after the grace period.
    StopTurn { agent_id: String, why: StopWhy },
    /// Nothing runs and nothing is owed since now.
    MarkQuiet,
    /// Something runs or is owed again.
    MarkActive,
}

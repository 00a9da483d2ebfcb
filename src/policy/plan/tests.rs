use std::time::Duration;

use super::*;
use crate::policy::Profile;
use crate::policy::fanout::TaskSize;

/// A compact spelling of an action, so a table row reads as one line.
pub(super) fn brief(a: &Action) -> String {
    match a {
        Action::MarkFinalized => "finalized".into(),
        Action::StartFirst { agent_id } => format!("start {agent_id}"),
        Action::RefuseSpawn { agent_id, .. } => format!("refuse {agent_id}"),
        Action::Wake { agent_id, unread } => format!("wake {agent_id} {unread}"),
        Action::Resume { agent_id, nudge } => {
            let n = match nudge {
                Nudge::Messages(n) => format!("messages {n}"),
                Nudge::Tasks(n) => format!("tasks {n}"),
                Nudge::BoardDone { done, failed } => format!("board_done {done}/{failed}"),
                Nudge::Unstaffed(ids) => format!("unstaffed {}", ids.join(",")),
            };
            format!("resume {agent_id} {n}")
        }
        Action::HoldResume {
            agent_id, pending, ..
        } => format!("hold {agent_id} {pending}"),
        Action::Settle {
            agent_id,
            pending_seen,
        } => format!("settle {agent_id} {pending_seen}"),
        Action::TaskNudged {
            task_id,
            version,
            lead: false,
        } => format!("nudged {task_id}@{version}"),
        Action::TaskNudged {
            task_id,
            version,
            lead: true,
        } => format!("lead told {task_id}@{version}"),
        Action::Retire { agent_id, why } => match why {
            RetireWhy::TeamEnded => format!("retire {agent_id} team_ended"),
            RetireWhy::Idle { resumable, .. } => {
                format!("retire {agent_id} idle resumable={resumable}")
            }
        },
        Action::StopTurn { agent_id, why } => {
            let w = match why {
                StopWhy::Drained => "drained",
                StopWhy::TurnOverLimit(_) => "turn_over_limit",
                StopWhy::BudgetSpent(_) => "budget_spent",
            };
            format!("stop {agent_id} {w}")
        }
        Action::FinalizeCleanBoard { done } => format!("finalize_clean {done}"),
        Action::MarkQuiet => "quiet".into(),
        Action::MarkActive => "active".into(),
    }
}

pub(super) fn agent(id: &str, role: &str, phase: Phase, seq: u64) -> AgentView {
    AgentView {
        agent_id: id.into(),
        name: format!("{id}-name"),
        role: role.into(),
        is_lead: role == "lead",
        phase,
        wake: false,
        pending: 0,
        pending_seen: 0,
        notes: 0,
        retired_idle: false,
        has_thread: true,
        idle_for: Duration::ZERO,
        stop_requested: false,
        seq,
        turn_tokens: None,
    }
}

pub(super) fn task(id: &str, status: TaskStatus) -> TaskView {
    TaskView {
        task_id: id.into(),
        version: 1,
        status,
        role: None,
        claimed_by: None,
        size: TaskSize::Small,
    }
}

/// A ready task: on the board and in the ready list.
pub(super) fn ready(s: &mut Snapshot<'_>, id: &str) {
    s.tasks.push(task(id, TaskStatus::Open));
    s.ready.push(task(id, TaskStatus::Open));
}

/// `n` workers in `phase`, ids w1..wn, role implementer.
pub(super) fn workers(s: &mut Snapshot<'_>, n: usize, phase: Phase) {
    for i in 1..=n {
        let seq = s.agents.len() as u64 + 1;
        s.agents
            .push(agent(&format!("w{i}"), "implementer", phase, seq));
    }
}

pub(super) fn find<'a>(s: &'a mut Snapshot<'_>, id: &str) -> &'a mut AgentView {
    s.agents.iter_mut().find(|a| a.agent_id == id).unwrap()
}

/// Run mode: our own lead `L`, running; no workers, an empty board, nothing spent.
pub(super) fn base(profile: &Profile) -> Snapshot<'_> {
    Snapshot {
        profile,
        lead_external: false,
        stopping: false,
        store_finalized: false,
        finalized_for: None,
        drain: Duration::from_secs(15),
        lead_id: Some("L".into()),
        board_done_nudged: false,
        nudged: HashSet::new(),
        lead_told: HashSet::new(),
        quiet: false,
        agents: vec![agent("L", "lead", Phase::Running, 0)],
        tasks: Vec::new(),
        ready: Vec::new(),
        spent: 0,
        spend_limit: None,
    }
}

mod cases;

use cases::{CASES, EXHAUSTED};

#[test]
fn the_control_loop_table() {
    let mut failures = Vec::new();
    for (what, profile, setup, want) in CASES {
        let profile = Profile::load(profile).unwrap();
        let mut s = base(&profile);
        setup(&mut s);
        let got: Vec<String> = plan(&s).iter().map(brief).collect();
        if got != *want {
            failures.push(format!("{what}:\n   want {want:?}\n   got  {got:?}"));
        }
    }
    assert!(CASES.len() >= 25);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The same snapshot always gives the same actions (no clock, no randomness).
#[test]
fn plan_is_deterministic() {
    let profile = Profile::load("default").unwrap();
    for (_, _, setup, _) in CASES {
        let mut s = base(&profile);
        setup(&mut s);
        assert_eq!(plan(&s), plan(&s));
    }
}

/// Refusals say what refused them: the lead must hear that it was the budget.
#[test]
fn refusals_name_the_budget() {
    let profile = Profile::load("default").unwrap();
    let mut s = base(&profile);
    ready(&mut s, "t1");
    workers(&mut s, 1, Phase::Queued);
    s.spent = EXHAUSTED;
    let actions = plan(&s);
    let [Action::RefuseSpawn { why, name, .. }] = actions.as_slice() else {
        panic!("{:?}", plan(&s));
    };
    assert!(why.contains("budget") && why.contains("1800000"), "{why}");
    assert_eq!(name, "w1-name");

    let mut s = base(&profile);
    workers(&mut s, 1, Phase::Idle);
    find(&mut s, "w1").pending = 1;
    s.spent = EXHAUSTED;
    let actions = plan(&s);
    let [Action::HoldResume { why, .. }] = actions.as_slice() else {
        panic!("{:?}", plan(&s));
    };
    assert!(
        why.starts_with("resume refused") && why.contains("budget"),
        "{why}"
    );
}

#[test]
fn a_failed_worker_is_replaced_only_when_needed() {
    let profile = Profile::load("default").unwrap();
    let with = |f: fn(&mut Snapshot<'_>)| {
        let mut s = base(&profile);
        workers(&mut s, 1, Phase::Failed);
        f(&mut s);
        s
    };
    let cases: &[(&str, Snapshot<'_>, usize, u32, Replacement)] = &[
        (
            "its claims released, nobody of its role left",
            with(|_| {}),
            1,
            0,
            Replacement::Spawn { n: 1 },
        ),
        (
            "no claims released",
            with(|_| {}),
            0,
            0,
            Replacement::NotNeeded,
        ),
        (
            "another worker of its role takes them",
            with(|s| s.agents.push(agent("w2", "implementer", Phase::Idle, 5))),
            2,
            0,
            Replacement::NotNeeded,
        ),
        (
            "a worker of another role does not",
            with(|s| s.agents.push(agent("w2", "reviewer", Phase::Idle, 5))),
            2,
            1,
            Replacement::Spawn { n: 2 },
        ),
        (
            "a stopped worker of its role does not",
            with(|s| s.agents.push(agent("w2", "implementer", Phase::Stopped, 5))),
            1,
            0,
            Replacement::Spawn { n: 1 },
        ),
        (
            "the team is finalized",
            with(|s| s.finalized_for = Some(Duration::ZERO)),
            1,
            0,
            Replacement::NotNeeded,
        ),
        (
            "the team is stopping",
            with(|s| s.stopping = true),
            1,
            0,
            Replacement::NotNeeded,
        ),
        (
            "the retry limit is reached",
            with(|_| {}),
            1,
            MAX_REPLACEMENTS,
            Replacement::Refused(format!(
                "no replacement: the team already had {MAX_REPLACEMENTS}"
            )),
        ),
    ];
    for (what, s, released, so_far, want) in cases {
        assert_eq!(&replace_failed(s, "w1", *released, *so_far), want, "{what}");
    }
    assert_eq!(
        replace_failed(&with(|_| {}), "nobody", 1, 0),
        Replacement::NotNeeded
    );
}

/// A spawn the lead asks for counts idle workers (reuse them first); a queued one does not.
#[test]
fn a_new_spawn_is_checked_against_idle_workers_and_the_budget() {
    let profile = Profile::load("default").unwrap();
    let mut s = base(&profile);
    ready(&mut s, "t1");
    workers(&mut s, 1, Phase::Idle);
    s.agents.push(agent("new", "implementer", Phase::Queued, 9));
    let check = admit_new_spawn(&s, "new");
    assert!(
        matches!(&check.admission, Admission::Refuse(w) if w.contains("idle")),
        "{check:?}"
    );
    assert_eq!(brief(&plan(&s)[0]), "start new");

    find(&mut s, "w1").phase = Phase::Running;
    s.spent = EXHAUSTED;
    let check = admit_new_spawn(&s, "new");
    assert!(check.decision.is_none(), "the budget answers first");
    assert!(matches!(&check.admission, Admission::Refuse(w) if w.starts_with("spawn refused")));
    assert_eq!(check.running, 1);
}

/// The metering proxy's limits stop the turns they concern, and no worker is admitted after.
#[test]
fn spend_limits_stop_turns_and_new_spawns() {
    let profile = Profile::load("default").unwrap();
    let mut s = base(&profile);
    workers(&mut s, 3, Phase::Running);
    find(&mut s, "w3").phase = Phase::Idle;
    let stops = |s: &Snapshot<'_>, limit| -> Vec<String> {
        stops_for_limit(s, "w1", limit).iter().map(brief).collect()
    };
    let cap = Limit::TurnCap { spent: 9, max: 8 };
    assert_eq!(stops(&s, cap), ["stop w1 turn_over_limit"]);
    let share = Limit::WorkersShare {
        spent: 9,
        share: 8,
        total: 10,
    };
    assert_eq!(
        stops(&s, share),
        ["stop w1 budget_spent", "stop w2 budget_spent"]
    );
    let run = Limit::RunBudget {
        spent: 10,
        total: 10,
    };
    assert_eq!(
        stops(&s, run),
        [
            "stop L budget_spent",
            "stop w1 budget_spent",
            "stop w2 budget_spent"
        ]
    );

    s.agents.push(agent("new", "implementer", Phase::Queued, 9));
    s.spend_limit = Some(share);
    let check = admit_new_spawn(&s, "new");
    assert!(
        matches!(&check.admission, Admission::Refuse(w) if w.starts_with("spawn refused: workers stopped")),
        "{check:?}"
    );
    // Two running workers reserve two turns: 2M - 150K - 2 x 60K leaves room for this one at
    // 1.67M spent, not at 1.69M.
    s.spend_limit = None;
    s.spent = 1_670_000;
    assert!(admit_new_spawn(&s, "new").decision.is_some());
    s.spent = 1_690_000;
    assert!(admit_new_spawn(&s, "new").decision.is_none());
}

//! The control loop's rules, one row each.

use std::time::Duration;

use super::super::*;
use super::{agent, find, ready, task, workers};

/// The default profile's budget leaves no worker turn at this spend (2M total, 150K lead
/// reserve, 60K a turn).
pub(super) const EXHAUSTED: u64 = 1_800_000;

pub(super) type Setup = fn(&mut Snapshot<'_>);

/// (what the row pins, profile, setup over [`base`], the actions in order)
pub(super) const CASES: &[(&str, &str, Setup, &[&str])] = &[
    // ---- queued spawns, caps and budget
    (
        "a queued spawn the ready work wants starts",
        "default",
        |s| {
            ready(s, "t1");
            workers(s, 1, Phase::Queued)
        },
        &["start w1"],
    ),
    (
        "queued spawns are admitted oldest first, the rest refused past the band",
        "default",
        |s| {
            ready(s, "t1");
            workers(s, 2, Phase::Queued);
            find(s, "w1").seq = 9
        },
        &["start w2", "refuse w1"],
    ),
    (
        "past the band a queued spawn of the only role a task needs is still admitted",
        "default",
        |s| {
            ready(s, "t1");
            s.tasks[0].role = Some("tester".into());
            s.ready[0].role = Some("tester".into());
            workers(s, 1, Phase::Queued);
            s.agents.push(agent("x1", "tester", Phase::Queued, 2))
        },
        &["start w1", "start x1"],
    ),
    (
        "a queued spawn waits while blocked work may justify it",
        "default",
        |s| {
            ready(s, "t1");
            s.tasks.push(task("t2", TaskStatus::Open));
            workers(s, 1, Phase::Running);
            s.agents.push(agent("w9", "tester", Phase::Queued, 9))
        },
        &[],
    ),
    (
        "at the cap a queued spawn waits for a slot (fixed-6)",
        "fixed-6",
        |s| {
            workers(s, 6, Phase::Running);
            s.agents.push(agent("w7", "tester", Phase::Queued, 7))
        },
        &[],
    ),
    (
        "fixed-6 admits six queued spawns at once",
        "fixed-6",
        |s| workers(s, 6, Phase::Queued),
        &[
            "start w1", "start w2", "start w3", "start w4", "start w5", "start w6",
        ],
    ),
    (
        "fixed-6 admits only up to the cap",
        "fixed-6",
        |s| {
            workers(s, 5, Phase::Running);
            s.agents.push(agent("x1", "tester", Phase::Queued, 8));
            s.agents.push(agent("x2", "tester", Phase::Queued, 9))
        },
        &["start x1"],
    ),
    (
        "a queued spawn is refused when the budget pays no turn",
        "default",
        |s| {
            ready(s, "t1");
            workers(s, 1, Phase::Queued);
            s.spent = EXHAUSTED
        },
        &["refuse w1"],
    ),
    // ---- mail
    (
        "an idle worker with new mail is resumed",
        "default",
        |s| {
            workers(s, 1, Phase::Idle);
            find(s, "w1").pending = 2
        },
        &["resume w1 messages 2"],
    ),
    (
        "mail already seen does not resume again",
        "default",
        |s| {
            workers(s, 1, Phase::Idle);
            let w = find(s, "w1");
            w.pending = 2;
            w.pending_seen = 2
        },
        &[],
    ),
    (
        "a wake-up with mail resumes even if the mail was seen",
        "default",
        |s| {
            workers(s, 1, Phase::Idle);
            let w = find(s, "w1");
            w.pending = 2;
            w.pending_seen = 2;
            w.wake = true
        },
        &["resume w1 messages 2"],
    ),
    (
        "a wake-up with no mail is settled",
        "default",
        |s| {
            workers(s, 1, Phase::Idle);
            find(s, "w1").wake = true
        },
        &["settle w1 0"],
    ),
    (
        "read mail lowers the seen count",
        "default",
        |s| {
            workers(s, 1, Phase::Idle);
            let w = find(s, "w1");
            w.pending = 1;
            w.pending_seen = 3
        },
        &["settle w1 1"],
    ),
    (
        "mail for a worker is held when the budget pays no resume",
        "default",
        |s| {
            workers(s, 1, Phase::Idle);
            find(s, "w1").pending = 1;
            s.spent = EXHAUSTED
        },
        &["hold w1 1"],
    ),
    (
        "mail for our lead resumes it whatever the budget",
        "default",
        |s| {
            let l = find(s, "L");
            l.phase = Phase::Idle;
            l.pending = 1;
            s.spent = EXHAUSTED
        },
        &["resume L messages 1"],
    ),
    (
        "the user's own lead is never resumed",
        "default",
        |s| {
            s.lead_external = true;
            let l = find(s, "L");
            l.phase = Phase::Idle;
            l.pending = 1
        },
        &["quiet"],
    ),
    (
        "mail wakes a worker retired by idle shutdown",
        "default",
        |s| {
            workers(s, 1, Phase::Stopped);
            let w = find(s, "w1");
            w.retired_idle = true;
            w.pending = 1;
            w.pending_seen = 1
        },
        &["wake w1 1", "resume w1 messages 1"],
    ),
    (
        "resume: a worker held back for its restart note is not resumed by mail",
        "default",
        |s| {
            workers(s, 1, Phase::Stopped);
            find(s, "w1").pending = 1
        },
        &[],
    ),
    // ---- ready work
    (
        "resume: an idle worker is nudged about ready work nobody is on",
        "default",
        |s| {
            ready(s, "t1");
            workers(s, 1, Phase::Idle)
        },
        &["resume w1 tasks 1", "nudged t1@1"],
    ),
    (
        "a ready task is nudged once per version",
        "default",
        |s| {
            ready(s, "t1");
            workers(s, 1, Phase::Idle);
            s.nudged.insert(("t1".into(), 1));
        },
        &[],
    ),
    (
        "no idle worker of the task's role: nobody is nudged",
        "default",
        |s| {
            ready(s, "t1");
            s.ready[0].role = Some("reviewer".into());
            workers(s, 1, Phase::Idle)
        },
        &[],
    ),
    (
        "a running worker able to take a ready task is left to take it",
        "default",
        |s| {
            ready(s, "t1");
            workers(s, 2, Phase::Idle);
            find(s, "w1").phase = Phase::Running
        },
        &[],
    ),
    (
        "expired claim: its running claimant does not count as taking it",
        "default",
        |s| {
            ready(s, "t1");
            s.ready[0].claimed_by = Some("w1".into());
            workers(s, 2, Phase::Idle);
            find(s, "w1").phase = Phase::Running
        },
        &["resume w2 tasks 1", "nudged t1@1"],
    ),
    (
        "the worker idle longest is nudged, and one nudge covers the next task",
        "default",
        |s| {
            ready(s, "t1");
            ready(s, "t2");
            workers(s, 2, Phase::Idle);
            find(s, "w2").idle_for = Duration::from_secs(50);
            find(s, "w1").idle_for = Duration::from_secs(5)
        },
        &["resume w2 tasks 1", "nudged t1@1"],
    ),
    (
        "a worker resumed for mail is not also nudged for a task",
        "default",
        |s| {
            ready(s, "t1");
            workers(s, 1, Phase::Idle);
            find(s, "w1").pending = 1
        },
        &["resume w1 messages 1"],
    ),
    (
        "no task nudge when the budget pays no resume",
        "default",
        |s| {
            ready(s, "t1");
            workers(s, 1, Phase::Idle);
            s.spent = EXHAUSTED
        },
        &[],
    ),
    // ---- idle shutdown
    (
        "idle shutdown retires a worker idle past the limit",
        "fast",
        |s| {
            workers(s, 1, Phase::Idle);
            find(s, "w1").idle_for = Duration::from_secs(61)
        },
        &["retire w1 idle resumable=true"],
    ),
    (
        "a worker with no thread is retired for good",
        "fast",
        |s| {
            workers(s, 1, Phase::Idle);
            let w = find(s, "w1");
            w.idle_for = Duration::from_secs(61);
            w.has_thread = false
        },
        &["retire w1 idle resumable=false"],
    ),
    (
        "idle shutdown waits while mail is unread",
        "fast",
        |s| {
            workers(s, 1, Phase::Idle);
            let w = find(s, "w1");
            w.idle_for = Duration::from_secs(400);
            w.pending = 1;
            w.pending_seen = 1
        },
        &[],
    ),
    (
        "a worker under the idle limit stays",
        "default",
        |s| {
            workers(s, 1, Phase::Idle);
            find(s, "w1").idle_for = Duration::from_secs(299)
        },
        &[],
    ),
    // ---- early stop: the board is done
    (
        "board done: the idle lead is asked once to merge and finalize",
        "default",
        |s| {
            find(s, "L").phase = Phase::Idle;
            s.tasks.push(task("t1", TaskStatus::Done));
            s.tasks.push(task("t2", TaskStatus::Failed));
            workers(s, 1, Phase::Idle)
        },
        &["resume L board_done 1/1"],
    ),
    (
        "board clean, the idle lead has no mail: the supervisor finalizes without it",
        "default",
        |s| {
            find(s, "L").phase = Phase::Idle;
            s.tasks.push(task("t1", TaskStatus::Done));
            workers(s, 1, Phase::Idle)
        },
        &["finalize_clean 1", "quiet"],
    ),
    (
        "board clean, the lead's only mail is a note it was not woken for: finalized without it",
        "default",
        |s| {
            let l = find(s, "L");
            l.phase = Phase::Idle;
            (l.pending, l.pending_seen, l.notes) = (1, 1, 1);
            s.tasks.push(task("t1", TaskStatus::Done));
            workers(s, 1, Phase::Idle)
        },
        &["finalize_clean 1", "quiet"],
    ),
    (
        "board clean, a note and a real message wait for the lead: it reads them",
        "default",
        |s| {
            let l = find(s, "L");
            l.phase = Phase::Idle;
            (l.pending, l.pending_seen, l.notes) = (2, 1, 1);
            s.tasks.push(task("t1", TaskStatus::Done))
        },
        &["resume L messages 2"],
    ),
    (
        "board clean but mail waits for the lead: it reads it, nothing is finalized",
        "default",
        |s| {
            let l = find(s, "L");
            l.phase = Phase::Idle;
            l.pending = 1;
            s.tasks.push(task("t1", TaskStatus::Done))
        },
        &["resume L messages 1"],
    ),
    (
        "board done but a worker is still busy: the lead waits",
        "default",
        |s| {
            find(s, "L").phase = Phase::Idle;
            s.tasks.push(task("t1", TaskStatus::Done));
            workers(s, 1, Phase::Running)
        },
        &[],
    ),
    (
        "board done and the lead already told",
        "default",
        |s| {
            find(s, "L").phase = Phase::Idle;
            s.tasks.push(task("t1", TaskStatus::Done));
            s.board_done_nudged = true
        },
        &["quiet"],
    ),
    (
        "lead gone: a failed lead is not nudged, the team goes quiet",
        "default",
        |s| {
            find(s, "L").phase = Phase::Failed;
            s.tasks.push(task("t1", TaskStatus::Done));
            workers(s, 1, Phase::Idle)
        },
        &["quiet"],
    ),
    // ---- finalized
    (
        "finalized in the store: noted; queued and idle workers retire, running ones drain",
        "default",
        |s| {
            s.store_finalized = true;
            workers(s, 3, Phase::Idle);
            find(s, "w1").phase = Phase::Queued;
            find(s, "w3").phase = Phase::Running
        },
        &["finalized", "retire w1 team_ended", "retire w2 team_ended"],
    ),
    (
        "drain over: running workers are stopped, once",
        "default",
        |s| {
            s.finalized_for = Some(Duration::from_secs(20));
            workers(s, 2, Phase::Running);
            find(s, "w2").stop_requested = true
        },
        &["stop w1 drained"],
    ),
    (
        "a stopping team is left alone",
        "default",
        |s| {
            s.stopping = true;
            workers(s, 1, Phase::Idle);
            find(s, "w1").pending = 3
        },
        &[],
    ),
    // ---- budget while turns run
    (
        "a turn over the per-turn limit is stopped",
        "default",
        |s| {
            workers(s, 2, Phase::Running);
            find(s, "w1").turn_tokens = Some(400_001);
            find(s, "w2").turn_tokens = Some(400_000)
        },
        &["stop w1 turn_over_limit"],
    ),
    (
        "a spent budget stops every running worker turn",
        "default",
        |s| {
            workers(s, 2, Phase::Running);
            find(s, "w2").stop_requested = true;
            s.spent = 2_000_000
        },
        &["stop w1 budget_spent"],
    ),
    // ---- quiet
    (
        "nothing runs and nothing is owed: quiet",
        "default",
        |s| {
            find(s, "L").phase = Phase::Idle;
            workers(s, 1, Phase::Idle)
        },
        &["quiet"],
    ),
    (
        "a quiet team with a running turn is active again",
        "default",
        |s| s.quiet = true,
        &["active"],
    ),
    // ---- ready work nobody can take
    (
        "ready tasks and no worker at all: the idle lead is told to staff them",
        "default",
        |s| {
            ready(s, "t1");
            ready(s, "t2");
            find(s, "L").phase = Phase::Idle
        },
        &[
            "resume L unstaffed t1,t2",
            "lead told t1@1",
            "lead told t2@1",
        ],
    ),
    (
        "ready work no worker fits goes to the lead; the one a worker fits to the worker",
        "default",
        |s| {
            ready(s, "t1");
            ready(s, "t2");
            s.tasks[1].role = Some("tester".into());
            s.ready[1].role = Some("tester".into());
            workers(s, 1, Phase::Idle);
            find(s, "L").phase = Phase::Idle
        },
        &[
            "resume w1 tasks 1",
            "nudged t1@1",
            "resume L unstaffed t2",
            "lead told t2@1",
        ],
    ),
    (
        "unstaffed work the lead was already told of at this version: nothing",
        "default",
        |s| {
            ready(s, "t1");
            s.lead_told.insert(("t1".into(), 1));
            find(s, "L").phase = Phase::Idle
        },
        &["quiet"],
    ),
    (
        "a task a worker was nudged about, with no worker left: the lead still hears of it",
        "default",
        |s| {
            ready(s, "t1");
            s.nudged.insert(("t1".into(), 1));
            find(s, "L").phase = Phase::Idle
        },
        &["resume L unstaffed t1", "lead told t1@1"],
    ),
    (
        "a task the lead was told of, then a fitting worker idles: the worker is nudged",
        "default",
        |s| {
            ready(s, "t1");
            s.lead_told.insert(("t1".into(), 1));
            workers(s, 1, Phase::Idle);
            find(s, "L").phase = Phase::Idle
        },
        &["resume w1 tasks 1", "nudged t1@1"],
    ),
    (
        "unstaffed work while the lead runs: it may be staffing now",
        "default",
        |s| ready(s, "t1"),
        &[],
    ),
    (
        "the user's own lead is never resumed for unstaffed work",
        "default",
        |s| {
            ready(s, "t1");
            s.lead_external = true;
            find(s, "L").phase = Phase::Idle
        },
        &["quiet"],
    ),
];

//! Adaptive fan-out (SPEC §6): how many workers the team should run right now. The lead asks
//! for workers; this decides, from the task graph, the workers already there, the budget and
//! the profile. Each worker costs a full Codex request overhead on every turn, so the team
//! grows only when ready, independent work justifies it, and never past 6.

use std::fmt;

use serde::Serialize;

use super::budget;
use super::profile::{Mode, Profile};

/// A task's size estimate: how much work one worker has with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskSize {
    Small,
    Medium,
    Large,
}

impl TaskSize {
    /// Estimates a task's size from its text: an explicit `size: small|medium|large` tag (the
    /// lead can write it in the description) wins, else the description's length decides
    /// (under 400 bytes small, under 1500 medium, else large).
    pub fn estimate(text: &str) -> TaskSize {
        let lower = text.to_ascii_lowercase();
        for (tag, size) in [
            ("small", TaskSize::Small),
            ("medium", TaskSize::Medium),
            ("large", TaskSize::Large),
        ] {
            if lower.contains(&format!("size: {tag}")) || lower.contains(&format!("size:{tag}")) {
                return size;
            }
        }
        match text.len() {
            0..400 => TaskSize::Small,
            400..1500 => TaskSize::Medium,
            _ => TaskSize::Large,
        }
    }

    fn weight(self, profile: &Profile) -> u64 {
        let w = &profile.fanout.weights;
        u64::from(match self {
            TaskSize::Small => w.small,
            TaskSize::Medium => w.medium,
            TaskSize::Large => w.large,
        })
    }
}

/// The team-size band a decision falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Band {
    /// No parallel work at all: no workers needed.
    Idle,
    Small,
    Medium,
    High,
}

impl fmt::Display for Band {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Band::Idle => "idle",
            Band::Small => "small",
            Band::Medium => "medium",
            Band::High => "high",
        })
    }
}

/// What bounded the target: the reason a lead asking for more gets a no.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Limit {
    /// The ready work and its band.
    Work,
    /// `max_threads` (or the hard cap of 6).
    Cap,
    /// The tokens left.
    Budget,
    /// `mode: fixed`: the size is the cap whatever the work.
    Fixed,
}

/// The facts a decision is made from; the supervisor reads them from the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FanoutInput {
    /// Ready tasks nobody holds (all dependencies done), with size estimates.
    pub ready: Vec<TaskSize>,
    /// Claimed tasks being worked on.
    pub in_progress: Vec<TaskSize>,
    /// Tasks still waiting on dependencies.
    pub blocked: usize,
    /// Workers in a turn now (including admitted spawns still starting).
    pub running: usize,
    /// Workers whose turn ended and that can be resumed.
    pub idle: usize,
    /// Tokens spent so far by the whole team.
    pub tokens_spent: u64,
    /// Cost of one worker turn; `None`: the profile's `budget.worker_turn_estimate`.
    pub worker_turn_estimate: Option<u64>,
}

/// The controller's decision: how many workers should be working, and how to get there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub band: Band,
    /// Workers that should be working after this decision.
    pub target: usize,
    /// Workers already working (from the input).
    pub running: usize,
    /// Idle workers to resume (reused before any new one is spawned).
    pub resume: usize,
    /// New workers to spawn.
    pub spawn: usize,
    /// The profile's cap (`max_threads`, at most 6).
    pub cap: usize,
    /// Blocked tasks: work that may justify more workers later.
    pub blocked: usize,
    pub limited_by: Limit,
    /// No worker turn fits in the budget any more.
    pub budget_exhausted: bool,
    /// One or two sentences for the log and for the lead.
    pub reason: String,
}

/// Decides the team size now. Pure: same profile and input, same decision.
pub fn decide(profile: &Profile, input: &FanoutInput) -> Decision {
    let cap = profile.cap();
    let ready = input.ready.len();
    let work = ready + input.in_progress.len();
    let weight: u64 = input
        .ready
        .iter()
        .chain(&input.in_progress)
        .map(|s| s.weight(profile))
        .sum();
    let f = &profile.fanout;

    let (band, wanted, mut limited_by, mut reason) = match profile.mode {
        Mode::Fixed => (
            band_of_count(profile, cap),
            cap,
            Limit::Fixed,
            format!("fixed mode: always {cap} workers"),
        ),
        Mode::Adaptive if work == 0 => (
            Band::Idle,
            0,
            Limit::Work,
            format!(
                "no ready or claimed tasks ({} blocked): no workers needed",
                input.blocked
            ),
        ),
        Mode::Adaptive => {
            let meets = |min_ready: u32, min_weight: u32| {
                work >= min_ready as usize && weight >= u64::from(min_weight)
            };
            let (band, min, max) = if meets(f.high.min_ready, f.high.min_weight) {
                (Band::High, f.high.min_workers, f.high.max_workers)
            } else if meets(f.medium.min_ready, f.medium.min_weight) {
                (Band::Medium, f.medium.min_workers, f.medium.max_workers)
            } else {
                (Band::Small, f.small.min_workers, f.small.max_workers)
            };
            // Within the band, one worker per parallel task; never more workers than tasks.
            let n = work.clamp(min as usize, max as usize).min(work);
            (
                band,
                n,
                Limit::Work,
                format!(
                    "{work} parallel tasks ({ready} ready, {} claimed; weight {weight}) select the {band} band ({min}-{max} workers): {n} wanted",
                    input.in_progress.len()
                ),
            )
        }
    };

    let mut target = wanted;
    if wanted > cap {
        target = cap;
        limited_by = Limit::Cap;
        reason.push_str(&format!(", capped at max_threads {cap}"));
    }

    let need = target.saturating_sub(input.running);
    let affordable =
        budget::affordable_turns(profile, input.tokens_spent, input.worker_turn_estimate);
    let budget_exhausted = affordable == 0;
    let mut start = need;
    if affordable < need {
        start = affordable;
        target = input.running + affordable;
        limited_by = Limit::Budget;
        if budget_exhausted {
            reason = format!(
                "{reason}; no new workers: {}",
                budget::exhausted_reason(profile, input.tokens_spent, input.worker_turn_estimate)
            );
        } else {
            reason.push_str(&format!(
                "; the budget pays for only {affordable} more worker turns"
            ));
        }
    }
    let resume = start.min(input.idle);
    let spawn = start - resume;
    reason.push_str(&format!(
        "; {} running, resume {resume} idle, spawn {spawn} new",
        input.running
    ));
    Decision {
        band,
        target,
        running: input.running,
        resume,
        spawn,
        cap,
        blocked: input.blocked,
        limited_by,
        budget_exhausted,
        reason,
    }
}

/// The band whose worker range holds `n` (for reporting fixed-mode decisions).
fn band_of_count(profile: &Profile, n: usize) -> Band {
    let f = &profile.fanout;
    if n == 0 {
        Band::Idle
    } else if n >= f.high.min_workers as usize {
        Band::High
    } else if n >= f.medium.min_workers as usize {
        Band::Medium
    } else {
        Band::Small
    }
}

/// The controller's answer to a spawn request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "admission", content = "reason", rename_all = "lowercase")]
pub enum Admission {
    Allow,
    /// Not now; it may be admitted later (a slot frees, blocked work becomes ready).
    Wait(String),
    /// Not for this work: the reason says what would have to change.
    Refuse(String),
}

/// Whether a spawn of `role` must be admitted although the ready work does not justify
/// another worker: an unfinished task needs exactly that role (`task_roles`: the roles of
/// tasks not yet done or failed) and no other worker of the team has it (`other_roles`).
/// Refusing it would leave that task with nobody able to take it, and the run stalls.
pub fn sole_worker_for_a_task(
    role: &str,
    task_roles: &[Option<&str>],
    other_roles: &[&str],
) -> bool {
    task_roles.contains(&Some(role)) && !other_roles.contains(&role)
}

/// Admits `requested` new workers while `running` are working, against a fresh `decision`.
/// Idle workers the decision plans to resume count first, so new ones are spawned only
/// beyond them.
pub fn admit_spawn(decision: &Decision, running: usize, requested: usize) -> Admission {
    if requested == 0 {
        return Admission::Allow;
    }
    let cap = decision.cap;
    if requested > cap {
        return Admission::Refuse(format!(
            "{requested} workers requested, over the cap of {cap} concurrent workers"
        ));
    }
    let room = decision.target.saturating_sub(running + decision.resume);
    if requested <= room {
        return Admission::Allow;
    }
    if decision.budget_exhausted || decision.limited_by == Limit::Budget {
        return Admission::Refuse(decision.reason.clone());
    }
    if decision.resume > 0 && requested <= decision.target.saturating_sub(running) {
        return Admission::Refuse(format!(
            "{} idle worker(s) can take this work: resume them before spawning new ones",
            decision.resume
        ));
    }
    if matches!(decision.limited_by, Limit::Cap | Limit::Fixed) {
        return Admission::Wait(format!(
            "{running} running and {requested} requested would pass the cap of {cap} concurrent workers; the spawn waits for a free slot"
        ));
    }
    let justified = format!(
        "the ready work justifies {} workers ({} band) and {running} are running",
        decision.target, decision.band
    );
    if decision.blocked > 0 {
        return Admission::Wait(format!(
            "{justified}; {} blocked tasks may justify more when their dependencies are done",
            decision.blocked
        ));
    }
    Admission::Refuse(format!("{justified}; create more independent tasks first"))
}

#[cfg(test)]
mod tests;

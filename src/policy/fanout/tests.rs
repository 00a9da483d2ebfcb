use super::*;

fn sizes(s: &str) -> Vec<TaskSize> {
    s.chars()
        .map(|c| match c {
            's' => TaskSize::Small,
            'm' => TaskSize::Medium,
            'l' => TaskSize::Large,
            _ => panic!("size {c}"),
        })
        .collect()
}

/// ready, in progress, blocked, running, idle, tokens spent.
fn input(
    ready: &str,
    in_progress: &str,
    blocked: usize,
    running: usize,
    idle: usize,
    spent: u64,
) -> FanoutInput {
    FanoutInput {
        ready: sizes(ready),
        in_progress: sizes(in_progress),
        blocked,
        running,
        idle,
        tokens_spent: spent,
        worker_turn_estimate: None,
    }
}

fn profile(name: &str) -> Profile {
    Profile::load(name).unwrap()
}

struct Case {
    what: &'static str,
    profile: &'static str,
    input: FanoutInput,
    band: Band,
    target: usize,
    resume: usize,
    spawn: usize,
    limited_by: Limit,
}

#[test]
fn fanout_table() {
    use Band::*;
    use Limit::*;
    let c = |what, profile, input, band, target, resume, spawn, limited_by| Case {
        what,
        profile,
        input,
        band,
        target,
        resume,
        spawn,
        limited_by,
    };
    // default: weights s1 m2 l3; small 1-2; medium >=3 tasks & weight >=5 -> 3-4;
    // high >=5 tasks & weight >=9 -> 5-6; cap 6; 1_850_000 tokens for workers at 60_000 a turn.
    let cases = vec![
        c(
            "empty board",
            "default",
            input("", "", 0, 0, 0, 0),
            Idle,
            0,
            0,
            0,
            Work,
        ),
        c(
            "only blocked work",
            "default",
            input("", "", 4, 0, 0, 0),
            Idle,
            0,
            0,
            0,
            Work,
        ),
        c(
            "one small task",
            "default",
            input("s", "", 0, 0, 0, 0),
            Small,
            1,
            0,
            1,
            Work,
        ),
        c(
            "two small tasks",
            "default",
            input("ss", "", 0, 0, 0, 0),
            Small,
            2,
            0,
            2,
            Work,
        ),
        c(
            "three tiny tasks stay small",
            "default",
            input("sss", "", 0, 0, 0, 0),
            Small,
            2,
            0,
            2,
            Work,
        ),
        c(
            "two large tasks stay small",
            "default",
            input("ll", "", 0, 0, 0, 0),
            Small,
            2,
            0,
            2,
            Work,
        ),
        c(
            "three medium tasks",
            "default",
            input("mmm", "", 0, 0, 0, 0),
            Medium,
            3,
            0,
            3,
            Work,
        ),
        c(
            "four medium tasks",
            "default",
            input("mmmm", "", 0, 0, 0, 0),
            Medium,
            4,
            0,
            4,
            Work,
        ),
        c(
            "five small tasks",
            "default",
            input("sssss", "", 0, 0, 0, 0),
            Medium,
            4,
            0,
            4,
            Work,
        ),
        c(
            "five medium tasks",
            "default",
            input("mmmmm", "", 0, 0, 0, 0),
            High,
            5,
            0,
            5,
            Work,
        ),
        c(
            "six medium tasks",
            "default",
            input("mmmmmm", "", 0, 0, 0, 0),
            High,
            6,
            0,
            6,
            Work,
        ),
        c(
            "eight large tasks, never past 6",
            "default",
            input("llllllll", "", 0, 0, 0, 0),
            High,
            6,
            0,
            6,
            Work,
        ),
        c(
            "claimed work counts",
            "default",
            input("mm", "mmm", 0, 3, 0, 0),
            High,
            5,
            0,
            2,
            Work,
        ),
        c(
            "all claimed: no growth",
            "default",
            input("", "mmmmm", 3, 5, 0, 0),
            High,
            5,
            0,
            0,
            Work,
        ),
        c(
            "more running than wanted",
            "default",
            input("", "mm", 0, 4, 0, 0),
            Small,
            2,
            0,
            0,
            Work,
        ),
        c(
            "idle reused first",
            "default",
            input("mmm", "", 0, 0, 2, 0),
            Medium,
            3,
            2,
            1,
            Work,
        ),
        c(
            "idle covers it",
            "default",
            input("m", "", 0, 0, 3, 0),
            Small,
            1,
            1,
            0,
            Work,
        ),
        c(
            "budget exhausted",
            "default",
            input("mmmmm", "", 0, 0, 0, 1_800_000),
            High,
            0,
            0,
            0,
            Budget,
        ),
        c(
            "budget exhausted keeps the running",
            "default",
            input("mmm", "m", 0, 1, 2, 1_850_000),
            Medium,
            1,
            0,
            0,
            Budget,
        ),
        c(
            "budget pays for two",
            "default",
            input("mmmmm", "", 0, 0, 1, 1_700_000),
            High,
            2,
            1,
            1,
            Budget,
        ),
        c(
            "cap of fast",
            "fast",
            input("llllllll", "", 0, 0, 0, 0),
            High,
            3,
            0,
            3,
            Cap,
        ),
        c(
            "fast at cap with idle",
            "fast",
            input("llllll", "", 0, 1, 1, 0),
            High,
            3,
            1,
            1,
            Cap,
        ),
        c(
            "fixed-6 with nothing ready",
            "fixed-6",
            input("", "", 0, 0, 0, 0),
            High,
            6,
            0,
            6,
            Fixed,
        ),
        c(
            "fixed-6 with one small task",
            "fixed-6",
            input("s", "", 0, 0, 0, 0),
            High,
            6,
            0,
            6,
            Fixed,
        ),
        c(
            "fixed-6 reuses idle",
            "fixed-6",
            input("mm", "", 0, 1, 2, 0),
            High,
            6,
            2,
            3,
            Fixed,
        ),
        c(
            "fixed-6 full",
            "fixed-6",
            input("mm", "", 0, 6, 0, 0),
            High,
            6,
            0,
            0,
            Fixed,
        ),
        c(
            "fixed-6 out of budget",
            "fixed-6",
            input("mm", "", 0, 0, 0, 1_850_000),
            High,
            0,
            0,
            0,
            Budget,
        ),
    ];
    for case in cases {
        let p = profile(case.profile);
        let d = decide(&p, &case.input);
        let got = (d.band, d.target, d.resume, d.spawn, d.limited_by);
        let want = (
            case.band,
            case.target,
            case.resume,
            case.spawn,
            case.limited_by,
        );
        assert_eq!(got, want, "{}: {}", case.what, d.reason);
        // Invariants of every decision.
        assert!(d.target <= 6 && d.target <= p.cap(), "{}", case.what);
        assert!(
            d.running + d.resume + d.spawn <= 6.max(d.running),
            "{}",
            case.what
        );
        assert!(d.resume <= case.input.idle, "{}", case.what);
        if p.mode == Mode::Adaptive {
            assert!(
                d.resume + d.spawn <= case.input.ready.len(),
                "{}: more new workers than ready tasks",
                case.what
            );
        }
        assert_eq!(
            decide(&p, &case.input),
            d,
            "{}: not deterministic",
            case.what
        );
    }
}

#[test]
fn reasons_say_why() {
    let p = profile("default");
    let d = decide(&p, &input("mmmmm", "", 0, 0, 0, 1_800_000));
    assert!(d.budget_exhausted);
    assert!(d.reason.contains("token budget exhausted"), "{}", d.reason);
    assert!(d.reason.contains("50000 left for workers"), "{}", d.reason);
    let d = decide(&p, &input("mmm", "", 0, 0, 0, 0));
    assert!(
        d.reason.contains("medium band (3-4 workers)"),
        "{}",
        d.reason
    );
    assert!(!d.budget_exhausted);
    let d = decide(&profile("fast"), &input("llllllll", "", 0, 0, 0, 0));
    assert!(d.reason.contains("capped at max_threads 3"), "{}", d.reason);
    let d = decide(&profile("fixed-6"), &input("", "", 0, 0, 0, 0));
    assert!(
        d.reason.starts_with("fixed mode: always 6 workers"),
        "{}",
        d.reason
    );
    // A measured turn cost replaces the profile's estimate.
    let mut i = input("mmmmm", "", 0, 0, 0, 1_000_000);
    i.worker_turn_estimate = Some(400_000);
    let d = decide(&p, &i);
    assert_eq!((d.target, d.limited_by), (2, Limit::Budget), "{}", d.reason);
}

#[test]
fn admit_spawn_table() {
    let p = profile("default");
    let medium = decide(&p, &input("mmm", "", 0, 0, 0, 0)); // target 3
    let medium_blocked = decide(&p, &input("mmm", "", 2, 0, 0, 0));
    let with_idle = decide(&p, &input("mmm", "", 0, 0, 2, 0)); // resume 2, spawn 1
    let broke = decide(&p, &input("mmmmm", "", 0, 0, 0, 1_800_000));
    let tight = decide(&p, &input("mmmmm", "", 0, 0, 0, 1_700_000)); // budget: 2
    let fast_cap = decide(&profile("fast"), &input("llllllll", "", 0, 0, 0, 0)); // 3, capped
    let fixed = decide(&profile("fixed-6"), &input("", "", 0, 0, 0, 0));

    enum Want {
        Allow,
        Wait(&'static str),
        Refuse(&'static str),
    }
    let cases: Vec<(&str, &Decision, usize, usize, Want)> = vec![
        ("nothing requested", &broke, 6, 0, Want::Allow),
        ("within target", &medium, 0, 3, Want::Allow),
        ("last one of target", &medium, 2, 1, Want::Allow),
        (
            "past target, nothing blocked",
            &medium,
            3,
            1,
            Want::Refuse("justifies 3 workers (medium band)"),
        ),
        (
            "past target, blocked work",
            &medium_blocked,
            3,
            1,
            Want::Wait("2 blocked tasks"),
        ),
        (
            "over the hard cap",
            &fixed,
            0,
            7,
            Want::Refuse("over the cap of 6"),
        ),
        (
            "budget exhausted",
            &broke,
            0,
            1,
            Want::Refuse("token budget exhausted"),
        ),
        (
            "budget-limited",
            &tight,
            2,
            1,
            Want::Refuse("pays for only 2"),
        ),
        (
            "idle first",
            &with_idle,
            0,
            2,
            Want::Refuse("2 idle worker(s)"),
        ),
        ("new beyond the idle", &with_idle, 0, 1, Want::Allow),
        ("at the cap", &fast_cap, 3, 1, Want::Wait("cap of 3")),
        ("fixed full", &fixed, 6, 1, Want::Wait("cap of 6")),
        ("fixed room", &fixed, 4, 2, Want::Allow),
    ];
    for (what, d, running, requested, want) in cases {
        let got = admit_spawn(d, running, requested);
        match (&got, want) {
            (Admission::Allow, Want::Allow) => {}
            (Admission::Wait(r), Want::Wait(frag)) | (Admission::Refuse(r), Want::Refuse(frag)) => {
                assert!(r.contains(frag), "{what}: {r:?} lacks {frag:?}")
            }
            _ => panic!("{what}: got {got:?}"),
        }
    }
}

#[test]
fn fast_and_deep_differ_on_the_same_graph() {
    // Only the profile changes: the task graph and spend are the same.
    let fast = profile("fast");
    let deep = profile("deep");
    let six = input("mmmmmm", "", 2, 0, 0, 0);
    let (df, dd) = (decide(&fast, &six), decide(&deep, &six));
    assert_eq!((df.target, df.limited_by), (3, Limit::Cap), "{}", df.reason);
    assert_eq!((dd.target, dd.band), (6, Band::High), "{}", dd.reason);
    let three = input("mmm", "", 0, 0, 0, 0);
    let (df, dd) = (decide(&fast, &three), decide(&deep, &three));
    assert_eq!((df.band, df.target), (Band::Small, 2), "{}", df.reason);
    assert_eq!((dd.band, dd.target), (Band::Medium, 3), "{}", dd.reason);
    // Budgets.
    assert_eq!(fast.budget.total_tokens, 600_000);
    assert_eq!(deep.budget.total_tokens, 6_000_000);
    let spent = 500_000;
    assert_eq!(decide(&fast, &input("mmm", "", 0, 0, 0, spent)).target, 1);
    assert_eq!(decide(&deep, &input("mmm", "", 0, 0, 0, spent)).target, 3);
    // Effort and the per-turn limits.
    let impl_f = fast.role("implementer").unwrap();
    let impl_d = deep.role("implementer").unwrap();
    assert_eq!(impl_f.effort, Some(crate::policy::profile::Effort::Low));
    assert_eq!(impl_d.effort, Some(crate::policy::profile::Effort::High));
    assert_eq!(
        fast.role("lead").unwrap().effort,
        Some(crate::policy::profile::Effort::Low)
    );
    assert_eq!(
        deep.role("lead").unwrap().effort,
        Some(crate::policy::profile::Effort::High)
    );
    assert!(fast.timeouts.worker_turn_secs < deep.timeouts.worker_turn_secs);
    assert!(fast.idle_shutdown_secs < deep.idle_shutdown_secs);
}

#[test]
fn size_estimates() {
    let cases: &[(&str, TaskSize)] = &[
        ("fix a typo", TaskSize::Small),
        ("Size: large. fix a typo", TaskSize::Large),
        ("size:medium", TaskSize::Medium),
        (&"x".repeat(500), TaskSize::Medium),
        (&"x".repeat(2000), TaskSize::Large),
    ];
    for (text, want) in cases {
        assert_eq!(
            TaskSize::estimate(text),
            *want,
            "{}",
            &text[..text.len().min(30)]
        );
    }
}

#[test]
fn a_spawn_for_a_role_no_other_worker_has_is_justified_by_its_task() {
    use super::sole_worker_for_a_task as sole;
    let tasks = [Some("implementer"), Some("tester"), None];
    assert!(sole("tester", &tasks, &["implementer"]));
    assert!(!sole("tester", &tasks, &["implementer", "tester"]));
    assert!(
        !sole("reviewer", &tasks, &["implementer"]),
        "no task needs a reviewer"
    );
    assert!(
        !sole("implementer", &[None], &[]),
        "a role-less task is anyone's"
    );
}

//! The same job under the `fast` and `deep` profiles, with nothing else changed: six
//! independent ready tasks (fixtures/smoke) and a lead that asks for six implementers.
//! `fast` runs at most 3 workers at low effort; `deep` fans out to 5-6 at high effort
//! (profiles/*.team.yaml, skills/agent-teams/references/policies.md). Both finish the job.

mod common;

use std::time::Duration;

use codex_teams::policy::profile::Profile;
use common::*;
use serde_json::Value;

/// Runs `smoke high` on a fresh copy of the six smoke modules under `profile`.
fn run_high(profile: &str) -> (Value, Vec<Value>, bool) {
    let w = World::new();
    for f in std::fs::read_dir(&w.repo).unwrap() {
        std::fs::remove_file(f.unwrap().path()).unwrap();
    }
    for i in 1..=6 {
        for f in [format!("m{i}.py"), format!("test_m{i}.py")] {
            std::fs::copy(root().join("fixtures/smoke").join(&f), w.repo.join(&f)).unwrap();
        }
    }
    assert!(
        !w.unittest_passes(),
        "the smoke modules must fail before the run"
    );
    let out = output_within(
        w.run_cmd(
            "smoke.yaml",
            "smoke high: fix the failing test in each of these modules: m1 m2 m3 m4 m5 m6",
            &["--profile", profile],
        ),
        Duration::from_secs(200),
    );
    let s = summary(&out);
    assert!(
        out.status.success(),
        "{profile}: {s}\n{}",
        text(&out.stderr)
    );
    (s, w.requests(), w.unittest_passes())
}

/// The reasoning efforts codex sent for the implementers' requests.
fn worker_efforts(reqs: &[Value]) -> Vec<String> {
    reqs.iter()
        .filter(|r| body_contains(r, "role: implementer") && !body_contains(r, "role: lead"))
        .map(|r| {
            r["body"]["reasoning"]["effort"]
                .as_str()
                .unwrap_or("<none>")
                .to_string()
        })
        .collect()
}

#[test]
fn fast_and_deep_differ_in_agents_and_effort_with_only_the_profile_changed() {
    let fast = Profile::load("fast").unwrap();
    let deep = Profile::load("deep").unwrap();
    assert!(
        fast.cap() < deep.cap(),
        "fast {} deep {}",
        fast.cap(),
        deep.cap()
    );

    let (fs, freqs, fast_ok) = run_high("fast");
    let (ds, dreqs, deep_ok) = run_high("deep");
    for (name, s, reqs, ok) in [
        ("fast", &fs, &freqs, fast_ok),
        ("deep", &ds, &dreqs, deep_ok),
    ] {
        assert_eq!(s["status"], "finalized", "{name}: {s}");
        assert_eq!(s["tasks"]["done"], 6, "{name}: {s}");
        assert!(ok, "{name}: the modules' tests fail after the run");
        assert_all_matched(reqs);
    }

    // The cap is on workers alive at once: a spawn past it waits for a slot (issue 11), so
    // how many fast starts in all depends on when slots free; how many ran together does not.
    let fast_agents = fs["agents_spawned"].as_u64().unwrap();
    let deep_agents = ds["agents_spawned"].as_u64().unwrap();
    let fast_peak = fs["peak_threads"].as_u64().unwrap();
    let deep_peak = ds["peak_threads"].as_u64().unwrap();
    println!(
        "agents: fast {fast_agents} (peak {fast_peak}), deep {deep_agents} (peak {deep_peak})"
    );
    assert!(
        (1..=fast.cap() as u64).contains(&fast_peak),
        "fast ran {fast_peak} workers at once, its cap is {}",
        fast.cap()
    );
    assert!((5..=6).contains(&deep_peak), "deep ran {deep_peak} at once");
    assert!((5..=6).contains(&deep_agents), "deep spawned {deep_agents}");
    assert!(fast_peak < deep_peak);

    let fe = worker_efforts(&freqs);
    let de = worker_efforts(&dreqs);
    println!("worker efforts: fast {fe:?}, deep {de:?}");
    assert!(
        !fe.is_empty() && fe.iter().all(|e| e == "low"),
        "fast: {fe:?}"
    );
    assert!(
        !de.is_empty() && de.iter().all(|e| e == "high"),
        "deep: {de:?}"
    );
}

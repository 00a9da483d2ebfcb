//! The budget holds while turns run (issue 16): the metering proxy in front of the model
//! counts every response as it is served and refuses a request the budget cannot pay for, so
//! what the scripted model serves (its own request log, not our summary) stays within the
//! budget, a runaway worker turn stops at its cap, and the summary equals what was served.

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

/// Input + output tokens the scripted model served, from its request log.
fn served(reqs: &[Value]) -> i64 {
    sum(reqs, "input_tokens") + sum(reqs, "output_tokens")
}

/// The summary's input + output tokens.
fn summarized(s: &Value) -> i64 {
    s["tokens"]["input"].as_i64().unwrap() + s["tokens"]["output"].as_i64().unwrap()
}

fn within_2_percent(a: i64, b: i64) -> bool {
    (a - b).abs() * 50 <= b.max(1)
}

/// The six-module smoke job under a 60K-token budget: the model serves at most 1.25x the
/// budget, every response is in the summary, and nothing is left running.
#[test]
fn a_60k_budget_on_the_six_module_job_holds() {
    let w = World::new();
    let mut names = String::new();
    for i in 1..=6 {
        for f in [format!("m{i}.py"), format!("test_m{i}.py")] {
            std::fs::copy(root().join("fixtures/smoke").join(&f), w.repo.join(&f)).unwrap();
        }
        names.push_str(&format!(" m{i}"));
    }
    let profile = root().join("fixtures/profiles/budget-60k.team.yaml");
    let task = format!("smoke high: fix the failing test in each of these modules:{names}");
    let out = output_within(
        w.run_cmd(
            "smoke.yaml",
            &task,
            &["--profile", profile.to_str().unwrap()],
        ),
        Duration::from_secs(180),
    );
    let s = summary(&out);
    let reqs = w.requests();
    let served = served(&reqs);
    assert!(
        served <= 75_000,
        "the model served {served} tokens against a 60000 budget: {s}"
    );
    assert!(
        within_2_percent(summarized(&s), served),
        "summary {} vs served {served}: {s}",
        summarized(&s)
    );
    assert_eq!(s["status"], "budget_spent", "{s}\n{}", text(&out.stderr));
    assert!(s["reason"].as_str().unwrap_or("").contains("budget"), "{s}");
    assert!(w.live_children().is_empty(), "{:?}", w.live_children());
    let st = w.status(s["team_id"].as_str());
    assert_eq!(st["status"], "stopped", "{st:#}");
    for t in st["tasks"].as_array().unwrap() {
        assert_ne!(t["status"], "claimed", "a claim nobody holds: {st:#}");
    }
}

/// A worker turn that would never end stops at the 15K per-turn cap (within 2x of it, by
/// the model's own count), its claim goes back to the board, and the lead hears why.
#[test]
fn a_runaway_turn_stops_at_its_cap() {
    let w = World::new();
    let profile = root().join("fixtures/profiles/turn-cap.team.yaml");
    let out = output_within(
        w.run_cmd(
            "turn-cap.yaml",
            "one endless task",
            &["--profile", profile.to_str().unwrap()],
        ),
        Duration::from_secs(120),
    );
    let s = summary(&out);
    let reqs = w.requests();
    let looper: Vec<Value> = reqs
        .iter()
        .filter(|r| body_contains(r, "You are looper ("))
        .cloned()
        .collect();
    assert!(!looper.is_empty(), "the worker never ran");
    let spent = served(&looper);
    assert!(
        spent <= 30_000,
        "the capped turn was served {spent} tokens (cap 15000)"
    );
    assert_eq!(s["status"], "finalized", "{s}\n{}", text(&out.stderr));
    assert!(
        within_2_percent(summarized(&s), served(&reqs)),
        "summary {} vs served {}: {s}",
        summarized(&s),
        served(&reqs)
    );
    assert!(
        reqs.iter().any(|r| body_contains(r, "role: lead")
            && body_contains(r, "per-turn limit")
            && body_contains(r, "back on the board")),
        "the lead was told"
    );
    let st = w.status(s["team_id"].as_str());
    let looper = st["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "looper")
        .unwrap()
        .clone();
    assert_ne!(looper["state"], "failed", "stopped, not failed: {st:#}");
    assert_ne!(st["tasks"][0]["status"], "claimed", "{st:#}");
    assert!(w.live_children().is_empty(), "{:?}", w.live_children());
}

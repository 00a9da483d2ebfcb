//! A run stopped by its budget says why, leaves no claim held by a worker that will not be
//! restarted, and `codex-teams resume TEAM --budget N` continues it to the end.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn a_budget_stop_is_explained_and_resume_with_more_budget_finishes() {
    let w = World::new();
    let profile = root().join("fixtures/profiles/tiny-budget.team.yaml");
    let out = output_within(
        w.run_cmd(
            "budget-resume.yaml",
            "do the slow task",
            &["--profile", profile.to_str().unwrap()],
        ),
        Duration::from_secs(120),
    );
    let s = summary(&out);
    assert_eq!(s["status"], "budget_spent", "{s}\n{}", text(&out.stderr));
    assert!(!out.status.success());
    assert!(w.live_children().is_empty(), "{:?}", w.live_children());
    let team = s["team_id"].as_str().unwrap().to_string();
    let st = w.status(Some(&team));
    assert_eq!(st["status"], "stopped", "{st:#}");
    let reason = st["reason"].as_str().unwrap_or("");
    assert!(reason.contains("budget"), "status says why: {st:#}");
    for a in st["agents"].as_array().unwrap() {
        assert_ne!(a["state"], "running", "a state that is not true: {st:#}");
    }
    for t in st["tasks"].as_array().unwrap() {
        if t["status"] == "claimed" {
            let holder = &t["claimed_by"];
            let a = st["agents"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| &a["agent_id"] == holder)
                .unwrap();
            assert_eq!(
                a["state"], "interrupted",
                "a claim nobody will continue: {st:#}"
            );
        }
    }

    // Not enough is refused by name; more finishes the job.
    let low = output_within(
        w.cmd(&["resume", &team, "--budget", "30000"]),
        Duration::from_secs(30),
    );
    assert!(!low.status.success());
    assert!(
        text(&low.stderr).contains("--budget 30000 does not cover"),
        "{}",
        text(&low.stderr)
    );
    let out = output_within(
        w.cmd(&["resume", &team, "--budget", "2000000", "--json"]),
        Duration::from_secs(120),
    );
    let s = summary(&out);
    assert_eq!(s["status"], "finalized", "{s}\n{}", text(&out.stderr));
    assert_eq!(s["tasks"]["done"], 1, "{s}");
    // (The worker's request in flight at the budget stop may match no rule: the run was
    // stopped under it. Outcomes, not the script, are what this test checks.)
}

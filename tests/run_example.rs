//! End to end on the bundled example with the real codex binary and the scripted model:
//! the lead plans a task and spawns an implementer, which fixes `textstats.py`, runs the
//! tests, publishes a report and messages the lead; the lead, resumed by the message,
//! finalizes. Checks the repo, the summary's token totals against the scripted server's
//! own counts, and that every request (workers included) carries the lead's model.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn team_fixes_the_example_and_accounts_every_token() {
    let w = World::new();
    assert!(!w.unittest_passes(), "the example must fail before the run");
    let out = output_within(
        w.run_cmd("example-fix.yaml", "fix the failing test in textstats", &[]),
        Duration::from_secs(150),
    );
    let s = summary(&out);
    assert!(
        out.status.success(),
        "run failed: {s}\nstderr: {}",
        text(&out.stderr)
    );
    assert_eq!(s["status"], "finalized", "{s}");
    assert!(
        w.unittest_passes(),
        "python3 -m unittest fails after the run"
    );

    // The scripted server's own per-request counts, from its request log.
    let reqs = w.requests();
    assert!(reqs.len() >= 10, "{} requests", reqs.len());
    assert!(
        reqs.iter().all(|r| r["outcome"] == "matched"),
        "unmatched requests: {:?}",
        reqs.iter()
            .filter(|r| r["outcome"] != "matched")
            .map(|r| r["prompt"].clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(s["scripted"]["unmatched"], 0);
    assert_eq!(
        s["tokens"]["input"].as_i64().unwrap(),
        sum(&reqs, "input_tokens")
    );
    assert_eq!(
        s["tokens"]["cached_input"].as_i64().unwrap(),
        sum(&reqs, "cached_tokens")
    );
    assert_eq!(
        s["tokens"]["output"].as_i64().unwrap(),
        sum(&reqs, "output_tokens")
    );
    let by_agent = s["tokens"]["by_agent"].as_object().unwrap();
    assert_eq!(by_agent.len(), 2, "{s}");
    let per_agent: i64 = by_agent
        .values()
        .map(|a| a["input"].as_i64().unwrap())
        .sum();
    assert_eq!(per_agent, s["tokens"]["input"].as_i64().unwrap());
    assert!(
        by_agent
            .values()
            .all(|a| a["input"].as_i64().unwrap() > 0 && a["output"].as_i64().unwrap() > 0),
        "every agent used tokens: {s}"
    );

    // Model inheritance: no --model and no config model, so the lead runs codex's default
    // and every worker request must carry exactly that (from the lead's tool-call metadata).
    let lead_model = reqs
        .iter()
        .find(|r| body_contains(r, "role: lead"))
        .and_then(|r| r["model"].as_str())
        .expect("a lead request")
        .to_string();
    let worker_reqs: Vec<_> = reqs
        .iter()
        .filter(|r| body_contains(r, "role: implementer"))
        .collect();
    assert!(
        worker_reqs.len() >= 6,
        "{} worker requests",
        worker_reqs.len()
    );
    for r in &reqs {
        assert_eq!(
            r["model"].as_str(),
            Some(lead_model.as_str()),
            "request {}",
            r["seq"]
        );
    }
    assert_eq!(s["model"].as_str(), Some(lead_model.as_str()), "{s}");

    assert_eq!(s["agents_spawned"], 1);
    assert_eq!(s["peak_threads"], 1);
    assert_eq!(s["tasks"]["total"], 1);
    assert_eq!(s["tasks"]["done"], 1);
    assert_eq!(s["tasks"]["failed"], 0);
    assert_eq!(s["messages"], 1);
    assert_eq!(s["unacked"], 0);
    assert_eq!(s["artifacts"], 1);
    assert!(s["wall_ms"].as_u64().unwrap() > 0);
    assert!(s["team_id"].as_str().unwrap().starts_with("team-"));

    // Nothing of the run is left alive, and the store shows the team finalized.
    assert!(w.live_children().is_empty(), "{:?}", w.live_children());
    let st = w.status(s["team_id"].as_str());
    assert_eq!(st["status"], "finalized");
    assert_eq!(st["task_counts"]["done"], 1);

    // The store kept codex's event stream for replay.
    let logs = std::fs::read_dir(w.home.join("logs")).unwrap().count();
    assert!(logs >= 1, "JSON logs are written to $CODEX_TEAMS_HOME/logs");
}

#[test]
fn max_threads_over_six_is_refused_before_anything_starts() {
    let w = World::new();
    let out = w
        .run_cmd("example-fix.yaml", "fix it", &["--max-threads", "7"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("--max-threads 7") && err.contains("6"),
        "{err}"
    );
    assert!(w.requests().is_empty(), "no model request was made");
    assert!(!w.home.join("teams.db").exists(), "no store was created");
}

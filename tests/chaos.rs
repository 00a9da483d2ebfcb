//! The chaos test (issue 11): the six-module smoke job with the supervisor SIGKILLed at 5
//! points (spawns requested, workers started, mid-work, board done, workers ending) and a
//! worker SIGKILLed at 3 (on its task, mid-work, after completing), each
//! followed by `resume` until the team is finalized. `scripts/chaos.py --fixed` does the
//! killing and checks from outside: the repo's tests pass, 6/6 tasks done, 0 orphans in
//! /proc, 0 duplicate completions in the store's event log, and the tokens the scripted
//! model served (its request log, every run and resume) at most 1.25x an uninterrupted run.
//! `scripts/chaos.sh --iterations N` runs the same at random points.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

#[test]
fn every_kill_point_resumes_to_a_finished_job() {
    let codex = codex_teams_codex_exec::find_codex().expect("codex binary");
    let out = Command::new("python3")
        .arg(root().join("scripts/chaos.py"))
        .args([
            "--fixed",
            "--json",
            "--max-ratio",
            "1.25",
            "--bin",
            BIN,
            "--codex",
        ])
        .arg(&codex)
        .output()
        .expect("python3");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); stderr:\n{}", text(&out.stderr)));
    let cases = report["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 8, "{report:#}");
    for c in cases {
        assert_eq!(c["ok"], true, "{c:#}\n{}", text(&out.stderr));
        assert_eq!(c["duplicates"], 0, "{c:#}");
        assert!(c["ratio"].as_f64().unwrap() <= 1.25, "{c:#}");
    }
    assert!(out.status.success(), "{}", text(&out.stderr));
}

//! A worker killed mid-turn: the lead is told, its task's claim expires (a 3 s lease for
//! the test) and the supervisor resumes the idle second worker, which finishes the task.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;
use serde_json::Value;

#[test]
fn killed_workers_task_is_finished_by_another_worker() {
    let w = World::new();
    let mut cmd = w.run_cmd(
        "worker-killed.yaml",
        "one task, two workers",
        &["--profile", "fixed-6"],
    );
    cmd.env("CODEX_TEAMS_TASK_LEASE_MS", "3000");
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (team_id, holder) = wait_for(Duration::from_secs(90), || {
        let teams = w.status(None);
        let id = teams["teams"].get(0)?["team_id"].as_str()?.to_string();
        let st = w.status(Some(&id));
        let t = st["tasks"].get(0)?;
        if t["status"] != "claimed" {
            return None;
        }
        let holder = t["claimed_by"].as_str()?.to_string();
        let live = w.live_workers();
        live.contains(&holder).then_some((id, holder))
    })
    .expect("worker A never claimed the task");
    let st = w.status(Some(&team_id));
    let a_name = st["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent_id"] == holder.as_str())
        .unwrap()["name"]
        .clone();
    assert_eq!(a_name, "worker-a");
    kill_agent(&w, &holder);
    let out = wait_within(child, Duration::from_secs(150));
    let s = summary(&out);
    assert_all_matched(&w.requests());
    assert!(out.status.success(), "{s}\n{}", text(&out.stderr));
    assert_eq!(s["status"], "finalized", "{s}");
    assert_eq!(s["scripted"]["unmatched"], 0, "{s}");
    assert_eq!(s["tasks"]["done"], 1, "{s}");
    let st = w.status(Some(&team_id));
    let task = &st["tasks"][0];
    assert_eq!(task["status"], "done");
    let b = st["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "worker-b")
        .unwrap()
        .clone();
    assert_eq!(
        task["claimed_by"], b["agent_id"],
        "worker B finished it: {st}"
    );
    let a = st["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent_id"] == holder.as_str())
        .unwrap()
        .clone();
    assert_eq!(a["state"], "failed", "{a}");
    // The lead heard about it.
    let reqs = w.requests();
    assert!(
        lead_was_told(&w, &team_id, &reqs, &["worker-a", "stopped"]),
        "the lead was told"
    );
    let left: Vec<_> = w
        .live_children()
        .into_iter()
        .map(|(pid, agent, role)| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            (
                pid,
                agent,
                role,
                String::from_utf8_lossy(&cmd).replace('\0', " "),
            )
        })
        .collect();
    assert!(left.is_empty(), "left alive: {left:?}");
}

/// The only worker of its role dies holding a claim, with the normal 15-minute lease: the
/// claim is released at once and a replacement (same role, same brief) finishes the task.
#[test]
fn a_dead_workers_claim_is_released_at_once_and_a_replacement_finishes() {
    let w = World::new();
    let mut cmd = w.run_cmd("worker-replaced.yaml", "one task, one worker", &[]);
    cmd.env_remove("CODEX_TEAMS_TASK_LEASE_MS");
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (team_id, holder) = wait_for(Duration::from_secs(90), || {
        let teams = w.status(None);
        let id = teams["teams"].get(0)?["team_id"].as_str()?.to_string();
        let st = w.status(Some(&id));
        let t = st["tasks"].get(0)?;
        if t["status"] != "claimed" {
            return None;
        }
        let holder = t["claimed_by"].as_str()?.to_string();
        // Claimed and in its long command.
        let hanging = w.requests().iter().any(|r| r["rule"] == "w-hangs");
        (hanging && w.live_workers().contains(&holder)).then_some((id, holder))
    })
    .expect("the worker never claimed the task");
    kill_agent(&w, &holder);
    let out = wait_within(child, Duration::from_secs(120));
    let s = summary(&out);
    assert_all_matched(&w.requests());
    assert_eq!(s["status"], "finalized", "{s}\n{}", text(&out.stderr));
    assert_eq!(s["tasks"]["done"], 1, "{s}");
    let st = w.status(Some(&team_id));
    let by_name = |n: &str| {
        st["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == n)
            .unwrap_or_else(|| panic!("no agent {n}: {st}"))
            .clone()
    };
    let r = by_name("worker-r1");
    assert_eq!(r["role"], "implementer");
    assert_eq!(st["tasks"][0]["claimed_by"], r["agent_id"], "{st}");
    assert_eq!(by_name("worker")["state"], "failed");
    let reqs = w.requests();
    assert!(reqs.iter().any(|r| r["rule"] == "r-done"));
    // The killed turn's spend is not lost: the metering proxy recorded every response the
    // model served it, the last one (whose shell command was running at the kill) included,
    // before codex saw that response end. So the summary equals the model's request log.
    let killed: Vec<Value> = reqs
        .iter()
        .filter(|r| body_contains(r, &format!("You are worker ({holder}")))
        .cloned()
        .collect();
    assert!(killed.len() >= 2, "the killed worker made requests");
    let by_agent = &s["tokens"]["by_agent"][holder.as_str()];
    assert_eq!(
        by_agent["input"].as_i64().unwrap(),
        sum(&killed, "input_tokens"),
        "the killed worker's input tokens: {s}"
    );
    assert_eq!(
        by_agent["output"].as_i64().unwrap(),
        sum(&killed, "output_tokens"),
        "the killed worker's output tokens: {s}"
    );
    assert_eq!(
        s["tokens"]["input"].as_i64().unwrap(),
        sum(&reqs, "input_tokens"),
        "{s}"
    );
    assert!(
        lead_was_told(
            &w,
            &team_id,
            &reqs,
            &["back on the board", "Replacement worker-r1"]
        ),
        "the lead was told"
    );
}

/// Whether the supervisor's note with all of `marks` reached the lead: in a request the
/// lead made, or still in its inbox. A worker's death alone is not worth a lead turn (a
/// replacement or another worker takes its task up), so the note waits for the lead's next
/// turn, and a clean board is finalized without one.
fn lead_was_told(w: &World, team_id: &str, reqs: &[Value], marks: &[&str]) -> bool {
    let has = |text: &str| marks.iter().all(|m| text.contains(m));
    if reqs
        .iter()
        .any(|r| body_contains(r, "role: lead") && marks.iter().all(|m| body_contains(r, m)))
    {
        return true;
    }
    let st = w.status(Some(team_id));
    let lead = st["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["role"] == "lead")
        .unwrap()["agent_id"]
        .as_str()
        .unwrap()
        .to_string();
    let store = codex_teams_store::Store::open(&w.home.join("teams.db")).unwrap();
    store
        .pull_inbox(team_id, &lead, 100, Duration::from_secs(60))
        .unwrap()
        .iter()
        .any(|d| has(&d.body))
}

/// SIGKILLs every process of one agent (the codex launcher, codex, its shell and sleep).
fn kill_agent(w: &World, agent_id: &str) {
    for (pid, agent, _) in w.live_children() {
        if agent == agent_id {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

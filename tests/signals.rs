//! A run stopped by a signal stops gracefully, exits 128 + the signal's number (SIGINT 130,
//! SIGTERM 143, SIGHUP 129), leaves no child, marks the team stopped, and `resume` finishes
//! the job.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;

fn stop_with(signal: nix::sys::signal::Signal, code: i32, resume: bool) {
    let w = World::new();
    // The job comes from a file, so the supervisor's own argv does not show it either.
    let task = w.dir.path().join("task.txt");
    std::fs::write(&task, "do the slow task (password=hunter2-not-in-ps)").unwrap();
    let sc = scenario("crash-resume.yaml");
    let repo = w.repo.display().to_string();
    let child = w
        .cmd(&[
            "run",
            "--scenario",
            sc.to_str().unwrap(),
            "--cwd",
            &repo,
            "--json",
            "--task-file",
            task.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let ready = wait_for(Duration::from_secs(90), || {
        let slow = w.requests().iter().any(|r| r["rule"] == "worker-slow");
        (slow && !w.live_workers().is_empty()).then_some(())
    });
    assert!(ready.is_some(), "the worker never reached its slow command");
    // Prompts (the task text, the brief) reach codex on stdin, never in argv (`ps`).
    let own = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    assert!(!String::from_utf8_lossy(&own).contains("hunter2"));
    for (pid, _, _) in w.live_children() {
        let argv = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let argv = String::from_utf8_lossy(&argv);
        assert!(
            !argv.contains("slow task"),
            "prompt in argv of {pid}: {argv}"
        );
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).unwrap();
    let out = wait_within(child, Duration::from_secs(60));
    assert_eq!(
        out.status.code(),
        Some(code),
        "{signal}: {}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("codex-teams resume"),
        "{}",
        text(&out.stderr)
    );
    assert!(w.live_children().is_empty(), "{:?}", w.live_children());
    let teams = w.status(None);
    let team = teams["teams"][0]["team_id"].as_str().unwrap().to_string();
    assert_eq!(teams["teams"][0]["status"], "stopped", "{teams}");
    if resume {
        let out = output_within(
            w.cmd(&["resume", &team, "--json"]),
            Duration::from_secs(120),
        );
        let s = summary(&out);
        assert_eq!(s["status"], "finalized", "{s}\n{}", text(&out.stderr));
        assert_eq!(s["tasks"]["done"], 1, "{s}");
        assert!(out.status.success());
    }
}

#[test]
fn sigint_exits_130_and_resume_finishes() {
    stop_with(nix::sys::signal::Signal::SIGINT, 130, true);
}

#[test]
fn sigterm_exits_143() {
    stop_with(nix::sys::signal::Signal::SIGTERM, 143, false);
}

#[test]
fn sighup_is_a_graceful_stop_exiting_129() {
    stop_with(nix::sys::signal::Signal::SIGHUP, 129, false);
}

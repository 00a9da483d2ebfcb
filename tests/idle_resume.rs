//! An idle worker costs nothing and is resumed by a message: after its first turn its
//! process is gone and the scripted server sees no request from its thread; a message from
//! the lead resumes the same thread (`codex exec resume`), which answers.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn idle_worker_is_resumed_by_a_message_and_answers() {
    let w = Arc::new(World::new());
    let done = Arc::new(AtomicBool::new(false));
    let samples: Arc<Mutex<Vec<(i64, usize)>>> = Arc::default();
    let sampler = {
        let (w, done, samples) = (w.clone(), done.clone(), samples.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                let n = w.live_workers().len();
                samples.lock().unwrap().push((now_ms(), n));
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let out = output_within(
        w.run_cmd(
            "idle-resume.yaml",
            "ask the worker a question",
            &["--profile", "fixed-6"],
        ),
        Duration::from_secs(150),
    );
    done.store(true, Ordering::SeqCst);
    sampler.join().unwrap();
    let s = summary(&out);
    assert!(out.status.success(), "{s}\n{}", text(&out.stderr));
    assert_eq!(s["status"], "finalized", "{s}");
    assert_eq!(s["scripted"]["unmatched"], 0, "{s}");
    assert_eq!(s["agents_spawned"], 1);
    assert_eq!(
        s["messages"], 3,
        "standing by, the question, the answer: {s}"
    );
    assert_eq!(s["unacked"], 0, "every message was acknowledged: {s}");

    let reqs = w.requests();
    let worker: Vec<_> = reqs
        .iter()
        .filter(|r| body_contains(r, "role: implementer"))
        .collect();
    let keys: std::collections::BTreeSet<_> = worker
        .iter()
        .map(|r| r["prompt_cache_key"].to_string())
        .collect();
    assert_eq!(keys.len(), 1, "one thread, resumed: {keys:?}");
    let key: serde_json::Value = serde_json::from_str(&keys.into_iter().next().unwrap()).unwrap();
    let first: Vec<_> = worker
        .iter()
        .filter(|r| r["prompt"].as_str().unwrap_or("").contains("Stand by"))
        .collect();
    let second: Vec<_> = worker
        .iter()
        .filter(|r| r["prompt"].as_str().unwrap_or("").contains("new message"))
        .collect();
    assert!(!first.is_empty() && !second.is_empty());
    assert_eq!(first.len() + second.len(), worker.len());
    let first_end = first
        .iter()
        .map(|r| r["received_at_ms"].as_i64().unwrap())
        .max()
        .unwrap();
    let second_start = second
        .iter()
        .map(|r| r["received_at_ms"].as_i64().unwrap())
        .min()
        .unwrap();
    assert!(
        second_start - first_end >= 3000,
        "the worker was idle through the lead's pause"
    );
    // While idle: no request from its thread, and the lead was working meanwhile.
    let between: Vec<_> = reqs
        .iter()
        .filter(|r| {
            let t = r["received_at_ms"].as_i64().unwrap();
            t > first_end && t < second_start
        })
        .collect();
    assert!(between.iter().all(|r| r["prompt_cache_key"] != key));
    assert!(between.iter().any(|r| body_contains(r, "role: lead")));
    // ...and its process was gone: a stretch of the idle window where /proc showed no
    // worker process at all (codex needs a moment to exit after its last request).
    let window: Vec<(i64, usize)> = samples
        .lock()
        .unwrap()
        .iter()
        .filter(|(t, _)| *t > first_end && *t < second_start)
        .cloned()
        .collect();
    let (mut best, mut start) = (0i64, None::<i64>);
    for (t, n) in &window {
        match (n, start) {
            (0, None) => start = Some(*t),
            (0, Some(s0)) => best = best.max(t - s0),
            (_, _) => start = None,
        }
    }
    assert!(
        best >= 500,
        "no worker-free stretch of 500 ms while the worker was idle: {window:?}"
    );
    // The resumed turn saw the question and the lead got the answer.
    assert!(
        second
            .iter()
            .any(|r| body_contains(r, "QUESTION: what is 6 times 7?"))
    );
    assert!(
        reqs.iter()
            .any(|r| body_contains(r, "role: lead") && body_contains(r, "ANSWER: 42"))
    );
}

/// A worker retired by idle shutdown (1 s here) while the lead pauses: the lead's message
/// to it wakes it (its thread resumes), it answers, the run finalizes, and the store's event
/// log has the retirement and the wake-up with the message that caused it.
#[test]
fn mail_wakes_a_worker_retired_by_idle_shutdown() {
    let w = World::new();
    let profile = root().join("fixtures/profiles/idle-retire.team.yaml");
    let out = output_within(
        w.run_cmd(
            "idle-resume.yaml",
            "ask a retired worker",
            &["--profile", profile.to_str().unwrap()],
        ),
        Duration::from_secs(120),
    );
    let s = summary(&out);
    assert_eq!(s["status"], "finalized", "{s}\n{}", text(&out.stderr));
    assert_eq!(s["unacked"], 0, "{s}");
    let reqs = w.requests();
    assert!(
        reqs.iter()
            .any(|r| body_contains(r, "role: lead") && body_contains(r, "ANSWER: 42"))
    );
    let store = codex_teams_store::Store::open(&w.home.join("teams.db")).unwrap();
    let team = s["team_id"].as_str().unwrap();
    let kinds = |k: &str| store.events_of_kind(team, 0, k, 100).unwrap();
    let retired = kinds("agent.retired");
    let woken = kinds("agent.woken");
    assert!(!retired.is_empty(), "retirement logged");
    assert_eq!(woken.len(), 1, "one wake-up: {woken:?}");
    let ids = woken[0].payload["message_ids"].as_array().unwrap();
    assert_eq!(ids.len(), 1, "{woken:?}");
    assert!(ids[0].as_str().unwrap().starts_with("msg-"));
}

//! The hard cap: the lead asks for 10 workers at once; sampled from `/proc`, never more than
//! 6 worker processes are alive, and all 10 eventually run and finish their tasks.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::*;

#[test]
fn ten_spawns_never_run_more_than_six_at_once() {
    let w = Arc::new(World::new());
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    let sampler = {
        let (w, done, peak, seen) = (w.clone(), done.clone(), peak.clone(), seen.clone());
        std::thread::spawn(move || {
            let mut samples = 0usize;
            while !done.load(Ordering::SeqCst) {
                let live = w.live_workers();
                peak.fetch_max(live.len(), Ordering::SeqCst);
                seen.lock().unwrap().extend(live);
                samples += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            samples
        })
    };
    let out = output_within(
        w.run_cmd(
            "cap-ten.yaml",
            "ten parts in parallel",
            &["--profile", "fixed-6"],
        ),
        Duration::from_secs(200),
    );
    done.store(true, Ordering::SeqCst);
    let samples = sampler.join().unwrap();
    let s = summary(&out);
    assert!(out.status.success(), "{s}\n{}", text(&out.stderr));
    assert_eq!(s["status"], "finalized", "{s}");
    let peak = peak.load(Ordering::SeqCst);
    assert!(
        samples > 20,
        "too few samples ({samples}) to trust the peak"
    );
    assert!(peak <= 6, "{peak} worker processes alive at once");
    assert!(peak >= 2, "workers overlapped (peak {peak})");
    assert_eq!(s["agents_spawned"], 10, "{s}");
    assert!(s["peak_threads"].as_u64().unwrap() <= 6, "{s}");
    assert_eq!(s["tasks"]["done"], 10, "{s}");
    assert_eq!(s["scripted"]["unmatched"], 0, "{s}");
    let by_agent = s["tokens"]["by_agent"].as_object().unwrap();
    let workers: Vec<_> = by_agent
        .values()
        .filter(|a| a["role"] == "implementer")
        .collect();
    assert_eq!(workers.len(), 10);
    assert!(
        workers.iter().all(|a| a["output"].as_i64().unwrap() > 0),
        "every one of the 10 workers ran a turn: {s}"
    );
    assert!(
        seen.lock().unwrap().len() >= 7,
        "the sampler saw {} distinct workers alive",
        seen.lock().unwrap().len()
    );
}

/// Two runs on one home (as two terminals would start them): the second's start-up
/// cleanup leaves the first's processes alone, both finish, and sampled from `/proc` the
/// machine never has more than six workers alive across both.
#[test]
fn two_runs_on_one_home_share_the_six_slots_and_both_finish() {
    let w = Arc::new(World::new());
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicUsize::new(0));
    let sampler = {
        let (w, done, peak) = (w.clone(), done.clone(), peak.clone());
        std::thread::spawn(move || {
            let mut samples = 0usize;
            while !done.load(Ordering::SeqCst) {
                let live = w.live_workers();
                if live.len() > 6 {
                    let detail: Vec<String> = w
                        .live_children()
                        .into_iter()
                        .map(|(pid, a, r)| {
                            let cmd =
                                std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                            let st = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                                .unwrap_or_default();
                            format!(
                                "{pid} {a} {r} {} | {}",
                                String::from_utf8_lossy(&cmd)
                                    .replace('\0', " ")
                                    .chars()
                                    .take(80)
                                    .collect::<String>(),
                                st.chars().take(60).collect::<String>()
                            )
                        })
                        .collect();
                    eprintln!("OVER CAP:\n{}", detail.join("\n"));
                }
                peak.fetch_max(live.len(), Ordering::SeqCst);
                samples += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            samples
        })
    };
    let first = w
        .run_cmd(
            "cap-ten.yaml",
            "ten parts in parallel",
            &["--profile", "fixed-6"],
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The second starts once the first has workers running.
    let busy = wait_for(Duration::from_secs(60), || {
        (w.live_workers().len() >= 2).then_some(())
    });
    assert!(busy.is_some(), "the first run never started workers");
    let second = output_within(
        w.run_cmd(
            "cap-ten.yaml",
            "ten parts in parallel",
            &["--profile", "fixed-6"],
        ),
        Duration::from_secs(300),
    );
    let first = wait_within(first, Duration::from_secs(300));
    done.store(true, Ordering::SeqCst);
    let samples = sampler.join().unwrap();
    for (name, out) in [("first", &first), ("second", &second)] {
        let s = summary(out);
        assert_eq!(
            s["status"],
            "finalized",
            "{name}: {s}\n{}",
            text(&out.stderr)
        );
        assert_eq!(s["tasks"]["done"], 10, "{name}: {s}");
    }
    let peak = peak.load(Ordering::SeqCst);
    assert!(samples > 20, "too few samples ({samples})");
    assert!(peak <= 6, "{peak} workers alive at once across two runs");
}

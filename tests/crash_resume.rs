//! The supervisor is SIGKILLed mid-run: within a few seconds no codex child of it is alive
//! (PDEATHSIG and the watcher), and `codex-teams resume TEAM_ID` completes the run from
//! the store with no task or message lost. No bearer token is ever written under
//! `$CODEX_TEAMS_HOME`: resume mints fresh tokens, and the dead supervisor's are refused.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use serde_json::Value;

/// The bearer tokens live codex children of this world were given (from their environment).
fn observed_tokens(w: &World) -> BTreeSet<String> {
    w.live_children()
        .into_iter()
        .filter_map(|(pid, _, _)| std::fs::read(format!("/proc/{pid}/environ")).ok())
        .flat_map(|raw| {
            raw.split(|b| *b == 0)
                .filter_map(|kv| kv.strip_prefix(b"CODEX_TEAMS_TOKEN=").map(|v| v.to_vec()))
                .collect::<Vec<_>>()
        })
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .collect()
}

/// Every file under `dir` (recursively) with its bytes.
fn files_under(dir: &Path, out: &mut Vec<(std::path::PathBuf, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.push((p, bytes));
        }
    }
}

/// Where `bytes` holds something shaped like a minted token: the prefix and 64 hex digits.
fn token_shaped(bytes: &[u8]) -> Option<usize> {
    let prefix = codex_teams_mcp::token::TOKEN_PREFIX.as_bytes();
    bytes.windows(prefix.len() + 64).position(|w| {
        w.starts_with(prefix) && w[prefix.len()..].iter().all(|b| b.is_ascii_hexdigit())
    })
}

#[test]
fn sigkilled_supervisor_leaves_no_child_and_resume_completes() {
    let w = World::new();
    let mut child = w
        .run_cmd("crash-resume.yaml", "do the slow task", &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = KillOnDrop(child.id() as i32);
    // Wait until the worker holds the task and is inside its slow command, the lead idle.
    let team_id = wait_for(Duration::from_secs(90), || {
        let teams = w.status(None);
        let id = teams["teams"].get(0)?["team_id"].as_str()?.to_string();
        let st = w.status(Some(&id));
        let claimed = st["tasks"].get(0)?["status"] == "claimed";
        let lead_idle = st["agents"]
            .as_array()?
            .iter()
            .any(|a| a["role"] == "lead" && a["state"] == "idle");
        let worker_live = !w.live_workers().is_empty();
        (claimed && lead_idle && worker_live).then_some(id)
    })
    .expect("the worker never claimed the task");
    std::thread::sleep(Duration::from_millis(800));
    assert!(!w.live_workers().is_empty(), "the worker is mid-turn");
    let old_tokens = observed_tokens(&w);
    assert!(
        !old_tokens.is_empty(),
        "the worker's token was not observed"
    );
    let before = w.live_children();
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status();
    let _ = child.wait();
    // The worker is inside `sleep 30`: the watcher lets a codex turn's command run for
    // up to `reaper::CRASH_GRACE` (15 s) after our death, then kills the group.
    let gone = wait_for(Duration::from_secs(25), || {
        w.live_children().is_empty().then_some(())
    });
    assert!(
        gone.is_some(),
        "codex children survived the supervisor: {:?} (before: {before:?})",
        w.live_children()
    );
    // The store still says the worker was running: resume picks it up from there.
    let st = w.status(Some(&team_id));
    assert_eq!(st["status"], "running");
    let out = output_within(
        {
            let sc = scenario("crash-resume.yaml");
            w.cmd(&[
                "resume",
                &team_id,
                "--scenario",
                sc.to_str().unwrap(),
                "--json",
            ])
        },
        Duration::from_secs(120),
    );
    let s = summary(&out);
    assert!(out.status.success(), "{s}\n{}", text(&out.stderr));
    assert_eq!(s["status"], "finalized", "{s}");
    assert_eq!(s["scripted"]["unmatched"], 0, "{s}");
    assert_eq!(s["tasks"]["total"], 1);
    assert_eq!(s["tasks"]["done"], 1, "the task was not lost: {s}");
    assert_eq!(s["messages"], 1, "{s}");
    assert_eq!(
        s["unacked"], 0,
        "the message was delivered and handled: {s}"
    );
    let st = w.status(Some(&team_id));
    assert_eq!(st["status"], "finalized");
    let agents: Vec<Value> = st["agents"].as_array().unwrap().clone();
    assert_eq!(agents.len(), 2, "resume kept the same agents: {agents:?}");
    assert!(w.live_children().is_empty());
    // No token on disk: no secrets directory, no file holding a token we saw or anything
    // shaped like one (store, WAL, logs, owner records included).
    assert!(
        !w.home.join("secrets").exists(),
        "a secrets directory was made"
    );
    let mut files = Vec::new();
    files_under(&w.home, &mut files);
    assert!(
        files.iter().any(|(p, _)| p.ends_with("teams.db")),
        "the scan did not see the store: {:?}",
        files.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    for (path, bytes) in &files {
        for t in &old_tokens {
            assert!(
                !bytes.windows(t.len()).any(|w| w == t.as_bytes()),
                "{} holds a bearer token",
                path.display()
            );
        }
        if let Some(at) = token_shaped(bytes) {
            panic!(
                "{} holds a token-shaped string at byte {at}",
                path.display()
            );
        }
    }
    // Resume rotated every token: the dead supervisor's tokens are refused now.
    let store = codex_teams_store::Store::open(&w.home.join("teams.db")).unwrap();
    for t in &old_tokens {
        let hash = codex_teams_mcp::token::hash_token(t);
        assert!(
            store.agent_by_token_hash(&hash).is_err(),
            "a token of the killed supervisor still authenticates"
        );
    }
    replay_is_one_timeline(&w, &team_id, &st);
    // The worker's resumed turn continued the same codex thread.
    let reqs = w.requests();
    let restarted: Vec<_> = reqs
        .iter()
        .filter(|r| {
            r["prompt"]
                .as_str()
                .unwrap_or("")
                .contains("supervisor restarted")
        })
        .collect();
    assert!(!restarted.is_empty());
    let thread = restarted[0]["prompt_cache_key"].clone();
    assert!(
        reqs.iter()
            .any(|r| r["prompt_cache_key"] == thread && r["rule"] == "worker-claims"),
        "the resumed thread is the one that claimed the task"
    );
}

/// The killed session and the resumed one replay as one timeline: one seam naming the worker
/// that was interrupted, its cut turn and its resumed one in one lane, the tokens of both
/// sessions adding up to what `status` says.
fn replay_is_one_timeline(w: &World, team_id: &str, st: &Value) {
    let out = output_within(
        w.cmd(&["replay", team_id, "--json"]),
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["sessions"], 2, "{r}");
    let entries = r["entries"].as_array().unwrap();
    let seqs: Vec<i64> = entries.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|p| p[0] < p[1]), "one ordered log");
    let seams: Vec<&Value> = entries
        .iter()
        .filter(|e| e["kind"] == "team.resumed")
        .collect();
    assert_eq!(seams.len(), 1);
    let worker = st["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["role"] != "lead")
        .unwrap();
    let wid = worker["agent_id"].as_str().unwrap();
    assert_eq!(seams[0]["payload"]["interrupted"], serde_json::json!([wid]));
    let seam = seams[0]["seq"].as_i64().unwrap();
    let lane = r["lanes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["agent_id"] == wid)
        .unwrap();
    let turns = lane["turns"].as_array().unwrap();
    assert!(turns.len() >= 2, "{lane}");
    assert_eq!(turns[0]["outcome"], "interrupted", "{lane}");
    assert_eq!(turns.last().unwrap()["outcome"], "completed", "{lane}");
    let mine = |before: bool| {
        entries
            .iter()
            .any(|e| e["agent_id"] == wid && (e["seq"].as_i64().unwrap() < seam) == before)
    };
    assert!(
        mine(true) && mine(false),
        "the worker acts in both sessions"
    );
    for k in ["input", "cached_input", "output"] {
        assert_eq!(r["totals"][k], st["tokens"][k], "{k}");
        assert_eq!(lane["tokens"][k], worker["tokens"][k], "{k}");
    }
    let text_out = output_within(w.cmd(&["replay", team_id]), Duration::from_secs(60));
    let shown = text(&text_out.stdout);
    let name = worker["name"].as_str().unwrap();
    assert!(
        shown.contains(&format!("interrupted mid-turn: {name}")),
        "{shown}"
    );
}

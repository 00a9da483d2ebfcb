//! Logs against a caller who sends too much (issue 12, item 6): a refused call's arguments
//! are logged cut to a small bound with their size noted; log files rotate under a size
//! cap; every event the store writes is redacted by the one rule set.

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;

use codex_teams_mcp::log_file::SizeCappedFile;
use common::*;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_7mb_refused_call_makes_a_small_log_line() {
    let buf = Buf::capture_trace_logs();
    let env = Env::new().await;
    let (team, lead) = env.team("big logs");
    let worker = env.worker(&team.team_id, "w", "implementer");
    let lc = env.client(&lead).await;
    let before = env.snapshot();
    let body = format!("password=hunter2-secret {}", "x".repeat(7 * 1024 * 1024));
    let (_, msg, kind) = fails(
        &lc,
        "team_send",
        json!({"to": worker.agent.agent_id, "body": body}),
    )
    .await;
    assert_eq!(kind, "too_large", "{msg}");
    assert_eq!(env.snapshot(), before);
    lc.cancel().await.ok();

    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let longest = text.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 4096, "a log line of {longest} bytes");
    assert!(!text.contains("hunter2-secret"));
    let err: Value = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["event"] == "tool.error")
        .expect("the refused call is logged");
    assert!(
        err["args_bytes"].as_u64().unwrap() > 7 * 1024 * 1024,
        "{err}"
    );
    let args = err["args"].as_str().unwrap();
    assert!(args.len() <= 600 && args.contains("truncated"), "{args}");
}

#[test]
fn log_files_rotate_under_a_size_cap() {
    let dir = tempfile::tempdir().unwrap();
    let (max, keep) = (64 * 1024, 3);
    let file = SizeCappedFile::open(dir.path(), "mcp", max, keep).unwrap();
    let (writer, guard) = tracing_appender::non_blocking(file);
    let sub = tracing_subscriber::fmt()
        .json()
        .with_writer(writer)
        .finish();
    tracing::subscriber::with_default(sub, || {
        for i in 0..20_000 {
            tracing::info!(
                event = "filler",
                i,
                pad = "some text to make the line longer"
            );
        }
    });
    drop(guard);
    let mut total = 0;
    let mut count = 0;
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let meta = e.unwrap().metadata().unwrap();
        assert!(meta.len() <= max);
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        total += meta.len();
        count += 1;
    }
    assert_eq!(count, keep + 1);
    assert!(total <= max * (keep as u64 + 1), "{total} bytes on disk");
    // Written through std::io::Write too: a line over the whole cap becomes a note.
    let mut f = SizeCappedFile::open(dir.path(), "big", 1024, 1).unwrap();
    f.write_all(&[b'z'; 4096]).unwrap();
    let s = std::fs::read_to_string(dir.path().join("big.jsonl")).unwrap();
    assert!(s.contains("log.line_dropped"), "{s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_events_keep_no_secrets_from_task_text() {
    let env = Env::new().await;
    let (team, lead) = env.team("redacted events");
    let lc = env.client(&lead).await;
    let key = "sk-live0123456789abcdefghijklmnop";
    ok(
        &lc,
        "task_create",
        json!({"title": format!("deploy with {key}"), "description": "password=hunter2-secret"}),
    )
    .await;
    ok(
        &lc,
        "team_finalize",
        json!({"outcome": "done", "summary": format!("used api_key={key} and Bearer abcdefgh12345678")}),
    )
    .await;
    lc.cancel().await.ok();
    let events = env.store().events(&team.team_id, 0, 1000).unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"task.created") && kinds.contains(&"team.finalized"));
    let text = serde_json::to_string(&events).unwrap();
    for secret in [key, "hunter2-secret", "abcdefgh12345678"] {
        assert!(!text.contains(secret), "{secret} in the event log: {text}");
    }
}

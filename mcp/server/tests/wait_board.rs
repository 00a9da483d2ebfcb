//! `team_wait` reports task-board changes since the caller's previous wait (an event-log
//! cursor), so a change made while nobody was waiting is not lost, and nothing is reported
//! twice.

mod common;

use common::*;
use serde_json::{Value, json};

fn changes(w: &Value) -> Vec<(String, String)> {
    w["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn board_changes_between_waits_reach_the_next_wait_once() {
    let env = Env::new().await;
    let (team, lead) = env.team("cursor");
    let worker = env.worker(&team.team_id, "w", "implementer");
    let tester = env.worker(&team.team_id, "t", "tester");
    let lc = env.client(&lead).await;
    let wc = env.client(&worker).await;
    let tc = env.client(&tester).await;

    // First waits place each cursor at the current end of the log.
    for c in [&lc, &wc, &tc] {
        let w = ok(c, "team_wait", json!({"timeout_ms": 100})).await;
        assert_eq!(w["timed_out"], true);
    }

    // The lead adds work while nobody waits.
    let t1 = ok(
        &lc,
        "task_create",
        json!({"title": "one", "role": "implementer"}),
    )
    .await;
    let t2 = ok(
        &lc,
        "task_create",
        json!({"title": "two", "role": "implementer", "deps": [t1["id"]]}),
    )
    .await;
    let (t1, t2) = (t1["id"].as_str().unwrap(), t2["id"].as_str().unwrap());

    // The worker's next wait reports the new ready task at once; the tester's role does
    // not match, so it hears nothing.
    let w = ok(&wc, "team_wait", json!({"timeout_ms": 5000})).await;
    assert_eq!(w["timed_out"], false, "{w}");
    assert_eq!(changes(&w), [(t1.to_string(), "ready".to_string())]);
    let w = ok(&tc, "team_wait", json!({"timeout_ms": 200})).await;
    assert_eq!(w["timed_out"], true, "{w}");
    // Reported once: the next wait has nothing new.
    let w = ok(&wc, "team_wait", json!({"timeout_ms": 200})).await;
    assert_eq!(w["timed_out"], true, "{w}");

    // The worker finishes t1 between waits. Its own change is no news to it, but what it
    // unblocked is; the lead learns its task ended.
    let claimed = ok(&wc, "task_claim", json!({"task_id": t1})).await;
    ok(
        &wc,
        "task_update",
        json!({"task_id": t1, "v": claimed["v"], "status": "done"}),
    )
    .await;
    let w = ok(&wc, "team_wait", json!({"timeout_ms": 5000})).await;
    assert_eq!(changes(&w), [(t2.to_string(), "ready".to_string())]);
    let w = ok(&lc, "team_wait", json!({"timeout_ms": 5000})).await;
    let got = changes(&w);
    assert!(got.contains(&(t1.to_string(), "done".to_string())), "{w}");
    assert!(got.contains(&(t2.to_string(), "ready".to_string())), "{w}");
    let w = ok(&lc, "team_wait", json!({"timeout_ms": 200})).await;
    assert_eq!(w["timed_out"], true, "{w}");

    // A change during a wait still wakes it (the in-process notify path).
    let wc2 = env.client(&worker).await;
    let waiter = tokio::spawn(async move {
        let r = ok(&wc2, "team_wait", json!({"timeout_ms": 10000})).await;
        wc2.cancel().await.ok();
        r
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let t3 = ok(&lc, "task_create", json!({"title": "three"})).await;
    let w = waiter.await.unwrap();
    assert_eq!(
        changes(&w),
        [(t3["id"].as_str().unwrap().to_string(), "ready".to_string())]
    );
    for c in [lc, wc, tc] {
        c.cancel().await.ok();
    }
}

/// `task_plan` files a whole chain in one call over the real HTTP transport: `#N` deps
/// resolve to the call's own tasks, only the first is ready, and a bad reference refuses
/// the whole plan with an error naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_files_a_chain_in_one_call() {
    let env = Env::new().await;
    let (team, lead) = env.team("plan");
    let worker = env.worker(&team.team_id, "w", "implementer");
    let lc = env.client(&lead).await;
    let wc = env.client(&worker).await;
    let plan = ok(
        &lc,
        "task_plan",
        json!({"tasks": [
            {"title": "parse", "role": "implementer"},
            {"title": "transform", "deps": ["#1"]},
            {"title": "render", "deps": ["#2"]},
        ]}),
    )
    .await;
    let tasks = plan["tasks"].as_array().unwrap();
    let id = |i: usize| tasks[i]["id"].as_str().unwrap().to_string();
    let got: Vec<(&str, &str)> = tasks
        .iter()
        .map(|t| (t["title"].as_str().unwrap(), t["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("parse", "ready"),
            ("transform", "open"),
            ("render", "open")
        ]
    );
    assert_eq!(tasks[1]["deps"], json!([id(0)]));
    assert_eq!(tasks[2]["deps"], json!([id(1)]));

    let bad = call(
        &lc,
        "task_plan",
        json!({"tasks": [{"title": "a"}, {"title": "b", "deps": ["#3"]}]}),
    )
    .await
    .unwrap_err();
    assert!(
        bad.message.contains("task 2 of the plan") && bad.message.contains("#3"),
        "{bad:?}"
    );
    let listed = ok(&lc, "task_list", json!({})).await;
    assert_eq!(
        listed["tasks"].as_array().unwrap().len(),
        3,
        "the refused plan filed nothing: {listed}"
    );
    // The worker sees the chain's head as ready work on the board.
    let w = ok(&wc, "task_list", json!({"status": "ready"})).await;
    let ready: Vec<&str> = w["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ready, [id(0).as_str()], "{w}");
}

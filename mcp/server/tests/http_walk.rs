//! Every tool over the per-agent HTTP endpoints with rmcp's real client.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tool_over_http() {
    let env = Env::new().await;
    let (team, lead) = env.team("ship the feature");
    let team_id = team.team_id.clone();
    let lc = env.client(&lead).await;

    // The lead sees lead tools; team_start is stdio-only and not listed here.
    let names: Vec<String> = lc
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    assert!(names.contains(&"team_spawn".to_string()), "{names:?}");
    assert!(!names.contains(&"team_start".to_string()), "{names:?}");

    let st = ok(&lc, "team_status", json!({})).await;
    assert_eq!(st["team_id"], team_id);
    assert_eq!(st["me"], lead.agent.agent_id);
    assert_eq!(st["status"], "running");
    assert_eq!(st["agents"].as_array().unwrap().len(), 1);

    // team_spawn: returns at once, hands the launch (with token and model) to the runtime.
    let meta = json!({"x-codex-turn-metadata": {"model": "mock-model", "turn_id": "t1"}});
    let sp = call_meta(
        &lc,
        "team_spawn",
        json!({"role": "implementer", "brief": "implement parse()"}),
        Some(meta),
    )
    .await
    .unwrap();
    assert_eq!(sp["state"], "pending");
    assert_eq!(sp["name"], "implementer-1");
    let worker_id = sp["agent_id"].as_str().unwrap().to_string();
    let req = env.rt.spawns.lock().unwrap().last().cloned().unwrap();
    assert_eq!(req.agent_id, worker_id);
    assert_eq!(req.team_id, team_id);
    assert_eq!(req.role, "implementer");
    // Nothing is on the board yet: the brief tells the worker so (it ends its turn at once).
    assert_eq!(
        req.brief,
        "implement parse()\n\nNo task is ready for you now: end your turn at once; you are resumed when one is."
    );
    assert_eq!(req.model.as_deref(), Some("mock-model"));
    let row = env.store().agent(&team_id, &worker_id).unwrap();
    assert_eq!(row.model.as_deref(), Some("mock-model"));

    // The worker connects with the token the runtime was given.
    let wc = common::http_client(&env.http.agent_url(&worker_id), Some(&req.token))
        .await
        .expect("worker connects with its spawn token");
    let wnames: Vec<String> = wc
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    assert!(!wnames.contains(&"team_spawn".to_string()), "{wnames:?}");
    assert!(!wnames.contains(&"team_finalize".to_string()), "{wnames:?}");
    assert!(wnames.contains(&"team_wait".to_string()), "{wnames:?}");

    // Tasks: B depends on A.
    let a = ok(
        &lc,
        "task_create",
        json!({"title": "A", "description": "do A", "role": "implementer"}),
    )
    .await;
    assert_eq!(a["status"], "ready");
    let a_id = a["id"].as_str().unwrap().to_string();
    let b = ok(&lc, "task_create", json!({"title": "B", "deps": [a_id]})).await;
    assert_eq!(b["status"], "open");
    let b_id = b["id"].as_str().unwrap().to_string();

    let list = ok(&wc, "task_list", json!({})).await;
    let tasks = list["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    assert!(tasks.iter().all(|t| t.get("description").is_none()));
    let ready = ok(&wc, "task_list", json!({"status": "ready"})).await;
    assert_eq!(ready["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(ready["tasks"][0]["id"], a_id);

    let claimed = ok(&wc, "task_claim", json!({})).await;
    assert_eq!(claimed["id"], a_id);
    assert_eq!(claimed["status"], "claimed");
    assert_eq!(claimed["description"], "do A");
    assert_eq!(claimed["by"], worker_id);
    let mine = ok(&wc, "task_list", json!({"mine": true})).await;
    assert_eq!(mine["tasks"].as_array().unwrap().len(), 1);

    let prog = ok(
        &wc,
        "task_update",
        json!({"task_id": a_id, "progress": "half"}),
    )
    .await;
    assert_eq!(prog["progress"], "half");
    assert_eq!(prog["status"], "claimed");

    // Artifacts.
    let art = ok(
        &wc,
        "artifact_publish",
        json!({"name": "patch", "content": "diff --git a b", "summary": "the patch"}),
    )
    .await;
    assert_eq!(art["v"], 1);
    assert_eq!(art["author"], worker_id);
    assert_eq!(art["sha256"].as_str().unwrap().len(), 64);
    let art_id = art["id"].as_str().unwrap().to_string();
    let art2 = ok(
        &wc,
        "artifact_publish",
        json!({"name": "patch", "content": "diff v2", "summary": "v2", "parent": 1}),
    )
    .await;
    assert_eq!(art2["v"], 2);
    assert_eq!(art2["id"], art_id);

    // The lead waits for board changes; the worker finishes A; B becomes ready, A is done.
    let lc2 = env.client(&lead).await;
    let waiter = tokio::spawn(async move {
        let r = ok(&lc2, "team_wait", json!({"timeout_ms": 10000})).await;
        lc2.cancel().await.ok();
        r
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let v = prog["v"].as_u64().unwrap();
    let done = ok(
        &wc,
        "task_update",
        json!({"task_id": a_id, "v": v, "status": "done", "artifact": art_id, "artifact_v": 2}),
    )
    .await;
    assert_eq!(done["status"], "done");
    assert_eq!(done["artifact"], art_id);
    let woke = waiter.await.unwrap();
    assert_eq!(woke["timed_out"], false);
    let changes = woke["tasks"].as_array().unwrap();
    assert!(
        changes
            .iter()
            .any(|c| c["id"] == a_id && c["status"] == "done"),
        "{woke}"
    );
    assert!(
        changes
            .iter()
            .any(|c| c["id"] == b_id && c["status"] == "ready"),
        "{woke}"
    );

    let read = ok(&lc, "artifact_read", json!({"artifact_id": art_id})).await;
    assert_eq!(read["content"], "diff v2");
    assert_eq!(read["v"], 2);
    let read1 = ok(
        &lc,
        "artifact_read",
        json!({"artifact_id": "patch", "v": 1}),
    )
    .await;
    assert_eq!(read1["content"], "diff --git a b");
    let arts = ok(&lc, "artifact_list", json!({})).await;
    assert_eq!(arts["artifacts"].as_array().unwrap().len(), 1);
    assert_eq!(arts["artifacts"][0]["v"], 2);
    assert!(arts["artifacts"][0].get("content").is_none());

    // Bus: lead → worker, idempotent retry, pull, ack, redelivery rules.
    let s1 = ok(
        &lc,
        "team_send",
        json!({"to": worker_id, "body": "review B next", "key": "k1"}),
    )
    .await;
    assert_eq!(s1["created"], true);
    assert_eq!(s1["recipients"], 1);
    let s1b = ok(
        &lc,
        "team_send",
        json!({"to": worker_id, "body": "review B next", "key": "k1"}),
    )
    .await;
    assert_eq!(s1b["created"], false);
    assert_eq!(s1b["message_id"], s1["message_id"]);
    assert!(
        env.rt
            .wakes
            .lock()
            .unwrap()
            .contains(&(team_id.clone(), worker_id.clone())),
        "runtime asked to wake the recipient"
    );
    let inbox = ok(&wc, "team_pull_inbox", json!({})).await;
    let msgs = inbox["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 1, "{inbox}");
    assert_eq!(msgs[0]["body"], "review B next");
    assert_eq!(msgs[0]["from"], lead.agent.agent_id);
    assert_eq!(msgs[0]["n"], 1);
    // Leased: a second pull sees nothing until the lease runs out or it is acked.
    let again = ok(&wc, "team_pull_inbox", json!({"max": 5})).await;
    assert_eq!(again["messages"].as_array().unwrap().len(), 0);
    let ack = ok(&wc, "team_ack", json!({"ids": [s1["message_id"]]})).await;
    assert_eq!(ack["acked"], 1);
    let ack2 = ok(&wc, "team_ack", json!({"ids": [s1["message_id"]]})).await;
    assert_eq!(ack2["acked"], 0);

    // Worker → "lead"; the lead's wait returns it at once.
    let s2 = ok(&wc, "team_send", json!({"to": "lead", "body": "A done"})).await;
    assert_eq!(s2["created"], true);
    let w = ok(&lc, "team_wait", json!({"timeout_ms": 5000})).await;
    assert_eq!(w["messages"][0]["body"], "A done");
    assert_eq!(w["messages"][0]["from"], worker_id);
    ok(&lc, "team_ack", json!({"ids": [s2["message_id"]]})).await;

    // Broadcast reaches every other member.
    let other = env.worker(&team_id, "tester-1", "tester");
    let bc = ok(&lc, "team_broadcast", json!({"body": "freeze at 5pm"})).await;
    assert_eq!(bc["recipients"], 2);
    let oc = env.client(&other).await;
    let got = ok(&oc, "team_pull_inbox", json!({})).await;
    assert_eq!(got["messages"][0]["body"], "freeze at 5pm");
    let st = ok(&oc, "team_status", json!({})).await;
    // Pulled and held under lease, not yet acked: not counted as waiting (issue 16).
    assert_eq!(st["inbox"], 0);
    assert_eq!(st["agents"].as_array().unwrap().len(), 3);
    assert_eq!(st["tasks"]["done"], 1);
    assert_eq!(st["tasks"]["ready"], 1);
    assert_eq!(st["artifacts"], 1);

    // Finalize: runtime told, status recorded, a second finalize is a conflict.
    let fin = ok(
        &lc,
        "team_finalize",
        json!({"outcome": "done", "summary": "merged"}),
    )
    .await;
    assert_eq!(fin["status"], "finalized");
    assert_eq!(
        env.rt.finalized.lock().unwrap().as_slice(),
        std::slice::from_ref(&team_id)
    );
    let (code, msg, kind) = fails(&lc, "team_finalize", json!({})).await;
    assert_eq!((code, kind.as_str()), (-32010, "conflict"), "{msg}");
    assert!(msg.contains("already finalized"), "{msg}");
    let (_, msg, _) = fails(&lc, "team_spawn", json!({"role": "tester", "brief": "x"})).await;
    assert!(msg.contains("finalized"), "{msg}");

    for c in [lc, wc, oc] {
        c.cancel().await.ok();
    }
    env.http.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_wait_wakes_on_send_and_times_out_empty() {
    let env = Env::new().await;
    let (team, lead) = env.team("wait test");
    let worker = env.worker(&team.team_id, "w", "implementer");
    let lc = env.client(&lead).await;
    let wc = env.client(&worker).await;

    // Empty at its timeout.
    let t = Instant::now();
    let w = ok(&wc, "team_wait", json!({"timeout_ms": 300})).await;
    let waited = t.elapsed();
    assert_eq!(w["timed_out"], true);
    assert_eq!(w["messages"].as_array().unwrap().len(), 0);
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    println!("team_wait(300 ms) with nothing to deliver returned after {waited:?}");

    // Wakes on a send: measured from the moment the send is issued.
    let mut figures = Vec::new();
    for i in 0..5 {
        let wid = worker.agent.agent_id.clone();
        let waiter = spawn_wait(env.client(&worker).await);
        // Let the wait register and go to sleep first.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let sent_at = Instant::now();
        ok(
            &lc,
            "team_send",
            json!({"to": wid, "body": format!("ping {i}")}),
        )
        .await;
        let (r, woke_at) = waiter.await.unwrap();
        let latency = woke_at.saturating_duration_since(sent_at);
        assert_eq!(r["messages"][0]["body"], format!("ping {i}"));
        assert!(latency < Duration::from_secs(1), "woke after {latency:?}");
        ok(&wc, "team_ack", json!({"ids": [r["messages"][0]["id"]]})).await;
        figures.push(latency);
    }
    figures.sort();
    println!(
        "team_wait wake latency from send (HTTP round trips included), 5 runs: min {:?} median {:?} max {:?}",
        figures[0], figures[2], figures[4]
    );

    // A timeout above the cap is clamped, not refused (checked via options, not by waiting).
    assert_eq!(env.hub.options().wait_max, Duration::from_secs(60));
    lc.cancel().await.ok();
    wc.cancel().await.ok();
}

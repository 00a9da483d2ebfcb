//! Work handed over without a model turn spent asking for it (issue 13 item 6): a spawn can
//! carry its task (claimed at spawn, in the worker's brief), completing with `next=true`
//! claims and returns the next ready task of the worker's role, and says when nothing is left.

mod common;

use common::*;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_carries_its_task_and_completion_hands_over_the_next() {
    let env = Env::new().await;
    let (team, lead) = env.team("fix two modules");
    let lc = env.client(&lead).await;
    let t1 = ok(
        &lc,
        "task_create",
        json!({"title": "fix a", "description": "module a", "role": "implementer"}),
    )
    .await;
    let t2 = ok(
        &lc,
        "task_create",
        json!({"title": "fix b", "description": "module b"}),
    )
    .await;
    let t3 = ok(
        &lc,
        "task_create",
        json!({"title": "test a", "description": "edge cases", "role": "tester"}),
    )
    .await;
    let (id1, id2, id3) = (
        t1["id"].as_str().unwrap(),
        t2["id"].as_str().unwrap(),
        t3["id"].as_str().unwrap(),
    );

    let sp = ok(
        &lc,
        "team_spawn",
        json!({"role": "implementer", "brief": "do your task", "task_id": id1}),
    )
    .await;
    assert_eq!(sp["task_id"], id1, "{sp}");
    let req = env.rt.spawns.lock().unwrap().last().cloned().unwrap();
    assert!(
        req.brief
            .starts_with("do your task\n\nYour task, claimed for you: "),
        "{}",
        req.brief
    );
    assert!(
        req.brief.contains(id1)
            && req.brief.contains("module a")
            && req.brief.contains("next=true"),
        "{}",
        req.brief
    );
    let worker = req.agent_id.clone();
    assert_eq!(
        env.store()
            .task(&team.team_id, id1)
            .unwrap()
            .claimed_by
            .as_deref(),
        Some(worker.as_str())
    );

    // A task that is not ready (or taken) cannot be handed over: the spawn fails, saying why.
    let (_, msg, _) = fails(
        &lc,
        "team_spawn",
        json!({"role": "implementer", "brief": "b", "task_id": id1}),
    )
    .await;
    assert!(msg.contains(id1) || msg.contains("claimed"), "{msg}");

    let minted = env.store().agent(&team.team_id, &worker).unwrap();
    assert_eq!(minted.role, "implementer");
    let wc = http_client(&env.http.agent_url(&worker), Some(&req.token))
        .await
        .unwrap();
    // Mail for the worker: its next tool result says so in one line.
    ok(
        &lc,
        "team_send",
        json!({"to": worker, "body": "also check the docs"}),
    )
    .await;
    // Done with next=true: the next ready task that fits the role (t2 has none, t3 is a tester's).
    let up = ok(
        &wc,
        "task_update",
        json!({"task_id": id1, "status": "done", "next": true}),
    )
    .await;
    assert_eq!(
        up["unread"], "1 unread message: call team_pull_inbox",
        "{up}"
    );
    assert_eq!(up["status"], "done", "{up}");
    assert_eq!(up["next"]["id"], id2, "{up}");
    assert_eq!(up["next"]["description"], "module b", "{up}");
    assert_eq!(up["next"]["status"], "claimed", "{up}");
    let inbox = ok(&wc, "team_pull_inbox", json!({})).await;
    assert!(inbox.get("unread").is_none(), "{inbox}");
    let ids: Vec<Value> = inbox["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    ok(&wc, "team_ack", json!({ "ids": ids })).await;
    let up = ok(
        &wc,
        "task_update",
        json!({"task_id": id2, "status": "done", "next": true}),
    )
    .await;
    assert!(up.get("unread").is_none(), "read and acked: {up}");
    assert!(
        up.get("next").is_none(),
        "the tester's task is not handed to an implementer: {up}"
    );
    assert!(
        up["note"].as_str().unwrap().contains("end your turn"),
        "{up}"
    );
    assert_eq!(
        env.store().task(&team.team_id, id3).unwrap().claimed_by,
        None
    );
    // Without next nothing is claimed and there is no note.
    let up = ok(&lc, "task_list", json!({})).await;
    assert_eq!(up["tasks"].as_array().unwrap().len(), 3);
}

/// `team_spawn` with an inline `task`: filed and claimed for the new worker in one call (the
/// lead spends no `task_create` request); one that is not ready, or given with `task_id`
/// too, is refused and files nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_files_and_claims_an_inline_task() {
    let env = Env::new().await;
    let (team, lead) = env.team("fix one module");
    let lc = env.client(&lead).await;
    let sp = ok(
        &lc,
        "team_spawn",
        json!({"role": "implementer", "brief": "do your task",
               "task": {"title": "fix a", "description": "module a"}}),
    )
    .await;
    let id = sp["task_id"].as_str().expect("task_id in the spawn result");
    let req = env.rt.spawns.lock().unwrap().last().cloned().unwrap();
    assert!(
        req.brief.contains(id) && req.brief.contains("module a"),
        "{}",
        req.brief
    );
    let task = env.store().task(&team.team_id, id).unwrap();
    assert_eq!(task.claimed_by.as_deref(), Some(req.agent_id.as_str()));
    assert_eq!(
        task.role.as_deref(),
        Some("implementer"),
        "role defaults to the worker's"
    );
    assert_eq!(task.created_by, lead.agent.agent_id);

    // Waiting on an unfinished task: refused, nothing filed, the new agent marked failed.
    let (_, msg, _) = fails(
        &lc,
        "team_spawn",
        json!({"role": "implementer", "brief": "b", "task": {"title": "then b", "deps": [id]}}),
    )
    .await;
    assert!(msg.contains("not ready") && msg.contains(id), "{msg}");
    let (_, msg, _) = fails(
        &lc,
        "team_spawn",
        json!({"role": "implementer", "brief": "b", "task_id": id, "task": {"title": "x"}}),
    )
    .await;
    assert!(msg.contains("not both"), "{msg}");
    let (_, msg, _) = fails(
        &lc,
        "team_spawn",
        json!({"role": "implementer", "brief": "b", "task": {"title": " "}}),
    )
    .await;
    assert!(msg.contains("task.title"), "{msg}");
    let list = ok(&lc, "task_list", json!({})).await;
    assert_eq!(list["tasks"].as_array().unwrap().len(), 1, "{list}");
}

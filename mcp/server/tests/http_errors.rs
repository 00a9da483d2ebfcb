//! Refusals over HTTP: each a clear error naming the problem, and the store unchanged.

mod common;

use std::sync::atomic::Ordering;

use codex_teams_mcp::HubOptions;
use codex_teams_store::Recipient;
use common::*;
use serde_json::json;

const INVALID_PARAMS: i32 = -32602;
const FORBIDDEN: i32 = -32011;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_arguments_and_unknown_ids() {
    let env = Env::new().await;
    let (team, lead) = env.team("errors");
    let worker = env.worker(&team.team_id, "w", "implementer");
    let lc = env.client(&lead).await;
    let wc = env.client(&worker).await;
    // Something to point at.
    ok(&lc, "task_create", json!({"title": "t"})).await;
    let before = env.snapshot();

    let cases: Vec<(&str, serde_json::Value, &str)> = vec![
        ("team_send", json!({"to": 5, "body": "x"}), "invalid type"),
        ("team_send", json!({"to": "lead"}), "missing field `body`"),
        (
            "team_send",
            json!({"to": "lead", "body": "x", "cc": "y"}),
            "unknown field `cc`",
        ),
        (
            "team_send",
            json!({"to": "agt-nope", "body": "x"}),
            "not found: agent agt-nope",
        ),
        (
            "team_send",
            json!({"to": worker.agent.agent_id, "body": ""}),
            "message body",
        ),
        ("team_broadcast", json!({}), "missing field `body`"),
        (
            "team_pull_inbox",
            json!({"max": 0}),
            "max must be at least 1",
        ),
        ("team_pull_inbox", json!({"max": -1}), "invalid value"),
        ("team_ack", json!({"ids": []}), "ids is empty"),
        ("team_ack", json!({"ids": ["msg-nope"]}), "not found"),
        ("team_wait", json!({"timeout_ms": "soon"}), "invalid type"),
        (
            "task_create",
            json!({"title": "x", "deps": ["tsk-nope"]}),
            "tsk-nope",
        ),
        (
            "task_create",
            json!({"title": "x", "role": "boss"}),
            "unknown variant `boss`",
        ),
        (
            "task_claim",
            json!({"task_id": "tsk-nope"}),
            "not found: task tsk-nope",
        ),
        (
            "task_update",
            json!({"task_id": "tsk-nope", "progress": "x"}),
            "not found: task tsk-nope",
        ),
        (
            "task_update",
            json!({"task_id": "tsk-x", "artifact_v": 2}),
            "artifact_v given without artifact",
        ),
        (
            "task_list",
            json!({"status": "sleeping"}),
            "unknown variant `sleeping`",
        ),
        (
            "artifact_read",
            json!({"artifact_id": "art-nope"}),
            "not found: artifact art-nope",
        ),
        (
            "artifact_read",
            json!({"artifact_id": "no-such-name"}),
            "not found",
        ),
        (
            "artifact_publish",
            json!({"name": "", "content": "c", "summary": "s"}),
            "name",
        ),
        (
            "team_spawn",
            json!({"role": "lead", "brief": "x"}),
            "unknown variant `lead`",
        ),
        (
            "team_spawn",
            json!({"role": "tester", "brief": "  "}),
            "brief is empty",
        ),
    ];
    for (tool, args, want) in cases {
        let client = if tool == "team_spawn" { &lc } else { &wc };
        let f = refused(client, tool, args.clone()).await;
        // Our own checks are JSON-RPC invalid_params; arguments that do not deserialize are
        // reported by rmcp as an isError tool result starting "failed to deserialize".
        match f.code {
            Some(code) => assert_eq!(code, INVALID_PARAMS, "{tool} {args}: {f:?}"),
            None => assert!(
                f.message.starts_with("failed to deserialize parameters"),
                "{f:?}"
            ),
        }
        assert!(
            f.message.contains(want),
            "{tool} {args}: got {:?}, want it to name {want:?}",
            f.message
        );
    }
    assert_eq!(env.snapshot(), before, "a refused call changed the store");
    assert!(env.rt.spawns.lock().unwrap().is_empty());
    lc.cancel().await.ok();
    wc.cancel().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies() {
    let env = Env::with_options(HubOptions {
        max_http_body: 256 * 1024,
        ..HubOptions::default()
    })
    .await;
    let (team, lead) = env.team("big");
    let worker = env.worker(&team.team_id, "w", "implementer");
    let lc = env.client(&lead).await;
    let before = env.snapshot();

    // Over the store's message limit (16 KiB): a clear MCP error.
    let big = "x".repeat(17 * 1024);
    let (code, msg, kind) = fails(
        &lc,
        "team_send",
        json!({"to": worker.agent.agent_id, "body": big}),
    )
    .await;
    assert_eq!(
        (code, kind.as_str()),
        (INVALID_PARAMS, "too_large"),
        "{msg}"
    );
    assert!(msg.contains("over the limit"), "{msg}");
    let (_, msg, kind) = fails(&lc, "team_broadcast", json!({"body": big})).await;
    assert_eq!(kind, "too_large", "{msg}");

    // Over the HTTP body limit: refused before parsing with 413.
    let huge = "y".repeat(300 * 1024);
    let body = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
        "params": {"name": "artifact_publish", "arguments": {"name": "n", "content": huge, "summary": "s"}}});
    let resp = reqwest::Client::new()
        .post(env.http.agent_url(&lead.agent.agent_id))
        .bearer_auth(&lead.token)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);

    assert_eq!(
        env.snapshot(),
        before,
        "an oversized call changed the store"
    );
    lc.cancel().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_guard_each_endpoint() {
    let env = Env::new().await;
    let (team, lead) = env.team("auth");
    let worker = env.worker(&team.team_id, "w", "implementer");
    let before = env.snapshot();
    let http = reqwest::Client::new();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let post = |url: String, token: Option<String>| {
        let mut r = http
            .post(url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(init.to_string());
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let wurl = env.http.agent_url(&worker.agent.agent_id);

    // Missing, unknown, another agent's (the lead's, valid) token, and a non-bearer
    // scheme: one status, one header, one body (issue 12: a refusal must not tell a prober
    // that a token is valid somewhere).
    for token in [None, Some("ctt_0000".to_string()), Some(lead.token.clone())] {
        let r = post(wurl.clone(), token.clone()).await.unwrap();
        assert_eq!(r.status().as_u16(), 401, "{token:?}");
        assert!(r.headers().contains_key("www-authenticate"));
        assert_eq!(
            r.text().await.unwrap(),
            codex_teams_mcp::http::UNAUTHORIZED_BODY,
            "{token:?}"
        );
    }
    let r = http
        .post(&wurl)
        .header("authorization", "Basic abc")
        .body(init.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        r.text().await.unwrap(),
        codex_teams_mcp::http::UNAUTHORIZED_BODY
    );

    // The rmcp client is refused too.
    let Err(err) = http_client(&wurl, Some("ctt_wrong")).await else {
        panic!("a wrong token was accepted");
    };
    println!("rmcp client with a wrong token: {err}");
    assert!(http_client(&wurl, None).await.is_err());

    // The right token works; /healthz answers without one.
    let r = post(wurl.clone(), Some(worker.token.clone()))
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let r = http
        .get(format!("http://{}/healthz", env.http.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);

    assert_eq!(env.snapshot(), before, "refused requests changed the store");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_cannot_use_lead_tools() {
    let env = Env::new().await;
    let (team, _lead) = env.team("roles");
    let worker = env.worker(&team.team_id, "w", "reviewer");
    let wc = env.client(&worker).await;
    let before = env.snapshot();
    for (tool, args) in [
        ("team_spawn", json!({"role": "tester", "brief": "x"})),
        ("team_finalize", json!({"outcome": "done"})),
        ("team_start", json!({"goal": "mine now"})),
    ] {
        let (code, msg, kind) = fails(&wc, tool, args).await;
        assert_eq!(
            (code, kind.as_str()),
            (FORBIDDEN, "forbidden"),
            "{tool}: {msg}"
        );
        if tool != "team_start" {
            assert!(
                msg.contains("lead-only") && msg.contains("reviewer"),
                "{msg}"
            );
        } else {
            assert!(msg.contains("stdio"), "{msg}");
        }
    }
    assert_eq!(env.snapshot(), before);
    assert!(env.rt.spawns.lock().unwrap().is_empty());
    assert!(env.rt.finalized.lock().unwrap().is_empty());

    // A refused spawn marks the agent failed and says why.
    let (_, lead) = env.team("refused spawn");
    let lc = env.client(&lead).await;
    env.rt.refuse.store(true, Ordering::SeqCst);
    let (code, msg, kind) = fails(&lc, "team_spawn", json!({"role": "tester", "brief": "b"})).await;
    assert_eq!((code, kind.as_str()), (-32010, "spawn_refused"), "{msg}");
    assert!(msg.contains("slots are taken"), "{msg}");
    let agents = env.store().list_agents(&lead.agent.team_id).unwrap();
    let spawned = agents.iter().find(|a| a.role == "tester").unwrap();
    assert_eq!(spawned.state, codex_teams_store::AgentState::Failed);
    wc.cancel().await.ok();
    lc.cancel().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_teams_ids_are_not_found() {
    let env = Env::new().await;
    let (a, a_lead) = env.team("team A");
    let (b, b_lead) = env.team("team B");
    let b_worker = env.worker(&b.team_id, "bw", "implementer");
    // Team B's things, made directly in the store.
    let s = env.store();
    let b_task = s
        .create_task(
            &b.team_id,
            &b_lead.agent.agent_id,
            codex_teams_store::NewTask {
                title: "secret task".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let b_art = s
        .publish_artifact(
            &b.team_id,
            &b_lead.agent.agent_id,
            codex_teams_store::NewArtifact {
                name: "plan".into(),
                content: "B's plan".into(),
                summary: "s".into(),
                parent_version: None,
            },
        )
        .unwrap();
    let b_msg = s
        .send(
            &b.team_id,
            &b_lead.agent.agent_id,
            Recipient::Agent(b_worker.agent.agent_id.clone()),
            "for B only",
            "k",
        )
        .unwrap();
    let ac = env.client(&a_lead).await;
    let before = env.snapshot();

    let cases = [
        (
            "team_send",
            json!({"to": b_worker.agent.agent_id, "body": "hi"}),
            b_worker.agent.agent_id.clone(),
        ),
        (
            "task_claim",
            json!({"task_id": b_task.task_id}),
            b_task.task_id.clone(),
        ),
        (
            "task_update",
            json!({"task_id": b_task.task_id, "progress": "x"}),
            b_task.task_id.clone(),
        ),
        (
            "task_create",
            json!({"title": "t", "deps": [b_task.task_id]}),
            b_task.task_id.clone(),
        ),
        (
            "artifact_read",
            json!({"artifact_id": b_art.artifact_id}),
            b_art.artifact_id.clone(),
        ),
        (
            "artifact_read",
            json!({"artifact_id": "plan"}),
            "plan".to_string(),
        ),
        (
            "team_ack",
            json!({"ids": [b_msg.message_id]}),
            b_msg.message_id.clone(),
        ),
    ];
    for (tool, args, id) in cases {
        let (code, msg, kind) = fails(&ac, tool, args).await;
        assert_eq!(
            (code, kind.as_str()),
            (INVALID_PARAMS, "not_found"),
            "{tool}: {msg}"
        );
        assert!(
            msg.contains("not found") && msg.contains(&id),
            "{tool}: {msg}"
        );
    }
    // Lists show only the caller's team.
    assert_eq!(ok(&ac, "task_list", json!({})).await["tasks"], json!([]));
    assert_eq!(
        ok(&ac, "artifact_list", json!({})).await["artifacts"],
        json!([])
    );
    assert_eq!(
        ok(&ac, "team_pull_inbox", json!({})).await["messages"],
        json!([])
    );
    let st = ok(&ac, "team_status", json!({})).await;
    assert_eq!(st["team_id"], a.team_id);
    assert_eq!(st["agents"].as_array().unwrap().len(), 1);
    assert_eq!(env.snapshot(), before, "cross-team calls changed the store");

    // A's token cannot open B's endpoints either.
    let err = http_client(
        &env.http.agent_url(&b_worker.agent.agent_id),
        Some(&a_lead.token),
    )
    .await;
    assert!(err.is_err());
    ac.cancel().await.ok();
}

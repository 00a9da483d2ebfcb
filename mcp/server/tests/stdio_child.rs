//! The real stdio server (`codex-teams-mcp`, the same code as `codex-teams mcp`) as a child
//! process, driven by rmcp's client; a worker on HTTP in this process shares the database.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use codex_teams_mcp::HubOptions;
use common::*;
use rmcp::ServiceExt;
use rmcp::model::ClientConfig;
use rmcp::transport::TokioChildProcess;
use serde_json::json;

async fn stdio_client(db: &Path, extra: &[&str]) -> Client {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_codex-teams-mcp"));
    cmd.arg("--db").arg(db).args(extra);
    cmd.env("CODEX_TEAMS_LOG", "info");
    let (child, _) = TokioChildProcess::builder(cmd)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn codex-teams-mcp");
    ClientConfig::default()
        .serve(child)
        .await
        .expect("stdio handshake")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tool_over_stdio() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("teams.db");
    let lead = stdio_client(&db, &[]).await;

    let names: Vec<String> = lead
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    assert_eq!(names.len(), 22, "{names:?}");
    assert!(names.contains(&"team_start".to_string()));

    let (code, msg, _) = fails(&lead, "team_status", json!({})).await;
    assert_eq!(code, -32011);
    assert!(msg.contains("call team_start first"), "{msg}");

    let meta = json!({"x-codex-turn-metadata": {"model": "gpt-lead", "session_id": "s"}});
    let started = call_meta(
        &lead,
        "team_start",
        json!({"goal": "port the parser", "cwd": "/tmp/work"}),
        Some(meta.clone()),
    )
    .await
    .unwrap();
    let team_id = started["team_id"].as_str().unwrap().to_string();
    let lead_id = started["agent_id"].as_str().unwrap().to_string();
    let env = Env::on(dir, db.clone(), HubOptions::default()).await;
    // This process serves the workers of the child's team (as the supervisor would).
    env.hub.serve_team(&team_id);
    let team = env.store().team(&team_id).unwrap();
    assert_eq!(team.goal, "port the parser");
    assert_eq!(team.cwd, "/tmp/work");
    assert_eq!(team.config["lead_model"], "gpt-lead");
    assert_eq!(env.store().agent(&team_id, &lead_id).unwrap().role, "lead");

    let (code, msg, _) = fails(&lead, "team_start", json!({"goal": "another"})).await;
    assert_eq!(code, -32011);
    assert!(msg.contains("already leads running team"), "{msg}");

    let sp = call_meta(
        &lead,
        "team_spawn",
        json!({"role": "researcher", "brief": "find prior art", "name": "scout"}),
        Some(meta),
    )
    .await
    .unwrap();
    assert_eq!(sp["name"], "scout");
    let scout = env
        .store()
        .agent(&team_id, sp["agent_id"].as_str().unwrap())
        .unwrap();
    assert_eq!(scout.state, codex_teams_store::AgentState::Pending);
    assert_eq!(scout.model.as_deref(), Some("gpt-lead"));
    assert_eq!(scout.brief, "find prior art");

    // A worker the supervisor registered, served over HTTP by this test process.
    let worker = env.worker(&team_id, "impl", "implementer");
    let wid = worker.agent.agent_id.clone();
    let wc = env.client(&worker).await;

    // Cross-process wake: the send commits in the child; this process sees it on re-check.
    let waiter = spawn_wait(env.client(&worker).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent_at = Instant::now();
    let sent = ok(
        &lead,
        "team_send",
        json!({"to": wid, "body": "start on tsk A"}),
    )
    .await;
    let (got, at) = waiter.await.unwrap();
    let latency = at.saturating_duration_since(sent_at);
    println!("team_wait across processes (store re-check every 500 ms) woke after {latency:?}");
    assert!(latency < Duration::from_secs(2), "{latency:?}");
    assert_eq!(got["messages"][0]["id"], sent["message_id"]);
    ok(&wc, "team_ack", json!({"ids": [sent["message_id"]]})).await;

    // Worker → lead; the lead (stdio) waits, pulls nothing more, acks.
    let back = ok(&wc, "team_send", json!({"to": "lead", "body": "on it"})).await;
    let w = ok(&lead, "team_wait", json!({"timeout_ms": 5000})).await;
    assert_eq!(w["messages"][0]["body"], "on it");
    assert_eq!(
        ok(&lead, "team_pull_inbox", json!({})).await["messages"],
        json!([])
    );
    assert_eq!(
        ok(&lead, "team_ack", json!({"ids": [back["message_id"]]})).await["acked"],
        1
    );
    let bc = ok(&lead, "team_broadcast", json!({"body": "all hands"})).await;
    assert_eq!(bc["recipients"], 2);

    // Board and artifacts through stdio.
    let t = ok(
        &lead,
        "task_create",
        json!({"title": "A", "role": "implementer"}),
    )
    .await;
    let tid = t["id"].as_str().unwrap().to_string();
    assert_eq!(
        ok(&lead, "task_list", json!({"status": "ready"})).await["tasks"][0]["id"],
        tid
    );
    let c = ok(&lead, "task_claim", json!({"task_id": tid})).await;
    assert_eq!(c["by"], lead_id);
    let a = ok(
        &lead,
        "artifact_publish",
        json!({"name": "notes", "content": "n1", "summary": "notes"}),
    )
    .await;
    let u = ok(
        &lead,
        "task_update",
        json!({"task_id": tid, "status": "done", "artifact": a["id"]}),
    )
    .await;
    assert_eq!(u["status"], "done");
    assert_eq!(
        ok(&lead, "artifact_read", json!({"artifact_id": "notes"})).await["content"],
        "n1"
    );
    assert_eq!(
        ok(&lead, "artifact_list", json!({})).await["artifacts"][0]["id"],
        a["id"]
    );
    let st = ok(&lead, "team_status", json!({})).await;
    assert_eq!(st["agents"].as_array().unwrap().len(), 3);
    assert_eq!(st["tasks"]["done"], 1);

    // A decision: the stdio lead opens and closes it, the HTTP worker proposes and votes.
    let d = ok(
        &lead,
        "decision_open",
        json!({"question": "ship notes?", "strategy": "consensus"}),
    )
    .await;
    let cand = ok(
        &wc,
        "decision_propose",
        json!({"decision_id": d["id"], "artifact": "notes"}),
    )
    .await;
    ok(
        &wc,
        "decision_vote",
        json!({"decision_id": d["id"], "candidate_id": cand["id"]}),
    )
    .await;
    let closed = ok(&lead, "decision_close", json!({"decision_id": d["id"]})).await;
    assert_eq!(closed["winner"], cand["id"]);
    assert_eq!(
        ok(&lead, "decision_get", json!({"decision_id": d["id"]})).await,
        closed
    );

    let fin = ok(
        &lead,
        "team_finalize",
        json!({"outcome": "failed", "summary": "gave up"}),
    )
    .await;
    assert_eq!(fin["status"], "failed");
    assert_eq!(
        env.store().team(&team_id).unwrap().status,
        codex_teams_store::TeamStatus::Failed
    );
    // A finalized team frees the session for a new one.
    let again = ok(&lead, "team_start", json!({"goal": "second try"})).await;
    assert_ne!(again["team_id"], team_id);

    wc.cancel().await.ok();
    lead.cancel().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_can_resume_as_an_existing_lead() {
    let env = Env::new().await;
    let (team, lead) = env.team("resume me");
    let other = env.worker(&team.team_id, "w0", "implementer");
    let logs = env.dir.path().join("logs");
    let c = stdio_client(
        &env.db,
        &[
            "--team",
            &team.team_id,
            "--agent",
            &lead.agent.agent_id,
            "--log-dir",
            logs.to_str().unwrap(),
        ],
    )
    .await;
    let st = ok(&c, "team_status", json!({})).await;
    assert_eq!(st["me"], lead.agent.agent_id);
    let sent = ok(
        &c,
        "team_send",
        json!({"to": other.agent.agent_id, "body": "logged"}),
    )
    .await;
    c.cancel().await.ok();

    // --log-dir: JSON lines in a daily file, with the message's trace ids.
    let mut found = false;
    for _ in 0..50 {
        let text: String = std::fs::read_dir(&logs)
            .map(|d| {
                d.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                    .collect()
            })
            .unwrap_or_default();
        found = text.lines().any(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap_or_default();
            v["event"] == "message.sent"
                && v["message_id"] == sent["message_id"]
                && v["team_id"] == team.team_id.as_str()
        });
        if found {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let all: Vec<String> = std::fs::read_dir(&logs)
        .map(|d| {
            d.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    assert!(found, "message.sent event in {}: {all:?}", logs.display());

    // A worker's id is refused at startup with a clear message.
    let worker = env.worker(&team.team_id, "w", "tester");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_codex-teams-mcp"))
        .arg("--db")
        .arg(&env.db)
        .args(["--team", &team.team_id, "--agent", &worker.agent.agent_id])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("role tester, not lead"), "{err}");
}

//! Every bus message and artifact exchange is one JSON event with its trace ids; secrets
//! never reach the log, whatever the level.

mod common;

use common::*;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_carry_trace_ids_and_no_secrets() {
    let buf = Buf::capture_trace_logs();

    let env = Env::new().await;
    let (team, lead) = env.team("logs");
    let worker = env.worker(&team.team_id, "w", "implementer");
    let lc = env.client(&lead).await;
    let wc = env.client(&worker).await;
    let secret = "sk-live0123456789abcdefghijklmnop";
    let password = "hunter2-very-secret";

    let sent = ok(
        &lc,
        "team_send",
        json!({"to": worker.agent.agent_id, "body": format!("use {secret} and password={password}")}),
    )
    .await;
    let pulled = ok(&wc, "team_pull_inbox", json!({})).await;
    assert_eq!(pulled["messages"].as_array().unwrap().len(), 1);
    ok(&wc, "team_ack", json!({"ids": [sent["message_id"]]})).await;
    let art = ok(
        &wc,
        "artifact_publish",
        json!({"name": "cfg", "content": format!("api_key: {secret}"), "summary": "config"}),
    )
    .await;
    ok(&lc, "artifact_read", json!({"artifact_id": art["id"]})).await;
    let task = ok(&lc, "task_create", json!({"title": "t"})).await;
    // A failing call whose arguments hold a secret under a secret-looking key.
    let _ = call(
        &lc,
        "team_send",
        json!({"to": "lead", "body": "x", "token": lead.token}),
    )
    .await;
    lc.cancel().await.ok();
    wc.cancel().await.ok();

    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    for needle in [secret, password, lead.token.as_str(), worker.token.as_str()] {
        if let Some(line) = text.lines().find(|l| l.contains(needle)) {
            panic!("log contains a secret ({needle}): {line}");
        }
    }
    let events: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "codex_teams::bus")
        .collect();
    let find =
        |name: &str| -> Vec<&Value> { events.iter().filter(|e| e["event"] == name).collect() };

    let s = find("message.sent");
    assert_eq!(s.len(), 1, "{events:?}");
    assert_eq!(s[0]["team_id"], team.team_id);
    assert_eq!(s[0]["agent_id"], lead.agent.agent_id);
    assert_eq!(s[0]["to_agent"], worker.agent.agent_id);
    assert_eq!(s[0]["message_id"], sent["message_id"]);
    assert_eq!(s[0]["bytes"], sent_body_len(secret, password));
    assert!(
        s[0].get("preview").is_none(),
        "bodies stay out by default: {s:?}"
    );
    let d = find("message.delivered");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["message_id"], sent["message_id"]);
    assert_eq!(d[0]["agent_id"], worker.agent.agent_id);
    assert_eq!(find("message.acked")[0]["message_id"], sent["message_id"]);
    let p = find("artifact.published");
    assert_eq!(p[0]["artifact_id"], art["id"]);
    assert_eq!(p[0]["team_id"], team.team_id);
    let r = find("artifact.read");
    assert_eq!(r[0]["artifact_id"], art["id"]);
    assert_eq!(r[0]["agent_id"], lead.agent.agent_id);
    assert_eq!(find("task.created")[0]["task_id"], task["id"]);

    // The store's own events, mirrored once committed, join the same ids.
    let stored: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == codex_teams_store::EVENTS_TARGET)
        .collect();
    let one = |kind: &str, key: &str, id: &Value| -> Value {
        let hits: Vec<&Value> = stored
            .iter()
            .filter(|e| e["event"] == kind && e[key] == *id)
            .collect();
        assert_eq!(hits.len(), 1, "{kind} {key}={id}: {stored:?}");
        assert_eq!(hits[0]["team_id"], team.team_id);
        hits[0].clone()
    };
    let m = &sent["message_id"];
    assert_eq!(
        one("message.sent", "message_id", m)["agent_id"],
        lead.agent.agent_id
    );
    assert_eq!(
        one("message.delivered", "message_id", m)["agent_id"],
        worker.agent.agent_id
    );
    assert_eq!(
        one("message.acked", "message_id", m)["agent_id"],
        worker.agent.agent_id
    );
    assert_eq!(
        one("artifact.published", "artifact_id", &art["id"])["agent_id"],
        worker.agent.agent_id
    );
    assert_eq!(
        one("artifact.read", "artifact_id", &art["id"])["agent_id"],
        lead.agent.agent_id
    );
    assert_eq!(
        one("task.created", "task_id", &task["id"])["agent_id"],
        lead.agent.agent_id
    );

    let errors: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["event"] == "tool.error")
        .collect();
    assert!(!errors.is_empty(), "the refused call is logged");
    assert!(
        errors
            .iter()
            .any(|e| e["args"].as_str().unwrap_or("").contains("[REDACTED]"))
    );
}

/// The size of the body the test sends (the log keeps sizes, not bodies).
fn sent_body_len(secret: &str, password: &str) -> usize {
    format!("use {secret} and password={password}").len()
}

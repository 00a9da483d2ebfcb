//! The real codex binary (pinned 0.169.0, driven by the scripted model) configured as in
//! codex-facts §3 calls the team tools through its agent's HTTP endpoint. A missing codex
//! binary fails this test (see `scripts/install-codex.sh`); it never skips.

mod common;

use std::time::Duration;

use codex_teams_mock_model::harness::{Codex, ItemKind};
use codex_teams_mock_model::{MockModel, Options, Scenario};
use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_sends_and_pulls_through_the_http_endpoint() {
    let env = Env::new().await;
    let (team, lead) = env.team("codex e2e");
    let worker = env.worker(&team.team_id, "impl", "implementer");
    let wid = worker.agent.agent_id.clone();
    let wc = env.client(&worker).await;
    // Something waiting in the lead's inbox before codex starts.
    let hi = ok(
        &wc,
        "team_send",
        json!({"to": "lead", "body": "hi lead, parser is next"}),
    )
    .await;

    let scenario = format!(
        r#"
name: mcp-team-e2e
rules:
  - name: send
    when: {{prompt_contains: "message the worker", tool_calls: 0}}
    reply:
      - mcp: {{server: team, tool: team_send, arguments: {{to: "{wid}", body: "hello from codex", key: "e2e-1"}}}}
  - name: pull
    when: {{last_output: {{tool: team_send}}}}
    reply:
      - mcp: {{server: team, tool: team_pull_inbox, arguments: {{}}}}
  - name: spawn
    when: {{last_output: {{tool: team_pull_inbox}}}}
    reply:
      - mcp: {{server: team, tool: team_spawn, arguments: {{role: tester, brief: "test the parser"}}}}
  - name: answer
    when: {{last_output: {{tool: team_spawn}}}}
    reply:
      - message: "sent, pulled and spawned"
"#
    );
    let server = MockModel::start(
        Scenario::from_yaml(&scenario, "inline").unwrap(),
        Options::default(),
    )
    .await
    .unwrap();
    let url = env.http.agent_url(&lead.agent.agent_id);
    let run = Codex::new(&server.base_url())
        .unwrap_or_else(|e| panic!("{e:#}"))
        .timeout(Duration::from_secs(90))
        .config(format!("mcp_servers.team.url={url:?}"))
        .config("mcp_servers.team.bearer_token_env_var=\"CODEX_TEAMS_TOKEN\"")
        .config("mcp_servers.team.default_tools_approval_mode=\"approve\"")
        .config("mcp_servers.team.required=true")
        .env("CODEX_TEAMS_TOKEN", &lead.token)
        .exec("message the worker, then read your inbox")
        .await
        .unwrap();
    run.ensure_success().unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(server.unmatched_count(), 0);
    assert_eq!(run.final_message(), Some("sent, pulled and spawned"));

    let calls: Vec<(String, String)> = run
        .completed_items()
        .filter_map(|i| match &i.kind {
            ItemKind::McpToolCall { tool, status, .. } => Some((tool.clone(), status.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("team_send".to_string(), "completed".to_string()),
            ("team_pull_inbox".to_string(), "completed".to_string()),
            ("team_spawn".to_string(), "completed".to_string()),
        ]
    );

    // The worker got codex's message, from the lead, once.
    let inbox = ok(&wc, "team_pull_inbox", json!({})).await;
    let msgs = inbox["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 1, "{inbox}");
    assert_eq!(msgs[0]["body"], "hello from codex");
    assert_eq!(msgs[0]["from"], lead.agent.agent_id);

    // Codex's pull returned the waiting message to the model.
    let requests = server.requests();
    let pulled = requests
        .iter()
        .flat_map(|r| r.body["input"].as_array().cloned().unwrap_or_default())
        .filter(|i| i["type"] == "function_call_output")
        .map(|i| i["output"].to_string())
        .find(|o| o.contains(hi["message_id"].as_str().unwrap()))
        .expect("the pulled message reached the model");
    assert!(pulled.contains("hi lead, parser is next"), "{pulled}");

    // The lead's live model travelled in _meta to the spawn request.
    let spawn = env
        .rt
        .spawns
        .lock()
        .unwrap()
        .last()
        .cloned()
        .expect("spawned");
    assert_eq!(spawn.model.as_deref(), Some("mock-model"));
    assert_eq!(spawn.role, "tester");

    // What the team tools cost in every request of this lead.
    let ns = requests[0].body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "namespace" && t["name"] == "mcp__team")
        .cloned()
        .expect("mcp__team namespace offered");
    let names: Vec<String> = ns["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&"team_spawn".to_string()), "{names:?}");
    assert!(!names.contains(&"team_start".to_string()), "{names:?}");
    println!(
        "mcp__team namespace as codex sends it: {} tools, {} bytes",
        names.len(),
        ns.to_string().len()
    );
    if std::env::var_os("SHOW_TEAM_NAMESPACE").is_some() {
        println!("{}", serde_json::to_string_pretty(&ns).unwrap());
    }
    wc.cancel().await.ok();
    server.shutdown().await;
}

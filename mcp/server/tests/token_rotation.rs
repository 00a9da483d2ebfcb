//! Rotating an agent's bearer token over the real HTTP endpoint: the old token is refused
//! (401) from the moment the rotation commits, even on a session opened before it, and the
//! new one works. `codex-teams resume` relies on this instead of keeping tokens on disk.

mod common;

use common::*;
use rmcp::model::CallToolRequestParams;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_token_is_refused_after_rotation_and_new_one_works() {
    let env = Env::new().await;
    let (team, lead) = env.team("rotate");
    let worker = env.worker(&team.team_id, "w", "implementer");
    let wurl = env.http.agent_url(&worker.agent.agent_id);
    let http = reqwest::Client::new();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let post = |token: String| {
        http.post(&wurl)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(init.to_string())
            .bearer_auth(token)
            .send()
    };
    // A session opened with the old token, before the rotation.
    let before = env.client(&worker).await;
    ok(&before, "task_list", json!({})).await;
    assert!(
        post(worker.token.clone())
            .await
            .unwrap()
            .status()
            .is_success()
    );

    let fresh = env
        .hub
        .rotate_agent_token(&team.team_id, &worker.agent.agent_id)
        .await
        .unwrap();
    assert_eq!(fresh.agent.agent_id, worker.agent.agent_id);
    assert_ne!(fresh.token, worker.token);
    assert!(
        fresh
            .token
            .starts_with(codex_teams_mcp::token::TOKEN_PREFIX)
    );

    let r = post(worker.token.clone()).await.unwrap();
    assert_eq!(r.status().as_u16(), 401, "the old token still works");
    let text = r.text().await.unwrap();
    assert_eq!(text, codex_teams_mcp::http::UNAUTHORIZED_BODY);
    // Identity is checked per request: the session opened earlier is refused too.
    let r = before
        .call_tool(CallToolRequestParams::new("task_list".to_string()))
        .await;
    assert!(
        r.is_err(),
        "a session opened with the old token still works: {r:?}"
    );
    assert!(http_client(&wurl, Some(&worker.token)).await.is_err());

    let r = post(fresh.token.clone()).await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let after = env.client(&fresh).await;
    ok(&after, "task_list", json!({})).await;
    // The lead's token is untouched.
    ok(&env.client(&lead).await, "task_list", json!({})).await;

    // Another team's agent cannot be rotated through this team.
    let (_, other_lead) = env.team("other");
    let err = env
        .hub
        .rotate_agent_token(&team.team_id, &other_lead.agent.agent_id)
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("agent not found"), "{err}");
    ok(&env.client(&other_lead).await, "task_list", json!({})).await;
}

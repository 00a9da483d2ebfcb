//! A supervisor serves only its own teams (issue 12, item 2): two supervisors on one
//! database file; a token of the other's team is refused on every endpoint and method,
//! with the same 401 as a bad token, and never makes this one fork a worker.

mod common;

use std::sync::Arc;

use codex_teams_mcp::{HubOptions, TeamHub, serve_http};
use codex_teams_store::NewTeam;
use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_of_a_team_served_elsewhere_is_refused_everywhere() {
    // Supervisor A: the env. Supervisor B: a second hub and server on the same file.
    let env = Env::new().await;
    let (team_a, lead_a) = env.team("A's");
    let rt_b = Arc::new(RecordingRuntime::default());
    let hub_b = TeamHub::open(&env.db, rt_b.clone(), HubOptions::default()).unwrap();
    let http_b = serve_http(hub_b.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (team_b, lead_b) = hub_b
        .start_team(
            NewTeam {
                goal: "B's".into(),
                cwd: "/tmp".into(),
                profile: "default".into(),
                config: json!({}),
            },
            "lead",
        )
        .await
        .unwrap();
    assert!(hub_b.serves(&team_b.team_id) && !hub_b.serves(&team_a.team_id));
    assert!(!env.hub.serves(&team_b.team_id));
    let before = env.snapshot();

    // B's lead's token at A's server, on its own path: every method, one answer.
    let b_at_a = env.http.agent_url(&lead_b.agent.agent_id);
    let bearer = format!("Bearer {}", lead_b.token);
    for method in [Method::POST, Method::GET, Method::DELETE] {
        let r = raw_request(method.clone(), &b_at_a, Some(&bearer), Some("sess"))
            .body(initialize_request().to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401, "{method}");
        assert_eq!(
            r.text().await.unwrap(),
            codex_teams_mcp::http::UNAUTHORIZED_BODY
        );
    }
    let r = raw_post(&b_at_a, &lead_b.token, None, &initialize_request()).await;
    assert_eq!(r.status().as_u16(), 401);
    assert!(http_client(&b_at_a, Some(&lead_b.token)).await.is_err());
    // Nor at any other path of A's.
    let r = raw_post(
        &env.http.agent_url(&lead_a.agent.agent_id),
        &lead_b.token,
        None,
        &initialize_request(),
    )
    .await;
    assert_eq!(r.status().as_u16(), 401);

    // A's lead's token at B's server: refused the same way.
    let a_at_b = http_b.agent_url(&lead_a.agent.agent_id);
    let r = raw_post(&a_at_b, &lead_a.token, None, &initialize_request()).await;
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        r.text().await.unwrap(),
        codex_teams_mcp::http::UNAUTHORIZED_BODY
    );

    // Each supervisor serves its own: B's lead spawns through B, and only B is asked.
    let bc = http_client(
        &http_b.agent_url(&lead_b.agent.agent_id),
        Some(&lead_b.token),
    )
    .await
    .unwrap();
    ok(
        &bc,
        "team_spawn",
        json!({"role": "tester", "brief": "b's work"}),
    )
    .await;
    assert_eq!(rt_b.spawns.lock().unwrap().len(), 1);
    assert!(env.rt.spawns.lock().unwrap().is_empty(), "A forked for B");
    let ac = env.client(&lead_a).await;
    assert_eq!(
        ok(&ac, "team_status", json!({})).await["team_id"],
        team_a.team_id
    );
    bc.cancel().await.ok();
    ac.cancel().await.ok();
    // Nothing of A's changed through B's token.
    let after = env.snapshot();
    assert_eq!(after[0], before[0], "team A changed");
    http_b.shutdown().await.unwrap();
}

//! MCP sessions are bound to their agent (issue 12, item 1): another agent's valid token
//! with the lead's `Mcp-Session-Id` can neither open that session's SSE stream nor delete
//! it, nor post into it; the lead's pending `team_wait` still gets its reply; session ids
//! never reach the logs.

mod common;

use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_agents_token_cannot_use_or_end_the_leads_session() {
    let buf = Buf::capture_trace_logs();
    let env = Env::new().await;
    let (team, lead) = env.team("sessions");
    let worker = env.worker(&team.team_id, "w", "implementer");
    let lurl = env.http.agent_url(&lead.agent.agent_id);
    let wurl = env.http.agent_url(&worker.agent.agent_id);
    let session = raw_session(&lurl, &lead.token).await;

    // The lead long-polls in its session.
    let (url, token, sid) = (lurl.clone(), lead.token.clone(), session.clone());
    let wait = tokio::spawn(async move {
        let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": "team_wait", "arguments": {"timeout_ms": 15000}}});
        let r = raw_post(&url, &token, Some(&sid), &call).await;
        (r.status().as_u16(), r.text().await.unwrap())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The worker's token with the lead's session id, on either endpoint: as if unknown.
    let bearer = format!("Bearer {}", worker.token);
    for url in [&lurl, &wurl] {
        let get = raw_request(Method::GET, url, Some(&bearer), Some(&session))
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        let status = get.status().as_u16();
        drop(get);
        let del = raw_request(Method::DELETE, url, Some(&bearer), Some(&session))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        let post = raw_post(
            url,
            &worker.token,
            Some(&session),
            &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        )
        .await
        .status()
        .as_u16();
        // On the lead's endpoint the worker's token is refused outright (401); on its own
        // endpoint the session is not its own (404).
        let want = if url == &lurl { 401 } else { 404 };
        assert_eq!((status, del, post), (want, want, want), "{url}");
    }

    // The lead's wait is still there and gets the worker's message.
    let wc = env.client(&worker).await;
    ok(&wc, "team_send", json!({"to": "lead", "body": "ping"})).await;
    let (status, text) = tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("the lead's team_wait never answered")
        .unwrap();
    assert_eq!(status, 200);
    let result = rpc_result(&text).unwrap_or_else(|| panic!("no result in {text}"));
    assert_eq!(
        result["structuredContent"]["messages"][0]["body"], "ping",
        "{result}"
    );

    // Its owner may end it.
    let del = raw_request(
        Method::DELETE,
        &lurl,
        Some(&format!("Bearer {}", lead.token)),
        Some(&session),
    )
    .send()
    .await
    .unwrap();
    assert!(del.status().is_success(), "{}", del.status());
    wc.cancel().await.ok();

    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    if let Some(line) = logs.lines().find(|l| l.contains(&session)) {
        panic!("a session id reached the log: {line}");
    }
}

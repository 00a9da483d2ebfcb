//! The loopback guard and the uniform 401 (issue 12, items 4 and 5), over real HTTP.

mod common;

use codex_teams_mcp::http::UNAUTHORIZED_BODY;
use common::*;
use reqwest::Method;

/// Item 4: `Origin` absent or loopback (`http://127.0.0.1[:port]`, `http://localhost[:port]`,
/// `http://[::1][:port]`); anything else is 403, on every route, before authentication.
/// A foreign `Host` (DNS rebinding) is 403 too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origin_and_host_must_be_loopback() {
    let env = Env::new().await;
    let (_, lead) = env.team("origins");
    let url = env.http.agent_url(&lead.agent.agent_id);
    let bearer = format!("Bearer {}", lead.token);
    let before = env.snapshot();
    let init = |origin: Option<&str>, auth: Option<&str>| {
        let mut r =
            raw_request(Method::POST, &url, auth, None).body(initialize_request().to_string());
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        r.send()
    };
    for evil in [
        "http://evil.example",
        "null",
        "https://evil.example:443",
        "http://127.0.0.1.evil.example",
        "http://localhost.evil.example",
    ] {
        let r = init(Some(evil), Some(&bearer)).await.unwrap();
        assert_eq!(r.status().as_u16(), 403, "Origin {evil} with a valid token");
        let r = init(Some(evil), None).await.unwrap();
        assert_eq!(r.status().as_u16(), 403, "Origin {evil} without a token");
        let r = reqwest::Client::new()
            .get(format!("http://{}/healthz", env.http.addr))
            .header("origin", evil)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 403, "/healthz with Origin {evil}");
    }
    let port = env.http.addr.port();
    for good in [
        None,
        Some(format!("http://127.0.0.1:{port}")),
        Some("http://127.0.0.1".to_string()),
        Some(format!("http://localhost:{port}")),
        Some("http://[::1]:9".to_string()),
    ] {
        let r = init(good.as_deref(), Some(&bearer)).await.unwrap();
        assert!(r.status().is_success(), "Origin {good:?}: {}", r.status());
    }
    // DNS rebinding: the right address under a foreign name.
    let r = raw_request(Method::POST, &url, Some(&bearer), None)
        .header("host", "evil.example")
        .body(initialize_request().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(env.snapshot(), before);
}

/// Item 5: missing, malformed, unknown, another agent's, another team's and an unserved
/// team's token get one identical 401; the scheme is case-insensitive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_auth_refusal_is_identical_and_bearer_is_case_insensitive() {
    let env = Env::new().await;
    let (team, lead) = env.team("auth");
    let worker = env.worker(&team.team_id, "w", "implementer");
    let (_, other_lead) = env.team("another served team");
    let (_, stranger) = env.unserved_team("a team served elsewhere");
    let wurl = env.http.agent_url(&worker.agent.agent_id);
    let before = env.snapshot();

    let mut answers = Vec::new();
    for auth in [
        None,
        Some("Basic dXNlcjpwYXNz".to_string()),
        Some("Bearer".to_string()),
        Some("Bearer ctt_0000".to_string()),
        Some(format!("Bearer {}", lead.token)),
        Some(format!("Bearer {}", other_lead.token)),
        Some(format!("Bearer {}", stranger.token)),
    ] {
        let r = raw_request(Method::POST, &wurl, auth.as_deref(), None)
            .body(initialize_request().to_string())
            .send()
            .await
            .unwrap();
        let www = r
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_string());
        answers.push((r.status().as_u16(), www, r.text().await.unwrap()));
    }
    let want = (
        401,
        Some("Bearer realm=\"codex-teams\"".to_string()),
        UNAUTHORIZED_BODY.to_string(),
    );
    for (i, a) in answers.iter().enumerate() {
        assert_eq!(a, &want, "refusal {i} differs");
    }

    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let r = raw_request(
            Method::POST,
            &wurl,
            Some(&format!("{scheme} {}", worker.token)),
            None,
        )
        .body(initialize_request().to_string())
        .send()
        .await
        .unwrap();
        assert!(r.status().is_success(), "{scheme}: {}", r.status());
    }
    assert_eq!(env.snapshot(), before);
}

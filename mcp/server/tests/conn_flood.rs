//! Silent and slow clients cannot starve real ones (issue 12, item 3).
//!
//! The probe that found it opened ~20,000 silent TCP connections: the server accepted every
//! one, none ever timed out, the process ran out of descriptors, and legitimate calls and
//! `/healthz` hung. Here the same happens at a smaller scale: this process's descriptor
//! limit is set to 4096 and 3000 silent connections are opened (with the old accept loop
//! that is ~6000 descriptors, client and server side); a legitimate call must still be
//! answered within 1 s, and the server must recover without a restart.

mod common;

use std::time::{Duration, Instant};

use codex_teams_mcp::{HttpLimits, serve_http_with};
use common::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const FD_LIMIT: u64 = 4096;
const IDLE: usize = 3000;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_idle_connections_leave_legitimate_calls_answered_within_1s() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    let limit = FD_LIMIT.min(hard);
    setrlimit(Resource::RLIMIT_NOFILE, limit, hard).unwrap();
    // Leave room for the server's bounded share and the test's own descriptors.
    let idle_count = IDLE.min(limit.saturating_sub(800) as usize);
    println!("descriptor limit {soft} -> {limit} (hard {hard}), {idle_count} idle connections");

    let env = Env::new().await;
    let (_, lead) = env.team("flood");
    let addr = env.http.addr;

    // Silent connections, plus some that start a request and never finish its headers.
    let mut idle = Vec::with_capacity(idle_count);
    let mut failed = 0;
    for i in 0..idle_count {
        match tokio::time::timeout(Duration::from_millis(500), TcpStream::connect(addr)).await {
            Ok(Ok(mut s)) => {
                if i % 10 == 0 {
                    let _ = s
                        .write_all(b"POST /agents/x/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                        .await;
                }
                idle.push(s);
            }
            _ => failed += 1,
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fds = open_fds();
    println!(
        "{} idle connections open ({failed} failed), {fds} descriptors in this process",
        idle.len()
    );

    let started = Instant::now();
    let legit = async {
        let health = reqwest::Client::new()
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .expect("healthz");
        assert_eq!(health.status().as_u16(), 200);
        let c = env.client(&lead).await;
        let st = ok(&c, "team_status", json!({})).await;
        c.cancel().await.ok();
        st
    };
    let st = tokio::time::timeout(Duration::from_secs(10), legit)
        .await
        .expect("a legitimate call hung behind idle connections");
    let took = started.elapsed();
    println!(
        "legitimate healthz + connect + team_status under {} idle connections: {took:?}",
        idle.len()
    );
    assert_eq!(st["team_id"], lead.agent.team_id);
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(failed == 0, "{failed} connects failed");

    // The attacker leaves; the same server goes on serving.
    drop(idle);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let c = env.client(&lead).await;
    ok(&c, "task_create", json!({"title": "after the flood"})).await;
    c.cancel().await.ok();
    println!("descriptors after the flood: {}", open_fds());
    setrlimit(Resource::RLIMIT_NOFILE, soft, hard).unwrap();
}

/// One agent may hold at most `max_requests_per_agent` open requests (long-polls count
/// while open); one more is 429, other agents are unaffected, and the slot comes back when
/// a request ends. A request whose headers never finish, and a keep-alive connection left
/// idle, are closed after `header_timeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_requests_are_bounded_per_agent_and_slow_or_idle_connections_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("teams.db");
    let env = Env::on(dir, db, Default::default()).await;
    let limits = HttpLimits {
        max_requests_per_agent: 3,
        header_timeout: Duration::from_millis(500),
        ..HttpLimits::default()
    };
    let http = serve_http_with(env.hub.clone(), "127.0.0.1:0".parse().unwrap(), limits)
        .await
        .unwrap();
    let (team, lead) = env.team("bounded");
    let worker = env.worker(&team.team_id, "w", "implementer");
    let wurl = http.agent_url(&worker.agent.agent_id);
    let session = raw_session(&wurl, &worker.token).await;
    // Distinct JSON-RPC ids: the session routes each reply by its request's id.
    let wait = |id: u32| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "team_wait", "arguments": {"timeout_ms": 2000}}})
    };
    let mut waits = Vec::new();
    for id in 10..13 {
        let (u, t, s, w) = (
            wurl.clone(),
            worker.token.clone(),
            session.clone(),
            wait(id),
        );
        waits.push(tokio::spawn(async move {
            let r = raw_post(&u, &t, Some(&s), &w).await;
            (r.status().as_u16(), r.text().await.unwrap())
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = raw_post(&wurl, &worker.token, Some(&session), &wait(13)).await;
    assert_eq!(r.status().as_u16(), 429, "a fourth open request");
    // The lead is another agent: unaffected.
    let lc = http_client(&http.agent_url(&lead.agent.agent_id), Some(&lead.token))
        .await
        .unwrap();
    ok(&lc, "team_status", json!({})).await;
    lc.cancel().await.ok();
    for w in waits {
        let (status, text) = w.await.unwrap();
        assert_eq!(status, 200, "{text}");
    }
    let r = raw_post(&wurl, &worker.token, Some(&session), &wait(14)).await;
    assert_eq!(r.status().as_u16(), 200, "the slots came back");
    r.text().await.unwrap();

    // Headers that never finish: the server hangs up.
    let mut s = TcpStream::connect(http.addr).await.unwrap();
    s.write_all(b"POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "a connection with unfinished headers stayed open"
    );

    // A keep-alive connection left idle after a request: closed too (the same timer).
    let mut s = TcpStream::connect(http.addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
    assert!(closed.is_ok(), "an idle keep-alive connection stayed open");
    http.shutdown().await.unwrap();
}

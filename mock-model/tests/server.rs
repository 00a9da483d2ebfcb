//! The server over real HTTP on loopback, without codex: status codes, SSE shape, token
//! accounting, the request log, limits and unmatched requests.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use codex_teams_mock_model::{MockModel, MockModelHandle, Options, Outcome, Scenario, tokens};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_owned(), body.to_owned())
}

fn sse_events(body: &str) -> Vec<Value> {
    body.split("\n\n")
        .filter_map(|frame| frame.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

const SCENARIO: &str = r#"
rules:
  - name: shell-first
    once: true
    when: {prompt_contains: "list", tool_calls: 0}
    reply:
      - message: "Listing."
      - shell: "ls"
  - name: answer
    when: {last_output: {tool: exec_command}}
    reply:
      - message: "Saw {{ last_output.text | trim }}"
  - name: broken
    when: {prompt_contains: "broken"}
    reply:
      - message: "{{ outputs.team_claim.task_id }}"
"#;

async fn start(log: Option<std::path::PathBuf>, latency: Duration) -> MockModelHandle {
    let scenario = Scenario::from_yaml(SCENARIO, "inline").unwrap();
    MockModel::start(
        scenario,
        Options {
            port: 0,
            latency: Some(codex_teams_mock_model::Latency::per_request(latency)),
            log_path: log,
        },
    )
    .await
    .unwrap()
}

fn request(key: &str, input: Value) -> String {
    json!({
        "model": "mock-model",
        "instructions": "You are terse.",
        "input": input,
        "tools": [{"type": "function", "name": "exec_command", "parameters": {"type": "object"}}],
        "stream": true,
        "prompt_cache_key": key,
    })
    .to_string()
}

fn user(text: &str) -> Value {
    json!({"type":"message","role":"user","content":[{"type":"input_text","text":text}]})
}

#[tokio::test]
async fn answers_with_sse_counts_tokens_and_logs() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    let server = start(Some(log.clone()), Duration::ZERO).await;
    assert!(server.base_url().starts_with("http://127.0.0.1:"));
    assert!(server.base_url().ends_with("/v1"));

    let first = request("thread-a", json!([user("list the files")]));
    let (status, head, body) = http(server.addr(), "POST", "/v1/responses", &first).await;
    assert_eq!(status, 200);
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{head}"
    );
    let events = sse_events(&body);
    let kinds: Vec<_> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "response.created",
            "response.output_item.done",
            "response.output_item.done",
            "response.completed"
        ]
    );
    let call = &events[2]["item"];
    assert_eq!(call["type"], "function_call");
    assert_eq!(call["name"], "exec_command");
    assert_eq!(call["arguments"], "{\"cmd\":\"ls\"}");

    // The server's count is o200k_base over tools, instructions and each input item.
    let parsed: tokens::RawRequest<'_> = serde_json::from_str(&first).unwrap();
    let expected_in = tokens::request_tokens(&parsed).len() as u64;
    let usage = &events[3]["response"]["usage"];
    assert_eq!(usage["input_tokens"], expected_in);
    assert_eq!(usage["input_tokens_details"]["cached_tokens"], 0);
    let expected_out = (tokens::encode("Listing.").len()
        + tokens::encode("exec_command").len()
        + tokens::encode("{\"cmd\":\"ls\"}").len()) as u64;
    assert_eq!(usage["output_tokens"], expected_out);
    assert_eq!(usage["total_tokens"], expected_in + expected_out);

    // Second request of the same thread: the first request's items are a cached prefix.
    let call_id = call["call_id"].as_str().unwrap();
    let second = request(
        "thread-a",
        json!([
            user("list the files"),
            {"type":"function_call","name":"exec_command","call_id":call_id,"arguments":"{\"cmd\":\"ls\"}"},
            {"type":"function_call_output","call_id":call_id,"output":"Process exited with code 0\nOutput:\na.txt\n"}
        ]),
    );
    let (status, _, body) = http(server.addr(), "POST", "/v1/responses", &second).await;
    assert_eq!(status, 200);
    let events = sse_events(&body);
    assert_eq!(events[1]["item"]["content"][0]["text"], "Saw a.txt");
    let usage = &events[2]["response"]["usage"];
    assert_eq!(usage["input_tokens_details"]["cached_tokens"], expected_in);
    assert!(usage["input_tokens"].as_u64().unwrap() > expected_in);

    // Another thread (another cache key) shares nothing cached.
    let (_, _, body) = http(
        server.addr(),
        "POST",
        "/v1/responses",
        &request("thread-b", json!([user("hello")])),
    )
    .await;
    let events = sse_events(&body);
    assert!(
        events[1]["item"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("no scenario rule matched")
    );
    assert_eq!(
        events[2]["response"]["usage"]["input_tokens_details"]["cached_tokens"],
        0
    );

    let recorded = server.requests();
    assert_eq!(recorded.len(), 3);
    assert_eq!(recorded[0].rule.as_deref(), Some("shell-first"));
    assert_eq!(recorded[1].rule.as_deref(), Some("answer"));
    assert_eq!(recorded[2].outcome, Outcome::Unmatched);
    assert_eq!(server.unmatched_count(), 1);

    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for (line, rec) in lines.iter().zip(&recorded) {
        assert_eq!(line["seq"], rec.seq);
        assert_eq!(line["input_tokens"], rec.input_tokens);
        assert_eq!(line["cached_tokens"], rec.cached_tokens);
        assert_eq!(line["output_tokens"], rec.output_tokens);
        assert_eq!(line["outcome"], serde_json::to_value(rec.outcome).unwrap());
        assert!(line["body"]["input"].is_array());
    }
    assert_eq!(lines[1]["cached_tokens"], expected_in);
}

#[tokio::test]
async fn once_rules_are_used_up_and_render_errors_are_counted() {
    let server = start(None, Duration::ZERO).await;
    let body = request("k", json!([user("list")]));
    http(server.addr(), "POST", "/v1/responses", &body).await;
    let (_, _, second) = http(server.addr(), "POST", "/v1/responses", &body).await;
    assert!(
        sse_events(&second)[1]["item"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("no scenario rule matched")
    );
    let (_, _, third) = http(
        server.addr(),
        "POST",
        "/v1/responses",
        &request("k", json!([user("broken")])),
    )
    .await;
    let text = sse_events(&third)[1]["item"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.contains("could not render") && text.contains("team_claim"),
        "{text}"
    );
    assert_eq!(server.unmatched_count(), 1);
    assert_eq!(server.error_count(), 1);
}

#[tokio::test]
async fn malformed_requests_get_clear_4xx() {
    let server = start(None, Duration::ZERO).await;
    let cases = [
        ("POST", "/v1/responses", "{not json", 400, "not valid JSON"),
        (
            "POST",
            "/v1/responses",
            "{\"model\":\"m\"}",
            400,
            "no `input` field",
        ),
        (
            "POST",
            "/v1/responses",
            "{\"input\":{}}",
            400,
            "`input` must be an array",
        ),
        (
            "POST",
            "/v1/responses",
            "{\"input\":[],\"instructions\":3}",
            400,
            "`instructions` must be a string",
        ),
        (
            "GET",
            "/v1/chat/completions",
            "",
            404,
            "no GET /v1/chat/completions",
        ),
    ];
    for (method, path, body, want_status, want_text) in cases {
        let (status, _, text) = http(server.addr(), method, path, body).await;
        assert_eq!(status, want_status, "{path} {body}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(want_text), "{body}: {msg}");
    }
    assert!(
        server.requests().is_empty(),
        "bad requests are not recorded"
    );
    let (status, _, models) = http(server.addr(), "GET", "/v1/models", "").await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&models).unwrap()["data"][0]["id"],
        "mock-model"
    );
}

#[tokio::test]
async fn latency_delays_each_reply() {
    let server = start(None, Duration::from_millis(300)).await;
    let started = Instant::now();
    let (status, _, _) = http(
        server.addr(),
        "POST",
        "/v1/responses",
        &request("k", json!([user("hi")])),
    )
    .await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

/// The scenario's `latency` charges per output token: a longer answer waits longer.
#[tokio::test]
async fn scenario_latency_charges_per_output_token() {
    let yaml = "latency: {request_ms: 10, output_token_ms: 40}\nrules:\n  - reply: {message: \"one two three four five six seven eight\"}\n";
    let scenario = Scenario::from_yaml(yaml, "inline").unwrap();
    let server = MockModel::start(scenario, Options::default())
        .await
        .unwrap();
    let started = Instant::now();
    let (status, _, _) = http(
        server.addr(),
        "POST",
        "/v1/responses",
        &request("k", json!([user("hi")])),
    )
    .await;
    assert_eq!(status, 200);
    let out = server.requests()[0].output_tokens;
    assert!(out >= 8, "{out} output tokens");
    assert!(started.elapsed() >= Duration::from_millis(10 + 40 * out));
}

#[tokio::test]
async fn concurrent_conversations_are_answered_independently() {
    let server = start(None, Duration::from_millis(50)).await;
    let addr = server.addr();
    let mut tasks = Vec::new();
    for i in 0..7 {
        tasks.push(tokio::spawn(async move {
            let key = format!("worker-{i}");
            let (status, _, body) = http(
                addr,
                "POST",
                "/v1/responses",
                &request(&key, json!([user(&format!("worker {i} says hi"))])),
            )
            .await;
            (status, body)
        }));
    }
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(
            sse_events(&body).last().unwrap()["type"],
            "response.completed"
        );
    }
    let recorded = server.requests();
    assert_eq!(recorded.len(), 7);
    let mut seqs: Vec<_> = recorded.iter().map(|r| r.seq).collect();
    seqs.sort();
    assert_eq!(seqs, (1..=7).collect::<Vec<_>>());
    server.shutdown().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "stopped server still accepts"
    );
}

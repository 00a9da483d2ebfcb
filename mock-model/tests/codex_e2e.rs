//! End to end with the real codex binary (run `scripts/install-codex.sh` first; a missing
//! binary fails these tests, it never skips them).

use std::path::{Path, PathBuf};
use std::time::Duration;

use codex_teams_mock_model::harness::{Codex, CodexRun, ItemKind, Usage};
use codex_teams_mock_model::{MockModel, MockModelHandle, Options, RecordedRequest, Scenario};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/scenarios")
        .join(name)
}

async fn serve(scenario: Scenario) -> MockModelHandle {
    MockModel::start(scenario, Options::default())
        .await
        .unwrap()
}

fn codex(server: &MockModelHandle) -> Codex {
    Codex::new(&server.base_url())
        .unwrap_or_else(|e| panic!("{e:#}"))
        .timeout(Duration::from_secs(90))
}

/// Sum of the server's counts over some requests, in codex's `Usage` terms.
fn server_usage(requests: &[RecordedRequest]) -> Usage {
    Usage {
        input_tokens: requests.iter().map(|r| r.input_tokens).sum(),
        cached_input_tokens: requests.iter().map(|r| r.cached_tokens).sum(),
        output_tokens: requests.iter().map(|r| r.output_tokens).sum(),
        ..Usage::default()
    }
}

fn ok(run: CodexRun) -> CodexRun {
    run.ensure_success().unwrap_or_else(|e| panic!("{e:#}"));
    run
}

/// Items of the request's `input` of a given type.
fn input_items<'a>(req: &'a RecordedRequest, kind: &str) -> Vec<&'a Value> {
    req.body["input"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == kind)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_answer_and_usage_match_the_server() {
    let server = serve(Scenario::load(&fixture("plain-answer.yaml")).unwrap()).await;
    let run = ok(codex(&server).exec("please say hello").await.unwrap());

    assert_eq!(run.final_message(), Some("Hello from the scripted model."));
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(server.unmatched_count(), 0);
    let req = &requests[0];
    assert_eq!(req.prompt.as_deref(), Some("please say hello"));
    assert!(
        req.input_tokens > 1000,
        "a codex request is thousands of tokens"
    );
    assert_eq!(run.usage().unwrap(), server_usage(&requests));
    assert!(run.thread_id().is_some());
    // codex uses the thread id as the prompt cache key.
    assert_eq!(req.prompt_cache_key.as_deref(), run.thread_id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_round_trip_and_cached_prefix() {
    let server = serve(Scenario::load(&fixture("shell-round-trip.yaml")).unwrap()).await;
    let run = ok(codex(&server).exec("count the files").await.unwrap());

    assert_eq!(
        run.final_message(),
        Some("There are 3 files (exit code 0).")
    );
    let command = run
        .completed_items()
        .find_map(|i| match &i.kind {
            ItemKind::CommandExecution {
                command,
                aggregated_output,
                exit_code,
                ..
            } => Some((command.clone(), aggregated_output.clone(), *exit_code)),
            _ => None,
        })
        .expect("a command_execution item");
    assert!(command.0.contains("printf"), "{command:?}");
    assert!(command.1.contains("files=3"), "{command:?}");
    assert_eq!(command.2, Some(0));

    let requests = server.requests();
    assert_eq!(requests.len(), 2, "call, then answer");
    assert_eq!(server.unmatched_count(), 0);
    // The second request carries the command's output.
    let outputs = input_items(&requests[1], "function_call_output");
    assert_eq!(outputs.len(), 1);
    assert!(outputs[0]["output"].as_str().unwrap().contains("files=3"));

    // Cached prefix: the second request starts with everything the first one sent.
    assert_eq!(requests[0].cached_tokens, 0);
    assert_eq!(requests[1].cached_tokens, requests[0].input_tokens);
    assert!(requests[1].input_tokens > requests[0].input_tokens);
    // codex's turn usage is the sum over the turn's requests, cached part included.
    assert_eq!(run.usage().unwrap(), server_usage(&requests));
    assert_eq!(
        run.usage().unwrap().cached_input_tokens,
        requests[0].input_tokens
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_round_trip_reuses_the_returned_id() {
    let server = serve(Scenario::load(&fixture("mcp-round-trip.yaml")).unwrap()).await;
    let echo = env!("CARGO_BIN_EXE_mock-echo-mcp");
    let run = ok(codex(&server)
        .config(format!("mcp_servers.echo.command={echo:?}"))
        .config("mcp_servers.echo.default_tools_approval_mode=\"approve\"")
        .config("mcp_servers.echo.required=true")
        .exec("open a ticket and echo it")
        .await
        .unwrap());

    let requests = server.requests();
    assert_eq!(
        server.unmatched_count(),
        0,
        "{:?}",
        requests.iter().map(|r| &r.output).collect::<Vec<_>>()
    );
    assert_eq!(server.error_count(), 0);
    assert_eq!(requests.len(), 3);

    // The MCP server's tools are offered as namespace `mcp__echo`.
    let tools = requests[0].body["tools"].as_array().unwrap();
    let ns = tools
        .iter()
        .find(|t| t["type"] == "namespace" && t["name"] == "mcp__echo")
        .expect("mcp__echo namespace in tools");
    let names: Vec<_> = ns["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"echo") && names.contains(&"new_ticket"),
        "{names:?}"
    );

    // The ticket id the MCP server made up arrives in the next request...
    let out = input_items(&requests[1], "function_call_output");
    let ticket_text = serde_json::to_string(&out.last().unwrap()["output"]).unwrap();
    let id_start = ticket_text
        .find("TCK-")
        .expect("ticket id in the tool output");
    let ticket_id: String = ticket_text[id_start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    // ...is passed back by the scenario, echoed by the server, and ends in the answer.
    let out = input_items(&requests[2], "function_call_output");
    let echoed = serde_json::to_string(&out.last().unwrap()["output"]).unwrap();
    assert!(
        echoed.contains(&format!("echo: ticket {ticket_id}")),
        "{echoed}"
    );
    assert_eq!(
        run.final_message(),
        Some(format!("Done: echo: ticket {ticket_id}").as_str())
    );

    let mcp_calls: Vec<_> = run
        .completed_items()
        .filter_map(|i| match &i.kind {
            ItemKind::McpToolCall {
                server,
                tool,
                status,
                ..
            } => Some((server.as_str(), tool.as_str(), status.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        mcp_calls,
        [
            ("echo", "new_ticket", "completed"),
            ("echo", "echo", "completed")
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_continues_the_thread_with_running_totals() {
    let scenario = Scenario::from_yaml(
        r#"
rules:
  - when: {prompt_contains: "first question"}
    reply: {message: "first answer"}
  - when: {prompt_contains: "second question", input_contains: "first answer"}
    reply: {message: "second answer"}
"#,
        "resume",
    )
    .unwrap();
    let server = serve(scenario).await;
    let codex = codex(&server);
    let first = ok(codex.exec("first question").await.unwrap());
    let thread = first.thread_id().unwrap().to_owned();
    let second = ok(codex.resume(&thread, "second question").await.unwrap());

    assert_eq!(second.final_message(), Some("second answer"));
    assert_eq!(second.thread_id().unwrap_or(&thread), thread);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(server.unmatched_count(), 0);
    // The resumed request holds the first exchange.
    let body = requests[1].body["input"].to_string();
    assert!(body.contains("first question") && body.contains("first answer"));
    assert_eq!(
        requests[1].prompt_cache_key.as_deref(),
        Some(thread.as_str())
    );
    // Same cache key, shared prefix: the resumed request is mostly cached.
    assert!(requests[1].cached_tokens > 0);

    // codex reports running totals: the second turn's usage includes the first.
    let u1 = first.usage().unwrap();
    let u2 = second.usage().unwrap();
    assert_eq!(u1, server_usage(&requests[..1]));
    assert_eq!(u2, server_usage(&requests));
    assert!(u2.input_tokens > u1.input_tokens);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_are_told_apart_by_developer_instructions() {
    let scenario = Scenario::from_yaml(
        r#"
rules:
  - when: {instructions_contains: "role: reviewer", prompt_contains: "go"}
    reply: {message: "reviewer here"}
  - when: {instructions_contains: "role: tester", prompt_contains: "go"}
    reply: {message: "tester here"}
"#,
        "roles",
    )
    .unwrap();
    let server = serve(scenario).await;
    let reviewer = codex(&server).config("developer_instructions=\"role: reviewer\"");
    let tester = codex(&server).config("developer_instructions=\"role: tester\"");
    let (r, t) = tokio::join!(reviewer.exec("go"), tester.exec("go"));
    assert_eq!(ok(r.unwrap()).final_message(), Some("reviewer here"));
    assert_eq!(ok(t.unwrap()).final_message(), Some("tester here"));
    assert_eq!(server.unmatched_count(), 0);
}

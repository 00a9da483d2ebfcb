//! `codex-teams mcp` for an interactive lead: the user's codex (here `codex exec`, against
//! the scripted model) talks to the stdio server, whose `team_spawn` forks real workers;
//! they inherit the lead's session model, and they stop when the lead's session ends.

mod common;

use std::time::Duration;

use codex_teams_mock_model::harness::Codex;
use codex_teams_mock_model::{MockModel, Options, Scenario};
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_lead_forks_real_workers_that_die_with_its_session() {
    let w = World::new();
    let server = MockModel::start(
        Scenario::load(&scenario("interactive-lead.yaml")).unwrap(),
        Options::default(),
    )
    .await
    .unwrap();
    let worker_home = w.codex_home.display().to_string();
    let env = format!(
        "mcp_servers.team.env={{CODEX_TEAMS_HOME={:?}, CODEX_TEAMS_SCRIPTED_URL={:?}, CODEX_BIN={:?}, CODEX_HOME={:?}, CODEX_TEAMS_PROFILE=\"fixed-6\"}}",
        w.home.display().to_string(),
        server.base_url(),
        w.codex.display().to_string(),
        worker_home,
    );
    let lead = Codex::new(&server.base_url())
        .unwrap()
        .model("lead-session-model")
        .workdir(&w.repo)
        .timeout(Duration::from_secs(150))
        .config(format!("mcp_servers.team.command={:?}", BIN))
        .config("mcp_servers.team.args=[\"mcp\"]")
        .config(env)
        .config("mcp_servers.team.default_tools_approval_mode=\"approve\"")
        .config("mcp_servers.team.tool_timeout_sec=120");
    let run = lead
        .exec("use agents team: do the quick task")
        .await
        .unwrap();
    run.ensure_success().unwrap();
    let items: Vec<String> = run.completed_items().map(|i| format!("{i:?}")).collect();
    // The session is over: its stdio server exited and took the workers with it (codex
    // kills its MCP servers, so the watcher does it: the tester inside `sleep 60` gets
    // `reaper::CRASH_GRACE`, 15 s, to finish its command first).
    let gone = wait_for(Duration::from_secs(25), || {
        w.live_workers().is_empty().then_some(())
    });
    assert!(
        gone.is_some(),
        "workers outlived the session: {:?}",
        w.live_children()
    );
    let reqs = server.requests();
    assert_eq!(
        server.unmatched_count(),
        0,
        "{:?}",
        reqs.iter()
            .filter(|r| r.rule.is_none())
            .map(|r| r.prompt.clone())
            .collect::<Vec<_>>()
    );
    let worker_reqs: Vec<_> = reqs
        .iter()
        .filter(|r| {
            let input = r.body["input"].to_string();
            input.contains("role: implementer") || input.contains("role: tester")
        })
        .collect();
    assert!(
        worker_reqs
            .iter()
            .any(|r| r.rule.as_deref() == Some("tester-announces")),
        "the tester ran; lead items: {items:#?}"
    );
    assert!(
        worker_reqs
            .iter()
            .any(|r| r.rule.as_deref() == Some("implementer-ends")),
        "the implementer finished"
    );
    for r in &worker_reqs {
        assert_eq!(
            r.model.as_deref(),
            Some("lead-session-model"),
            "request {}",
            r.seq
        );
    }
    let teams = w.status(None);
    let team_id = teams["teams"][0]["team_id"].as_str().unwrap().to_string();
    let st = w.status(Some(&team_id));
    assert_eq!(st["tasks"][0]["status"], "done", "{st}");
    let states: Vec<_> = st["agents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["role"] != "lead")
        .map(|a| a["state"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(states.len(), 2, "{st}");
    server.shutdown().await;
}

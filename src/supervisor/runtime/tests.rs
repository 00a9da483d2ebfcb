use std::time::Duration;

use codex_teams_mcp::SpawnRequest;
use codex_teams_store::{
    AgentState, NewAgent, NewTask, NewTeam, TaskStatus, TaskUpdate, TeamStatus, Usage as StoreUsage,
};

use super::*;

fn test_supervisor(dir: &std::path::Path) -> Arc<Supervisor> {
    let profile = Profile::load("default").unwrap();
    Supervisor::new(SupervisorOptions {
        codex_bin: PathBuf::from("/nonexistent/codex"),
        codex_home: None,
        scripted_base_url: None,
        explicit_model: None,
        max_threads: profile.cap(),
        profile,
        home: TeamsHome {
            dir: dir.to_path_buf(),
        },
        store_path: dir.join("teams.db"),
        grace: Duration::from_millis(200),
        drain: Duration::from_millis(200),
        lead_external: true,
        tick: Duration::from_millis(50),
        sandbox_override: None,
    })
    .unwrap()
}

/// An agent adopted without its token (this process never had it) gets a fresh one
/// before its next turn; the token it had before is refused from then on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adopted_agent_without_a_token_gets_a_fresh_one() {
    use codex_teams_mcp::token::hash_token;
    let dir = tempfile::tempdir().unwrap();
    let sup = test_supervisor(dir.path());
    let hub = sup.hub().unwrap();
    let new_team = NewTeam {
        goal: "g".into(),
        ..Default::default()
    };
    let (_, lead) = hub.start_team(new_team, "lead").await.unwrap();
    sup.adopt_agent(&lead.agent, None, Phase::Idle, Usage::default(), None, 0);
    sup.ensure_token(&lead.agent.agent_id).await.unwrap();
    let fresh = sup.lock().agents[&lead.agent.agent_id]
        .token
        .clone()
        .unwrap();
    assert_ne!(fresh, lead.token);
    let (old, new) = (hash_token(&lead.token), hash_token(&fresh));
    let (old_found, new_found) = hub
        .with_store(move |s| {
            Ok((
                s.agent_by_token_hash(&old).is_ok(),
                s.agent_by_token_hash(&new)?.agent_id,
            ))
        })
        .await
        .unwrap();
    assert!(!old_found, "the old token still authenticates");
    assert_eq!(new_found, lead.agent.agent_id);
    // Held now: asking again changes nothing.
    sup.ensure_token(&lead.agent.agent_id).await.unwrap();
    assert_eq!(
        sup.lock().agents[&lead.agent.agent_id].token.as_deref(),
        Some(fresh.as_str())
    );
}

/// A spawn that was told to wait and is later refused by the control loop's fan-out
/// check is reported to the lead on the bus. Real store, real hub; no process starts
/// (the spawn never gets past waiting).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lead_hears_when_a_waiting_spawn_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let total = Profile::load("default").unwrap().budget.total_tokens;
    let sup = test_supervisor(dir.path());
    let hub = sup.hub().unwrap();
    let (team, lead) = hub
        .start_team(
            NewTeam {
                goal: "g".into(),
                cwd: dir.path().display().to_string(),
                profile: "default".into(),
                config: serde_json::json!({}),
            },
            "lead",
        )
        .await
        .unwrap();
    let (t, l) = (team.team_id.clone(), lead.agent.agent_id.clone());
    // Only blocked work (its dependency failed): the fan-out policy says "wait".
    hub.with_store(move |s| {
        let a = s.create_task(
            &t,
            &l,
            NewTask {
                title: "a".into(),
                ..Default::default()
            },
        )?;
        s.create_task(
            &t,
            &l,
            NewTask {
                title: "b".into(),
                deps: vec![a.task_id.clone()],
                ..Default::default()
            },
        )?;
        let a = s.claim_task(&t, Some(&a.task_id), &l, Duration::from_secs(60))?;
        s.update_task(
            &t,
            &a.task_id,
            &l,
            a.version,
            TaskUpdate {
                status: Some(TaskStatus::Failed),
                ..Default::default()
            },
        )
    })
    .await
    .unwrap();
    let worker = hub
        .register_agent(
            &team.team_id,
            NewAgent {
                name: "w1".into(),
                role: "implementer".into(),
                brief: "do b".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let id = worker.agent.agent_id.clone();
    Runtime::spawn(
        &*sup,
        SpawnRequest {
            team_id: team.team_id.clone(),
            agent_id: id.clone(),
            role: "implementer".into(),
            name: "w1".into(),
            brief: "do b".into(),
            token: worker.token.clone(),
            model: None,
        },
    )
    .await
    .expect("the spawn waits rather than being refused");
    sup.tick().await.unwrap();
    assert_eq!(
        sup.view(&team.team_id).workers.get(&Phase::Queued),
        Some(&1)
    );

    // The budget runs out: the waiting spawn is refused at the next pass.
    let (t, l) = (team.team_id.clone(), lead.agent.agent_id.clone());
    hub.with_store(move |s| {
        let spent = StoreUsage {
            input_tokens: total as i64,
            ..Default::default()
        };
        s.record_usage(&t, &l, spent)
    })
    .await
    .unwrap();
    sup.tick().await.unwrap();
    assert_eq!(
        sup.view(&team.team_id).workers.get(&Phase::Failed),
        Some(&1)
    );

    let (t, l, w) = (
        team.team_id.clone(),
        lead.agent.agent_id.clone(),
        id.clone(),
    );
    let (inbox, state) = hub
        .with_store(move |s| {
            Ok((
                s.pull_inbox(&t, &l, 10, Duration::from_secs(60))?,
                s.agent(&t, &w)?.state,
            ))
        })
        .await
        .unwrap();
    assert_eq!(state, AgentState::Failed);
    assert_eq!(inbox.len(), 1, "exactly one note: {inbox:?}");
    let body = &inbox[0].body;
    assert!(body.contains("w1") && body.contains(&id), "{body}");
    println!("{body}");
    assert!(
        body.contains("refused") && body.contains("budget"),
        "{body}"
    );
}

/// Polls `cond` every 20 ms for up to 10 s (a bound for a slow machine, not a timing claim).
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never happened: {what}");
}

/// Every background task has an owner: the ticker runs while a team is left to tick and
/// exits when the last one is over (so `codex-teams mcp` stops ticking finished teams); a new
/// team starts it again; `shutdown` leaves no task and closes the bus's HTTP server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ticker_lives_while_a_team_does_and_shutdown_leaves_no_task() {
    let dir = tempfile::tempdir().unwrap();
    let sup = test_supervisor(dir.path());
    let hub = sup.hub().unwrap();
    let addr = sup.http_addr().await.unwrap();
    assert_eq!(sup.live_tasks(), 0, "nothing runs before a team is adopted");
    let start = |goal: &'static str| {
        let hub = hub.clone();
        async move {
            let new = NewTeam {
                goal: goal.into(),
                ..Default::default()
            };
            hub.start_team(new, "lead").await.unwrap()
        }
    };
    let (team, lead) = start("first").await;
    sup.adopt_team(&team.team_id, "first", ".", Some(&lead.agent.agent_id));
    assert_eq!(sup.live_tasks(), 1, "the ticker");

    // The lead finalizes in the store (as another process would): the pass notices, the
    // team has nothing left running, and the ticker ends.
    let t = team.team_id.clone();
    hub.with_store(move |s| s.set_team_status(&t, TeamStatus::Finalized))
        .await
        .unwrap();
    sup.kick();
    eventually("the ticker exits after the last team", || {
        sup.live_tasks() == 0
    })
    .await;
    assert!(sup.view(&team.team_id).finalized_at.is_some());

    let (second, lead2) = start("second").await;
    sup.adopt_team(&second.team_id, "second", ".", Some(&lead2.agent.agent_id));
    assert_eq!(sup.live_tasks(), 1, "a new team starts the ticker again");

    sup.shutdown().await;
    assert_eq!(sup.live_tasks(), 0, "shutdown waited for every task");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the bus still accepts connections on {addr}"
    );
    sup.adopt_team("team-late", "late", ".", None);
    assert_eq!(sup.live_tasks(), 0, "no ticker after shutdown");
}

//! Arbitration through rmcp's real client over HTTP: a full decision per strategy, the
//! outcome and votes recorded in the store and the event log, and every refusal clear and
//! leaving the store unchanged.

mod common;

use codex_teams_store::DecisionStatus;
use common::*;
use serde_json::{Value, json};

const INVALID_PARAMS: i32 = -32602;
const CONFLICT: i32 = -32010;
const FORBIDDEN: i32 = -32011;

/// A lead and four workers, each with its own HTTP client.
struct Team {
    env: Env,
    team_id: String,
    lead: Client,
    lead_id: String,
    /// implementer-1, implementer-2, reviewer, tester
    w: Vec<Client>,
    ids: Vec<String>,
}

async fn team(goal: &str) -> Team {
    let env = Env::new().await;
    let (t, lead) = env.team(goal);
    let mut w = Vec::new();
    let mut ids = Vec::new();
    for (name, role) in [
        ("impl-1", "implementer"),
        ("impl-2", "implementer"),
        ("rev", "reviewer"),
        ("test", "tester"),
    ] {
        let m = env.worker(&t.team_id, name, role);
        ids.push(m.agent.agent_id.clone());
        w.push(env.client(&m).await);
    }
    let lc = env.client(&lead).await;
    Team {
        team_id: t.team_id,
        lead: lc,
        lead_id: lead.agent.agent_id,
        env,
        w,
        ids,
    }
}

async fn open(c: &Client, strategy: &str, voters: Option<Vec<String>>) -> String {
    let mut args = json!({"question": "which parser patch?", "strategy": strategy});
    if let Some(v) = voters {
        args["voters"] = json!(v);
    }
    let d = ok(c, "decision_open", args).await;
    assert_eq!(d["status"], "open");
    assert_eq!(d["strategy"], strategy);
    d["id"].as_str().unwrap().to_string()
}

async fn propose(c: &Client, dec: &str, summary: &str) -> String {
    let p = ok(
        c,
        "decision_propose",
        json!({"decision_id": dec, "summary": summary}),
    )
    .await;
    assert_eq!(p["decision_id"], dec);
    p["id"].as_str().unwrap().to_string()
}

async fn vote(c: &Client, dec: &str, cand: &str) -> Value {
    ok(
        c,
        "decision_vote",
        json!({"decision_id": dec, "candidate_id": cand}),
    )
    .await
}

fn votes_of(d: &Value) -> Vec<u64> {
    d["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["votes"].as_u64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_vote_from_patches_to_a_recorded_winner() {
    let buf = Buf::default();
    let writer = buf.clone();
    codex_teams_mcp::logging::init_json_logging_with(
        move || writer.clone(),
        tracing_subscriber::EnvFilter::new("info"),
    )
    .unwrap();
    let t = team("strict").await;
    let dec = open(&t.lead, "strict_vote", None).await;

    // Two implementers publish competing patches and propose them, by name and by id.
    let a_art = ok(
        &t.w[0],
        "artifact_publish",
        json!({"name": "patch-a", "content": "diff --git a", "summary": "patch a"}),
    )
    .await;
    let b_art = ok(
        &t.w[1],
        "artifact_publish",
        json!({"name": "patch-b", "content": "diff --git b", "summary": "patch b"}),
    )
    .await;
    let a = ok(
        &t.w[0],
        "decision_propose",
        json!({"decision_id": dec, "artifact": "patch-a", "summary": "smaller"}),
    )
    .await;
    assert_eq!(
        (&a["artifact"], &a["artifact_v"]),
        (&a_art["id"], &json!(1))
    );
    let b = ok(
        &t.w[1],
        "decision_propose",
        json!({"decision_id": dec, "artifact": b_art["id"], "artifact_v": 1}),
    )
    .await;
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());

    // The reviewer first backs b, then changes its mind; the tester and impl-2 vote.
    vote(&t.w[2], &dec, b).await;
    let v = ok(
        &t.w[2],
        "decision_vote",
        json!({"decision_id": dec, "candidate_id": a, "comment": "a has tests"}),
    )
    .await;
    assert_eq!(v["replaced"], b);
    vote(&t.w[3], &dec, a).await;
    vote(&t.w[1], &dec, b).await;
    // All four workers may vote (no role tool lists here), so a majority is 3 of 4.
    vote(&t.w[0], &dec, a).await;

    let seen = ok(&t.w[3], "decision_get", json!({"decision_id": dec})).await;
    assert_eq!(seen["status"], "open");
    assert_eq!(votes_of(&seen), [3, 1]);
    assert_eq!(seen["votes"].as_array().unwrap().len(), 4);

    let closed = ok(
        &t.lead,
        "decision_close",
        json!({"decision_id": dec, "note": "merge a"}),
    )
    .await;
    assert_eq!(closed["status"], "decided");
    assert_eq!(closed["winner"], a);
    assert_eq!(closed["reason"], "majority");
    let why = closed["rationale"].as_str().unwrap();
    assert!(
        why.contains("3 of 4") && why.ends_with("note: merge a"),
        "{why}"
    );
    let comment = closed["votes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["by"] == t.ids[2].as_str())
        .unwrap();
    assert_eq!(
        (&comment["choice"], &comment["comment"]),
        (&json!(a), &json!("a has tests"))
    );
    // Everyone reads the same recorded outcome.
    assert_eq!(
        ok(&t.w[0], "decision_get", json!({"decision_id": dec})).await,
        closed
    );

    // The store holds it, and the event log has one line per step.
    let s = t.env.store();
    let rec = s.decision(&t.team_id, &dec).unwrap();
    assert_eq!(rec.decision.status, DecisionStatus::Decided);
    assert_eq!(rec.decision.closed_by.as_deref(), Some(t.lead_id.as_str()));
    let kinds: Vec<String> = s
        .events(&t.team_id, 0, 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind.starts_with("decision."))
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "decision.opened",
            "decision.proposed",
            "decision.proposed",
            "decision.voted",
            "decision.voted",
            "decision.voted",
            "decision.voted",
            "decision.voted",
            "decision.closed"
        ]
    );

    // And the log has a structured event per step with the trace ids.
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let events: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["decision_id"] == dec.as_str())
        .collect();
    // Each step is logged by the handler and again as the store event it committed.
    let names_of = |mirrored: bool| -> Vec<&str> {
        events
            .iter()
            .filter(|e| (e["target"] == codex_teams_store::EVENTS_TARGET) == mirrored)
            .filter_map(|e| e["event"].as_str())
            .collect()
    };
    assert_eq!(names_of(true), names_of(false), "{text}");
    let names = names_of(false);
    assert_eq!(
        names,
        [
            "decision.opened",
            "decision.proposed",
            "decision.proposed",
            "decision.voted",
            "decision.voted",
            "decision.voted",
            "decision.voted",
            "decision.voted",
            "decision.closed"
        ],
        "{text}"
    );
    for e in &events {
        assert_eq!(e["team_id"], t.team_id.as_str(), "{e}");
        assert!(
            e["agent_id"]
                .as_str()
                .is_some_and(|a| a.starts_with("agt-")),
            "{e}"
        );
    }
    let last = events.last().unwrap();
    assert_eq!(last["winner"], a);
    assert_eq!(last["reason"], "majority");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consensus_agreeing_and_split() {
    let t = team("consensus").await;
    let voters = vec![t.ids[2].clone(), t.ids[3].clone()];

    let dec = open(&t.lead, "consensus", Some(voters.clone())).await;
    let a = propose(&t.w[0], &dec, "keep the old API").await;
    let b = propose(&t.w[1], &dec, "new API").await;
    vote(&t.w[2], &dec, &a).await;
    vote(&t.w[3], &dec, &a).await;
    let closed = ok(&t.lead, "decision_close", json!({"decision_id": dec})).await;
    assert_eq!(
        (&closed["status"], &closed["winner"], &closed["reason"]),
        (&json!("decided"), &json!(a), &json!("unanimous"))
    );
    assert_eq!(closed["voters"], json!(voters));
    assert_eq!(votes_of(&closed), [2, 0]);
    let _ = b;

    let dec = open(&t.lead, "consensus", Some(voters)).await;
    let a = propose(&t.w[0], &dec, "a").await;
    let b = propose(&t.w[1], &dec, "b").await;
    vote(&t.w[2], &dec, &a).await;
    vote(&t.w[3], &dec, &b).await;
    let closed = ok(&t.lead, "decision_close", json!({"decision_id": dec})).await;
    assert_eq!(closed["status"], "no_decision");
    assert_eq!(closed["reason"], "split");
    assert!(closed.get("winner").is_none(), "{closed}");
    assert_eq!(votes_of(&closed), [1, 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_vote_tie_has_no_winner() {
    let t = team("tie").await;
    let dec = open(&t.lead, "strict_vote", None).await;
    let a = propose(&t.w[0], &dec, "a").await;
    let b = propose(&t.w[1], &dec, "b").await;
    vote(&t.w[0], &dec, &a).await;
    vote(&t.w[1], &dec, &b).await;
    vote(&t.w[2], &dec, &a).await;
    vote(&t.w[3], &dec, &b).await;
    let closed = ok(&t.lead, "decision_close", json!({"decision_id": dec})).await;
    assert_eq!(
        (&closed["status"], &closed["reason"]),
        (&json!("no_decision"), &json!("tie"))
    );
    assert!(
        closed["rationale"]
            .as_str()
            .unwrap()
            .contains("tie at 2 votes each"),
        "{closed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lead_pick_wins_and_votes_are_advice() {
    let t = team("lead").await;
    let dec = open(&t.lead, "lead", None).await;
    let a = propose(&t.w[0], &dec, "a").await;
    let b = propose(&t.w[1], &dec, "b").await;
    vote(&t.w[2], &dec, &a).await;
    vote(&t.w[3], &dec, &a).await;
    let closed = ok(
        &t.lead,
        "decision_close",
        json!({"decision_id": dec, "pick": b}),
    )
    .await;
    assert_eq!(
        (&closed["status"], &closed["winner"], &closed["reason"]),
        (&json!("decided"), &json!(b), &json!("lead_pick"))
    );
    assert_eq!(votes_of(&closed), [2, 0], "votes recorded as advice");
    assert!(
        closed["rationale"]
            .as_str()
            .unwrap()
            .contains("votes were advice"),
        "{closed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decision_refusals_are_clear_and_change_nothing() {
    let t = team("errors").await;
    let (lead, w) = (&t.lead, &t.w);
    let dec = open(lead, "strict_vote", Some(vec![t.ids[2].clone()])).await;
    let a = propose(&w[0], &dec, "a").await;
    let other = open(lead, "lead", None).await;
    let foreign = propose(&w[1], &other, "other's").await;
    let done = open(lead, "consensus", None).await;
    let d_a = propose(&w[0], &done, "x").await;
    vote(&w[2], &done, &d_a).await;
    ok(lead, "decision_close", json!({"decision_id": done})).await;
    // Another team's decision.
    let (_, b_lead) = t.env.team("team B");
    let bc = t.env.client(&b_lead).await;
    let b_dec = open(&bc, "consensus", None).await;
    let before = t.env.snapshot();

    let cases: Vec<(&Client, &str, Value, i32, &str, String)> = vec![
        (
            &w[2],
            "decision_vote",
            json!({"decision_id": "dec-nope", "candidate_id": a}),
            INVALID_PARAMS,
            "not_found",
            "not found: decision dec-nope".into(),
        ),
        (
            &w[2],
            "decision_get",
            json!({"decision_id": "dec-nope"}),
            INVALID_PARAMS,
            "not_found",
            "not found: decision dec-nope".into(),
        ),
        (
            lead,
            "decision_close",
            json!({"decision_id": "dec-nope"}),
            INVALID_PARAMS,
            "not_found",
            "not found: decision dec-nope".into(),
        ),
        (
            &w[0],
            "decision_propose",
            json!({"decision_id": "dec-nope", "summary": "s"}),
            INVALID_PARAMS,
            "not_found",
            "not found: decision dec-nope".into(),
        ),
        (
            &w[2],
            "decision_vote",
            json!({"decision_id": dec, "candidate_id": "cnd-nope"}),
            INVALID_PARAMS,
            "not_found",
            "not found: candidate cnd-nope".into(),
        ),
        (
            &w[2],
            "decision_vote",
            json!({"decision_id": dec, "candidate_id": foreign}),
            INVALID_PARAMS,
            "invalid",
            format!("candidate {foreign} belongs to decision {other}, not {dec}"),
        ),
        (
            &w[3],
            "decision_vote",
            json!({"decision_id": dec, "candidate_id": a}),
            CONFLICT,
            "conflict",
            format!("is not a voter of decision {dec}"),
        ),
        (
            &w[2],
            "decision_close",
            json!({"decision_id": dec}),
            FORBIDDEN,
            "forbidden",
            "decision_close is lead-only".into(),
        ),
        (
            &w[0],
            "decision_open",
            json!({"question": "mine?", "strategy": "lead"}),
            FORBIDDEN,
            "forbidden",
            "decision_open is lead-only".into(),
        ),
        (
            lead,
            "decision_close",
            json!({"decision_id": done}),
            CONFLICT,
            "conflict",
            format!("decision {done} is already closed (decided, winner {d_a})"),
        ),
        (
            &w[2],
            "decision_vote",
            json!({"decision_id": done, "candidate_id": d_a}),
            CONFLICT,
            "conflict",
            "already closed".into(),
        ),
        (
            lead,
            "decision_close",
            json!({"decision_id": dec, "pick": a}),
            INVALID_PARAMS,
            "invalid",
            "a pick is only for strategy lead".into(),
        ),
        (
            lead,
            "decision_close",
            json!({"decision_id": other}),
            INVALID_PARAMS,
            "invalid",
            "strategy lead needs the lead's pick".into(),
        ),
        (
            lead,
            "decision_close",
            json!({"decision_id": other, "pick": a}),
            INVALID_PARAMS,
            "invalid",
            format!("pick {a} is not a candidate of this decision"),
        ),
        (
            &w[0],
            "decision_propose",
            json!({"decision_id": dec}),
            INVALID_PARAMS,
            "invalid",
            "a candidate needs an artifact or a summary".into(),
        ),
        (
            &w[0],
            "decision_propose",
            json!({"decision_id": dec, "artifact": "no-such-patch"}),
            INVALID_PARAMS,
            "not_found",
            "not found: artifact no-such-patch".into(),
        ),
        (
            &w[0],
            "decision_propose",
            json!({"decision_id": dec, "summary": "s", "artifact_v": 2}),
            INVALID_PARAMS,
            "invalid",
            "artifact_v given without artifact".into(),
        ),
        (
            lead,
            "decision_open",
            json!({"question": "q", "strategy": "lead", "voters": []}),
            INVALID_PARAMS,
            "invalid",
            "voters is empty".into(),
        ),
        (
            lead,
            "decision_open",
            json!({"question": "q", "strategy": "lead", "voters": [b_lead.agent.agent_id]}),
            INVALID_PARAMS,
            "not_found",
            format!("not found: agent {}", b_lead.agent.agent_id),
        ),
        // Cross-team: team B's decision is not found for team A, and the reverse.
        (
            lead,
            "decision_get",
            json!({"decision_id": b_dec}),
            INVALID_PARAMS,
            "not_found",
            format!("not found: decision {b_dec}"),
        ),
        (
            &w[2],
            "decision_vote",
            json!({"decision_id": b_dec, "candidate_id": a}),
            INVALID_PARAMS,
            "not_found",
            format!("not found: decision {b_dec}"),
        ),
        (
            &bc,
            "decision_close",
            json!({"decision_id": dec}),
            INVALID_PARAMS,
            "not_found",
            format!("not found: decision {dec}"),
        ),
    ];
    for (client, tool, args, code, kind, want) in cases {
        let (got_code, msg, got_kind) = fails(client, tool, args.clone()).await;
        assert_eq!(
            (got_code, got_kind.as_str()),
            (code, kind),
            "{tool} {args}: {msg}"
        );
        assert!(
            msg.contains(&want),
            "{tool} {args}: got {msg:?}, want {want:?}"
        );
    }
    // Arguments that do not deserialize.
    let f = refused(
        lead,
        "decision_open",
        json!({"question": "q", "strategy": "majority"}),
    )
    .await;
    assert!(f.message.contains("unknown variant `majority`"), "{f:?}");
    assert_eq!(
        t.env.snapshot(),
        before,
        "a refused decision call changed the store"
    );
    bc.cancel().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_are_not_offered_the_lead_decision_tools() {
    let t = team("listing").await;
    let names = |tools: Vec<rmcp::model::Tool>| -> Vec<String> {
        tools.into_iter().map(|t| t.name.to_string()).collect()
    };
    let lead = names(t.lead.list_all_tools().await.unwrap());
    let worker = names(t.w[2].list_all_tools().await.unwrap());
    for tool in ["decision_open", "decision_close"] {
        assert!(lead.contains(&tool.to_string()), "{lead:?}");
        assert!(!worker.contains(&tool.to_string()), "{worker:?}");
    }
    for tool in ["decision_propose", "decision_vote", "decision_get"] {
        assert!(worker.contains(&tool.to_string()), "{worker:?}");
    }
}

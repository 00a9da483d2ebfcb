//! Issue 16, item 5: the rules the server enforces whatever the client. A role's tool list
//! (the shipped role pack, `skills/agent-teams/references/roles.md`) is recorded at
//! `team_spawn` and checked on every call; decisions need a running team; a `strict_vote`
//! without a voter list counts every member who may vote; mail an agent has pulled and
//! still holds is not counted as pending (what wakes an idle agent). Real database file,
//! real HTTP, rmcp's real client.

mod common;

use std::collections::HashMap;

use common::*;
use serde_json::{Value, json};

/// The tool lists of the shipped role pack, read from the file the supervisor reads.
fn role_pack() -> HashMap<String, Vec<String>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../skills/agent-teams/references/roles.md"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let mut pack = HashMap::new();
    let mut role: Option<String> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("## ") {
            role = Some(name.trim().to_string());
        } else if let (Some(r), Some(tools)) = (role.take(), line.strip_prefix("tools: ")) {
            pack.insert(r, tools.split(',').map(|t| t.trim().to_string()).collect());
        }
    }
    assert!(pack.len() >= 6, "{pack:?}");
    pack
}

async fn propose(c: &Client, dec: &str, summary: &str) -> Value {
    let args = json!({"decision_id": dec, "summary": summary});
    ok(c, "decision_propose", args).await["id"].clone()
}

struct Team {
    env: Env,
    team_id: String,
    lead: Client,
}

/// A team whose runtime answers `role_tools` from the shipped role pack.
async fn team(goal: &str) -> Team {
    let env = Env::new().await;
    *env.rt.role_tools.lock().unwrap() = role_pack();
    let (t, lead) = env.team(goal);
    let lead = env.client(&lead).await;
    Team {
        team_id: t.team_id,
        env,
        lead,
    }
}

impl Team {
    /// Spawns a worker through `team_spawn` and connects with the token it was given.
    async fn spawn(&self, role: &str) -> (String, Client) {
        let out = ok(
            &self.lead,
            "team_spawn",
            json!({"role": role, "brief": format!("be a {role}")}),
        )
        .await;
        let id = out["agent_id"].as_str().unwrap().to_string();
        let req = self
            .env
            .rt
            .spawns
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.agent_id == id)
            .cloned()
            .unwrap();
        let c = common::http_client(&self.env.http.agent_url(&id), Some(&req.token))
            .await
            .unwrap();
        (id, c)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workers_role_tools_are_enforced_whatever_its_client_lists() {
    let t = team("roles").await;
    let (impl_id, imp) = t.spawn("implementer").await;
    let pack = role_pack();

    // The agent row keeps the role's list, and the server lists exactly that.
    let stored = t.env.store().agent(&t.team_id, &impl_id).unwrap();
    assert_eq!(stored.tools.as_ref(), Some(&pack["implementer"]));
    let mut listed: Vec<String> = imp
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.name.to_string())
        .collect();
    let mut want = pack["implementer"].clone();
    listed.sort();
    want.sort();
    assert_eq!(listed, want);

    // A client that calls the tools anyway is refused, by a stable code naming tool and
    // role, and nothing is stored.
    let dec = ok(
        &t.lead,
        "decision_open",
        json!({"question": "which?", "strategy": "strict_vote"}),
    )
    .await;
    let dec = dec["id"].as_str().unwrap().to_string();
    let cand = ok(
        &imp,
        "decision_propose",
        json!({"decision_id": dec, "summary": "mine"}),
    )
    .await;
    let before = t.env.snapshot();
    for (tool, args) in [
        ("team_broadcast", json!({"body": "hello all"})),
        (
            "decision_vote",
            json!({"decision_id": dec, "candidate_id": cand["id"]}),
        ),
        ("task_create", json!({"title": "more work"})),
        ("team_spawn", json!({"role": "tester", "brief": "x"})),
        ("decision_close", json!({"decision_id": dec})),
    ] {
        let (code, message, kind) = fails(&imp, tool, args).await;
        assert_eq!(
            (code, kind.as_str()),
            (-32011, "forbidden"),
            "{tool}: {message}"
        );
        assert!(
            message.contains(tool) && message.contains("implementer") && message.contains(&impl_id),
            "{tool}: {message}"
        );
    }
    assert_eq!(t.env.snapshot(), before, "a refused call changes nothing");
    assert!(t.env.rt.spawns.lock().unwrap().len() == 1);

    // Its own tools still work, and the lead keeps its lead-only tools.
    ok(&imp, "team_status", json!({})).await;
    ok(&imp, "team_send", json!({"to": "lead", "body": "done"})).await;
    ok(&t.lead, "decision_close", json!({"decision_id": dec})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_need_a_running_team() {
    let t = team("finalized").await;
    let (_, imp) = t.spawn("implementer").await;
    let (_, rev) = t.spawn("reviewer").await;
    let dec = ok(
        &t.lead,
        "decision_open",
        json!({"question": "which?", "strategy": "consensus"}),
    )
    .await;
    let dec = dec["id"].as_str().unwrap().to_string();
    let cand = ok(
        &imp,
        "decision_propose",
        json!({"decision_id": dec, "summary": "a"}),
    )
    .await;
    ok(&t.lead, "team_finalize", json!({"summary": "over"})).await;
    let before = t.env.snapshot();
    for (c, tool, args) in [
        (
            &t.lead,
            "decision_open",
            json!({"question": "late?", "strategy": "lead"}),
        ),
        (
            &imp,
            "decision_propose",
            json!({"decision_id": dec, "summary": "late"}),
        ),
        (
            &rev,
            "decision_vote",
            json!({"decision_id": dec, "candidate_id": cand["id"]}),
        ),
    ] {
        let (code, message, kind) = fails(c, tool, args).await;
        assert_eq!(
            (code, kind.as_str()),
            (-32010, "conflict"),
            "{tool}: {message}"
        );
        assert!(
            message.contains("finalized") && message.contains("not running"),
            "{tool}: {message}"
        );
    }
    assert_eq!(t.env.snapshot(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_vote_counts_every_voter_of_the_default_pack() {
    let t = team("vote").await;
    let (_, imp1) = t.spawn("implementer").await;
    let (_, imp2) = t.spawn("implementer").await;
    let (_, rev) = t.spawn("reviewer").await;
    let (_, tst) = t.spawn("tester").await;
    let open = |q: &'static str| {
        let lead = &t.lead;
        async move {
            let d = ok(
                lead,
                "decision_open",
                json!({"question": q, "strategy": "strict_vote"}),
            )
            .await;
            d["id"].as_str().unwrap().to_string()
        }
    };
    // Implementers propose, the reviewer may propose too; the reviewer and the tester vote.
    let dec = open("which patch?").await;
    let a = propose(&imp1, &dec, "patch a").await;
    propose(&imp2, &dec, "patch b").await;
    propose(&rev, &dec, "neither: verdict").await;
    ok(
        &rev,
        "decision_vote",
        json!({"decision_id": dec, "candidate_id": a}),
    )
    .await;
    // One vote of the two who may vote is no majority.
    let closed = ok(&t.lead, "decision_close", json!({"decision_id": dec})).await;
    assert_eq!(
        (&closed["status"], &closed["reason"]),
        (&json!("no_decision"), &json!("no_majority")),
        "{closed}"
    );
    let why = closed["rationale"].as_str().unwrap();
    assert!(why.contains("1 of 2 eligible votes, 2 needed"), "{why}");

    // Both voters agreeing is.
    let dec = open("which patch, again?").await;
    let a = propose(&imp1, &dec, "patch a").await;
    for c in [&rev, &tst] {
        ok(
            c,
            "decision_vote",
            json!({"decision_id": dec, "candidate_id": a}),
        )
        .await;
    }
    let closed = ok(&t.lead, "decision_close", json!({"decision_id": dec})).await;
    assert_eq!(
        (&closed["status"], &closed["winner"], &closed["reason"]),
        (&json!("decided"), &a, &json!("majority")),
        "{closed}"
    );
    assert!(closed["rationale"].as_str().unwrap().contains("2 of 2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_the_lead_pulled_and_holds_is_not_pending() {
    let t = team("mail").await;
    let (_, imp) = t.spawn("implementer").await;
    let lead_id = {
        let s = ok(&t.lead, "team_status", json!({})).await;
        s["me"].as_str().unwrap().to_string()
    };
    ok(
        &imp,
        "team_send",
        json!({"to": "lead", "body": "patch ready"}),
    )
    .await;
    let pending = |t: &Team| t.env.store().pending_count(&t.team_id, &lead_id).unwrap();
    assert_eq!(pending(&t), 1, "new mail is pending: it may wake the lead");
    assert_eq!(ok(&t.lead, "team_status", json!({})).await["inbox"], 1);

    // The lead pulls it (it holds it under lease, not yet acknowledged): it is no longer
    // news, so nothing should wake the lead for it.
    let got = ok(&t.lead, "team_pull_inbox", json!({})).await;
    assert_eq!(got["messages"].as_array().map(Vec::len), Some(1));
    assert_eq!(pending(&t), 0, "pulled and leased: not pending");
    assert_eq!(ok(&t.lead, "team_status", json!({})).await["inbox"], 0);

    // A second message is news again.
    ok(
        &imp,
        "team_send",
        json!({"to": "lead", "body": "and a test"}),
    )
    .await;
    assert_eq!(pending(&t), 1);
    let _: Value = ok(&t.lead, "team_wait", json!({"timeout_ms": 1000})).await;
    assert_eq!(pending(&t), 0, "a wait leases what it returns, like a pull");
}

//! Fuzzing every tool's argument decoding (issue 12, item 8), end to end: random argument
//! objects (the tool's own field names and made-up ones, values of every JSON type, ids
//! that exist and ids that do not) sent by rmcp's client over real HTTP to a real server
//! on a real database file. Every refused call must carry a named error (a JSON-RPC error
//! whose `data.error` is one of the documented words, never `internal`; or rmcp's
//! `failed to deserialize parameters` tool error) and must change nothing stored: no commit
//! (SQLite's `data_version` from a second connection) and, in short runs, an identical
//! store snapshot before and after.
//!
//! `CODEX_TEAMS_FUZZ_CASES` sets how many calls in all (default: 200 per tool); see
//! `scripts/fuzz.sh`. The count run is printed as `fuzz: tool calls N ...`.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use codex_teams_mcp::{HubOptions, TOOL_NAMES, TeamServer};
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};

const NAMED: &[&str] = &[
    "not_found",
    "invalid",
    "too_large",
    "conflict",
    "forbidden",
    "busy",
    "spawn_refused",
];

/// A JSON value of any type, with strings from `ids` (real ids of the team) half the time.
fn value(ids: Vec<String>) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![Just(0i64), Just(-1), Just(1), any::<i64>(), 0i64..100_000]
            .prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        prop_oneof![
            3 => proptest::sample::select(ids).prop_map(Value::String),
            2 => "[a-z_ -]{0,16}".prop_map(Value::String),
            1 => any::<String>().prop_map(Value::String),
            1 => (0usize..20_000).prop_map(|n| Value::String("y".repeat(n))),
        ],
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An arguments object for a tool whose input properties are `fields`: some of its own
/// fields and now and then a made-up one.
fn args(fields: Vec<String>, ids: Vec<String>) -> impl Strategy<Value = Map<String, Value>> {
    let key = if fields.is_empty() {
        "[a-z_]{1,10}".boxed()
    } else {
        prop_oneof![6 => proptest::sample::select(fields), 1 => "[a-z_]{1,10}"].boxed()
    };
    proptest::collection::btree_map(key, value(ids), 0..5).prop_map(|m| m.into_iter().collect())
}

fn fields_of(tool: &str) -> Vec<String> {
    TeamServer::tools()
        .into_iter()
        .find(|t| t.name == tool)
        .and_then(|t| {
            t.input_schema
                .get("properties")
                .and_then(Value::as_object)
                .map(|p| p.keys().cloned().collect())
        })
        .unwrap_or_default()
}

fn data_version(c: &rusqlite::Connection) -> i64 {
    c.query_row("PRAGMA data_version", [], |r| r.get(0))
        .unwrap()
}

/// Every row of every table, as text: the whole stored state.
fn dump(c: &rusqlite::Connection) -> Vec<String> {
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = Vec::new();
    for t in tables {
        let mut stmt = c.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                let vals: Vec<String> = (0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect();
                Ok(format!("{t}: {}", vals.join(" | ")))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.sort();
        out.extend(rows);
    }
    out
}

struct World {
    env: Env,
    lead: Client,
    ids: Vec<String>,
}

/// A running team with one of everything, so ids in the arguments can hit real rows.
async fn world(env: Env) -> World {
    let (team, lead) = env.team("fuzz");
    let worker = env.worker(&team.team_id, "w", "implementer");
    let lc = env.client(&lead).await;
    let task = ok(
        &lc,
        "task_create",
        json!({"title": "t", "role": "implementer"}),
    )
    .await;
    let art = ok(
        &lc,
        "artifact_publish",
        json!({"name": "plan", "content": "c", "summary": "s"}),
    )
    .await;
    let dec = ok(
        &lc,
        "decision_open",
        json!({"question": "q", "strategy": "consensus"}),
    )
    .await;
    let cand = ok(
        &lc,
        "decision_propose",
        json!({"decision_id": dec["id"], "summary": "s"}),
    )
    .await;
    let msg = ok(
        &lc,
        "team_send",
        json!({"to": worker.agent.agent_id, "body": "b"}),
    )
    .await;
    let mut ids: Vec<String> = [
        &task["id"],
        &art["id"],
        &dec["id"],
        &cand["id"],
        &msg["message_id"],
    ]
    .iter()
    .filter_map(|v| v.as_str().map(str::to_string))
    .collect();
    ids.extend([
        worker.agent.agent_id.clone(),
        lead.agent.agent_id.clone(),
        "lead".into(),
        "plan".into(),
        "done".into(),
        "failed".into(),
        "open".into(),
        "ready".into(),
        "tester".into(),
        "lead_pick".into(),
    ]);
    World { env, lead: lc, ids }
}

fn fuzz_cases(default: u64) -> u64 {
    std::env::var("CODEX_TEAMS_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn every_refused_tool_call_is_named_and_changes_nothing() {
    let tools: Vec<&str> = TOOL_NAMES.to_vec();
    let total = fuzz_cases(200 * tools.len() as u64);
    let per_tool = total.div_ceil(tools.len() as u64).max(1) as u32;
    let full_snapshots = total <= 20_000;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let opts = HubOptions {
        wait_default: Duration::from_millis(5),
        wait_max: Duration::from_millis(20),
        ..HubOptions::default()
    };
    let mut w = rt.block_on(async { world(Env::with_options(opts.clone()).await).await });
    let mut watch = rusqlite::Connection::open(&w.env.db).unwrap();
    let (ran, refused) = (AtomicU64::new(0), AtomicU64::new(0));
    for tool in tools {
        let mut runner = TestRunner::new(Config {
            cases: per_tool,
            failure_persistence: None,
            ..Config::default()
        });
        let strategy = args(fields_of(tool), w.ids.clone());
        runner
            .run(&strategy, |a| {
                let version = data_version(&watch);
                let before = full_snapshots.then(|| dump(&watch));
                ran.fetch_add(1, Ordering::Relaxed);
                let got = rt.block_on(call(&w.lead, tool, Value::Object(a.clone())));
                let f = match got {
                    Ok(_) => return Ok(()),
                    Err(f) => f,
                };
                refused.fetch_add(1, Ordering::Relaxed);
                match f.code {
                    Some(_) => prop_assert!(
                        NAMED.contains(&f.kind.as_str()),
                        "{tool} {a:?}: unnamed error {f:?}"
                    ),
                    None => prop_assert!(
                        f.message.starts_with("failed to deserialize parameters"),
                        "{tool} {a:?}: {f:?}"
                    ),
                }
                prop_assert_eq!(
                    data_version(&watch),
                    version,
                    "{} {:?} refused ({:?}) but committed",
                    tool,
                    a,
                    f
                );
                if let Some(before) = before {
                    prop_assert!(
                        dump(&watch) == before,
                        "{tool} {a:?} refused ({f:?}) but changed the store"
                    );
                }
                Ok(())
            })
            .unwrap();
        if tool == "team_finalize" {
            // The team may be over: a fresh running one for the tools after it.
            w = rt.block_on(async { world(Env::with_options(opts.clone()).await).await });
            watch = rusqlite::Connection::open(&w.env.db).unwrap();
        }
    }
    println!(
        "fuzz: tool calls {} (refused {})",
        ran.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed)
    );
}

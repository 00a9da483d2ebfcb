//! Fuzzing every store operation (issue 12, item 8): random sequences of operations, with
//! ids drawn from what the sequence made so far or made up, on a real database file. Every
//! refused operation must be a named error (`NotFound`, `Invalid`, `TooLarge`, `Conflict`;
//! never a raw SQLite error) and must change nothing stored: no commit at all (SQLite's
//! `data_version`, seen from a second connection), and in short runs the whole database
//! dumped before and after.
//!
//! `CODEX_TEAMS_FUZZ_CASES` sets how many operations to run (default 3000; `scripts/fuzz.sh
//! --cases N` for long runs). The count run is printed as `fuzz: store ops N ...`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use codex_teams_store::{
    AgentState, NewAgent, NewArtifact, NewCandidate, NewDecision, NewTask, NewTeam, Recipient,
    Store, StoreError, StoreOptions, StoreResult, TaskStatus, TaskUpdate, TeamStatus, Usage,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rusqlite::Connection;

/// An id argument: one the sequence made (by index, modulo), or a made-up one.
#[derive(Debug, Clone)]
enum Id {
    Made(usize),
    Junk(String),
}

#[derive(Debug, Clone)]
enum Op {
    AddAgent {
        name: String,
        role: String,
    },
    Send {
        from: Id,
        to: Option<Id>,
        body: String,
        key: String,
    },
    Pull {
        agent: Id,
        max: usize,
        lease_ms: u64,
    },
    Ack {
        agent: Id,
        ids: Vec<Id>,
    },
    CreateTask {
        by: Id,
        title: String,
        description: String,
        role: Option<String>,
        deps: Vec<Id>,
    },
    AddDep {
        task: Id,
        dep: Id,
    },
    Claim {
        agent: Id,
        task: Option<Id>,
        lease_ms: u64,
    },
    Heartbeat {
        agent: Id,
        task: Id,
        lease_ms: u64,
    },
    Update {
        agent: Id,
        task: Id,
        version: u32,
        progress: Option<String>,
        status: Option<u8>,
        artifact: Option<Id>,
        artifact_v: Option<u32>,
    },
    Publish {
        by: Id,
        name: String,
        content: String,
        summary: String,
        parent: Option<u32>,
    },
    Read {
        artifact: Id,
        version: Option<u32>,
    },
    ReadByName {
        name: String,
    },
    OpenDecision {
        by: Id,
        question: String,
        strategy: u8,
        voters: Option<Vec<Id>>,
    },
    Propose {
        decision: Id,
        by: Id,
        summary: String,
        artifact: Option<Id>,
        artifact_v: Option<u32>,
    },
    Vote {
        decision: Id,
        by: Id,
        candidate: Id,
        comment: Option<String>,
    },
    Close {
        decision: Id,
        by: Id,
        pick: Option<Id>,
        note: Option<String>,
    },
    Event {
        agent: Option<Id>,
        kind: String,
        payload: String,
    },
    Status {
        status: u8,
        only_if: Option<u8>,
    },
    AgentState {
        agent: Id,
        state: u8,
        thread: Option<String>,
        pgid: Option<i32>,
    },
    Usage {
        agent: Id,
        input: i64,
        output: i64,
    },
    Rotate {
        agent: Id,
        hash: String,
    },
    OtherTeam,
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z ]{0,12}",
        2 => any::<String>(),
        1 => Just(String::new()),
        1 => Just("   ".to_string()),
        1 => (0usize..40_000).prop_map(|n| "x".repeat(n)),
        1 => Just("tsk-0; DROP TABLE tasks; --".to_string()),
    ]
}

fn id() -> impl Strategy<Value = Id> {
    prop_oneof![
        6 => (0usize..64).prop_map(Id::Made),
        1 => "[a-z]{3}-[0-9a-f]{0,8}".prop_map(Id::Junk),
        1 => any::<String>().prop_map(Id::Junk),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let role = prop_oneof![
        Just("implementer".to_string()),
        Just("reviewer".to_string()),
        Just("lead".to_string()),
        "[a-z]{0,8}"
    ];
    prop_oneof![
        (text(), role.clone()).prop_map(|(name, role)| Op::AddAgent { name, role }),
        (id(), proptest::option::of(id()), text(), "[a-z0-9]{0,4}").prop_map(
            |(from, to, body, key)| Op::Send {
                from,
                to,
                body,
                key
            }
        ),
        (id(), 0usize..150, 0u64..10_000).prop_map(|(agent, max, lease_ms)| Op::Pull {
            agent,
            max,
            lease_ms
        }),
        (id(), proptest::collection::vec(id(), 0..4))
            .prop_map(|(agent, ids)| Op::Ack { agent, ids }),
        (
            id(),
            text(),
            text(),
            proptest::option::of(role),
            proptest::collection::vec(id(), 0..3)
        )
            .prop_map(|(by, title, description, role, deps)| Op::CreateTask {
                by,
                title,
                description,
                role,
                deps
            }),
        (id(), id()).prop_map(|(task, dep)| Op::AddDep { task, dep }),
        (
            id(),
            proptest::option::of(id()),
            prop_oneof![Just(0u64), 1u64..1_000_000, Just(u64::MAX)]
        )
            .prop_map(|(agent, task, lease_ms)| Op::Claim {
                agent,
                task,
                lease_ms
            }),
        (
            id(),
            id(),
            prop_oneof![Just(0u64), 1u64..1_000_000, Just(u64::MAX)]
        )
            .prop_map(|(agent, task, lease_ms)| Op::Heartbeat {
                agent,
                task,
                lease_ms
            }),
        (
            id(),
            id(),
            0u32..5,
            proptest::option::of(text()),
            proptest::option::of(0u8..5),
            proptest::option::of(id()),
            proptest::option::of(0u32..4)
        )
            .prop_map(
                |(agent, task, version, progress, status, artifact, artifact_v)| Op::Update {
                    agent,
                    task,
                    version,
                    progress,
                    status,
                    artifact,
                    artifact_v
                }
            ),
        (id(), text(), text(), text(), proptest::option::of(0u32..4)).prop_map(
            |(by, name, content, summary, parent)| Op::Publish {
                by,
                name,
                content,
                summary,
                parent
            }
        ),
        (id(), proptest::option::of(0u32..4))
            .prop_map(|(artifact, version)| Op::Read { artifact, version }),
        text().prop_map(|name| Op::ReadByName { name }),
        (
            id(),
            text(),
            0u8..4,
            proptest::option::of(proptest::collection::vec(id(), 0..3))
        )
            .prop_map(|(by, question, strategy, voters)| Op::OpenDecision {
                by,
                question,
                strategy,
                voters
            }),
        (
            id(),
            id(),
            text(),
            proptest::option::of(id()),
            proptest::option::of(0u32..4)
        )
            .prop_map(
                |(decision, by, summary, artifact, artifact_v)| Op::Propose {
                    decision,
                    by,
                    summary,
                    artifact,
                    artifact_v
                }
            ),
        (id(), id(), id(), proptest::option::of(text())).prop_map(
            |(decision, by, candidate, comment)| Op::Vote {
                decision,
                by,
                candidate,
                comment
            }
        ),
        (
            id(),
            id(),
            proptest::option::of(id()),
            proptest::option::of(text())
        )
            .prop_map(|(decision, by, pick, note)| Op::Close {
                decision,
                by,
                pick,
                note
            }),
        (proptest::option::of(id()), text(), text()).prop_map(|(agent, kind, payload)| Op::Event {
            agent,
            kind,
            payload
        }),
        (0u8..5, proptest::option::of(0u8..5))
            .prop_map(|(status, only_if)| Op::Status { status, only_if }),
        (
            id(),
            0u8..5,
            proptest::option::of(text()),
            proptest::option::of(any::<i32>())
        )
            .prop_map(|(agent, state, thread, pgid)| Op::AgentState {
                agent,
                state,
                thread,
                pgid
            }),
        (id(), any::<i64>(), any::<i64>()).prop_map(|(agent, input, output)| Op::Usage {
            agent,
            input,
            output
        }),
        (id(), text()).prop_map(|(agent, hash)| Op::Rotate { agent, hash }),
        Just(Op::OtherTeam),
    ]
}

/// Ids the sequence made, all in one pool (using a task id where an agent id is expected
/// is a good test too).
struct World {
    team: String,
    other_team: String,
    ids: Vec<String>,
}

impl World {
    fn id(&self, i: &Id) -> String {
        match i {
            Id::Made(n) if !self.ids.is_empty() => self.ids[n % self.ids.len()].clone(),
            Id::Made(_) => "agt-none".into(),
            Id::Junk(s) => s.clone(),
        }
    }
}

fn status(n: u8) -> TeamStatus {
    [
        TeamStatus::Running,
        TeamStatus::Finalized,
        TeamStatus::Failed,
        TeamStatus::Stopped,
        TeamStatus::Running,
    ][n as usize % 5]
}

/// Runs one operation; Ok carries the ids it made.
fn apply(s: &Store, w: &World, op: &Op) -> StoreResult<Vec<String>> {
    let t = w.team.as_str();
    let ms = Duration::from_millis;
    Ok(match op {
        Op::AddAgent { name, role } => vec![
            s.add_agent(
                t,
                NewAgent {
                    name: name.clone(),
                    role: role.clone(),
                    ..Default::default()
                },
            )?
            .agent_id,
        ],
        Op::Send {
            from,
            to,
            body,
            key,
        } => {
            let to = to
                .as_ref()
                .map_or(Recipient::Broadcast, |i| Recipient::Agent(w.id(i)));
            vec![s.send(t, &w.id(from), to, body, key)?.message_id]
        }
        Op::Pull {
            agent,
            max,
            lease_ms,
        } => s
            .pull_inbox(t, &w.id(agent), *max, ms(*lease_ms))?
            .into_iter()
            .map(|d| d.message_id)
            .collect(),
        Op::Ack { agent, ids } => {
            let ids: Vec<String> = ids.iter().map(|i| w.id(i)).collect();
            s.ack(t, &w.id(agent), &ids)?;
            vec![]
        }
        Op::CreateTask {
            by,
            title,
            description,
            role,
            deps,
        } => vec![
            s.create_task(
                t,
                &w.id(by),
                NewTask {
                    title: title.clone(),
                    description: description.clone(),
                    role: role.clone(),
                    deps: deps.iter().map(|d| w.id(d)).collect(),
                },
            )?
            .task_id,
        ],
        Op::AddDep { task, dep } => {
            vec![s.add_task_dependency(t, &w.id(task), &w.id(dep))?.task_id]
        }
        Op::Claim {
            agent,
            task,
            lease_ms,
        } => {
            let task = task.as_ref().map(|i| w.id(i));
            vec![
                s.claim_task(t, task.as_deref(), &w.id(agent), ms(*lease_ms))?
                    .task_id,
            ]
        }
        Op::Heartbeat {
            agent,
            task,
            lease_ms,
        } => {
            vec![
                s.heartbeat_task(t, &w.id(task), &w.id(agent), ms(*lease_ms))?
                    .task_id,
            ]
        }
        Op::Update {
            agent,
            task,
            version,
            progress,
            status,
            artifact,
            artifact_v,
        } => {
            let status = status.and_then(|n| {
                [
                    None,
                    Some(TaskStatus::Open),
                    Some(TaskStatus::Claimed),
                    Some(TaskStatus::Done),
                    Some(TaskStatus::Failed),
                ][n as usize]
            });
            vec![
                s.update_task(
                    t,
                    &w.id(task),
                    &w.id(agent),
                    *version,
                    TaskUpdate {
                        progress: progress.clone(),
                        status,
                        result_artifact: artifact.as_ref().map(|a| w.id(a)),
                        result_version: *artifact_v,
                    },
                )?
                .task_id,
            ]
        }
        Op::Publish {
            by,
            name,
            content,
            summary,
            parent,
        } => vec![
            s.publish_artifact(
                t,
                &w.id(by),
                NewArtifact {
                    name: name.clone(),
                    content: content.clone(),
                    summary: summary.clone(),
                    parent_version: *parent,
                },
            )?
            .artifact_id,
        ],
        Op::Read { artifact, version } => vec![
            s.read_artifact(t, &w.id(artifact), *version)?
                .meta
                .artifact_id,
        ],
        Op::ReadByName { name } => vec![s.read_artifact_by_name(t, name, None)?.meta.artifact_id],
        Op::OpenDecision {
            by,
            question,
            strategy,
            voters,
        } => {
            let strategy = [
                codex_teams_store::Strategy::Consensus,
                codex_teams_store::Strategy::Lead,
                codex_teams_store::Strategy::StrictVote,
                codex_teams_store::Strategy::Consensus,
            ][*strategy as usize % 4];
            vec![
                s.open_decision(
                    t,
                    &w.id(by),
                    NewDecision {
                        question: question.clone(),
                        strategy,
                        voters: voters.as_ref().map(|v| v.iter().map(|i| w.id(i)).collect()),
                    },
                )?
                .decision_id,
            ]
        }
        Op::Propose {
            decision,
            by,
            summary,
            artifact,
            artifact_v,
        } => vec![
            s.propose_candidate(
                t,
                &w.id(decision),
                &w.id(by),
                NewCandidate {
                    summary: summary.clone(),
                    artifact_id: artifact.as_ref().map(|a| w.id(a)),
                    artifact_version: *artifact_v,
                },
            )?
            .candidate_id,
        ],
        Op::Vote {
            decision,
            by,
            candidate,
            comment,
        } => {
            s.cast_vote(
                t,
                &w.id(decision),
                &w.id(by),
                &w.id(candidate),
                comment.as_deref(),
            )?;
            vec![]
        }
        Op::Close {
            decision,
            by,
            pick,
            note,
        } => {
            let pick = pick.as_ref().map(|p| w.id(p));
            s.close_decision(
                t,
                &w.id(decision),
                &w.id(by),
                pick.as_deref(),
                note.as_deref(),
            )?;
            vec![]
        }
        Op::Event {
            agent,
            kind,
            payload,
        } => {
            let agent = agent.as_ref().map(|a| w.id(a));
            s.append_event(
                t,
                agent.as_deref(),
                kind,
                &serde_json::json!({ "p": payload }),
            )?;
            vec![]
        }
        Op::Status {
            status: to,
            only_if,
        } => {
            match only_if {
                Some(from) => s.set_team_status_if(t, status(*from), status(*to))?,
                None => s.set_team_status(t, status(*to))?,
            };
            vec![]
        }
        Op::AgentState {
            agent,
            state,
            thread,
            pgid,
        } => {
            let state = [
                AgentState::Pending,
                AgentState::Running,
                AgentState::Idle,
                AgentState::Stopped,
                AgentState::Failed,
            ][*state as usize % 5];
            vec![
                s.set_agent_state(t, &w.id(agent), state, thread.as_deref(), *pgid)?
                    .agent_id,
            ]
        }
        Op::Usage {
            agent,
            input,
            output,
        } => {
            s.record_usage(
                t,
                &w.id(agent),
                Usage {
                    input_tokens: *input,
                    output_tokens: *output,
                    ..Default::default()
                },
            )?;
            vec![]
        }
        Op::Rotate { agent, hash } => vec![s.rotate_agent_token(t, &w.id(agent), hash)?.agent_id],
        // Reaching into another team must be refused as not found.
        Op::OtherTeam => {
            let id = w.ids.last().cloned().unwrap_or_default();
            s.task(&w.other_team, &id)?;
            vec![]
        }
    })
}

fn data_version(c: &Connection) -> i64 {
    c.query_row("PRAGMA data_version", [], |r| r.get(0))
        .unwrap()
}

/// Every row of every table, as text: the whole stored state.
fn dump(c: &Connection) -> Vec<String> {
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

fn fuzz_cases(default: u64) -> u64 {
    std::env::var("CODEX_TEAMS_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn every_refused_store_operation_is_named_and_changes_nothing() {
    const OPS_PER_CASE: usize = 40;
    let total = fuzz_cases(3000);
    let full_dumps = total <= 20_000;
    let (ran, refused) = (AtomicU64::new(0), AtomicU64::new(0));
    let strategy = proptest::collection::vec(op(), 1..=OPS_PER_CASE);
    // Sequences average OPS_PER_CASE / 2 operations; run rounds until `total` ran.
    while ran.load(Ordering::Relaxed) < total {
        let left = total - ran.load(Ordering::Relaxed);
        let mut runner = TestRunner::new(Config {
            cases: (2 * left).div_ceil(OPS_PER_CASE as u64).max(1) as u32,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&strategy, |ops| {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("teams.db");
                let opts = StoreOptions {
                    max_body_bytes: 1024,
                    max_artifact_bytes: 16 * 1024,
                    ..Default::default()
                };
                let s = Store::open_with(&path, opts).unwrap();
                let (team, lead) = s
                    .create_team_with_lead(
                        NewTeam {
                            goal: "fuzz".into(),
                            ..Default::default()
                        },
                        NewAgent {
                            name: "lead".into(),
                            role: "lead".into(),
                            ..Default::default()
                        },
                    )
                    .unwrap();
                let other = s
                    .create_team(NewTeam {
                        goal: "other".into(),
                        ..Default::default()
                    })
                    .unwrap();
                let mut w = World {
                    team: team.team_id,
                    other_team: other.team_id,
                    ids: vec![lead.agent_id],
                };
                let watch = Connection::open(&path).unwrap();
                for op in &ops {
                    let version = data_version(&watch);
                    let before = full_dumps.then(|| dump(&watch));
                    ran.fetch_add(1, Ordering::Relaxed);
                    match apply(&s, &w, op) {
                        Ok(made) => w.ids.extend(made),
                        Err(e) => {
                            refused.fetch_add(1, Ordering::Relaxed);
                            prop_assert!(
                                matches!(
                                    e,
                                    StoreError::NotFound { .. }
                                        | StoreError::Invalid(_)
                                        | StoreError::TooLarge { .. }
                                        | StoreError::Conflict(_)
                                ),
                                "{op:?} failed without a named error: {e:?}"
                            );
                            prop_assert_eq!(
                                data_version(&watch),
                                version,
                                "{:?} was refused ({}) but committed",
                                op,
                                e
                            );
                            if let Some(before) = before {
                                prop_assert_eq!(
                                    dump(&watch),
                                    before,
                                    "{:?} was refused ({}) but changed the store",
                                    op,
                                    e
                                );
                            }
                        }
                    }
                }
                Ok(())
            })
            .unwrap();
    }
    println!(
        "fuzz: store ops {} (refused {})",
        ran.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed)
    );
}

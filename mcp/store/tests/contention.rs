//! Many writers on one file at once, as threads (each with its own connection) and as
//! separate processes: exactly one winner per task, no BUSY reaching a caller, no message
//! lost or duplicated.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use codex_teams_store::{NewAgent, Recipient, Store, StoreError};
use common::{Board, finish, integrity};

const WRITERS: usize = 8;
const LONG: Duration = Duration::from_secs(600);

/// Pulls and acknowledges everything waiting for `agent`; returns the message ids seen.
fn drain(s: &Store, team: &str, agent: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let got = s.pull_inbox(team, agent, 64, LONG).unwrap();
        if got.is_empty() {
            return seen;
        }
        let ids: Vec<String> = got.into_iter().map(|d| d.message_id).collect();
        assert_eq!(s.ack(team, agent, &ids).unwrap(), ids.len());
        seen.extend(ids);
    }
}

/// Every message a writer was told it sent arrives exactly once at its addressee.
fn check_delivery(board: &Board, sent: &[(String, String)]) {
    let s = board.store();
    let mut expected: HashMap<&str, HashSet<&str>> = HashMap::new();
    for (id, to) in sent {
        assert!(
            expected.entry(to).or_default().insert(id),
            "message id {id} handed out twice"
        );
    }
    for agent in &board.agents {
        let got = drain(&s, &board.team, agent);
        let unique: HashSet<&str> = got.iter().map(String::as_str).collect();
        assert_eq!(
            unique.len(),
            got.len(),
            "a message was delivered twice to {agent}"
        );
        assert_eq!(
            unique,
            expected.remove(agent.as_str()).unwrap_or_default(),
            "inbox of {agent}"
        );
    }
}

fn check_one_winner_each(board: &Board, claims: &[String]) {
    let mut seen = HashSet::new();
    for task in claims {
        assert!(seen.insert(task), "task {task} was claimed twice");
    }
    assert_eq!(seen.len(), board.tasks.len(), "every task claimed once");
}

#[test]
fn threads_claim_and_send_on_one_file() {
    const SENDS: usize = 250;
    let board = Arc::new(Board::new(WRITERS, 300));
    let start = Arc::new(Barrier::new(WRITERS));
    let handles: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (board, start) = (board.clone(), start.clone());
            std::thread::spawn(move || {
                let s = board.store();
                let me = &board.agents[w];
                let (mut claims, mut sent) = (Vec::new(), Vec::new());
                start.wait();
                let mut board_empty = false;
                for i in 0..SENDS {
                    if !board_empty {
                        match s.claim_task(&board.team, None, me, LONG) {
                            Ok(t) => claims.push(t.task_id),
                            Err(StoreError::NotFound { .. }) => board_empty = true,
                            Err(e) => panic!("claim failed: {e}"),
                        }
                    }
                    let to = board.agents[(w + 1 + i % (WRITERS - 1)) % WRITERS].clone();
                    let out = s
                        .send(
                            &board.team,
                            me,
                            Recipient::Agent(to.clone()),
                            &format!("{w}/{i}"),
                            &format!("{i}"),
                        )
                        .unwrap_or_else(|e| panic!("send failed: {e}"));
                    sent.push((out.message_id, to));
                }
                while !board_empty {
                    match s.claim_task(&board.team, None, me, LONG) {
                        Ok(t) => claims.push(t.task_id),
                        Err(StoreError::NotFound { .. }) => board_empty = true,
                        Err(e) => panic!("claim failed: {e}"),
                    }
                }
                (claims, sent)
            })
        })
        .collect();
    let (mut claims, mut sent) = (Vec::new(), Vec::new());
    for h in handles {
        let (c, s) = h.join().unwrap();
        claims.extend(c);
        sent.extend(s);
    }
    check_one_winner_each(&board, &claims);
    assert_eq!(sent.len(), WRITERS * SENDS);
    check_delivery(&board, &sent);
    assert_eq!(integrity(&board.path), "ok");
}

#[test]
fn threads_race_for_the_same_task() {
    let board = Arc::new(Board::new(WRITERS, 20));
    for task in board.tasks.clone() {
        let start = Arc::new(Barrier::new(WRITERS));
        let winners: usize = (0..WRITERS)
            .map(|w| {
                let (board, start, task) = (board.clone(), start.clone(), task.clone());
                std::thread::spawn(move || {
                    let s = board.store();
                    start.wait();
                    match s.claim_task(&board.team, Some(&task), &board.agents[w], LONG) {
                        Ok(_) => 1,
                        Err(StoreError::Conflict(_)) => 0,
                        Err(e) => panic!("claim failed: {e}"),
                    }
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .sum();
        assert_eq!(winners, 1, "task {task}");
    }
}

#[test]
fn processes_claim_and_send_on_one_file() {
    const SENDS: usize = 250;
    let board = Board::new(WRITERS, 300);
    let children: Vec<_> = (0..WRITERS)
        .map(|w| {
            let peers: Vec<&str> = board
                .agents
                .iter()
                .filter(|a| **a != board.agents[w])
                .map(String::as_str)
                .collect();
            board.torture(
                "hammer",
                &[&board.agents[w], &peers.join(","), &SENDS.to_string()],
            )
        })
        .collect();
    std::fs::write(board.path.with_extension("go"), b"").unwrap();
    let (mut claims, mut sent) = (Vec::new(), Vec::new());
    for child in children {
        for line in finish(child) {
            let words: Vec<&str> = line.split(' ').collect();
            match words.as_slice() {
                ["claimed", task] => claims.push(task.to_string()),
                ["sent", id, to] => sent.push((id.to_string(), to.to_string())),
                _ => panic!("unexpected line {line:?}"),
            }
        }
    }
    check_one_winner_each(&board, &claims);
    assert_eq!(sent.len(), WRITERS * SENDS);
    check_delivery(&board, &sent);
    assert_eq!(integrity(&board.path), "ok");
}

#[test]
fn processes_race_for_the_same_tasks() {
    let board = Board::new(WRITERS, 40);
    let tasks = board.tasks.join(",");
    let children: Vec<_> = (0..WRITERS)
        .map(|w| board.torture("race", &[&board.agents[w], &tasks]))
        .collect();
    std::fs::write(board.path.with_extension("go"), b"").unwrap();
    let mut wins: HashMap<String, usize> = HashMap::new();
    let mut answers = 0;
    for child in children {
        for line in finish(child) {
            answers += 1;
            match line.split_once(' ') {
                Some(("won", task)) => *wins.entry(task.to_string()).or_default() += 1,
                Some(("lost", _)) => {}
                _ => panic!("unexpected line {line:?}"),
            }
        }
    }
    assert_eq!(answers, WRITERS * board.tasks.len());
    for task in &board.tasks {
        assert_eq!(wins.get(task), Some(&1), "winners of {task}");
    }
    let s = board.store();
    for task in &board.tasks {
        assert!(s.task(&board.team, task).unwrap().claimed_by.is_some());
    }
}

#[test]
fn concurrent_spawns_of_one_role_get_distinct_names() {
    const PER_THREAD: usize = 4;
    // The board's members are implementers `w0`, `w1`; a member already holding a numbered
    // name must be skipped, not collided with.
    let board = Board::new(2, 0);
    let s = board.store();
    let squatter = NewAgent {
        name: "implementer-4".into(),
        role: "reviewer".into(),
        ..Default::default()
    };
    s.add_agent(&board.team, squatter).unwrap();
    let start = Arc::new(Barrier::new(WRITERS));
    let handles: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (path, team, start) = (board.path.clone(), board.team.clone(), start.clone());
            std::thread::spawn(move || {
                let s = Store::open(&path).unwrap();
                start.wait();
                (0..PER_THREAD)
                    .map(|_| {
                        let new = NewAgent {
                            name: "implementer".into(),
                            role: "implementer".into(),
                            ..Default::default()
                        };
                        s.add_agent_numbered(&team, new).map(|a| a.name)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let results: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let errors: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(errors.is_empty(), "spawns failed: {errors:?}");
    let names: HashSet<String> = results.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        names.len(),
        WRITERS * PER_THREAD,
        "a name was handed out twice"
    );
    assert!(
        !names.contains("implementer-4"),
        "the squatter's name was reused"
    );
    let stored = s.list_agents(&board.team).unwrap();
    assert_eq!(stored.len(), 2 + 1 + WRITERS * PER_THREAD);
    assert_eq!(integrity(&board.path), "ok");
}

//! Kill -9 in the middle of work, again and again: after every kill the file is sound,
//! nothing a caller was told happened has been lost, and retries make no duplicates.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::Duration;

use codex_teams_store::Store;
use common::{Board, integrity};
use rand::Rng;

const KILLS: usize = 20;

/// What the children were promised, accumulated over every run.
#[derive(Default)]
struct Promised {
    /// message id → idempotency key
    sent: HashMap<String, String>,
    acked: HashSet<String>,
    done: HashSet<String>,
    /// the last send seen to return, retried by the next run
    last: Option<(String, String)>,
}

impl Promised {
    fn take(&mut self, line: &str) {
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            ["sent", id, key] => {
                let first = self.sent.insert(id.to_string(), key.to_string());
                assert!(first.is_none(), "message id {id} returned by two sends");
                self.last = Some((key.to_string(), id.to_string()));
            }
            ["acked", id] => {
                self.acked.insert(id.to_string());
            }
            ["done", task] => {
                assert!(
                    self.done.insert(task.to_string()),
                    "task {task} finished twice"
                );
            }
            _ => panic!("unexpected line {line:?}"),
        }
    }
}

/// Checks the file against everything promised so far.
fn check(board: &Board, p: &Promised) {
    assert_eq!(integrity(&board.path), "ok");
    let c = rusqlite::Connection::open(&board.path).unwrap();
    let (rows, distinct): (i64, i64) = c
        .query_row(
            "SELECT count(*), count(DISTINCT message_id) FROM messages",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(rows, distinct, "duplicated message id");
    let per_key: i64 = c
        .query_row(
            "SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM messages GROUP BY body)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        per_key <= 1,
        "one send (one key, one body) stored as several messages"
    );
    let mut sent_key = c
        .prepare("SELECT idempotency_key FROM messages WHERE message_id = ?1")
        .unwrap();
    for (id, key) in &p.sent {
        let stored: String = sent_key
            .query_row([id], |r| r.get(0))
            .unwrap_or_else(|e| panic!("returned send {id} is missing: {e}"));
        assert_eq!(&stored, key);
    }
    let mut acked = c
        .prepare("SELECT acked_at IS NOT NULL FROM deliveries WHERE message_id = ?1")
        .unwrap();
    for id in &p.acked {
        assert!(
            acked.query_row([id], |r| r.get::<_, bool>(0)).unwrap(),
            "acknowledged {id} is unacknowledged again"
        );
    }
    let mut done = c
        .prepare("SELECT status FROM tasks WHERE task_id = ?1")
        .unwrap();
    for task in &p.done {
        assert_eq!(
            done.query_row([task], |r| r.get::<_, String>(0)).unwrap(),
            "done"
        );
    }
}

#[test]
fn sigkill_at_random_moments_loses_nothing() {
    let board = Board::new(2, 1500);
    let (sender, receiver) = (&board.agents[0], &board.agents[1]);
    let mut promised = Promised::default();
    let mut rng = rand::rng();
    for run in 0..KILLS {
        let run_tag = format!("r{run}");
        let mut args = vec![sender.as_str(), receiver.as_str(), run_tag.as_str()];
        let last = promised.last.clone();
        if let Some((key, id)) = &last {
            args.extend([key.as_str(), id.as_str()]);
        }
        let mut child = board.torture("crash", &args);
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait until it is really working, then kill it somewhere in its loop.
        let first = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("child printed nothing");
        promised.take(&first);
        std::thread::sleep(Duration::from_micros(rng.random_range(0..80_000)));
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        if status.code().is_some() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            panic!("child exited by itself ({status}), not by the kill: {err}");
        }
        reader.join().unwrap();
        for line in rx.try_iter() {
            promised.take(&line);
        }
        check(&board, &promised);
    }
    eprintln!(
        "{KILLS} kills: {} sends, {} acks, {} tasks done were promised and kept",
        promised.sent.len(),
        promised.acked.len(),
        promised.done.len()
    );
    assert!(promised.sent.len() >= KILLS, "the children made progress");
    assert!(!promised.acked.is_empty() && !promised.done.is_empty());

    // Nothing lost: once leases run out, everything ever sent can be pulled and acked.
    std::thread::sleep(Duration::from_millis(200));
    let s = Store::open(&board.path).unwrap();
    loop {
        let got = s
            .pull_inbox(&board.team, receiver, 256, Duration::from_secs(60))
            .unwrap();
        if got.is_empty() {
            break;
        }
        let ids: Vec<String> = got.into_iter().map(|d| d.message_id).collect();
        for id in &ids {
            assert!(
                !promised.acked.contains(id),
                "acknowledged {id} delivered again"
            );
        }
        s.ack(&board.team, receiver, &ids).unwrap();
    }
    // Acked in the file now: by the drain above, or by a child that was killed before it
    // could print that it had acknowledged.
    let c = rusqlite::Connection::open(&board.path).unwrap();
    let mut acked = c
        .prepare("SELECT acked_at IS NOT NULL FROM deliveries WHERE message_id = ?1")
        .unwrap();
    for id in promised.sent.keys() {
        let done: bool = acked.query_row([id], |r| r.get(0)).unwrap();
        assert!(done, "sent {id} was never delivered and acknowledged");
    }
    assert_eq!(s.pending_count(&board.team, receiver).unwrap(), 0);
}

//! `store-torture`: a separate process that hammers a store file, for the contention and
//! crash tests (`tests/contention.rs`, `tests/crash.rs`). Each result it gets back is printed
//! on its own flushed stdout line *after* the call returned, so the parent knows exactly
//! which effects a caller was promised when it kills this process.
//!
//! Modes (all ids come from the parent, which set the database up):
//! - `hammer DB TEAM AGENT PEERS SENDS`: waits for the file `DB.go`, then claims ready tasks until none is left and send
//!   `SENDS` messages round-robin to the comma-separated `PEERS`, interleaved.
//!   Prints `claimed TASK` and `sent MSG PEER`.
//! - `race DB TEAM AGENT TASKS`: waits for the file `DB.go`, then tries to claim each
//!   comma-separated task. Prints `won TASK` or `lost TASK`.
//! - `crash DB TEAM SENDER RECEIVER RUN [RETRY_KEY RETRY_ID]`: loops forever sending,
//!   pulling, acknowledging and finishing tasks until killed. Prints `sent MSG KEY`,
//!   `acked MSG` and `done TASK`. With `RETRY_KEY`, it first re-sends that key (the last
//!   send the parent saw return before the previous kill) and checks the id is `RETRY_ID`.
//!
//! Any error other than the expected "nothing ready"/"lost the race" answers exits with
//! status 2 and the error on stderr; that includes `Busy`, which must never reach a caller.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use codex_teams_store::{Recipient, Store, StoreError, StoreResult, TaskStatus, TaskUpdate};

fn say(line: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    // One write per line, then flush: the parent may kill us right after.
    let _ = out.write_all(format!("{line}\n").as_bytes());
    let _ = out.flush();
}

/// Waits for the parent's start signal (the file `DB.go`) so all children write at once.
/// Gives up after a minute so a broken parent cannot leave it spinning.
fn wait_for_go(db: &Path) -> StoreResult<()> {
    let go = db.with_extension("go");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !go.exists() {
        if std::time::Instant::now() > deadline {
            return Err(StoreError::Invalid(format!(
                "{} never appeared",
                go.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

fn hammer(store: &Store, team: &str, agent: &str, peers: &[&str], sends: usize) -> StoreResult<()> {
    let lease = Duration::from_secs(600);
    let (mut sent, mut board_empty) = (0, false);
    while sent < sends || !board_empty {
        if !board_empty {
            match store.claim_task(team, None, agent, lease) {
                Ok(task) => say(format_args!("claimed {}", task.task_id)),
                Err(StoreError::NotFound { .. }) => board_empty = true,
                Err(e) => return Err(e),
            }
        }
        if sent < sends {
            let peer = peers[sent % peers.len()];
            let out = store.send(
                team,
                agent,
                Recipient::Agent(peer.to_string()),
                &format!("{agent} #{sent}"),
                &format!("{agent}-{sent}"),
            )?;
            say(format_args!("sent {} {peer}", out.message_id));
            sent += 1;
        }
    }
    Ok(())
}

fn race(store: &Store, team: &str, agent: &str, tasks: &[&str]) -> StoreResult<()> {
    for task in tasks {
        match store.claim_task(team, Some(task), agent, Duration::from_secs(600)) {
            Ok(_) => say(format_args!("won {task}")),
            Err(StoreError::Conflict(_)) => say(format_args!("lost {task}")),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn crash_loop(
    store: &Store,
    team: &str,
    sender: &str,
    receiver: &str,
    run: &str,
    retry: Option<(&str, &str)>,
) -> StoreResult<()> {
    let to = || Recipient::Agent(receiver.to_string());
    if let Some((key, expected)) = retry {
        let again = store.send(team, sender, to(), key, key)?;
        if again.message_id != expected || again.created {
            eprintln!("retry of key {key} gave {again:?}, expected the existing {expected}");
            std::process::exit(3);
        }
    }
    for i in 0u64.. {
        let key = format!("{run}-{i}");
        let out = store.send(team, sender, to(), &key, &key)?;
        say(format_args!("sent {} {key}", out.message_id));
        // an immediate retry must come back as the same message
        let again = store.send(team, sender, to(), &key, &key)?;
        if again.message_id != out.message_id || again.created {
            eprintln!("immediate retry of {key} gave {again:?}");
            std::process::exit(3);
        }
        let got = store.pull_inbox(team, receiver, 8, Duration::from_millis(150))?;
        let ids: Vec<String> = got.into_iter().map(|d| d.message_id).collect();
        store.ack(team, receiver, &ids)?;
        for id in &ids {
            say(format_args!("acked {id}"));
        }
        match store.claim_task(team, None, sender, Duration::from_millis(150)) {
            Ok(task) => {
                let done = TaskUpdate {
                    status: Some(TaskStatus::Done),
                    ..Default::default()
                };
                store.update_task(team, &task.task_id, sender, task.version, done)?;
                say(format_args!("done {}", task.task_id));
            }
            Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match a.as_slice() {
        ["hammer", db, team, agent, peers, sends] => {
            let peers: Vec<&str> = peers.split(',').collect();
            let sends = sends.parse().expect("SENDS is a number");
            Store::open(Path::new(db)).and_then(|s| {
                wait_for_go(Path::new(db))?;
                hammer(&s, team, agent, &peers, sends)
            })
        }
        ["race", db, team, agent, tasks] => {
            let tasks: Vec<&str> = tasks.split(',').collect();
            Store::open(Path::new(db)).and_then(|s| {
                wait_for_go(Path::new(db))?;
                race(&s, team, agent, &tasks)
            })
        }
        ["crash", db, team, sender, receiver, run, rest @ ..] => {
            let retry = match rest {
                [] => None,
                [key, id] => Some((*key, *id)),
                _ => {
                    eprintln!("crash mode takes RETRY_KEY and RETRY_ID together");
                    return ExitCode::from(64);
                }
            };
            Store::open(Path::new(db))
                .and_then(|s| crash_loop(&s, team, sender, receiver, run, retry))
        }
        _ => {
            eprintln!("usage: store-torture hammer|race|crash ... (see the source for arguments)");
            return ExitCode::from(64);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("store-torture: {e}");
            ExitCode::from(2)
        }
    }
}

//! Shared setup for the multi-process tests: a database file with one team of agents and
//! a way to run `store-torture` against it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use codex_teams_store::{NewAgent, NewTask, NewTeam, Store};

pub struct Board {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
    pub team: String,
    pub agents: Vec<String>,
    pub tasks: Vec<String>,
}

impl Board {
    /// A team of `agents` members and `tasks` independent open tasks.
    pub fn new(agents: usize, tasks: usize) -> Board {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("teams.db");
        let s = Store::open(&path).unwrap();
        let team = s
            .create_team(NewTeam {
                goal: "torture".into(),
                ..Default::default()
            })
            .unwrap()
            .team_id;
        let agents: Vec<String> = (0..agents)
            .map(|i| {
                let new = NewAgent {
                    name: format!("w{i}"),
                    role: "implementer".into(),
                    ..Default::default()
                };
                s.add_agent(&team, new).unwrap().agent_id
            })
            .collect();
        let tasks = (0..tasks)
            .map(|i| {
                let new = NewTask {
                    title: format!("task {i}"),
                    ..Default::default()
                };
                s.create_task(&team, &agents[0], new).unwrap().task_id
            })
            .collect();
        Board {
            _dir: dir,
            path,
            team,
            agents,
            tasks,
        }
    }

    pub fn store(&self) -> Store {
        Store::open(&self.path).unwrap()
    }

    /// Starts `store-torture MODE DB TEAM args…` with stdout piped.
    pub fn torture(&self, mode: &str, args: &[&str]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_store-torture"))
            .arg(mode)
            .arg(&self.path)
            .arg(&self.team)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
}

/// Waits for a child and returns its stdout lines, failing the test on a non-zero exit.
pub fn finish(child: Child) -> Vec<String> {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "store-torture failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// `PRAGMA integrity_check` on a fresh connection.
pub fn integrity(path: &Path) -> String {
    let c = rusqlite::Connection::open(path).unwrap();
    c.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

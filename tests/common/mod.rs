//! Shared by the supervisor's end-to-end tests: a throwaway `CODEX_TEAMS_HOME`,
//! `CODEX_HOME` and copy of the example repo; the built binary; `/proc` scans for the codex
//! children of one test (by their `CODEX_HOME`); the scripted server's request log.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_codex-teams");

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn scenario(name: &str) -> PathBuf {
    root().join("fixtures/scenarios").join(name)
}

/// One test's world.
pub struct World {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    pub codex_home: PathBuf,
    pub repo: PathBuf,
    pub log: PathBuf,
    pub codex: PathBuf,
}

impl World {
    pub fn new() -> World {
        let codex = codex_teams_codex_exec::find_codex().expect("codex binary");
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("teams-home");
        let codex_home = dir.path().join("codex-home");
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&codex_home).unwrap();
        std::fs::create_dir_all(&repo).unwrap();
        for f in ["textstats.py", "test_textstats.py", "README.md"] {
            std::fs::copy(root().join("fixtures/example").join(f), repo.join(f)).unwrap();
        }
        let log = dir.path().join("requests.jsonl");
        World {
            dir,
            home,
            codex_home,
            repo,
            log,
            codex,
        }
    }

    /// `codex-teams ARGS` with this world's environment.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("CODEX_TEAMS_HOME", &self.home)
            .env("CODEX_HOME", &self.codex_home)
            .env("CODEX_BIN", &self.codex)
            .env("CODEX_TEAMS_SCENARIO_LOG", &self.log)
            .env("CODEX_TEAMS_GRACE_MS", "2000")
            .env_remove("CODEX_TEAMS_DB")
            .env_remove("CODEX_TEAMS_LOG")
            .current_dir(self.dir.path());
        c
    }

    /// `codex-teams run --scenario S --cwd REPO --json TASK EXTRA...`.
    pub fn run_cmd(&self, scenario_file: &str, task: &str, extra: &[&str]) -> Command {
        let sc = scenario(scenario_file);
        let repo = self.repo.display().to_string();
        let mut args = vec![
            "run",
            "--scenario",
            sc.to_str().unwrap(),
            "--cwd",
            &repo,
            "--json",
        ];
        args.extend_from_slice(extra);
        args.push(task);
        self.cmd(&args)
    }

    /// The request log of the scripted server(s) of this world. A last line still being
    /// written (no newline yet) is left out; any other line that does not parse fails.
    pub fn requests(&self) -> Vec<Value> {
        let Ok(text) = std::fs::read_to_string(&self.log) else {
            return Vec::new();
        };
        let complete = match text.rfind('\n') {
            Some(end) => &text[..end],
            None => "",
        };
        complete
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("request log: {e}: {l}")))
            .collect()
    }

    /// Live codex processes of this world: (pid, agent id, role).
    pub fn live_children(&self) -> Vec<(i32, String, String)> {
        live_with_env("CODEX_HOME", &self.codex_home.display().to_string())
    }

    /// Distinct worker agents with a live process now. A /proc scan is not atomic (under
    /// load it takes long enough for one worker to exit and the next to start inside it),
    /// so the pids found are checked again afterwards: every process still alive then was
    /// born before the re-check began and alive at its start, so the count is of processes
    /// alive at one instant.
    pub fn live_workers(&self) -> BTreeSet<String> {
        self.live_children()
            .into_iter()
            .filter(|(_, _, role)| role != "lead")
            .collect::<Vec<_>>()
            .into_iter()
            .filter(|(pid, _, _)| !is_zombie(*pid))
            .map(|(_, id, _)| id)
            .collect()
    }

    pub fn status(&self, team: Option<&str>) -> Value {
        let mut args = vec!["status", "--json"];
        if let Some(t) = team {
            args.insert(1, t);
        }
        let out = self.cmd(&args).output().unwrap();
        assert!(out.status.success(), "status failed: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub fn unittest_passes(&self) -> bool {
        Command::new("python3")
            .args(["-m", "unittest", "-q"])
            .current_dir(&self.repo)
            .output()
            .unwrap()
            .status
            .success()
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The last stdout line parsed as the `--json` summary.
pub fn summary(out: &Output) -> Value {
    let stdout = text(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| {
            panic!(
                "no JSON summary; stdout {stdout}\nstderr {}",
                text(&out.stderr)
            )
        });
    serde_json::from_str(line).unwrap()
}

pub fn environ(pid: i32) -> Option<Vec<(String, String)>> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .filter_map(|kv| {
                let s = String::from_utf8_lossy(kv);
                let (k, v) = s.split_once('=')?;
                Some((k.to_string(), v.to_string()))
            })
            .collect(),
    )
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

/// Live processes whose environment has `key=value` and a codex-teams agent id.
pub fn live_with_env(key: &str, value: &str) -> Vec<(i32, String, String)> {
    processes()
        .filter_map(|(pid, env)| {
            let get = |k: &str| env.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.clone());
            if get(key).as_deref() != Some(value) || is_zombie(pid) {
                return None;
            }
            Some((pid, get("CODEX_TEAMS_AGENT_ID")?, get("CODEX_TEAMS_ROLE")?))
        })
        .collect()
}

/// Polls `f` until it returns Some or `limit` passes.
pub fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sum of one field over requests.
pub fn sum(reqs: &[Value], field: &str) -> i64 {
    reqs.iter().map(|r| r[field].as_i64().unwrap_or(0)).sum()
}

/// Whether a request belongs to the conversation whose first prompt had `marker`.
pub fn body_contains(req: &Value, marker: &str) -> bool {
    req["body"]["input"].to_string().contains(marker)
}

/// Runs a command with a deadline, interrupting it if it overruns.
pub fn output_within(mut cmd: Command, limit: Duration) -> Output {
    use std::process::Stdio;
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_within(child, limit)
}

/// SIGKILLs a process when dropped (a failed test must not leave a supervisor behind).
pub struct KillOnDrop(pub i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", &self.0.to_string()])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Waits for a spawned child's output, interrupting it (SIGINT) if it overruns `limit`.
pub fn wait_within(child: std::process::Child, limit: Duration) -> Output {
    let pid = child.id() as i32;
    let watchdog = std::thread::spawn(move || {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            std::thread::sleep(Duration::from_millis(200));
            if !Path::new(&format!("/proc/{pid}")).exists() || is_zombie(pid) {
                return;
            }
        }
        let _ = Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status();
    });
    let out = child.wait_with_output().unwrap();
    let _ = watchdog.join();
    out
}

/// Fails with the prompts and rules of every request no scenario rule answered.
pub fn assert_all_matched(reqs: &[Value]) {
    let bad: Vec<String> = reqs
        .iter()
        .filter(|r| r["outcome"] != "matched")
        .map(|r| {
            let last = r["body"]["input"]
                .as_array()
                .and_then(|a| a.last())
                .map(|v| v.to_string())
                .unwrap_or_default();
            format!(
                "#{} {} prompt={:?} last_input={}",
                r["seq"],
                r["outcome"],
                r["prompt"].as_str().unwrap_or(""),
                &last[..last.len().min(600)]
            )
        })
        .collect();
    assert!(bad.is_empty(), "unmatched requests:\n{}", bad.join("\n"));
}

/// Every live (non-zombie) process whose environment has `key=value`.
pub fn pids_with_env(key: &str, value: &str) -> Vec<i32> {
    processes()
        .filter(|(pid, env)| env.iter().any(|(k, v)| k == key && v == value) && !is_zombie(*pid))
        .map(|(pid, _)| pid)
        .collect()
}

/// Every process we can read, with its environment.
fn processes() -> impl Iterator<Item = (i32, Vec<(String, String)>)> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| Some((pid, environ(pid)?)))
}

//! One benchmark run: a fresh copy of a task's fixture repo, one arm working on it as real
//! processes (`codex-teams run` for a team arm, one plain `codex exec` for the solo arm),
//! then the hidden tests decide quality and the request log gives the tokens.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use codex_teams_mock_model::{Latency, MockModel, Options as MockOptions, Scenario};
use serde::{Deserialize, Serialize};

use super::evalset::EvalTask;
use super::usage::{self, AgentUsage};

/// What an arm is: one plain codex, or a team under a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arm {
    Solo,
    Team { label: String, profile: String },
}

impl Arm {
    /// `solo`, `adaptive` (the `default` profile), or any profile name or YAML path.
    pub fn parse(s: &str) -> anyhow::Result<Arm> {
        let s = s.trim();
        Ok(match s {
            "" => bail!("an empty arm name; use solo, adaptive, fixed-6 or a profile"),
            "solo" => Arm::Solo,
            "adaptive" => Arm::Team {
                label: "adaptive".into(),
                profile: "default".into(),
            },
            p => {
                crate::policy::Profile::load(p).map_err(|e| anyhow::anyhow!("arm `{p}`: {e}"))?;
                Arm::Team {
                    label: p.into(),
                    profile: p.into(),
                }
            }
        })
    }

    /// The name the report uses.
    pub fn label(&self) -> &str {
        match self {
            Arm::Solo => "solo",
            Arm::Team { label, .. } => label,
        }
    }
}

/// How runs are made.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The `codex-teams` binary team arms run.
    pub bin: PathBuf,
    /// The user's own model and credentials instead of the scripted model.
    pub live: bool,
    /// The scripted model's latency (None: the scenario's).
    pub latency: Option<Latency>,
    /// A run still going after this is stopped and counted as failed.
    pub timeout: Duration,
}

/// Everything measured in one run; `report.json` holds a list of these.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunRecord {
    pub task: String,
    pub category: String,
    pub arm: String,
    pub repeat: u32,
    /// Why the run itself broke (not a quality failure), if it did.
    pub error: Option<String>,
    /// `finalized` etc. for a team, `done` / `failed` for solo.
    pub status: String,
    /// The hidden tests passed.
    pub quality: bool,
    pub input: u64,
    pub cached: u64,
    pub output: u64,
    pub requests: u64,
    pub wall_ms: u64,
    pub workers_spawned: u64,
    pub peak_threads: u64,
    /// Scripted-model requests no rule answered.
    pub unmatched: u64,
    pub agents: Vec<AgentUsage>,
}

/// Runs one arm on one task; failures are recorded in the result, not returned.
pub async fn run_one(task: &EvalTask, arm: &Arm, repeat: u32, opts: &RunOptions) -> RunRecord {
    let mut rec = RunRecord {
        task: task.name.clone(),
        category: task.category.clone(),
        arm: arm.label().to_string(),
        repeat,
        ..RunRecord::default()
    };
    if let Err(e) = run_into(task, arm, opts, &mut rec).await {
        rec.error = Some(format!("{e:#}"));
    }
    rec
}

async fn run_into(
    task: &EvalTask,
    arm: &Arm,
    opts: &RunOptions,
    rec: &mut RunRecord,
) -> anyhow::Result<()> {
    let scratch = tempfile::Builder::new()
        .prefix("codex-teams-bench-")
        .tempdir()?;
    let work = scratch.path().join("repo");
    copy_dir(&task.repo(), &work)?;
    let log = scratch.path().join("requests.jsonl");
    let started = Instant::now();
    let live_usage = match arm {
        Arm::Solo => run_solo(task, opts, scratch.path(), &work, &log, rec).await?,
        Arm::Team { profile, .. } => {
            run_team(task, profile, opts, scratch.path(), &work, &log, rec).await?
        }
    };
    rec.wall_ms = started.elapsed().as_millis() as u64;
    rec.quality = hidden_tests_pass(task, &work, scratch.path())?;
    rec.agents = if opts.live {
        live_usage
    } else {
        let totals = usage::read_log(&log)?;
        rec.unmatched = totals.unmatched as u64;
        totals.agents
    };
    for a in &rec.agents {
        rec.input += a.input;
        rec.cached += a.cached;
        rec.output += a.output;
        rec.requests += a.requests;
    }
    if rec.unmatched > 0 {
        bail!(
            "{} scripted-model request(s) matched no rule of the scenario",
            rec.unmatched
        );
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn run_team(
    task: &EvalTask,
    profile: &str,
    opts: &RunOptions,
    scratch: &Path,
    work: &Path,
    log: &Path,
    rec: &mut RunRecord,
) -> anyhow::Result<Vec<AgentUsage>> {
    let job = scratch.join("job.txt");
    std::fs::write(&job, &task.job)?;
    let mut cmd = tokio::process::Command::new(&opts.bin);
    cmd.arg("run").arg("--json").arg("--profile").arg(profile);
    cmd.arg("--cwd").arg(work).arg("--task-file").arg(&job);
    cmd.env("CODEX_TEAMS_HOME", scratch.join("teams-home"));
    cmd.env_remove("CODEX_TEAMS_SCENARIO_LOG");
    if !opts.live {
        let home = scratch.join("codex-home");
        std::fs::create_dir_all(&home)?;
        cmd.env("CODEX_HOME", home);
        cmd.arg("--scenario").arg(task.team_scenario());
        cmd.arg("--scenario-log").arg(log);
        match opts.latency {
            Some(l) => cmd.env("CODEX_TEAMS_SCENARIO_LATENCY", l.to_string()),
            None => cmd.env_remove("CODEX_TEAMS_SCENARIO_LATENCY"),
        };
    }
    let out = run_child(cmd, opts.timeout).await?;
    let line = out.stdout.lines().rev().find(|l| l.starts_with('{'));
    let Some(line) = line else {
        bail!(
            "codex-teams run printed no summary (exit {:?}): {}",
            out.code,
            tail(&out.stderr, 600)
        );
    };
    let s: serde_json::Value = serde_json::from_str(line).context("the run's summary")?;
    rec.status = s["status"].as_str().unwrap_or("?").to_string();
    rec.workers_spawned = s["agents_spawned"].as_u64().unwrap_or(0);
    rec.peak_threads = s["peak_threads"].as_u64().unwrap_or(0);
    let mut agents = Vec::new();
    if let Some(by) = s["tokens"]["by_agent"].as_object() {
        for a in by.values() {
            let n = |k: &str| a[k].as_i64().unwrap_or(0).max(0) as u64;
            agents.push(AgentUsage {
                agent: a["name"].as_str().unwrap_or("?").into(),
                role: a["role"].as_str().unwrap_or("?").into(),
                requests: 0,
                input: n("input"),
                cached: n("cached_input"),
                output: n("output"),
            });
        }
    }
    Ok(agents)
}

async fn run_solo(
    task: &EvalTask,
    opts: &RunOptions,
    scratch: &Path,
    work: &Path,
    log: &Path,
    rec: &mut RunRecord,
) -> anyhow::Result<Vec<AgentUsage>> {
    let codex = codex_teams_codex_exec::find_codex()?;
    let mut cmd = tokio::process::Command::new(codex);
    let sandbox = std::env::var("CODEX_TEAMS_SANDBOX")
        .unwrap_or_else(|_| crate::policy::roles::Sandbox::WorkspaceWrite.to_string());
    cmd.args([
        "exec",
        "--json",
        "--skip-git-repo-check",
        "-s",
        &sandbox,
        "--",
    ]);
    cmd.arg(&task.job).current_dir(work);
    let mut server = None;
    if !opts.live {
        let scenario = Scenario::load(&task.solo_scenario())?;
        let handle = MockModel::start(
            scenario,
            MockOptions {
                log_path: Some(log.to_path_buf()),
                latency: opts.latency,
                ..MockOptions::default()
            },
        )
        .await?;
        let home = scratch.join("codex-home");
        std::fs::create_dir_all(&home)?;
        std::fs::write(
            home.join("config.toml"),
            scripted_config(&handle.base_url()),
        )?;
        cmd.env("CODEX_HOME", home);
        cmd.env_remove("OPENAI_API_KEY").env_remove("CODEX_API_KEY");
        server = Some(handle);
    }
    let out = run_child(cmd, opts.timeout).await?;
    if let Some(s) = server {
        s.shutdown().await;
    }
    rec.status = if out.code == Some(0) {
        "done"
    } else {
        "failed"
    }
    .into();
    rec.workers_spawned = 0;
    rec.peak_threads = 1;
    let mut agent = AgentUsage {
        agent: "solo".into(),
        role: "solo".into(),
        ..AgentUsage::default()
    };
    for line in out.stdout.lines() {
        if let Ok(codex_teams_codex_exec::ExecEvent::TurnCompleted { usage }) =
            codex_teams_codex_exec::ExecEvent::parse(line)
        {
            agent.input = usage.input_tokens;
            agent.cached = usage.cached_input_tokens;
            agent.output = usage.output_tokens;
        }
    }
    if out.code != Some(0) {
        bail!(
            "codex exec exited {:?}: {}",
            out.code,
            tail(&out.stderr, 600)
        );
    }
    Ok(vec![agent])
}

/// A `CODEX_HOME` config whose every request goes to the scripted model; codex picks its
/// default model, as the team's children do.
fn scripted_config(base_url: &str) -> String {
    format!(
        "model_provider = \"mock\"\ncheck_for_update_on_startup = false\n\n[analytics]\nenabled = false\n\n\
         [model_providers.mock]\nname = \"mock\"\nbase_url = {base_url:?}\nwire_api = \"responses\"\n\
         request_max_retries = 0\nstream_max_retries = 0\n"
    )
}

/// Copies the hidden tests next to (not into) the repo and runs them against it.
fn hidden_tests_pass(task: &EvalTask, work: &Path, scratch: &Path) -> anyhow::Result<bool> {
    let hidden = scratch.join("hidden");
    copy_dir(&task.hidden(), &hidden)?;
    let status = std::process::Command::new("python3")
        .args(["-m", "unittest", "discover", "-s"])
        .arg(&hidden)
        .args(["-p", "test_*.py"])
        .current_dir(work)
        .env("PYTHONPATH", work)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("running the hidden tests with python3")?;
    Ok(status.success())
}

/// Checks a fixture before any run: its hidden tests must fail on the untouched repo,
/// or the task measures nothing.
pub fn check_fixture(task: &EvalTask) -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let work = scratch.path().join("repo");
    copy_dir(&task.repo(), &work)?;
    if hidden_tests_pass(task, &work, scratch.path())? {
        bail!(
            "the hidden tests already pass on the untouched fixture {}",
            task.repo().display()
        );
    }
    Ok(())
}

/// Recursive copy of a fixture directory.
pub fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for e in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let e = e?;
        let dest = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &dest)?;
        } else {
            std::fs::copy(e.path(), &dest)
                .with_context(|| format!("copying {}", e.path().display()))?;
        }
    }
    Ok(())
}

struct ChildOut {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs a child in its own process group; past `timeout` the group gets SIGTERM, then
/// SIGKILL, and the run is an error.
async fn run_child(
    mut cmd: tokio::process::Command,
    timeout: Duration,
) -> anyhow::Result<ChildOut> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let child = cmd.spawn().context("starting the arm's process")?;
    let pgid = child.id().map(|id| nix::unistd::Pid::from_raw(id as i32));
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(out) => {
            let out = out?;
            Ok(ChildOut {
                code: out.status.code(),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            })
        }
        Err(_) => {
            if let Some(g) = pgid {
                use nix::sys::signal::{Signal, killpg};
                let _ = killpg(g, Signal::SIGTERM);
                tokio::time::sleep(Duration::from_secs(5)).await;
                let _ = killpg(g, Signal::SIGKILL);
            }
            bail!("timed out after {} s", timeout.as_secs())
        }
    }
}

fn tail(s: &str, max: usize) -> &str {
    let mut start = s.len().saturating_sub(max);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    s[start..].trim()
}

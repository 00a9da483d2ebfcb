//! `codex-teams bench spawn`: what a worker costs, started through the npm launcher and
//! started as the native binary behind it, side by side in one run.
//!
//! Each round starts `--workers` real `codex exec` processes one way, all at once, against
//! the scripted model served in this process. The model holds its reply for a while, so
//! when every worker's first request has arrived each worker is alive and waiting, as a
//! worker waiting on a real model is. Then the benchmark sums RSS and PSS over each
//! worker's process group from `/proc` and kills the groups. Rounds alternate the two ways
//! so neither always runs on a warmer cache.

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use codex_teams_codex_exec::{CodexLaunch, native};
use codex_teams_mock_model::harness::Codex;
use codex_teams_mock_model::scenario::Scenario;
use codex_teams_mock_model::server::{MockModel, MockModelHandle, Options};
use serde::Serialize;

use crate::bench_proc::{self, Memory};

/// Options of `codex-teams bench spawn`.
#[derive(Debug, clap::Args)]
pub struct BenchSpawnArgs {
    /// Workers started at once in each round.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub workers: u16,
    /// Rounds per way (launcher, native), alternating.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=20))]
    pub rounds: u16,
    /// Longest wait for a round's first model requests, in seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout_secs: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Figures for one way of starting codex, over every worker of every round.
#[derive(Debug, Clone, Serialize)]
pub struct WayReport {
    /// The program executed.
    pub program: String,
    pub workers: usize,
    /// Spawn → first model request received, median and worst.
    pub first_request_p50_ms: f64,
    pub first_request_max_ms: f64,
    /// Per worker, summed over its process group: median.
    pub rss_mb: f64,
    pub pss_mb: f64,
    /// Processes per worker (median).
    pub processes: usize,
}

/// What `--json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct SpawnReport {
    pub workers_per_round: usize,
    pub rounds: usize,
    pub launcher: WayReport,
    pub native: WayReport,
    /// This process (serving the scripted model, holding the workers): peak RSS.
    pub bench_peak_rss_mb: f64,
}

/// Runs the benchmark and prints the report.
pub fn run(args: BenchSpawnArgs) -> anyhow::Result<()> {
    let launcher = codex_teams_codex_exec::find_codex()?;
    let native = native::resolve(&launcher);
    if !native.native {
        bail!(
            "{} is not an npm codex launcher with its native binary installed: nothing to compare",
            launcher.display()
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = runtime.block_on(measure(&args, &CodexLaunch::as_given(&launcher), &native))?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_text(&report);
    }
    Ok(())
}

fn print_text(r: &SpawnReport) {
    println!(
        "spawn: {} workers at once, {} rounds per way",
        r.workers_per_round, r.rounds
    );
    for (name, w) in [("launcher", &r.launcher), ("native", &r.native)] {
        println!(
            "  {name:<8} first request p50 {:>7.0} ms (max {:>6.0}), per worker RSS {:>6.1} MB, PSS {:>6.1} MB, {} processes  [{}]",
            w.first_request_p50_ms,
            w.first_request_max_ms,
            w.rss_mb,
            w.pss_mb,
            w.processes,
            w.program
        );
    }
    println!("  bench process peak RSS {:.1} MB", r.bench_peak_rss_mb);
}

/// One worker's figures.
struct Sample {
    first_request_ms: f64,
    memory: Memory,
}

async fn measure(
    args: &BenchSpawnArgs,
    launcher: &CodexLaunch,
    native: &CodexLaunch,
) -> anyhow::Result<SpawnReport> {
    let scenario = Scenario::from_yaml(SCENARIO, "bench spawn")?;
    let model = MockModel::start(
        scenario,
        Options {
            latency: Some(codex_teams_mock_model::Latency::per_request(HOLD)),
            ..Options::default()
        },
    )
    .await?;
    let codex = Codex::with_bin(launcher.program.clone(), &model.base_url())?;
    let (mut by_launcher, mut by_native) = (Vec::new(), Vec::new());
    for round in 0..args.rounds {
        for (way, out) in [(launcher, &mut by_launcher), (native, &mut by_native)] {
            let tag = format!("r{round}-{}", if way.native { "native" } else { "npm" });
            let timeout = Duration::from_secs(args.timeout_secs);
            out.extend(one_round(&codex, &model, way, &tag, args.workers.into(), timeout).await?);
        }
    }
    Ok(SpawnReport {
        workers_per_round: args.workers.into(),
        rounds: args.rounds.into(),
        launcher: summarize(launcher, &by_launcher),
        native: summarize(native, &by_native),
        bench_peak_rss_mb: bench_proc::peak_rss_kb(std::process::id())? as f64 / 1024.0,
    })
}

/// The scripted model answers every bench prompt, after [`HOLD`].
const SCENARIO: &str = r#"
name: bench-spawn
rules:
  - name: any
    when:
      prompt_contains: "bench-spawn"
    reply:
      - message: "done"
"#;

/// How long the model sits on each request: longer than a round's spawns take.
const HOLD: Duration = Duration::from_secs(20);

/// Starts `n` workers `way`, waits for each one's first request, measures, kills them.
async fn one_round(
    codex: &Codex,
    model: &MockModelHandle,
    way: &CodexLaunch,
    tag: &str,
    n: usize,
    timeout: Duration,
) -> anyhow::Result<Vec<Sample>> {
    let mut workers = Vec::with_capacity(n);
    for i in 0..n {
        let prompt = format!("bench-spawn {tag}-{i}: say done");
        let started_ms = epoch_ms();
        let child = start(codex, way, &prompt)?;
        workers.push((prompt, started_ms, Group(child)));
    }
    let deadline = Instant::now() + timeout;
    let arrived = loop {
        let seen = first_requests(model);
        if workers.iter().all(|(p, _, _)| seen.contains_key(p)) {
            break seen;
        }
        if Instant::now() > deadline {
            bail!("round {tag}: not every worker reached the model within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut samples = Vec::with_capacity(n);
    for (prompt, started_ms, group) in &workers {
        samples.push(Sample {
            first_request_ms: arrived[prompt].saturating_sub(*started_ms) as f64,
            memory: bench_proc::group_memory(group.0.id() as i32)?,
        });
    }
    drop(workers); // kills every group
    Ok(samples)
}

/// A worker's process group, killed when dropped.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        let pgid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
        let _ = self.0.wait();
    }
}

/// `codex exec` on `prompt`, the way `way` says, in its own process group.
fn start(codex: &Codex, way: &CodexLaunch, prompt: &str) -> anyhow::Result<Child> {
    Command::new(&way.program)
        .args([
            "exec",
            "--json",
            "--skip-git-repo-check",
            "-m",
            "mock-model",
        ])
        .args(["--", prompt])
        .current_dir(codex.working_dir())
        .env("CODEX_HOME", codex.home())
        .env_remove("OPENAI_API_KEY")
        .env_remove("CODEX_API_KEY")
        .envs(way.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {}", way.program.display()))
}

/// Each prompt's first request arrival time (ms since the epoch).
fn first_requests(model: &MockModelHandle) -> HashMap<String, u64> {
    let mut seen = HashMap::new();
    for r in model.requests() {
        if let Some(p) = r.prompt {
            seen.entry(p).or_insert(r.received_at_ms);
        }
    }
    seen
}

fn summarize(way: &CodexLaunch, samples: &[Sample]) -> WayReport {
    let mut first: Vec<f64> = samples.iter().map(|s| s.first_request_ms).collect();
    let mut rss: Vec<f64> = samples.iter().map(|s| s.memory.rss_kb as f64).collect();
    let mut pss: Vec<f64> = samples.iter().map(|s| s.memory.pss_kb as f64).collect();
    let mut procs: Vec<f64> = samples.iter().map(|s| s.memory.processes as f64).collect();
    WayReport {
        program: display(&way.program),
        workers: samples.len(),
        first_request_p50_ms: median(&mut first),
        first_request_max_ms: first.iter().copied().fold(0.0, f64::max),
        rss_mb: median(&mut rss) / 1024.0,
        pss_mb: median(&mut pss) / 1024.0,
        processes: median(&mut procs) as usize,
    }
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// The median (lower of the middle two); 0 for none.
fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[(v.len() - 1) / 2]
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_is_the_lower_middle() {
        assert_eq!(median(&mut []), 0.0);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.0);
    }

    #[test]
    fn the_scenario_answers_bench_prompts() {
        let s = Scenario::from_yaml(SCENARIO, "bench spawn").unwrap();
        assert_eq!(s.rules.len(), 1);
    }
}

//! `codex-teams bench run`: the fixed eval set (benchmarks/tasks) run by several arms (one
//! plain codex, a fixed-6 team, an adaptive team, ...) on the real codex binary, measured
//! from the requests codex really sends, and reported with a verdict. `scripts/benchmark.sh`
//! is a thin wrapper over it. `bench bus` (the bus micro-benchmark) lives in `bench_bus`.

pub mod evalset;
pub mod markdown;
pub mod report;
pub mod runner;
pub mod svg;
pub mod usage;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use codex_teams_mock_model::Latency;

use runner::{Arm, RunOptions, RunRecord};

/// Options of `codex-teams bench run`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchRunArgs {
    /// The arm the candidate is compared against: a profile name or path (fixed-6 is the
    /// naive always-6-workers fan-out).
    #[arg(long, default_value = "fixed-6")]
    pub baseline: String,
    /// The arm under test; `adaptive` is the `default` profile.
    #[arg(long, default_value = "adaptive")]
    pub candidate: String,
    /// Arms to run, comma-separated: `solo` (one plain `codex exec` doing the same steps
    /// alone), `adaptive`, or any profile [default: solo, the baseline, the candidate].
    #[arg(long, value_delimiter = ',')]
    pub arms: Vec<String>,
    /// Runs per task and arm; the report gives medians and min-max over them.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub repeat: u32,
    /// Only tasks whose name matches: comma-separated substrings or globs (`s*,m1-*`).
    #[arg(long, value_name = "PATTERN")]
    pub tasks: Option<String>,
    /// Scripted model latency, `REQUEST_MS+TOKEN_MS/tok` (per request plus per output
    /// token, e.g. `800+20/tok`; `none` for none) [default: each scenario's own].
    #[arg(long, value_name = "MODEL")]
    pub latency: Option<Latency>,
    /// Run on your own configured model and credentials ($CODEX_HOME) instead of the
    /// scripted model; no scenario is used, quality still comes from the hidden tests.
    #[arg(long)]
    pub live: bool,
    /// The eval set.
    #[arg(long, default_value = "benchmarks/tasks")]
    pub eval_dir: PathBuf,
    /// Where report.md, report.json and the charts go
    /// [default: benchmarks/results/DATE-MODE].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A run still going after this many seconds is stopped and counted as broken.
    #[arg(long, default_value_t = 300)]
    pub timeout_secs: u64,
    /// Print one JSON object (verdict, ratios, report paths) on stdout.
    #[arg(long)]
    pub json: bool,
}

impl BenchRunArgs {
    fn arm_names(&self) -> Vec<String> {
        let mut arms: Vec<String> = if self.arms.is_empty() {
            vec!["solo".into(), self.baseline.clone(), self.candidate.clone()]
        } else {
            self.arms.iter().map(|a| a.trim().to_string()).collect()
        };
        for must in [&self.baseline, &self.candidate] {
            if !arms.contains(must) {
                arms.push(must.clone());
            }
        }
        arms.dedup();
        arms
    }
}

/// Runs the benchmark, writes the report, and fails unless the verdict is PASS.
pub fn run(args: BenchRunArgs) -> anyhow::Result<()> {
    let names = args.arm_names();
    let arms: Vec<Arm> = names
        .iter()
        .map(|a| Arm::parse(a))
        .collect::<Result<_, _>>()?;
    let mode = if args.live { "live" } else { "scripted" };
    let (tasks, mut broken) = evalset::load(&args.eval_dir, args.tasks.as_deref(), !args.live)?;
    let date = today();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("benchmarks/results/{date}-{mode}")));
    let opts = RunOptions {
        bin: std::env::current_exe().context("locating the codex-teams binary")?,
        live: args.live,
        latency: args.latency,
        timeout: Duration::from_secs(args.timeout_secs),
    };
    let usable = check_fixtures(tasks, &mut broken);
    let runs = run_all(&usable, &arms, args.repeat, &opts)?;
    let setup = report::Setup {
        mode: mode.into(),
        date,
        baseline: args.baseline.clone(),
        candidate: args.candidate.clone(),
        arms: names,
        repeat: args.repeat,
        latency: match args.latency {
            Some(l) => l.to_string(),
            None if args.live => "real model".into(),
            None => "each scenario's own (none set)".into(),
        },
        codex_version: codex_teams_codex_exec::CODEX_VERSION.into(),
    };
    let report = report::build(setup, runs, broken);
    write_report(&out, &report)?;
    eprintln!(
        "bench: {}: {} (report: {})",
        report.verdict,
        report.verdict_reason,
        out.join("report.md").display()
    );
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "verdict": report.verdict, "reason": report.verdict_reason,
                "input_ratio": report.input_ratio, "cost_ratio": report.cost_ratio,
                "quality_regressions": report.quality_regressions, "broken": report.broken,
                "report": out.join("report.md"), "json": out.join("report.json"),
            })
        );
    }
    if report.verdict != "PASS" {
        bail!("benchmark verdict FAIL: {}", report.verdict_reason);
    }
    Ok(())
}

/// Tasks whose fixture measures something; the others join `broken`, named.
fn check_fixtures(
    tasks: Vec<evalset::EvalTask>,
    broken: &mut Vec<evalset::Broken>,
) -> Vec<evalset::EvalTask> {
    let mut usable = Vec::new();
    for t in tasks {
        match runner::check_fixture(&t) {
            Ok(()) => usable.push(t),
            Err(e) => broken.push(evalset::Broken {
                task: t.name.clone(),
                error: format!("{e:#}"),
            }),
        }
    }
    for b in broken.iter() {
        eprintln!(
            "bench: task {} is broken and will not run: {}",
            b.task, b.error
        );
    }
    usable
}

/// Every task by every arm, `repeat` times, with a progress line per run on stderr.
fn run_all(
    tasks: &[evalset::EvalTask],
    arms: &[Arm],
    repeat: u32,
    opts: &RunOptions,
) -> anyhow::Result<Vec<RunRecord>> {
    let mode = if opts.live { "live" } else { "scripted" };
    let total = tasks.len() * arms.len() * repeat as usize;
    eprintln!(
        "bench: {mode} mode, {} task(s) x {} arm(s) x {repeat} repeat(s) = {total} runs",
        tasks.len(),
        arms.len(),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut runs: Vec<RunRecord> = Vec::new();
    for t in tasks {
        for rep in 1..=repeat {
            for arm in arms {
                eprint!(
                    "[{:>3}/{total}] {:<18} {:<9} #{rep} ... ",
                    runs.len() + 1,
                    t.name,
                    arm.label()
                );
                let rec = rt.block_on(runner::run_one(t, arm, rep, opts));
                eprintln!("{}", progress_line(&rec));
                runs.push(rec);
            }
        }
    }
    Ok(runs)
}

fn progress_line(r: &RunRecord) -> String {
    let base = format!(
        "in {} (cached {}) out {} req {} wall {:.1}s workers {} peak {} quality {}",
        svg::short(r.input as f64),
        svg::short(r.cached as f64),
        svg::short(r.output as f64),
        r.requests,
        r.wall_ms as f64 / 1000.0,
        r.workers_spawned,
        r.peak_threads,
        if r.quality { "pass" } else { "FAIL" }
    );
    match &r.error {
        Some(e) => format!("BROKEN: {}  [{base}]", e.lines().next().unwrap_or("")),
        None => base,
    }
}

/// report.md, report.json and the three charts, files 0600 in a 0700 directory.
fn write_report(out: &Path, r: &report::Report) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o700))?;
    let series = r.arms.clone();
    let groups = |f: &dyn Fn(&report::Cell) -> f64| -> Vec<(String, Vec<f64>)> {
        r.tasks
            .iter()
            .map(|t| {
                let v = series
                    .iter()
                    .map(|a| t.arms.get(a).map(f).unwrap_or(0.0))
                    .collect();
                (t.task.clone(), v)
            })
            .collect()
    };
    let medians: Vec<f64> = r.summary.iter().map(|s| s.median_input).collect();
    let files = [
        ("report.md", markdown::render(r)),
        ("report.json", serde_json::to_string_pretty(r)? + "\n"),
        (
            "tokens-by-task.svg",
            svg::grouped_bars(
                "Input tokens per task (median over repeats)",
                "input tokens",
                &series,
                &groups(&|c| c.input.median),
            ),
        ),
        (
            "median-tokens.svg",
            svg::bars(
                "Median input tokens per task, by arm",
                "input tokens",
                &series,
                &medians,
            ),
        ),
        (
            "wall-by-task.svg",
            svg::grouped_bars(
                "Wall time per task (ms, median over repeats)",
                "ms",
                &series,
                &groups(&|c| c.wall_ms.median),
            ),
        ),
    ];
    for (name, text) in files {
        let p = out.join(name);
        std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Today's UTC date as YYYY-MM-DD (civil-from-days, no calendar crate needed).
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    civil(secs as i64 / 86_400)
}

fn civil(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), "1970-01-01");
        assert_eq!(civil(20_790), "2026-12-03");
        assert_eq!(civil(11_016), "2000-02-29");
    }

    #[test]
    fn arms_default_to_solo_baseline_candidate_and_always_include_both() {
        let mut a = BenchRunArgs {
            baseline: "fixed-6".into(),
            candidate: "adaptive".into(),
            arms: vec![],
            repeat: 1,
            tasks: None,
            latency: None,
            live: false,
            eval_dir: "x".into(),
            out: None,
            timeout_secs: 1,
            json: false,
        };
        assert_eq!(a.arm_names(), ["solo", "fixed-6", "adaptive"]);
        a.arms = vec!["adaptive".into()];
        assert_eq!(a.arm_names(), ["adaptive", "fixed-6"]);
        assert!(Arm::parse("nonsense-profile").is_err());
        assert_eq!(Arm::parse("solo").unwrap(), Arm::Solo);
    }
}

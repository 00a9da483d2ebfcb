//! From run records to the figures the report states: medians and spread per task and arm,
//! deltas of the candidate against the baseline, a cost-weighted figure, the quality
//! regressions by name, the team/solo ratio per category, and the verdict by the rule
//! ("candidate median tokens lower than baseline and no task passing in baseline fails in
//! candidate"). Pure: no I/O here.

use std::collections::BTreeMap;

use serde::Serialize;

use super::evalset::{Broken, CATEGORIES};
use super::runner::RunRecord;
use crate::policy::roles::LEAD;

/// USD per million tokens, stated in the report: a cached input token is priced at a tenth.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Prices {
    pub input_per_m: f64,
    pub cached_input_per_m: f64,
    pub output_per_m: f64,
}

/// The prices the report uses (list prices of a current frontier model tier).
pub const PRICES: Prices = Prices {
    input_per_m: 1.25,
    cached_input_per_m: 0.125,
    output_per_m: 10.0,
};

impl Prices {
    /// USD for one run.
    pub fn cost(&self, r: &RunRecord) -> f64 {
        let uncached = r.input.saturating_sub(r.cached) as f64;
        (uncached * self.input_per_m
            + r.cached as f64 * self.cached_input_per_m
            + r.output as f64 * self.output_per_m)
            / 1e6
    }
}

/// Median, min and max of one figure over the repeats.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// The median of `v` (mean of the middle two for an even count); 0 when empty.
pub fn median(v: &[f64]) -> f64 {
    let mut s: Vec<f64> = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    match s.len() {
        0 => 0.0,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

fn spread(v: &[f64]) -> Spread {
    Spread {
        median: median(v),
        min: v
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
            .min(f64::MAX),
        max: v.iter().copied().fold(0.0, f64::max),
    }
}

/// One task under one arm, over its repeats.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Cell {
    pub runs: usize,
    /// Runs that broke (no measurement).
    pub errors: usize,
    /// Runs whose hidden tests passed.
    pub passed: usize,
    pub input: Spread,
    pub cached: Spread,
    pub output: Spread,
    pub requests: Spread,
    pub wall_ms: Spread,
    pub cost_usd: Spread,
    pub workers_spawned: Spread,
    pub peak_threads: Spread,
    /// Median requests of one worker (agents other than the lead).
    pub requests_per_worker: f64,
    pub lead_requests: f64,
}

impl Cell {
    /// Every repeat ran and passed its hidden tests.
    pub fn passes(&self) -> bool {
        self.runs > 0 && self.errors == 0 && self.passed == self.runs
    }
}

fn cell(runs: &[&RunRecord]) -> Cell {
    let f = |g: &dyn Fn(&RunRecord) -> f64| -> Spread {
        spread(
            &runs
                .iter()
                .filter(|r| r.error.is_none())
                .map(|r| g(r))
                .collect::<Vec<_>>(),
        )
    };
    let workers: Vec<f64> = runs
        .iter()
        .flat_map(|r| r.agents.iter())
        .filter(|a| a.role != LEAD && a.role != "solo")
        .map(|a| a.requests as f64)
        .collect();
    let lead: Vec<f64> = runs
        .iter()
        .flat_map(|r| r.agents.iter())
        .filter(|a| a.role == LEAD)
        .map(|a| a.requests as f64)
        .collect();
    Cell {
        runs: runs.len(),
        errors: runs.iter().filter(|r| r.error.is_some()).count(),
        passed: runs.iter().filter(|r| r.quality).count(),
        input: f(&|r| r.input as f64),
        cached: f(&|r| r.cached as f64),
        output: f(&|r| r.output as f64),
        requests: f(&|r| r.requests as f64),
        wall_ms: f(&|r| r.wall_ms as f64),
        cost_usd: f(&|r| PRICES.cost(r)),
        workers_spawned: f(&|r| r.workers_spawned as f64),
        peak_threads: f(&|r| r.peak_threads as f64),
        requests_per_worker: median(&workers),
        lead_requests: median(&lead),
    }
}

/// One task's row: its cells by arm and the candidate's delta against the baseline.
#[derive(Debug, Clone, Serialize)]
pub struct TaskRow {
    pub task: String,
    pub category: String,
    pub arms: BTreeMap<String, Cell>,
    /// Candidate median input / baseline median input.
    pub input_ratio: Option<f64>,
    /// Candidate median cost / baseline median cost.
    pub cost_ratio: Option<f64>,
    /// Candidate median input / solo median input.
    pub team_solo_ratio: Option<f64>,
}

/// One arm over the whole eval set: medians over tasks of the per-task medians.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ArmSummary {
    pub arm: String,
    pub tasks: usize,
    pub tasks_passed: usize,
    pub median_input: f64,
    pub median_cached: f64,
    pub median_output: f64,
    pub median_requests: f64,
    pub median_wall_ms: f64,
    pub median_cost_usd: f64,
    pub total_input: f64,
}

/// Team/solo ratio of one category.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryRatio {
    pub category: String,
    pub tasks: usize,
    /// Median over the category's tasks of candidate input / solo input.
    pub candidate_vs_solo: Option<f64>,
    pub baseline_vs_solo: Option<f64>,
}

/// The whole report, as `report.json` holds it (plus the raw runs).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub title: String,
    pub mode: String,
    pub date: String,
    pub baseline: String,
    pub candidate: String,
    pub arms: Vec<String>,
    pub repeat: u32,
    pub latency: String,
    pub codex_version: String,
    pub prices: Prices,
    pub summary: Vec<ArmSummary>,
    pub tasks: Vec<TaskRow>,
    pub categories: Vec<CategoryRatio>,
    /// Candidate median input / baseline median input (over the per-task medians).
    pub input_ratio: Option<f64>,
    pub cost_ratio: Option<f64>,
    /// High-parallel tasks: median wall of each team arm / solo's.
    pub high_parallel_wall_vs_solo: BTreeMap<String, f64>,
    /// Tasks that pass in the baseline and fail in the candidate.
    pub quality_regressions: Vec<String>,
    pub broken: Vec<Broken>,
    pub verdict: String,
    pub verdict_reason: String,
    pub runs: Vec<RunRecord>,
}

/// What the report is about; the caller fills it in.
#[derive(Debug, Clone)]
pub struct Setup {
    pub mode: String,
    pub date: String,
    pub baseline: String,
    pub candidate: String,
    pub arms: Vec<String>,
    pub repeat: u32,
    pub latency: String,
    pub codex_version: String,
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0 && a > 0.0).then(|| a / b)
}

/// Builds the report from every run.
pub fn build(setup: Setup, runs: Vec<RunRecord>, broken: Vec<Broken>) -> Report {
    let tasks = task_rows(&setup, &runs);
    let (b, c) = (setup.baseline.as_str(), setup.candidate.as_str());
    let summary: Vec<ArmSummary> = setup.arms.iter().map(|a| arm_summary(a, &tasks)).collect();
    let med = |a: &str, f: &dyn Fn(&ArmSummary) -> f64| {
        summary.iter().find(|s| s.arm == a).map(f).unwrap_or(0.0)
    };
    let input_ratio = ratio(med(c, &|s| s.median_input), med(b, &|s| s.median_input));
    let cost_ratio = ratio(
        med(c, &|s| s.median_cost_usd),
        med(b, &|s| s.median_cost_usd),
    );
    let quality_regressions: Vec<String> = tasks
        .iter()
        .filter(|t| {
            t.arms.get(b).is_some_and(Cell::passes) && !t.arms.get(c).is_some_and(Cell::passes)
        })
        .map(|t| t.task.clone())
        .collect();
    let categories = category_ratios(&tasks, b, c);
    let walls = high_parallel_walls(&setup.arms, &tasks);
    let (verdict, verdict_reason) = verdict(input_ratio, &quality_regressions, &broken, b, c);
    Report {
        title: format!("Benchmark report ({} mode): {c} vs {b}", setup.mode),
        mode: setup.mode,
        date: setup.date,
        baseline: setup.baseline.clone(),
        candidate: setup.candidate.clone(),
        arms: setup.arms,
        repeat: setup.repeat,
        latency: setup.latency,
        codex_version: setup.codex_version,
        prices: PRICES,
        summary,
        tasks,
        categories,
        input_ratio,
        cost_ratio,
        high_parallel_wall_vs_solo: walls,
        quality_regressions,
        broken,
        verdict,
        verdict_reason,
        runs,
    }
}

/// One row per task, in category order, each with its cells by arm and the ratios.
fn task_rows(setup: &Setup, runs: &[RunRecord]) -> Vec<TaskRow> {
    let mut by: BTreeMap<(String, String), Vec<&RunRecord>> = BTreeMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    for r in runs {
        let k = (r.task.clone(), r.category.clone());
        if !order.contains(&k) {
            order.push(k);
        }
        by.entry((r.task.clone(), r.arm.clone()))
            .or_default()
            .push(r);
    }
    let rank = |c: &str| CATEGORIES.iter().position(|x| *x == c).unwrap_or(99);
    order.sort_by(|a, b| (rank(&a.1), &a.0).cmp(&(rank(&b.1), &b.0)));
    let (b, c) = (setup.baseline.as_str(), setup.candidate.as_str());
    order
        .iter()
        .map(|(task, category)| {
            let arms: BTreeMap<String, Cell> = setup
                .arms
                .iter()
                .filter_map(|a| {
                    by.get(&(task.clone(), a.clone()))
                        .map(|v| (a.clone(), cell(v)))
                })
                .collect();
            let get = |a: &str, f: &dyn Fn(&Cell) -> f64| arms.get(a).map(f).unwrap_or(0.0);
            TaskRow {
                task: task.clone(),
                category: category.clone(),
                input_ratio: ratio(get(c, &|x| x.input.median), get(b, &|x| x.input.median)),
                cost_ratio: ratio(
                    get(c, &|x| x.cost_usd.median),
                    get(b, &|x| x.cost_usd.median),
                ),
                team_solo_ratio: ratio(
                    get(c, &|x| x.input.median),
                    get("solo", &|x| x.input.median),
                ),
                arms,
            }
        })
        .collect()
}

/// High-parallel tasks: each team arm's median wall time over solo's, median over tasks.
fn high_parallel_walls(arms: &[String], tasks: &[TaskRow]) -> BTreeMap<String, f64> {
    let mut walls = BTreeMap::new();
    for arm in arms.iter().filter(|a| *a != "solo") {
        let rs: Vec<f64> = tasks
            .iter()
            .filter(|t| t.category == "high-parallel")
            .filter_map(|t| {
                ratio(
                    t.arms.get(arm)?.wall_ms.median,
                    t.arms.get("solo")?.wall_ms.median,
                )
            })
            .collect();
        if !rs.is_empty() {
            walls.insert(arm.clone(), median(&rs));
        }
    }
    walls
}

fn arm_summary(arm: &str, tasks: &[TaskRow]) -> ArmSummary {
    let cells: Vec<&Cell> = tasks.iter().filter_map(|t| t.arms.get(arm)).collect();
    let m = |f: &dyn Fn(&Cell) -> f64| median(&cells.iter().map(|c| f(c)).collect::<Vec<_>>());
    ArmSummary {
        arm: arm.to_string(),
        tasks: cells.len(),
        tasks_passed: cells.iter().filter(|c| c.passes()).count(),
        median_input: m(&|c| c.input.median),
        median_cached: m(&|c| c.cached.median),
        median_output: m(&|c| c.output.median),
        median_requests: m(&|c| c.requests.median),
        median_wall_ms: m(&|c| c.wall_ms.median),
        median_cost_usd: m(&|c| c.cost_usd.median),
        total_input: cells.iter().map(|c| c.input.median).sum(),
    }
}

fn category_ratios(tasks: &[TaskRow], b: &str, c: &str) -> Vec<CategoryRatio> {
    CATEGORIES
        .iter()
        .filter_map(|cat| {
            let ts: Vec<&TaskRow> = tasks.iter().filter(|t| t.category == *cat).collect();
            if ts.is_empty() {
                return None;
            }
            let vs = |arm: &str| {
                let v: Vec<f64> = ts
                    .iter()
                    .filter_map(|t| {
                        ratio(
                            t.arms.get(arm)?.input.median,
                            t.arms.get("solo")?.input.median,
                        )
                    })
                    .collect();
                (!v.is_empty()).then(|| median(&v))
            };
            Some(CategoryRatio {
                category: cat.to_string(),
                tasks: ts.len(),
                candidate_vs_solo: vs(c),
                baseline_vs_solo: vs(b),
            })
        })
        .collect()
}

/// The rule: PASS when the candidate's median input tokens are below the
/// baseline's and no task that passes in the baseline fails in the candidate. A broken task
/// makes the run inconclusive: FAIL, naming it.
pub fn verdict(
    input_ratio: Option<f64>,
    regressions: &[String],
    broken: &[Broken],
    b: &str,
    c: &str,
) -> (String, String) {
    let mut why = Vec::new();
    match input_ratio {
        Some(r) if r < 1.0 => {}
        Some(r) => why.push(format!(
            "{c}'s median input tokens are {r:.2}x {b}'s, not lower"
        )),
        None => why.push(format!("no token figures for both {c} and {b}")),
    }
    if !regressions.is_empty() {
        why.push(format!(
            "quality regressions (pass in {b}, fail in {c}): {}",
            regressions.join(", ")
        ));
    }
    if !broken.is_empty() {
        let names: Vec<&str> = broken.iter().map(|x| x.task.as_str()).collect();
        why.push(format!("broken tasks: {}", names.join(", ")));
    }
    if why.is_empty() {
        (
            "PASS".into(),
            format!(
                "{c}'s median input tokens are {:.2}x {b}'s and no task passing in {b} fails in {c}",
                input_ratio.unwrap_or(0.0)
            ),
        )
    } else {
        ("FAIL".into(), why.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(task: &str, arm: &str, input: u64, quality: bool) -> RunRecord {
        RunRecord {
            task: task.into(),
            category: "small".into(),
            arm: arm.into(),
            input,
            quality,
            ..RunRecord::default()
        }
    }

    fn setup() -> Setup {
        Setup {
            mode: "scripted".into(),
            date: "2026-12-03".into(),
            baseline: "fixed-6".into(),
            candidate: "adaptive".into(),
            arms: vec!["solo".into(), "fixed-6".into(), "adaptive".into()],
            repeat: 1,
            latency: "none".into(),
            codex_version: "0.169.0".into(),
        }
    }

    #[test]
    fn medians_and_spread() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
        let s = spread(&[5.0, 1.0, 3.0]);
        assert_eq!((s.min, s.median, s.max), (1.0, 3.0, 5.0));
    }

    #[test]
    fn cheaper_candidate_without_regressions_passes() {
        let runs = vec![
            run("a", "solo", 50, true),
            run("a", "fixed-6", 200, true),
            run("a", "adaptive", 100, true),
        ];
        let r = build(setup(), runs, vec![]);
        assert_eq!(r.verdict, "PASS", "{}", r.verdict_reason);
        assert_eq!(r.input_ratio, Some(0.5));
        assert_eq!(r.categories[0].candidate_vs_solo, Some(2.0));
    }

    #[test]
    fn a_quality_regression_is_named_and_fails_the_verdict() {
        let runs = vec![
            run("a", "fixed-6", 200, true),
            run("a", "adaptive", 100, false),
            run("b", "fixed-6", 200, false),
            run("b", "adaptive", 100, false),
        ];
        let r = build(setup(), runs, vec![]);
        assert_eq!(r.quality_regressions, vec!["a".to_string()]);
        assert_eq!(r.verdict, "FAIL");
        assert!(r.verdict_reason.contains("regressions") && r.verdict_reason.contains(": a"));
    }

    #[test]
    fn not_cheaper_or_broken_fails() {
        let runs = vec![
            run("a", "fixed-6", 100, true),
            run("a", "adaptive", 100, true),
        ];
        let r = build(setup(), runs.clone(), vec![]);
        assert_eq!(r.verdict, "FAIL");
        assert!(r.verdict_reason.contains("1.00x"), "{}", r.verdict_reason);
        let broken = vec![Broken {
            task: "z".into(),
            error: "bad".into(),
        }];
        let r = build(
            setup(),
            vec![
                run("a", "fixed-6", 200, true),
                run("a", "adaptive", 1, true),
            ],
            broken,
        );
        assert!(
            r.verdict_reason.contains("broken tasks: z"),
            "{}",
            r.verdict_reason
        );
    }

    #[test]
    fn cost_prices_cached_input_lower() {
        let mut r = run("a", "x", 1_000_000, true);
        r.cached = 1_000_000;
        let all_cached = PRICES.cost(&r);
        r.cached = 0;
        assert!(PRICES.cost(&r) > all_cached * 5.0);
    }
}

//! `report.md`: the report a person reads. Every figure comes from [`Report`]; nothing is
//! computed here but formatting.

use std::fmt::Write;

use super::report::{Cell, Report};
use super::svg::short;

fn ratio(r: Option<f64>) -> String {
    r.map_or("n/a".into(), |r| format!("{r:.2}x"))
}

fn cell_text(c: Option<&Cell>) -> String {
    match c {
        None => "-".into(),
        Some(c) if c.runs == c.errors => format!("error ({} runs)", c.runs),
        Some(c) => {
            let q = if c.passes() { "pass" } else { "FAIL" };
            if c.input.min < c.input.max {
                format!(
                    "{} ({}-{}) {q}",
                    short(c.input.median),
                    short(c.input.min),
                    short(c.input.max)
                )
            } else {
                format!("{} {q}", short(c.input.median))
            }
        }
    }
}

/// Renders the report.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {}\n", r.title);
    let _ = writeln!(s, "**Verdict: {}**: {}.\n", r.verdict, r.verdict_reason);
    let _ = writeln!(
        s,
        "Rule: PASS when {c}'s median input tokens (median over tasks of each task's median over \
         repeats) are lower than {b}'s and no task that passes in {b} fails in {c}; a broken task \
         fails the verdict.\n",
        c = r.candidate,
        b = r.baseline
    );
    let _ = writeln!(
        s,
        "Date {}; mode **{}**; codex {}; {} repeat(s) per task and arm; latency model {}; arms {}. \
         Tokens are counted by the scripted model (o200k_base) over the requests codex really sent \
         (in live mode: codex's own usage). Prices for the cost figure, USD per million tokens: \
         input {}, cached input {}, output {}.\n",
        r.date,
        r.mode,
        r.codex_version,
        r.repeat,
        r.latency,
        r.arms.join(", "),
        r.prices.input_per_m,
        r.prices.cached_input_per_m,
        r.prices.output_per_m
    );
    let _ = writeln!(s, "## Summary\n");
    let _ = writeln!(
        s,
        "| arm | tasks passing | median input | median cached | median output | median requests | median wall | median cost |\n|---|---|---|---|---|---|---|---|"
    );
    for a in &r.summary {
        let _ = writeln!(
            s,
            "| {} | {}/{} | {} | {} | {} | {:.0} | {:.1} s | ${:.4} |",
            a.arm,
            a.tasks_passed,
            a.tasks,
            short(a.median_input),
            short(a.median_cached),
            short(a.median_output),
            a.median_requests,
            a.median_wall_ms / 1000.0,
            a.median_cost_usd
        );
    }
    let _ = writeln!(
        s,
        "\n{c} vs {b}: median input tokens **{}**, median cost {}.\n",
        ratio(r.input_ratio),
        ratio(r.cost_ratio),
        c = r.candidate,
        b = r.baseline
    );
    let _ = writeln!(
        s,
        "Quality regressions: {}.\n",
        if r.quality_regressions.is_empty() {
            "none".into()
        } else {
            r.quality_regressions.join(", ")
        }
    );
    if !r.broken.is_empty() {
        let _ = writeln!(s, "Broken tasks (not run):\n");
        for b in &r.broken {
            let _ = writeln!(s, "- `{}`: {}", b.task, b.error.replace('\n', " "));
        }
        s.push('\n');
    }
    tasks_table(&mut s, r);
    categories(&mut s, r);
    let _ = writeln!(s, "## Charts\n");
    for (f, what) in [
        (
            "tokens-by-task.svg",
            "input tokens per task by arm (median over repeats)",
        ),
        ("median-tokens.svg", "median input tokens by arm"),
        ("wall-by-task.svg", "wall time per task by arm"),
    ] {
        let _ = writeln!(s, "- {what}: ![{what}]({f})");
    }
    s
}

fn tasks_table(s: &mut String, r: &Report) {
    let _ = writeln!(
        s,
        "## Per task\n\nInput tokens, median (min-max over repeats), and whether the hidden tests \
         passed in every repeat. Δ is {c} against {b}.\n",
        c = r.candidate,
        b = r.baseline
    );
    let _ = write!(s, "| task | category |");
    for a in &r.arms {
        let _ = write!(s, " {a} |");
    }
    let _ = writeln!(
        s,
        " Δ input | Δ cost | {c} workers | {c} requests/worker | {c} lead requests | {c}/solo |",
        c = r.candidate
    );
    let _ = writeln!(s, "|{}", "---|".repeat(r.arms.len() + 8));
    for t in &r.tasks {
        let _ = write!(s, "| {} | {} |", t.task, t.category);
        for a in &r.arms {
            let _ = write!(s, " {} |", cell_text(t.arms.get(a)));
        }
        let pct =
            |x: Option<f64>| x.map_or("n/a".into(), |x| format!("{:+.0}%", (x - 1.0) * 100.0));
        let cand = t.arms.get(&r.candidate);
        let _ = writeln!(
            s,
            " {} | {} | {} | {} | {} | {} |",
            pct(t.input_ratio),
            pct(t.cost_ratio),
            cand.map_or("-".into(), |c| format!("{:.0}", c.workers_spawned.median)),
            cand.map_or("-".into(), |c| format!("{:.0}", c.requests_per_worker)),
            cand.map_or("-".into(), |c| format!("{:.0}", c.lead_requests)),
            ratio(t.team_solo_ratio)
        );
    }
    s.push('\n');
}

fn categories(s: &mut String, r: &Report) {
    let _ = writeln!(
        s,
        "## Team against one agent\n\nMedian over each category's tasks of the team arm's input \
         tokens divided by the solo arm's (one plain `codex exec` doing the same steps).\n"
    );
    let _ = writeln!(
        s,
        "| category | tasks | {c}/solo | {b}/solo |\n|---|---|---|---|",
        c = r.candidate,
        b = r.baseline
    );
    for c in &r.categories {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            c.category,
            c.tasks,
            ratio(c.candidate_vs_solo),
            ratio(c.baseline_vs_solo)
        );
    }
    if !r.high_parallel_wall_vs_solo.is_empty() {
        let _ = writeln!(
            s,
            "\nWall time on the high-parallel tasks, team arm over solo (one agent doing every \
             step in turn), median over those tasks:\n"
        );
        for (arm, w) in &r.high_parallel_wall_vs_solo {
            let _ = writeln!(s, "- {arm}: {w:.2}x");
        }
    }
    s.push('\n');
}

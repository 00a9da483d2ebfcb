//! `replay` as text: a header, one line per event (details left out), and the token table.

use std::fmt::Write;

use super::timeline::{Category, Timeline, clock, duration, tokens_text};

/// The timeline as lines for a terminal or a file.
pub fn render(t: &Timeline) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "team {} ({}), profile {}, {} session(s), {} over {}",
        t.team_id,
        t.status,
        t.profile,
        t.sessions,
        plural(t.lanes.len(), "agent"),
        duration(t.duration_ms)
    );
    let _ = writeln!(out, "goal: {}", t.goal);
    let width = t
        .lanes
        .iter()
        .map(|l| l.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    for e in t.entries.iter().filter(|e| e.category != Category::Detail) {
        let who = e.agent.as_deref().unwrap_or("team");
        let _ = writeln!(
            out,
            "{:>11}  {who:<width$}  {:<8}  {}",
            clock(e.t_ms),
            e.category.word(),
            e.text
        );
    }
    out.push_str(&token_table(t));
    out
}

/// Tokens per agent and in total, with each agent's turns.
pub fn token_table(t: &Timeline) -> String {
    let mut out = String::new();
    let width = t
        .lanes
        .iter()
        .map(|l| l.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(
        out,
        "{:<width$}  {:<12}  {:>5}  {:>10}  {:>10}  {:>8}",
        "agent", "role", "turns", "input", "cached", "output"
    );
    for l in &t.lanes {
        let _ = writeln!(
            out,
            "{:<width$}  {:<12}  {:>5}  {:>10}  {:>10}  {:>8}",
            l.name,
            l.role,
            l.turns.len(),
            l.tokens.input,
            l.tokens.cached_input,
            l.tokens.output
        );
    }
    let turns: usize = t.lanes.iter().map(|l| l.turns.len()).sum();
    let _ = writeln!(
        out,
        "{:<width$}  {:<12}  {:>5}  {:>10}  {:>10}  {:>8}",
        "total", "", turns, t.totals.input, t.totals.cached_input, t.totals.output
    );
    let _ = writeln!(out, "({})", tokens_text(&t.totals));
    out
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

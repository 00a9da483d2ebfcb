//! Live progress on stderr while a team runs. On a terminal: one compact status line
//! (indicatif spinner) redrawn four times a second: the lead's phase, the workers, the board,
//! the tokens against the budget. Elsewhere (CI logs, pipes): one plain line whenever that
//! status changes, at most every second. Either way the summary that follows ends with the
//! per-agent token table and the `replay` command.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use codex_teams_mcp::TeamHub;
use codex_teams_store::{TaskFilter, TaskStatus, Usage};
use indicatif::{ProgressBar, ProgressStyle};

use super::runtime::{Supervisor, TeamView};
use crate::policy::MAX_WORKERS;

/// The running printer; [`Progress::stop`] ends it and clears the status line.
pub struct Progress {
    task: tokio::task::JoinHandle<()>,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Stops the printer and removes its line from the terminal, so what is printed next
    /// starts on a clean line.
    pub fn stop(self) {
        self.task.abort();
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Starts the progress printer for `team_id`; `budget` is the run's token budget.
pub fn spawn(
    hub: Arc<TeamHub>,
    sup: Arc<Supervisor>,
    team_id: String,
    budget: Option<u64>,
) -> Progress {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let line_bar = bar.clone();
    let task = tokio::spawn(async move {
        let started = Instant::now();
        let every = if line_bar.is_some() {
            Duration::from_millis(250)
        } else {
            Duration::from_secs(1)
        };
        let mut last = String::new();
        loop {
            tokio::time::sleep(every).await;
            let t = team_id.clone();
            let Ok((done, total, usage)) = hub
                .with_store(move |s| {
                    let tasks = s.list_tasks(&t, &TaskFilter::default())?;
                    let done = tasks
                        .iter()
                        .filter(|t| t.status == TaskStatus::Done)
                        .count();
                    Ok((done, tasks.len(), s.team_usage(&t)?))
                })
                .await
            else {
                continue;
            };
            let line = status_line(&sup.view(&team_id), done, total, &usage, budget);
            match &line_bar {
                Some(bar) => bar.set_message(line),
                None if line != last => {
                    eprintln!("[{:>6.1}s] {line}", started.elapsed().as_secs_f64());
                    last = line;
                }
                None => {}
            }
        }
    });
    Progress { task, bar }
}

/// `lead running | workers 3/6 live, 1 idle | tasks 2/6 | tokens 41.2k/2.00M`: short enough
/// for one line of a terminal.
fn status_line(
    view: &TeamView,
    done: usize,
    total: usize,
    u: &Usage,
    budget: Option<u64>,
) -> String {
    let live: usize = view
        .workers
        .iter()
        .filter(|(p, _)| p.busy())
        .map(|(_, n)| n)
        .sum();
    let mut workers = format!("{live}/{MAX_WORKERS} live");
    for (phase, n) in view.workers.iter().filter(|(p, _)| !p.busy()) {
        workers.push_str(&format!(", {n} {}", phase.as_str()));
    }
    let spent = (u.input_tokens + u.output_tokens).max(0) as u64;
    let spent = match budget {
        Some(b) => format!("{}/{}", short(spent), short(b)),
        None => short(spent),
    };
    let lead = view.lead.map_or("-", |p| p.as_str());
    format!("lead {lead} | workers {workers} | tasks {done}/{total} | tokens {spent}")
}

/// A token count in few characters: `950`, `41.2k`, `2.00M`.
fn short(n: u64) -> String {
    match n {
        0..10_000 => n.to_string(),
        10_000..1_000_000 => format!("{:.1}k", n as f64 / 1000.0),
        _ => format!("{:.2}M", n as f64 / 1_000_000.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::runtime::Phase;

    #[test]
    fn the_line_counts_live_workers_against_the_cap_and_tokens_against_the_budget() {
        let mut view = TeamView {
            lead: Some(Phase::Idle),
            ..TeamView::default()
        };
        view.workers.insert(Phase::Running, 2);
        view.workers.insert(Phase::Starting, 1);
        view.workers.insert(Phase::Idle, 3);
        let u = Usage {
            input_tokens: 900,
            cached_input_tokens: 500,
            output_tokens: 100,
            ..Usage::default()
        };
        let line = status_line(&view, 2, 6, &u, Some(2_000_000));
        assert_eq!(
            line,
            "lead idle | workers 3/6 live, 3 idle | tasks 2/6 | tokens 1000/2.00M"
        );
        assert_eq!(short(41_234), "41.2k");
        let none = status_line(&TeamView::default(), 0, 0, &Usage::default(), None);
        assert_eq!(none, "lead - | workers 0/6 live | tasks 0/0 | tokens 0");
    }
}

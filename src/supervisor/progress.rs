//! Live progress on stderr while a team runs: one line whenever agents, tasks or tokens
//! change (at most every second), so a terminal user sees the team at work.

use std::sync::Arc;
use std::time::{Duration, Instant};

use codex_teams_mcp::TeamHub;
use codex_teams_store::{TaskFilter, TaskStatus};

use super::runtime::Supervisor;

/// Starts the progress printer; abort the handle to stop it.
pub fn spawn(
    hub: Arc<TeamHub>,
    sup: Arc<Supervisor>,
    team_id: String,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let started = Instant::now();
        let mut last = String::new();
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let t = team_id.clone();
            let Ok((tasks, usage)) = hub
                .with_store(move |s| {
                    Ok((s.list_tasks(&t, &TaskFilter::default())?, s.team_usage(&t)?))
                })
                .await
            else {
                continue;
            };
            let view = sup.view(&team_id);
            let done = tasks
                .iter()
                .filter(|t| t.status == TaskStatus::Done)
                .count();
            let workers: Vec<String> = view
                .workers
                .iter()
                .map(|(phase, n)| format!("{n} {phase}"))
                .collect();
            let line = format!(
                "lead {} | workers {} | tasks {done}/{} done | tokens in {} (cached {}) out {}",
                view.lead
                    .map(|p| format!("{p:?}").to_lowercase())
                    .unwrap_or_else(|| "-".into()),
                if workers.is_empty() {
                    "none".into()
                } else {
                    workers.join(", ")
                },
                tasks.len(),
                usage.input_tokens,
                usage.cached_input_tokens,
                usage.output_tokens
            );
            if line != last {
                eprintln!("[{:>6.1}s] {line}", started.elapsed().as_secs_f64());
                last = line;
            }
        }
    })
}

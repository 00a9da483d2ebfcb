//! The runtime behind `codex-teams mcp`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::super::home::TeamsHome;
use super::super::model;
use super::super::reaper::Reaper;
use super::{Supervisor, SupervisorOptions};
use crate::policy::Profile;

/// The runtime behind `codex-teams mcp`: the interactive session is the lead (never started
/// or resumed by us); `team_spawn` forks real workers, served on their own HTTP endpoints.
/// Workers die with this process (the session's end closes stdin, the server returns, and
/// dropping the runtime SIGKILLs every group; PDEATHSIG and the watcher cover a crash).
pub fn mcp_runtime(store_path: PathBuf) -> anyhow::Result<Arc<Supervisor>> {
    // Started now, so a watcher that cannot start is an error before any team exists.
    Reaper::global()?;
    let home = TeamsHome::locate()?;
    let profile_name = std::env::var("CODEX_TEAMS_PROFILE").unwrap_or_else(|_| "default".into());
    let profile = Profile::load(&profile_name)?;
    let codex_bin = codex_teams_codex_exec::find_codex().unwrap_or_else(|_| PathBuf::from("codex"));
    let scripted_base_url = std::env::var("CODEX_TEAMS_SCRIPTED_URL")
        .ok()
        .filter(|v| !v.is_empty());
    Supervisor::new(SupervisorOptions {
        codex_bin,
        codex_home: model::codex_home(),
        scripted_base_url,
        explicit_model: None,
        max_threads: profile.cap(),
        profile,
        home,
        store_path,
        grace: Duration::from_secs(5),
        drain: Duration::from_secs(15),
        lead_external: true,
        tick: Duration::from_millis(300),
        sandbox_override: None,
    })
}

//! Where a supervisor keeps its files: `$CODEX_TEAMS_HOME` (default `~/.codex-teams`) holds
//! the store (`teams.db`, shared with `codex-teams mcp`), the JSON logs and the owner
//! records (`owners/<team>.pid`). Bearer tokens are never written here: the store keeps
//! their hashes, and `codex-teams resume` mints fresh tokens for the agents it resumes.

use std::path::PathBuf;

use anyhow::Context;

/// The supervisor's directory and the files in it.
#[derive(Debug, Clone)]
pub struct TeamsHome {
    /// The directory itself.
    pub dir: PathBuf,
}

impl TeamsHome {
    /// `$CODEX_TEAMS_HOME`, else `~/.codex-teams`; created owner-only (`0700`) if missing,
    /// and tightened with a warning if found readable by others (it holds the store and logs).
    pub fn locate() -> anyhow::Result<TeamsHome> {
        let dir = Self::path()?;
        let fix = codex_teams_store::files::ensure_private_dir(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        if let Some(fix) = fix {
            tracing::warn!(target: "codex_teams::supervisor", event = "file.mode_fixed", path = %fix.path.display(), "{fix}");
        }
        Ok(TeamsHome { dir })
    }

    /// Where the home is, without creating it (`install`, `uninstall --purge` and
    /// `check-config` look, they do not make it).
    pub fn path() -> anyhow::Result<PathBuf> {
        match std::env::var_os("CODEX_TEAMS_HOME").filter(|v| !v.is_empty()) {
            Some(d) => Ok(PathBuf::from(d)),
            None => {
                let home =
                    std::env::var_os("HOME").context("neither CODEX_TEAMS_HOME nor HOME is set")?;
                Ok(PathBuf::from(home).join(".codex-teams"))
            }
        }
    }

    /// The store: the same file `codex-teams mcp` uses by default, so `status` sees both.
    pub fn store_path(&self) -> PathBuf {
        std::env::var_os("CODEX_TEAMS_DB")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| self.dir.join("teams.db"))
    }

    /// Daily-rotated JSON logs.
    pub fn log_dir(&self) -> PathBuf {
        self.dir.join("logs")
    }
}

impl TeamsHome {
    fn owner_file(&self, team_id: &str) -> PathBuf {
        self.dir.join("owners").join(format!("{team_id}.pid"))
    }

    /// The live process that supervises `team_id`, if any. The owner file holds
    /// `PID START` (the process's start time from /proc): a live process with that pid and
    /// that start time is the owner, however it was launched (a symlink, a renamed binary);
    /// a reused pid is not. A file from an older version (pid only) falls back to the
    /// command line.
    pub fn owner_alive(&self, team_id: &str) -> Option<i32> {
        let text = std::fs::read_to_string(self.owner_file(team_id)).ok()?;
        let mut words = text.split_whitespace();
        let pid: i32 = words.next()?.parse().ok()?;
        if pid == std::process::id() as i32 {
            return Some(pid);
        }
        match words.next().and_then(|w| w.parse::<u64>().ok()) {
            Some(start) => (super::procfs::start_time(pid) == Some(start)).then_some(pid),
            None => {
                let cmdline = super::procfs::cmdline(pid)?;
                cmdline.contains("codex-teams").then_some(pid)
            }
        }
    }

    /// Records this process as the team's supervisor; refuses when another live one is.
    pub fn claim_owner(&self, team_id: &str) -> anyhow::Result<()> {
        if let Some(pid) = self.owner_alive(team_id)
            && pid != std::process::id() as i32
        {
            anyhow::bail!(
                "team {team_id} is being supervised by another codex-teams process (pid {pid})"
            );
        }
        let path = self.owner_file(team_id);
        let dir = path.parent().expect("owner file has a parent");
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let me = std::process::id() as i32;
        let start = super::procfs::start_time(me).unwrap_or(0);
        std::fs::write(&path, format!("{me} {start}\n"))
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }

    /// Forgets the owner record (the run ended).
    pub fn release_owner(&self, team_id: &str) {
        let _ = std::fs::remove_file(self.owner_file(team_id));
    }
}

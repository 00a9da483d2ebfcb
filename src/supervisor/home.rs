//! Where a supervisor keeps its files: `$CODEX_TEAMS_HOME` (default `~/.codex-teams`) holds
//! the store (`teams.db`, shared with `codex-teams mcp`), the JSON logs and, while a team
//! runs, its agents' bearer tokens so `codex-teams resume` can hand them back to the
//! resumed codex children (the store keeps only their hashes).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// The supervisor's directory and the files in it.
#[derive(Debug, Clone)]
pub struct TeamsHome {
    /// The directory itself.
    pub dir: PathBuf,
}

impl TeamsHome {
    /// `$CODEX_TEAMS_HOME`, else `~/.codex-teams`; created if missing.
    pub fn locate() -> anyhow::Result<TeamsHome> {
        let dir = match std::env::var_os("CODEX_TEAMS_HOME").filter(|v| !v.is_empty()) {
            Some(d) => PathBuf::from(d),
            None => {
                let home =
                    std::env::var_os("HOME").context("neither CODEX_TEAMS_HOME nor HOME is set")?;
                PathBuf::from(home).join(".codex-teams")
            }
        };
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(TeamsHome { dir })
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

    fn token_file(&self, team_id: &str) -> PathBuf {
        self.dir
            .join("secrets")
            .join(format!("{team_id}.tokens.json"))
    }

    /// Remembers an agent's token (file mode 0600) so a resumed run can give it back.
    pub fn save_token(&self, team_id: &str, agent_id: &str, token: &str) -> anyhow::Result<()> {
        let mut all = self.load_tokens(team_id)?;
        all.insert(agent_id.to_string(), token.to_string());
        let path = self.token_file(team_id);
        let dir = path.parent().expect("token file has a parent");
        create_private_dir(dir)?;
        let tmp = path.with_extension("tmp");
        {
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            f.write_all(serde_json::to_string(&all)?.as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }

    /// The tokens saved for a team (empty when none were).
    pub fn load_tokens(&self, team_id: &str) -> anyhow::Result<BTreeMap<String, String>> {
        let path = self.token_file(team_id);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("{} is not a token file", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Forgets a team's tokens once it can no longer be resumed.
    pub fn drop_tokens(&self, team_id: &str) {
        let _ = std::fs::remove_file(self.token_file(team_id));
    }
}

impl TeamsHome {
    fn owner_file(&self, team_id: &str) -> PathBuf {
        self.dir.join("owners").join(format!("{team_id}.pid"))
    }

    /// The live process that supervises `team_id`, if any (its pid file names a process that
    /// still runs `codex-teams`).
    pub fn owner_alive(&self, team_id: &str) -> Option<i32> {
        let pid: i32 = std::fs::read_to_string(self.owner_file(team_id))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        if pid == std::process::id() as i32 {
            return Some(pid);
        }
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        String::from_utf8_lossy(&cmdline)
            .contains("codex-teams")
            .then_some(pid)
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
        std::fs::create_dir_all(path.parent().expect("owner file has a parent"))?;
        std::fs::write(&path, std::process::id().to_string())
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }

    /// Forgets the owner record (the run ended).
    pub fn release_owner(&self, team_id: &str) {
        let _ = std::fs::remove_file(self.owner_file(team_id));
    }
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if !dir.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_privately() {
        let dir = tempfile::tempdir().unwrap();
        let home = TeamsHome {
            dir: dir.path().to_path_buf(),
        };
        assert!(home.load_tokens("team-1").unwrap().is_empty());
        home.save_token("team-1", "agt-a", "ctt_a").unwrap();
        home.save_token("team-1", "agt-b", "ctt_b").unwrap();
        let t = home.load_tokens("team-1").unwrap();
        assert_eq!(t.get("agt-a").map(String::as_str), Some("ctt_a"));
        assert_eq!(t.len(), 2);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.token_file("team-1"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "token file is private: {mode:o}");
        home.drop_tokens("team-1");
        assert!(home.load_tokens("team-1").unwrap().is_empty());
    }
}

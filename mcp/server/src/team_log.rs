//! Per-team JSON logs: every log line that carries a `team_id` is also written to
//! `<log dir>/teams/<team_id>.jsonl`, so one team's story (its bus, board, artifacts,
//! decisions, processes, turns and tokens) is one file to read or ship, however many teams
//! share the home. Each file is size-capped and rotated like the main log ([`SizeCappedFile`]),
//! created `0600` in a `0700` directory; lines reach it through `tracing-appender`'s
//! background writer, never from the caller's thread.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::log_file::SizeCappedFile;

/// Cap of one team's file (and of each of its rotated copies).
pub const TEAM_MAX_BYTES: u64 = 8 * 1024 * 1024;
/// Rotated copies kept per team besides the current file.
pub const TEAM_KEEP: usize = 2;
/// Teams with an open file at once; the least recently written is closed first.
const OPEN_FILES: usize = 16;

/// A writer that sorts JSON lines into one file per team. Lines without a `team_id` (or
/// with one that is not a team id) are dropped: the main log has them.
#[derive(Debug)]
pub struct TeamFiles {
    dir: PathBuf,
    partial: Vec<u8>,
    open: HashMap<String, (u64, SizeCappedFile)>,
    clock: u64,
}

impl TeamFiles {
    /// Writes under `dir` (created `0700` if missing).
    pub fn new(dir: &Path) -> io::Result<TeamFiles> {
        codex_teams_store::files::ensure_private_dir(dir)?;
        Ok(TeamFiles {
            dir: dir.to_path_buf(),
            partial: Vec::new(),
            open: HashMap::new(),
            clock: 0,
        })
    }

    /// The team a line belongs to, if it names a well-formed one (no path can be smuggled
    /// in through the id).
    fn team_of(line: &[u8]) -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(line).ok()?;
        let id = v.get("team_id")?.as_str()?;
        let hex = id.strip_prefix("team-")?;
        (!hex.is_empty() && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| id.to_string())
    }

    fn file(&mut self, team: &str) -> io::Result<&mut SizeCappedFile> {
        self.clock += 1;
        if !self.open.contains_key(team) {
            if self.open.len() >= OPEN_FILES
                && let Some(oldest) = self
                    .open
                    .iter()
                    .min_by_key(|(_, (used, _))| *used)
                    .map(|(k, _)| k.clone())
            {
                self.open.remove(&oldest);
            }
            let f = SizeCappedFile::open(&self.dir, team, TEAM_MAX_BYTES, TEAM_KEEP)?;
            self.open.insert(team.to_string(), (0, f));
        }
        let entry = self.open.get_mut(team).expect("just opened");
        entry.0 = self.clock;
        Ok(&mut entry.1)
    }

    fn route(&mut self, line: &[u8]) -> io::Result<()> {
        if let Some(team) = Self::team_of(line) {
            let f = self.file(&team)?;
            f.write_all(line)?;
            f.write_all(b"\n")?;
        }
        Ok(())
    }
}

impl Write for TeamFiles {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.partial.extend_from_slice(buf);
        while let Some(end) = self.partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            self.route(&line[..end])?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        for (_, f) in self.open.values_mut() {
            f.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn lines_go_to_their_team_and_nowhere_else() {
        let dir = tempfile::tempdir().unwrap();
        let teams = dir.path().join("teams");
        let mut w = TeamFiles::new(&teams).unwrap();
        let a = r#"{"event":"message.sent","team_id":"team-0a1b"}"#;
        let b = r#"{"event":"task.created","team_id":"team-ff"}"#;
        // Split writes and several lines in one write both work.
        w.write_all(&a.as_bytes()[..10]).unwrap();
        w.write_all(format!("{}\n{b}\n", &a[10..]).as_bytes())
            .unwrap();
        for stray in [
            r#"{"event":"http.listening"}"#,
            r#"{"team_id":"../../etc/passwd"}"#,
            r#"{"team_id":"team-"}"#,
            "not json",
        ] {
            w.write_all(format!("{stray}\n").as_bytes()).unwrap();
        }
        w.flush().unwrap();
        let read = |name: &str| std::fs::read_to_string(teams.join(name)).unwrap();
        assert_eq!(read("team-0a1b.jsonl"), format!("{a}\n"));
        assert_eq!(read("team-ff.jsonl"), format!("{b}\n"));
        let mut names: Vec<String> = std::fs::read_dir(&teams)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["team-0a1b.jsonl", "team-ff.jsonl"]);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&teams), 0o700);
        assert_eq!(mode(&teams.join("team-ff.jsonl")), 0o600);
    }

    #[test]
    fn open_files_stay_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = TeamFiles::new(dir.path()).unwrap();
        for i in 0..(OPEN_FILES + 5) {
            writeln!(w, r#"{{"team_id":"team-{i:x}0"}}"#).unwrap();
        }
        assert_eq!(w.open.len(), OPEN_FILES);
        writeln!(w, r#"{{"team_id":"team-00"}}"#).unwrap();
        let first = std::fs::read_to_string(dir.path().join("team-00.jsonl")).unwrap();
        assert_eq!(
            first.lines().count(),
            2,
            "reopened for append, nothing lost"
        );
    }
}

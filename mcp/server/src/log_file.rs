//! A log file with a size cap: `<dir>/<prefix>.jsonl` is written until the next line would
//! take it past `max_bytes`, then it becomes `<prefix>.1.jsonl` (older ones shift up, the
//! oldest beyond `keep` is deleted). So the logs never take more than
//! `max_bytes * (keep + 1)` on disk, however much a run (or an attacker) logs; the
//! time-based rotation of `tracing-appender` has no such bound. Files are created `0600`.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use codex_teams_store::files::open_private_append;

/// Default cap of one log file.
pub const DEFAULT_MAX_BYTES: u64 = 16 * 1024 * 1024;
/// Default number of rotated files kept besides the current one.
pub const DEFAULT_KEEP: usize = 4;

/// The size-capped, rotating log file. Give it to `tracing_appender::non_blocking`.
#[derive(Debug)]
pub struct SizeCappedFile {
    dir: PathBuf,
    prefix: String,
    max_bytes: u64,
    keep: usize,
    file: File,
    written: u64,
}

impl SizeCappedFile {
    /// Opens (appending to) `<dir>/<prefix>.jsonl`; `dir` must exist.
    pub fn open(dir: &Path, prefix: &str, max_bytes: u64, keep: usize) -> io::Result<Self> {
        let path = dir.join(format!("{prefix}.jsonl"));
        let (file, fix) = open_private_append(&path)?;
        if let Some(fix) = fix {
            tracing::warn!(target: "codex_teams::logging", event = "file.mode_fixed", path = %fix.path.display(), "{fix}");
        }
        let written = file.metadata()?.len();
        Ok(SizeCappedFile {
            dir: dir.to_path_buf(),
            prefix: prefix.to_string(),
            max_bytes: max_bytes.max(1),
            keep,
            file,
            written,
        })
    }

    fn path(&self, n: usize) -> PathBuf {
        match n {
            0 => self.dir.join(format!("{}.jsonl", self.prefix)),
            n => self.dir.join(format!("{}.{n}.jsonl", self.prefix)),
        }
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        if self.keep == 0 {
            std::fs::remove_file(self.path(0)).or_else(ignore_missing)?;
        } else {
            std::fs::remove_file(self.path(self.keep)).or_else(ignore_missing)?;
            for n in (0..self.keep).rev() {
                std::fs::rename(self.path(n), self.path(n + 1)).or_else(ignore_missing)?;
            }
        }
        let (file, _) = open_private_append(&self.path(0))?;
        self.file = file;
        self.written = 0;
        Ok(())
    }
}

fn ignore_missing(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

impl Write for SizeCappedFile {
    /// Writes one log line (the JSON formatter writes each event with one call). A line
    /// bigger than the whole cap is replaced by a short note saying how big it was.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let note;
        let line: &[u8] = if buf.len() as u64 > self.max_bytes {
            note = format!(
                "{{\"level\":\"WARN\",\"event\":\"log.line_dropped\",\"bytes\":{}}}\n",
                buf.len()
            );
            note.as_bytes()
        } else {
            buf
        };
        if self.written > 0 && self.written + line.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        self.file.write_all(line)?;
        self.written += line.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn total_size_stays_under_the_cap_and_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = SizeCappedFile::open(dir.path(), "mcp", 1000, 2).unwrap();
        let line = format!("{}\n", "x".repeat(99));
        for _ in 0..500 {
            f.write_all(line.as_bytes()).unwrap();
        }
        f.write_all(&vec![b'y'; 5000]).unwrap();
        f.flush().unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["mcp.1.jsonl", "mcp.2.jsonl", "mcp.jsonl"]);
        let mut total = 0;
        for n in &names {
            let meta = std::fs::metadata(dir.path().join(n)).unwrap();
            assert!(meta.len() <= 1000, "{n} is {} bytes", meta.len());
            assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{n}");
            total += meta.len();
        }
        assert!(total <= 3000);
        let current = std::fs::read_to_string(dir.path().join("mcp.jsonl")).unwrap();
        assert!(current.contains("log.line_dropped") && current.contains("5000"));
    }
}

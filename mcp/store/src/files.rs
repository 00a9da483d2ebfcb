//! Owner-only files. The database holds every team's messages, briefs and artifacts, and
//! the logs hold their traces: another local user must not read them. So the team home is
//! created `0700`, the database with its `-wal` and `-shm` and every log file `0600`, set
//! exactly after creation (whatever the umask), and tightened on open when found looser.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Mode of the team home and the log directory: owner only.
pub const PRIVATE_DIR_MODE: u32 = 0o700;
/// Mode of the database, its `-wal`/`-shm` and log files: owner read/write only.
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// A permission found looser than owner-only and tightened; callers log it as a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeFix {
    /// The file or directory tightened.
    pub path: PathBuf,
    /// The permission bits found (e.g. `0o644`).
    pub was: u32,
    /// The permission bits set.
    pub now: u32,
}

impl std::fmt::Display for ModeFix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} was mode {:o}, readable by other users; set to {:o}",
            self.path.display(),
            self.was,
            self.now
        )
    }
}

fn mode_of(meta: &fs::Metadata) -> u32 {
    meta.permissions().mode() & 0o7777
}

/// Sets `mode` if `path`'s permission bits allow group or others anything.
fn tighten(path: &Path, mode: u32) -> io::Result<Option<ModeFix>> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let was = mode_of(&meta);
    if was & 0o077 == 0 || meta.file_type().is_symlink() {
        return Ok(None);
    }
    fs::set_permissions(path, Permissions::from_mode(mode))?;
    Ok(Some(ModeFix {
        path: path.to_path_buf(),
        was,
        now: mode,
    }))
}

/// Creates `dir` (and missing parents) owner-only, and tightens it to `0700` when it exists
/// with looser bits. A shared sticky directory such as `/tmp` is never changed: that is
/// reported as an error, because a team home there would be readable by others' listing.
pub fn ensure_private_dir(dir: &Path) -> io::Result<Option<ModeFix>> {
    if !dir.exists() {
        DirBuilder::new()
            .recursive(true)
            .mode(PRIVATE_DIR_MODE)
            .create(dir)?;
        // The umask may have taken bits away (or a racing creator made it): set it exactly.
        fs::set_permissions(dir, Permissions::from_mode(PRIVATE_DIR_MODE))?;
        return Ok(None);
    }
    let meta = fs::metadata(dir)?;
    if mode_of(&meta) & 0o1000 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is a shared sticky directory (mode {:o}); use a private directory",
                dir.display(),
                mode_of(&meta)
            ),
        ));
    }
    tighten(dir, PRIVATE_DIR_MODE)
}

/// Creates the parent directories of a file the caller chose (`--db PATH`) owner-only when
/// they are missing; existing directories are the caller's and are left as they are.
pub fn create_missing_dirs(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.exists() {
        return Ok(());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(PRIVATE_DIR_MODE)
        .create(dir)?;
    fs::set_permissions(dir, Permissions::from_mode(PRIVATE_DIR_MODE))
}

/// Opens `path` for appending, creating it `0600` when missing and tightening it when
/// found looser. Used for log files.
pub fn open_private_append(path: &Path) -> io::Result<(File, Option<ModeFix>)> {
    let fix = tighten(path, PRIVATE_FILE_MODE)?;
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(PRIVATE_FILE_MODE)
        .open(path)?;
    // Exactly 0600 whatever the umask (it can only have removed bits).
    file.set_permissions(Permissions::from_mode(PRIVATE_FILE_MODE))?;
    Ok((file, fix))
}

/// The files SQLite keeps for `db`: the database, its write-ahead log and shared memory.
pub fn db_files(db: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut s = db.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    [db.to_path_buf(), with("-wal"), with("-shm")]
}

/// Before SQLite opens `db`: creates the database file `0600` when missing (SQLite then
/// gives its `-wal` and `-shm` the same mode) and tightens any of the three found looser.
pub fn secure_db_files(db: &Path) -> io::Result<Vec<ModeFix>> {
    let mut fixes = Vec::new();
    for path in db_files(db) {
        fixes.extend(tighten(&path, PRIVATE_FILE_MODE)?);
    }
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_FILE_MODE)
        .open(db)
    {
        Ok(f) => f.set_permissions(Permissions::from_mode(PRIVATE_FILE_MODE))?,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    Ok(fixes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        mode_of(&fs::metadata(p).unwrap())
    }

    #[test]
    fn creates_owner_only_and_tightens_looser() {
        let t = tempfile::tempdir().unwrap();
        let home = t.path().join("a/b/home");
        assert_eq!(ensure_private_dir(&home).unwrap(), None);
        assert_eq!(mode(&home), 0o700);
        fs::set_permissions(&home, Permissions::from_mode(0o755)).unwrap();
        let fix = ensure_private_dir(&home).unwrap().unwrap();
        assert_eq!((fix.was, fix.now), (0o755, 0o700));
        assert_eq!(mode(&home), 0o700);

        let db = home.join("teams.db");
        assert!(secure_db_files(&db).unwrap().is_empty());
        assert_eq!(mode(&db), 0o600);
        let [_, wal, _] = db_files(&db);
        fs::write(&wal, b"").unwrap();
        fs::set_permissions(&wal, Permissions::from_mode(0o664)).unwrap();
        let fixes = secure_db_files(&db).unwrap();
        assert_eq!(fixes.len(), 1, "{fixes:?}");
        assert_eq!(fixes[0].path, wal);
        assert_eq!(mode(&wal), 0o600);

        let log = home.join("x.jsonl");
        let (_, fix) = open_private_append(&log).unwrap();
        assert_eq!((fix, mode(&log)), (None, 0o600));
    }

    #[test]
    fn a_sticky_shared_directory_is_refused_not_changed() {
        let t = tempfile::tempdir().unwrap();
        let shared = t.path().join("shared");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, Permissions::from_mode(0o1777)).unwrap();
        assert!(ensure_private_dir(&shared).is_err());
        assert_eq!(mode(&shared), 0o1777);
    }
}

//! The guardian: a tiny watcher process that kills our process groups when the supervisor dies.
//!
//! `PR_SET_PDEATHSIG` only reaches the *direct* child. Codex's npm launcher on Node < 22.15
//! runs the native binary as a grandchild, and codex itself starts shell commands, so a
//! `kill -9` of the supervisor would leave those behind. The guardian closes that gap: it is a
//! `/bin/sh` loop that reads `+ PGID` / `- PGID` lines from a pipe whose only writer is the
//! supervisor. The kernel closes that pipe however the supervisor dies (SIGKILL included);
//! the guardian then sees end-of-file, SIGKILLs every group still registered, and exits.
//!
//! The guardian lives in its own process group and ignores the terminal's INT/HUP/QUIT, so
//! Ctrl-C on the supervisor's terminal reaches the supervisor (which cleans up itself) rather
//! than killing the watcher first.

use std::io::{self, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use super::procfs::Pgid;

/// The watcher loop. Only digit-only group ids are accepted, so nothing read from the pipe
/// can reach `eval` as code.
const SCRIPT: &str = r#"trap '' INT HUP QUIT
all=""
while IFS=' ' read -r op pg; do
  case "$pg" in ''|*[!0-9]*) continue;; esac
  case "$op" in
    +) eval "live_$pg=1"; all="$all $pg";;
    -) eval "unset live_$pg";;
  esac
done
for pg in $all; do
  eval "l=\${live_$pg:-}"
  if [ -n "$l" ]; then
    kill -s KILL -- "-$pg" 2>/dev/null
    eval "unset live_$pg"
  fi
done
"#;

/// A running guardian and the write end of its pipe.
#[derive(Debug)]
pub struct Guardian {
    stdin: Mutex<ChildStdin>,
    child: Mutex<Child>,
    pid: u32,
}

static GLOBAL: OnceLock<Result<Guardian, String>> = OnceLock::new();

impl Guardian {
    /// Starts a new guardian. Most callers want [`Guardian::global`]; a private one is useful
    /// when a test needs to watch the guardian's own death.
    pub fn start() -> io::Result<Guardian> {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("codex-teams-guardian")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| io::Error::other("guardian stdin was not piped"))?;
        let pid = child.id();
        Ok(Guardian {
            stdin: Mutex::new(stdin),
            child: Mutex::new(child),
            pid,
        })
    }

    /// The process-wide guardian, started on first use and kept for the life of the process
    /// (its pipe must stay open exactly as long as we live). Errors if it could not start.
    pub fn global() -> Result<&'static Guardian, String> {
        GLOBAL
            .get_or_init(|| {
                Guardian::start().map_err(|err| format!("cannot start the guardian: {err}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Process id of the watcher, for diagnostics and tests.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Asks the guardian to kill `pgid` if we die while the group is still registered.
    pub fn register(&self, pgid: Pgid) -> io::Result<()> {
        self.send('+', pgid)
    }

    /// Withdraws `pgid` once the group is known to be empty, so a later reuse of the number
    /// can never be hit.
    pub fn unregister(&self, pgid: Pgid) -> io::Result<()> {
        self.send('-', pgid)
    }

    /// Whether the watcher is still running (it should be, until we exit).
    pub fn is_running(&self) -> bool {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        matches!(child.try_wait(), Ok(None))
    }

    fn send(&self, op: char, pgid: Pgid) -> io::Result<()> {
        if pgid.0 <= 1 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("refusing to guard process group {}", pgid.0),
            ));
        }
        let line = format!("{op} {}\n", pgid.0);
        let mut stdin = self.stdin.lock().unwrap_or_else(|e| e.into_inner());
        stdin.write_all(line.as_bytes())?;
        stdin.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::process::group_members;
    use std::time::{Duration, Instant};

    fn spawn_group(cmd: &str) -> Child {
        Command::new("/bin/sh")
            .arg("-c")
            .arg(cmd)
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("spawn sh")
    }

    fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if cond() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        cond()
    }

    #[test]
    fn closing_the_pipe_kills_registered_groups_only() {
        let guardian = Guardian::start().unwrap();
        let mut registered = spawn_group("sleep 300 & sleep 300; wait");
        let mut withdrawn = spawn_group("exec sleep 300");
        let reg = Pgid(registered.id() as i32);
        let wd = Pgid(withdrawn.id() as i32);
        assert!(wait_until(Duration::from_secs(5), || group_members(reg)
            .len()
            == 3));
        guardian.register(reg).unwrap();
        guardian.register(wd).unwrap();
        guardian.unregister(wd).unwrap();
        assert!(guardian.is_running());

        // Dropping the guardian closes its pipe, exactly as our death would.
        drop(guardian);
        assert!(
            wait_until(Duration::from_secs(10), || group_members(reg).is_empty()),
            "registered group survived: {:?}",
            group_members(reg)
        );
        let _ = registered.wait();
        assert_eq!(
            group_members(wd).len(),
            1,
            "withdrawn group must be left alone"
        );
        nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(wd.0),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        let _ = withdrawn.wait();
    }

    #[test]
    fn refuses_nonsense_groups() {
        let guardian = Guardian::start().unwrap();
        let err = guardian.register(Pgid(0)).unwrap_err();
        assert!(err.to_string().contains("process group 0"), "{err}");
        assert!(guardian.register(Pgid(1)).is_err());
    }
}

//! The watcher (the reaper): the no-orphans rule for when the supervisor dies however it dies.
//!
//! `codex-teams __reap TAG` is a small process in its own process group that ignores the
//! terminal's INT/HUP/QUIT (so Ctrl-C reaches the supervisor, which cleans up itself, and
//! never the watcher first). It reads `+ PGID` / `- PGID` lines (digits only, anything else
//! is skipped) from a pipe whose only writer is the supervisor. The kernel closes that pipe
//! however the supervisor ends, SIGKILL included; on end-of-file the watcher SIGKILLs every
//! group still registered, then every process whose environment carries
//! `CODEX_TEAMS_SUPERVISOR=TAG`, and exits. The two nets catch different escapes:
//! - the *group* catches what PDEATHSIG cannot reach and what dropped the environment:
//!   codex's native binary under the npm launcher (a grandchild), codex's shell commands,
//!   anything run through `env -u`;
//! - the *tag* catches what left the group but kept the environment: codex's shell snapshot
//!   and commands may start their own groups (measured here: a login shell's background
//!   `pyenv rehash` outlived its codex's group).
//!
//! A child is registered between `fork` and `exec` (see [`Reaper::registration`]), so no
//! code of a supervised child ever runs unregistered.
//!
//! Which program is the watcher: always the `codex-teams` binary, run as `__reap`. The
//! binary names itself in [`crate::cli::main`] through [`set_program`] (its
//! `current_exe()`); any other user of the library must do the same with a path to a built
//! `codex-teams` before spawning a watched child, or the spawn fails with
//! [`ReaperError::NoProgram`]. The library's own unit tests use the binary cargo built next
//! to the test binary (`target/<profile>/codex-teams`); integration tests run the binary
//! itself.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{SigHandler, Signal, kill, killpg, signal};
use nix::unistd::Pid;

use super::procfs::{self, Pgid};

/// Environment variable set on every watched child: the watcher's tag.
pub const SUPERVISOR_ENV: &str = "CODEX_TEAMS_SUPERVISOR";

/// How long, after the supervisor died, a group registered with grace (`~ PGID`: a codex
/// turn) that was running a command may go on. Codex records the command's result in its
/// own rollout when it ends, so the resumed turn goes on from it instead of paying a model
/// request to run it again (a crash with six workers mid-command cost six such requests).
/// Codex then finds its model endpoint gone and ends the turn by itself (a few seconds of
/// retries); whatever still runs at the end is killed as before.
pub const CRASH_GRACE: Duration = Duration::from_secs(15);

/// Why the watcher could not be started or told about a group.
#[derive(Debug, thiserror::Error)]
pub enum ReaperError {
    /// Nobody said where the `codex-teams` binary is (see the module doc).
    #[error(
        "no watcher program: the codex-teams binary names itself at start; a library user must call supervisor::reaper::set_program(<path to codex-teams>) before spawning a watched child"
    )]
    NoProgram,
    /// The pipe to the watcher could not be created.
    #[error("cannot create the watcher's pipe")]
    Pipe(#[source] io::Error),
    /// The OS refused to start the watcher.
    #[error("cannot start the watcher `{} __reap`", program.display())]
    Start {
        /// The program that was run.
        program: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The watcher has exited; children spawned now would not be covered.
    #[error("the watcher (pid {pid}) is no longer running")]
    Gone {
        /// Its process id.
        pid: u32,
    },
    /// Group 0 and 1 mean "our group" and "everything" to kill(2): never registered.
    #[error("refusing to watch process group {0}")]
    BadGroup(i32),
    /// Writing to the watcher's pipe failed.
    #[error("cannot tell the watcher about process group {pgid}")]
    Write {
        /// The group.
        pgid: i32,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

static PROGRAM: OnceLock<PathBuf> = OnceLock::new();

/// Names the `codex-teams` binary the watcher runs from. The first call wins; returns
/// whether this one did.
pub fn set_program(path: PathBuf) -> bool {
    PROGRAM.set(path).is_ok()
}

fn program() -> Result<PathBuf, ReaperError> {
    if let Some(path) = PROGRAM.get() {
        return Ok(path.clone());
    }
    #[cfg(test)]
    return Ok(super::testutil::codex_teams_bin());
    #[cfg(not(test))]
    Err(ReaperError::NoProgram)
}

/// A running watcher and the write end of its pipe; drop it (or die) to trigger it.
#[derive(Debug)]
pub struct Reaper {
    /// The tag every watched child carries in [`SUPERVISOR_ENV`].
    pub tag: String,
    pipe: io::PipeWriter,
    pid: u32,
    exited: Arc<AtomicBool>,
}

impl Reaper {
    /// The process-wide watcher, started on first use and kept for the life of the process
    /// (its pipe must stay open exactly as long as we live). A failed start is retried on
    /// the next call.
    pub fn global() -> Result<&'static Reaper, ReaperError> {
        static GLOBAL: OnceLock<Reaper> = OnceLock::new();
        static STARTING: Mutex<()> = Mutex::new(());
        if let Some(reaper) = GLOBAL.get() {
            return Ok(reaper);
        }
        let _one_at_a_time = STARTING.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(reaper) = GLOBAL.get() {
            return Ok(reaper);
        }
        let reaper = Reaper::start()?;
        Ok(GLOBAL.get_or_init(|| reaper))
    }

    /// Starts a private watcher with a fresh tag (our pid and a random part). Most callers
    /// want [`Reaper::global`]; a private one lets a test watch the watcher's own end.
    pub fn start() -> Result<Reaper, ReaperError> {
        let program = program()?;
        let tag = format!("{}-{:016x}", std::process::id(), rand::random::<u64>());
        let (reader, pipe) = io::pipe().map_err(ReaperError::Pipe)?;
        let mut cmd = Command::new(&program);
        cmd.arg("__reap")
            .arg(&tag)
            .stdin(reader)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // It needs nothing from the environment, and must not carry our tag or marker
            // (or a sweep would take it for a child) nor any secret of ours.
            .env_clear();
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd
            .spawn()
            .map_err(|source| ReaperError::Start { program, source })?;
        let pid = child.id();
        let exited = Arc::new(AtomicBool::new(false));
        let flag = exited.clone();
        // Reap it when it exits so it never lingers as a zombie of ours.
        std::thread::spawn(move || {
            let _ = child.wait();
            flag.store(true, Ordering::SeqCst);
        });
        Ok(Reaper {
            tag,
            pipe,
            pid,
            exited,
        })
    }

    /// Process id of the watcher, for diagnostics and tests.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether the watcher still runs (it should, until we exit). Checked before each spawn.
    pub fn check(&self) -> Result<(), ReaperError> {
        if self.exited.load(Ordering::SeqCst) {
            return Err(ReaperError::Gone { pid: self.pid });
        }
        Ok(())
    }

    /// Asks the watcher to kill `pgid` if we die while the group is still registered.
    pub fn register(&self, pgid: Pgid) -> Result<(), ReaperError> {
        self.send(b'+', pgid)
    }

    /// Like [`Reaper::register`], with [`CRASH_GRACE`] for a command in flight.
    pub fn register_with_grace(&self, pgid: Pgid) -> Result<(), ReaperError> {
        self.send(b'~', pgid)
    }

    /// Withdraws `pgid` once the group is known to be empty, so a later reuse of the number
    /// can never be hit.
    pub fn unregister(&self, pgid: Pgid) -> Result<(), ReaperError> {
        self.send(b'-', pgid)
    }

    /// What a child needs to register itself between `fork` and `exec`: the pipe, to be
    /// written with [`register_self`].
    pub fn registration(&self) -> BorrowedFd<'_> {
        self.pipe.as_fd()
    }

    fn send(&self, op: u8, pgid: Pgid) -> Result<(), ReaperError> {
        if pgid.0 <= 1 {
            return Err(ReaperError::BadGroup(pgid.0));
        }
        let mut buf = [0u8; LINE_MAX];
        let line = format_line(op, pgid.0, &mut buf);
        // One line is far below PIPE_BUF, so the write is atomic: no lock is needed, and
        // lines written by children in `register_self` never interleave with ours.
        (&self.pipe)
            .write_all(line)
            .map_err(|source| ReaperError::Write {
                pgid: pgid.0,
                source,
            })
    }
}

/// Room for `+ ` and an i32's digits and a newline.
const LINE_MAX: usize = 16;

/// `OP PGID\n` into `buf`, without allocating (it runs between fork and exec).
fn format_line(op: u8, pgid: i32, buf: &mut [u8; LINE_MAX]) -> &[u8] {
    let mut digits = [0u8; 10];
    let mut n = pgid.unsigned_abs();
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf[0] = op;
    buf[1] = b' ';
    for i in 0..len {
        buf[2 + i] = digits[len - 1 - i];
    }
    buf[2 + len] = b'\n';
    &buf[..3 + len]
}

/// Registers the calling process's own group (it must lead it: `process_group(0)`) with the
/// watcher behind `pipe`, with [`CRASH_GRACE`] when `grace`. Async-signal-safe: meant for
/// `pre_exec`, so the child is watched before it runs any code of its own.
pub fn register_self(pipe: BorrowedFd<'_>, grace: bool) -> io::Result<()> {
    let pgid = nix::unistd::getpgrp().as_raw();
    if pgid <= 1 {
        return Err(io::Error::from_raw_os_error(Errno::EINVAL as i32));
    }
    let mut buf = [0u8; LINE_MAX];
    let line = format_line(if grace { b'~' } else { b'+' }, pgid, &mut buf);
    loop {
        match nix::unistd::write(pipe, line) {
            Ok(n) if n == line.len() => return Ok(()),
            // A pipe write below PIPE_BUF is all or nothing; anything else is a broken pipe.
            Ok(_) => return Err(io::Error::from_raw_os_error(Errno::EPIPE as i32)),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(io::Error::from_raw_os_error(e as i32)),
        }
    }
}

/// One line read from the supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Watch(Pgid),
    /// Watch, with [`CRASH_GRACE`] for a command in flight.
    WatchGrace(Pgid),
    Forget(Pgid),
}

/// `+ PGID`, `~ PGID` or `- PGID`, digits only, group above 1; anything else is `None`.
fn parse_line(line: &[u8]) -> Option<Order> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let (op, digits) = match line {
        [op, b' ', digits @ ..] => (*op, digits),
        _ => return None,
    };
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let pgid: i32 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    if pgid <= 1 {
        return None;
    }
    match op {
        b'+' => Some(Order::Watch(Pgid(pgid))),
        b'~' => Some(Order::WatchGrace(Pgid(pgid))),
        b'-' => Some(Order::Forget(Pgid(pgid))),
        _ => None,
    }
}

/// Whether any process is left in `pgid` (signal 0 probes without sending).
fn group_exists(pgid: Pgid) -> bool {
    !matches!(killpg(Pid::from_raw(pgid.0), None), Err(Errno::ESRCH))
}

/// Reads orders until end-of-file (or a read error: the supervisor is gone either way) and
/// returns the groups still registered, each with whether it has grace. Each new
/// registration first drops groups that have emptied, so a registration never withdrawn (a
/// child whose `exec` failed) cannot linger until its number is reused.
fn read_orders(mut input: impl BufRead) -> BTreeMap<Pgid, bool> {
    let mut groups = BTreeMap::new();
    let mut line = Vec::with_capacity(LINE_MAX);
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
        match parse_line(&line) {
            Some(Order::Watch(pgid)) => {
                groups.retain(|&g, _| group_exists(g));
                groups.insert(pgid, false);
            }
            Some(Order::WatchGrace(pgid)) => {
                groups.retain(|&g, _| group_exists(g));
                groups.insert(pgid, true);
            }
            Some(Order::Forget(pgid)) => {
                groups.remove(&pgid);
            }
            None => {}
        }
    }
    groups
}

/// Live pids (other than ours) whose environment has `SUPERVISOR_ENV=tag`.
pub fn tagged(tag: &str) -> Vec<i32> {
    procfs::other_environs()
        .into_iter()
        .filter(|(_, env)| procfs::env_has(env, SUPERVISOR_ENV, Some(tag)))
        .map(|(pid, _)| pid)
        .collect()
}

/// How long after the supervisor died a graced codex that runs no command may still start
/// one: the model's reply asking for it may have reached codex a moment before we died
/// (on a loaded machine, codex had not yet forked it when the watcher looked), and a
/// command it runs and records is one the resumed turn need not pay a request to redo.
pub const START_WINDOW: Duration = Duration::from_millis(1500);

/// The groups registered with grace whose leader (the process whose pid is the group's
/// id: the codex we started) runs a command now, i.e. has a child, or starts one within
/// `start_window`: the only ones worth waiting for. Every ungraced group is SIGKILLed at
/// once, every graced one with no command by the end of the window then. Then waits, up
/// to `grace`, for the leaders running a command to end on their own: with the command
/// done, codex records its result, finds the model gone (we served its endpoint) and ends
/// the turn, flushing its rollout. Waiting for that, not for a fixed moment after the
/// command, is what holds on a loaded machine. The caller kills whatever is left.
fn let_commands_finish(groups: &BTreeMap<Pgid, bool>, grace: Duration, start_window: Duration) {
    let started = std::time::Instant::now();
    let running_command =
        |pgid: Pgid| procfs::is_live(pgid.0) && !procfs::children(pgid.0).is_empty();
    for (&pgid, _) in groups.iter().filter(|&(_, &graced)| !graced) {
        let _ = killpg(Pid::from_raw(pgid.0), Signal::SIGKILL);
    }
    let mut undecided: Vec<Pgid> = groups
        .iter()
        .filter(|&(&pgid, &graced)| graced && procfs::is_live(pgid.0))
        .map(|(&pgid, _)| pgid)
        .collect();
    let mut waiting = Vec::new();
    loop {
        undecided.retain(|&pgid| {
            if running_command(pgid) {
                waiting.push(pgid);
                false
            } else {
                procfs::is_live(pgid.0)
            }
        });
        if undecided.is_empty() || started.elapsed() >= start_window {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for &pgid in &undecided {
        let _ = killpg(Pid::from_raw(pgid.0), Signal::SIGKILL);
    }
    let deadline = started + grace;
    while waiting.iter().any(|g| procfs::is_live(g.0)) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGKILLs the registered groups, then the tagged processes; a few rounds, since a process
/// may fork while we kill its parent.
fn kill_all(groups: &BTreeMap<Pgid, bool>, tag: &str) {
    for _ in 0..5 {
        let mut found = false;
        for &pgid in groups.keys() {
            if killpg(Pid::from_raw(pgid.0), Signal::SIGKILL).is_ok()
                && !procfs::group_members(pgid).is_empty()
            {
                found = true;
            }
        }
        for pid in tagged(tag) {
            found = true;
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        if !found {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `codex-teams __reap TAG`: the watcher's body (see the module doc).
pub fn reap_main(tag: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        !tag.is_empty() && !tag.contains('='),
        "__reap needs a tag (got {tag:?})"
    );
    for sig in [Signal::SIGINT, Signal::SIGHUP, Signal::SIGQUIT] {
        // SAFETY: installing SIG_IGN runs no handler code.
        unsafe { signal(sig, SigHandler::SigIgn) }
            .map_err(|e| anyhow::anyhow!("cannot ignore {sig}: {e}"))?;
    }
    let groups = read_orders(io::stdin().lock());
    let_commands_finish(&groups, CRASH_GRACE, START_WINDOW);
    kill_all(&groups, tag);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    use std::process::Child;
    use std::time::Instant;

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

    /// `sh -c script` leading its own group, with `env` added.
    fn spawn_group(script: &str, env: &[(&str, &str)]) -> Child {
        Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("spawn sh")
    }

    fn kill_group(pgid: Pgid) {
        let _ = killpg(Pid::from_raw(pgid.0), Signal::SIGKILL);
    }

    #[test]
    fn lines_are_digits_only() {
        let table: &[(&[u8], Option<Order>)] = &[
            (b"+ 42\n", Some(Order::Watch(Pgid(42)))),
            (b"- 42\n", Some(Order::Forget(Pgid(42)))),
            (b"+ 2147483647", Some(Order::Watch(Pgid(i32::MAX)))),
            (b"+ 2147483648\n", None),
            (b"+ 1\n", None),
            (b"+ 0\n", None),
            (b"+ -5\n", None),
            (b"+ 4 2\n", None),
            (b"+ 42; rm -rf /\n", None),
            (b"* 42\n", None),
            (b"+42\n", None),
            (b"+ \n", None),
            (b"\n", None),
        ];
        for (line, want) in table {
            assert_eq!(
                parse_line(line),
                *want,
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
        let mut buf = [0u8; LINE_MAX];
        for pgid in [2, 10, 99_999, i32::MAX] {
            let line = format_line(b'+', pgid, &mut buf).to_vec();
            assert_eq!(parse_line(&line), Some(Order::Watch(Pgid(pgid))));
        }
    }

    #[test]
    fn orders_keep_registered_live_groups() {
        let ours = nix::unistd::getpgrp().as_raw();
        let gone = i32::MAX - 1; // no such group
        let input = format!(
            "+ {gone}\n+ 77777777\n- 77777777\njunk\n+ 1\n+ {ours}\n+ 3333333\n- 3333333\n"
        );
        let groups = read_orders(io::Cursor::new(input));
        // `gone` was dropped when the next group registered, as it had no process.
        assert_eq!(
            groups.into_iter().collect::<Vec<_>>(),
            vec![(Pgid(ours), false)]
        );
        let graced = read_orders(io::Cursor::new(format!("~ {ours}\n")));
        assert_eq!(graced.get(&Pgid(ours)), Some(&true));
    }

    /// After our death, a group registered with grace finishes the command its leader runs
    /// (its result reaches disk) before the watcher kills it; without grace, the same
    /// command dies at once. A command past the grace is cut short.
    #[test]
    fn a_graced_group_finishes_its_command_then_dies() {
        let dir = tempfile::tempdir().unwrap();
        let run = |name: &str, graced: bool, grace: Duration, secs: &str| {
            let out = dir.path().join(name);
            // After its command the leader lives on a moment with no child, then ends, as
            // codex does (it finds the model gone and ends its turn).
            let script = format!("sleep {secs}; echo done > {}; exec sleep 1", out.display());
            let mut leader = spawn_group(&script, &[]);
            let pgid = Pgid(leader.id() as i32);
            let groups = BTreeMap::from([(pgid, graced)]);
            assert!(wait_until(Duration::from_secs(5), || !procfs::children(
                pgid.0
            )
            .is_empty()));
            let started = Instant::now();
            let_commands_finish(&groups, grace, Duration::ZERO);
            kill_all(&groups, "no-such-tag");
            let _ = leader.wait();
            let members_left = procfs::group_members(pgid).len();
            (out.exists(), started.elapsed(), members_left)
        };
        let (done, took, left) = run("graced", true, Duration::from_secs(10), "0.5");
        assert!(done, "the graced command did not finish");
        assert!(
            took < Duration::from_secs(8),
            "waited past the leader's end: {took:?}"
        );
        assert_eq!(left, 0);
        let (done, took, left) = run("plain", false, Duration::from_secs(10), "0.5");
        assert!(!done, "an ungraced command ran on");
        assert!(took < Duration::from_millis(400), "{took:?}");
        assert_eq!(left, 0);
        let (done, _, left) = run("late", true, Duration::from_millis(300), "3");
        assert!(!done, "a command past the grace ran on");
        assert_eq!(left, 0);
    }

    /// A graced codex given a command just before we died has not forked it yet when the
    /// watcher looks: it may still start it within the window and finish it; one that
    /// starts nothing is killed when the window ends, not after the whole grace.
    #[test]
    fn a_graced_group_may_start_its_command_within_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let run = |name: &str, delay: &str| {
            let out = dir.path().join(name);
            // The leader itself waits (a builtin `read` on a fifo: no child), then runs the
            // command, then lives on a moment with no child, as codex does.
            let fifo = dir.path().join(format!("{name}.fifo"));
            assert!(
                Command::new("mkfifo")
                    .arg(&fifo)
                    .status()
                    .unwrap()
                    .success()
            );
            let script = format!(
                "exec bash -c 'exec 3<> {fifo}; read -t {delay} <&3; sleep 0.3; echo done > {out}; read -t 1 <&3'",
                fifo = fifo.display(),
                out = out.display()
            );
            let mut leader = spawn_group(&script, &[]);
            let pgid = Pgid(leader.id() as i32);
            let groups = BTreeMap::from([(pgid, true)]);
            let started = Instant::now();
            let_commands_finish(
                &groups,
                Duration::from_secs(10),
                Duration::from_millis(1500),
            );
            kill_all(&groups, "no-such-tag");
            let _ = leader.wait();
            (
                out.exists(),
                started.elapsed(),
                procfs::group_members(pgid).len(),
            )
        };
        let (done, took, left) = run("soon", "0.3");
        assert!(done, "a command started within the window did not finish");
        assert!(took < Duration::from_secs(8), "{took:?}");
        assert_eq!(left, 0);
        let (done, took, left) = run("never", "30");
        assert!(!done);
        assert!(
            took < Duration::from_secs(4),
            "a leader with no command outlived the window: {took:?}"
        );
        assert_eq!(left, 0);
    }

    #[test]
    fn closing_the_pipe_kills_registered_groups_and_tagged_processes() {
        let reaper = Reaper::start().unwrap();
        let tag = reaper.tag.clone();
        // Registered, and its processes dropped the tag: only the group can catch them.
        let mut registered = spawn_group(
            "env -u CODEX_TEAMS_SUPERVISOR sleep 300 & env -u CODEX_TEAMS_SUPERVISOR sleep 300; wait",
            &[(SUPERVISOR_ENV, &tag)],
        );
        // Tagged, in a group nobody registered: only the tag can catch it.
        let mut tagged_only = spawn_group("exec sleep 300", &[(SUPERVISOR_ENV, &tag)]);
        // Registered then withdrawn, and untagged: must be left alone.
        let mut withdrawn = spawn_group("exec sleep 300", &[]);
        let reg = Pgid(registered.id() as i32);
        let tg = Pgid(tagged_only.id() as i32);
        let wd = Pgid(withdrawn.id() as i32);
        assert!(wait_until(Duration::from_secs(5), || {
            procfs::group_members(reg).len() == 3
        }));
        reaper.register(reg).unwrap();
        reaper.register(wd).unwrap();
        reaper.unregister(wd).unwrap();
        reaper.check().unwrap();
        assert!(procfs::is_live(reaper.pid() as i32));

        // Dropping the handle closes the pipe, exactly as our death would.
        drop(reaper);
        let all_gone = wait_until(Duration::from_secs(10), || {
            procfs::group_members(reg).is_empty() && procfs::group_members(tg).is_empty()
        });
        let left = (procfs::group_members(reg), procfs::group_members(tg));
        // Never leave strays behind, even when failing.
        kill_group(reg);
        kill_group(tg);
        let _ = (registered.wait(), tagged_only.wait());
        let spared = procfs::group_members(wd);
        kill_group(wd);
        let _ = withdrawn.wait();
        assert!(all_gone, "survivors (registered, tagged): {left:?}");
        assert_eq!(spared.len(), 1, "the withdrawn group must be left alone");
    }

    #[test]
    fn a_child_registers_itself_before_exec() {
        let reaper = Reaper::start().unwrap();
        let fd = reaper.registration().as_raw_fd();
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", "sleep 300 & sleep 300; wait"])
            .stdin(Stdio::null())
            .process_group(0);
        // SAFETY: `register_self` only makes async-signal-safe calls; the fd outlives the
        // spawn (the reaper is alive until the end of this test).
        unsafe {
            cmd.pre_exec(move || register_self(BorrowedFd::borrow_raw(fd), false));
        }
        let mut child = cmd.spawn().unwrap();
        let pgid = Pgid(child.id() as i32);
        assert!(wait_until(Duration::from_secs(5), || {
            procfs::group_members(pgid).len() == 3
        }));
        // No `register` from this side: the child's own line is what the watcher acts on.
        drop(reaper);
        let gone = wait_until(Duration::from_secs(10), || {
            procfs::group_members(pgid).is_empty()
        });
        kill_group(pgid);
        let _ = child.wait();
        assert!(gone, "the self-registered group survived the watcher");
    }

    #[test]
    fn refuses_nonsense_groups() {
        let reaper = Reaper::start().unwrap();
        let err = reaper.register(Pgid(0)).unwrap_err();
        assert!(err.to_string().contains("process group 0"), "{err}");
        assert!(matches!(
            reaper.register(Pgid(1)),
            Err(ReaperError::BadGroup(1))
        ));
    }

    #[test]
    fn tagged_finds_only_the_tag() {
        let tag = format!("test-{:016x}", rand::random::<u64>());
        let mut child = Command::new("sleep")
            .arg("30")
            .env(SUPERVISOR_ENV, &tag)
            .spawn()
            .unwrap();
        assert!(wait_until(Duration::from_secs(5), || tagged(&tag)
            == vec![child.id() as i32]));
        assert!(tagged("some-other-tag").is_empty());
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(tagged(&tag).is_empty());
    }
}

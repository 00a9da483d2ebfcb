//! Child processes the supervisor owns: spawned in their own process group, tied to our life,
//! read line by line, and stopped as a whole group.
//!
//! Three layers keep a child from outliving us (SPEC §3, issue 5 item 6):
//! 1. `PR_SET_PDEATHSIG(SIGKILL)` on the direct child. The kernel sends it when the *thread*
//!    that forked the child exits, not the process, so every spawn goes through one
//!    long-lived spawner thread that never exits while the process lives.
//! 2. The [watcher](super::reaper) SIGKILLs every registered process group, then every
//!    process carrying its tag, when our end of its pipe closes. That covers grandchildren
//!    (codex's native binary under the npm launcher, the shell commands codex runs) that
//!    PDEATHSIG does not reach. Each child registers its group itself between fork and
//!    exec, so none runs a line of its own code unwatched.
//! 3. [`sweep`] on the next start kills what is left of recorded groups, after checking
//!    each process carries our [`MARKER_ENV`] so a reused group id is never hit.
//!
//! One bounded exception: a codex turn ([`SpawnSpec::crash_grace`]) gets no PDEATHSIG, and
//! the watcher (and the next start's sweep) first lets the shell command it is running
//! finish, up to [`reaper::CRASH_GRACE`], and codex end its turn by itself, so the result
//! is in its rollout and the resumed turn goes on from it. The group is then killed as any
//! other. Such a child also keeps a copy of the read end of its own stdout and stderr
//! pipes: once we are gone, codex's next line of output would otherwise fail with EPIPE,
//! and codex answers that by aborting the turn, command and all ("aborted by user").

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::net::unix::pipe;
use tokio::process::{Child, Command};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use super::procfs;
use super::reaper::{self, Reaper, ReaperError};

/// Environment variable set on every child (and inherited by its descendants) so that a
/// sweep can tell our processes from strangers that happen to reuse a group id.
pub const MARKER_ENV: &str = "CODEX_TEAMS_MARKER";

/// Default bound on captured stderr: enough for codex's error report, never unbounded.
pub const DEFAULT_STDERR_LIMIT: usize = 64 * 1024;

/// How long to wait for a group to vanish after SIGKILL before calling it a failure.
const KILL_WAIT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(20);

pub use super::procfs::{Pgid, group_members};

/// A child's stdout, line by line.
pub type StdoutLines = Lines<BufReader<pipe::Receiver>>;

/// How much a graced child may write after we died before its writes block: codex prints
/// one JSON line per item, a few KiB for the rest of a turn.
const KEPT_PIPE_BYTES: i32 = 1 << 20;

/// Everything needed to start one supervised child.
#[derive(Debug, Clone)]
pub struct SpawnSpec {
    /// Program to run (path or name looked up in PATH).
    pub program: OsString,
    /// Arguments after the program name.
    pub args: Vec<OsString>,
    /// Working directory; the supervisor's own when `None`.
    pub cwd: Option<PathBuf>,
    /// Extra environment on top of ours (tokens, CODEX_HOME, ...).
    pub env: Vec<(OsString, OsString)>,
    /// Value of [`MARKER_ENV`]; typically the team id, so a sweep can be scoped to one run.
    pub marker: String,
    /// Bytes of stderr to keep (the tail).
    pub stderr_limit: usize,
    /// Register the group with the process-wide watcher ([`Reaper::global`]) and tag the
    /// child with its [`reaper::SUPERVISOR_ENV`]. Only tests turn this off, to show what
    /// PDEATHSIG alone does.
    pub watch: bool,
    /// Bytes written to the child's stdin, which is then closed (`None`: /dev/null). How a
    /// prompt reaches codex without appearing in `ps` for every local user to read.
    pub stdin: Option<Vec<u8>>,
    /// A codex turn: if we die, the watcher lets a shell command it is running finish
    /// (up to [`reaper::CRASH_GRACE`]) before it kills the group, so the result is in
    /// codex's rollout for the resumed turn. Such a child gets no PDEATHSIG (it would die
    /// with us at once); the watcher, and the next start's sweep, still reach it. Only with
    /// `watch`.
    pub crash_grace: bool,
}

impl SpawnSpec {
    /// A spec with no arguments, the default stderr bound and the watcher on.
    pub fn new(program: impl Into<OsString>, marker: impl Into<String>) -> Self {
        SpawnSpec {
            program: program.into(),
            args: Vec::new(),
            cwd: None,
            env: Vec::new(),
            marker: marker.into(),
            stderr_limit: DEFAULT_STDERR_LIMIT,
            watch: true,
            stdin: None,
            crash_grace: false,
        }
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Adds one environment variable.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_os_string(), value.as_ref().to_os_string()));
        self
    }

    /// Sets the working directory.
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }
}

/// Why starting or stopping a child failed.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The OS refused to start the program.
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        /// The program as given.
        program: String,
        /// The OS error.
        source: io::Error,
    },
    /// The marker is what makes a sweep safe; an empty one would match nothing reliably.
    #[error("a supervised child needs a non-empty marker ({MARKER_ENV})")]
    EmptyMarker,
    /// The watcher could not be started or reached.
    #[error("the process watcher is unavailable")]
    Watcher(#[from] ReaperError),
    /// Sending a signal failed for a reason other than "no such group".
    #[error("cannot signal process group {pgid}: {source}")]
    Signal {
        /// The group.
        pgid: i32,
        /// The OS error.
        source: Errno,
    },
    /// Processes survived SIGKILL (stuck in the kernel, or not ours to kill).
    #[error("process group {pgid} still has live processes {pids:?} after SIGKILL")]
    Survivors {
        /// The group.
        pgid: i32,
        /// Who is left.
        pids: Vec<i32>,
    },
}

/// How a group ended under [`terminate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    /// Nothing was running in the group any more.
    AlreadyGone,
    /// Every process left after SIGTERM, within the grace period.
    Exited,
    /// Something ignored SIGTERM for the whole grace period and was SIGKILLed.
    Killed,
}

// ---------------------------------------------------------------------------------------
// Spawning

struct SpawnJob {
    command: Command,
    handle: Handle,
    reply: oneshot::Sender<io::Result<Child>>,
}

/// The one thread that forks every child, so PDEATHSIG is tied to a thread that lives as
/// long as the process (tokio's blocking-pool threads retire after 10 s idle, which would
/// kill their children with them).
fn spawner() -> &'static std_mpsc::Sender<SpawnJob> {
    static SPAWNER: OnceLock<std_mpsc::Sender<SpawnJob>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = std_mpsc::channel::<SpawnJob>();
        std::thread::Builder::new()
            .name("codex-teams-spawner".into())
            .spawn(move || {
                for mut job in rx {
                    let result = {
                        let _entered = job.handle.enter();
                        job.command.spawn()
                    };
                    if let Err(Ok(mut orphan)) = job.reply.send(result) {
                        // The caller gave up waiting: do not leave the child running.
                        if let Some(pid) = orphan.id() {
                            let _ = killpg(Pid::from_raw(pid as i32), Signal::SIGKILL);
                        }
                        let _entered = job.handle.enter();
                        let _ = orphan.start_kill();
                    }
                }
            })
            .expect("cannot start the spawner thread");
        tx
    })
}

/// Starts `spec` in its own process group with PDEATHSIG set, stdin at /dev/null, stdout
/// piped for line reading and stderr captured (bounded). Must be called inside a tokio
/// runtime.
pub async fn spawn(spec: SpawnSpec) -> Result<Supervised, ProcessError> {
    if spec.marker.is_empty() {
        return Err(ProcessError::EmptyMarker);
    }
    let watcher = if spec.watch {
        let watcher = Reaper::global()?;
        watcher.check()?;
        Some(watcher)
    } else {
        None
    };
    let program = spec.program.to_string_lossy().into_owned();
    let failed = |source| ProcessError::Spawn {
        program: program.clone(),
        source,
    };
    let (command, outputs) = build_command(&spec, watcher).map_err(failed)?;
    let mut child = start_on_spawner(command, &program).await?;
    if let (Some(bytes), Some(mut pipe)) = (spec.stdin.clone(), child.stdin.take()) {
        // Written from a task so a child that reads slowly never blocks us; closing the
        // pipe afterwards is the end of the prompt.
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let _ = pipe.write_all(&bytes).await;
            let _ = pipe.shutdown().await;
        });
    }
    let pid = child.id().expect("a just-spawned child has a pid");
    let pgid = Pgid(pid as i32);
    let receiver = |fd: std::io::PipeReader| pipe::Receiver::from_owned_fd(fd.into());
    let stdout = Some(BufReader::new(receiver(outputs.stdout).map_err(failed)?).lines());
    let mut err_pipe = receiver(outputs.stderr).map_err(failed)?;
    let stderr = StderrTail::new(spec.stderr_limit);
    let tail = stderr.clone();
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        loop {
            match err_pipe.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => tail.push(&buf[..n]),
            }
        }
    });
    Ok(Supervised {
        child,
        pid,
        pgid,
        stdout,
        stderr,
        watcher,
        finished: false,
    })
}

/// Our ends of a child's stdout and stderr pipes.
struct Outputs {
    stdout: std::io::PipeReader,
    stderr: std::io::PipeReader,
}

/// The command for `spec`: its own process group, our marker (and the watcher's tag), its
/// stdout and stderr on pipes we made, and between fork and exec PDEATHSIG plus the
/// registration with the watcher. A graced child (see [`SpawnSpec::crash_grace`]) instead
/// keeps the read ends of its output pipes open across exec (and a larger pipe buffer), so
/// what it prints after we died still has a reader.
fn build_command(
    spec: &SpawnSpec,
    watcher: Option<&'static Reaper>,
) -> io::Result<(Command, Outputs)> {
    use std::os::fd::AsRawFd;
    let (out_r, out_w) = std::io::pipe()?;
    let (err_r, err_w) = std::io::pipe()?;
    let mut command = Command::new(&spec.program);
    command
        .args(&spec.args)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .env(MARKER_ENV, &spec.marker)
        .stdin(if spec.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::from(out_w))
        .stderr(Stdio::from(err_w))
        .kill_on_drop(false)
        .process_group(0);
    if let Some(cwd) = &spec.cwd {
        command.current_dir(cwd);
    }
    if let Some(watcher) = watcher {
        command.env(reaper::SUPERVISOR_ENV, &watcher.tag);
    }
    let registration = watcher.map(Reaper::registration);
    let grace = spec.crash_grace && registration.is_some();
    let kept = [out_r.as_raw_fd(), err_r.as_raw_fd()];
    let parent = std::process::id() as i32;
    // SAFETY: the closure only makes async-signal-safe system calls (prctl, fcntl, getppid,
    // getpgrp, write) and builds io::Errors from raw codes, which does not allocate. The
    // raw fds it borrows are open in the child: they are the parent's, copied by fork.
    unsafe {
        command.pre_exec(move || {
            use nix::fcntl::{FcntlArg, FdFlag, fcntl};
            use std::os::fd::BorrowedFd;
            let os_err = |e: Errno| io::Error::from_raw_os_error(e as i32);
            if grace {
                for fd in kept {
                    let fd = BorrowedFd::borrow_raw(fd);
                    fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty())).map_err(os_err)?;
                }
                // Best effort: the default 64 KiB is enough for most turns too.
                for fd in [1, 2] {
                    let _ = fcntl(
                        BorrowedFd::borrow_raw(fd),
                        FcntlArg::F_SETPIPE_SZ(KEPT_PIPE_BYTES),
                    );
                }
            } else {
                nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(os_err)?;
            }
            // We may have died between fork and prctl; then nobody would ever kill us.
            if nix::unistd::getppid().as_raw() != parent {
                return Err(io::Error::from_raw_os_error(Errno::ESRCH as i32));
            }
            // Watched before the program runs; if the exec then fails, the watcher drops
            // the empty group at its next registration.
            if let Some(pipe) = registration {
                reaper::register_self(pipe, grace)?;
            }
            Ok(())
        });
    }
    Ok((
        command,
        Outputs {
            stdout: out_r,
            stderr: err_r,
        },
    ))
}

/// Forks on the long-lived spawner thread (PDEATHSIG follows the forking thread) and
/// returns the child.
async fn start_on_spawner(command: Command, program: &str) -> Result<Child, ProcessError> {
    let (reply, response) = oneshot::channel();
    let failed = |source| ProcessError::Spawn {
        program: program.to_string(),
        source,
    };
    spawner()
        .send(SpawnJob {
            command,
            handle: Handle::current(),
            reply,
        })
        .map_err(|_| failed(io::Error::other("spawner thread is gone")))?;
    response
        .await
        .map_err(|_| failed(io::Error::other("spawner thread dropped the request")))?
        .map_err(failed)
}

/// A running child and its process group. Dropping it without [`Supervised::wait`] or
/// [`Supervised::terminate`] SIGKILLs the group: an abandoned child is never left running.
#[derive(Debug)]
pub struct Supervised {
    child: Child,
    pid: u32,
    pgid: Pgid,
    stdout: Option<StdoutLines>,
    stderr: StderrTail,
    watcher: Option<&'static Reaper>,
    finished: bool,
}

impl Supervised {
    /// The leader's pid.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The child's process group (equal to its pid): what the store records for a sweep.
    pub fn pgid(&self) -> Pgid {
        self.pgid
    }

    /// Next stdout line without its newline; `None` at end of stream or after
    /// [`Supervised::take_stdout`].
    pub async fn next_line(&mut self) -> io::Result<Option<String>> {
        match self.stdout.as_mut() {
            Some(lines) => lines.next_line().await,
            None => Ok(None),
        }
    }

    /// Hands the stdout line reader to another task (e.g. the event pump) so this handle can
    /// still be used to wait or terminate.
    pub fn take_stdout(&mut self) -> Option<StdoutLines> {
        self.stdout.take()
    }

    /// A handle on the captured stderr tail, readable at any time.
    pub fn stderr(&self) -> StderrTail {
        self.stderr.clone()
    }

    /// Waits for the leader to exit. The group stays watched while anything else in it lives.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        let status = self.child.wait().await?;
        if group_members(self.pgid).is_empty() {
            self.release();
        }
        Ok(status)
    }

    /// Stops the whole group (see [`terminate`]) and reaps the leader.
    pub async fn terminate(
        &mut self,
        grace: Duration,
    ) -> Result<(Termination, ExitStatus), ProcessError> {
        let outcome = terminate(self.pgid, grace).await?;
        let status = self
            .child
            .wait()
            .await
            .map_err(|source| ProcessError::Spawn {
                program: format!("pid {}", self.pid),
                source,
            })?;
        self.release();
        Ok((outcome, status))
    }

    fn release(&mut self) {
        if !self.finished {
            self.finished = true;
            if let Some(watcher) = self.watcher {
                let _ = watcher.unregister(self.pgid);
            }
        }
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        if !self.finished {
            let _ = killpg(Pid::from_raw(self.pgid.0), Signal::SIGKILL);
            let _ = self.child.start_kill();
            if let Some(watcher) = self.watcher {
                let _ = watcher.unregister(self.pgid);
            }
        }
    }
}

/// The last `limit` bytes of a child's stderr, shared between the reader task and whoever
/// reports the child's failure.
#[derive(Debug, Clone)]
pub struct StderrTail {
    inner: Arc<Mutex<TailBuf>>,
}

#[derive(Debug)]
struct TailBuf {
    bytes: VecDeque<u8>,
    limit: usize,
    dropped: u64,
}

impl StderrTail {
    fn new(limit: usize) -> Self {
        StderrTail {
            inner: Arc::new(Mutex::new(TailBuf {
                bytes: VecDeque::new(),
                limit,
                dropped: 0,
            })),
        }
    }

    fn push(&self, data: &[u8]) {
        let mut buf = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        buf.bytes.extend(data);
        let excess = buf.bytes.len().saturating_sub(buf.limit);
        if excess > 0 {
            buf.bytes.drain(..excess);
            buf.dropped += excess as u64;
        }
    }

    /// The kept tail, decoded lossily.
    pub fn text(&self) -> String {
        let buf = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (a, b) = buf.bytes.as_slices();
        let mut all = Vec::with_capacity(a.len() + b.len());
        all.extend_from_slice(a);
        all.extend_from_slice(b);
        String::from_utf8_lossy(&all).into_owned()
    }

    /// How many earlier bytes were discarded to respect the bound.
    pub fn dropped_bytes(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).dropped
    }
}

// ---------------------------------------------------------------------------------------
// Stopping

/// Live processes whose environment carries `MARKER_ENV=marker`: how tests and `status`
/// find children of a run regardless of their group.
pub fn marked_processes(marker: &str) -> Vec<i32> {
    procfs::stats()
        .into_iter()
        .filter(|(pid, stat)| stat.live() && has_marker(*pid, Some(marker)))
        .map(|(pid, _)| pid)
        .collect()
}

/// SIGTERM to the whole group, up to `grace` for it to empty, then SIGKILL. Returns once no
/// live process is left in the group.
pub async fn terminate(pgid: Pgid, grace: Duration) -> Result<Termination, ProcessError> {
    if group_members(pgid).is_empty() {
        return Ok(Termination::AlreadyGone);
    }
    if !signal_group(pgid, Signal::SIGTERM)? {
        return Ok(Termination::AlreadyGone);
    }
    if wait_empty(pgid, grace).await {
        return Ok(Termination::Exited);
    }
    signal_group(pgid, Signal::SIGKILL)?;
    if wait_empty(pgid, KILL_WAIT).await {
        Ok(Termination::Killed)
    } else {
        Err(ProcessError::Survivors {
            pgid: pgid.0,
            pids: group_members(pgid),
        })
    }
}

/// What [`sweep`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// (group, pid) of our processes that were SIGKILLed.
    pub killed: Vec<(Pgid, i32)>,
    /// (group, pid) of live processes in a recorded group that are not ours: left alone.
    pub foreign: Vec<(Pgid, i32)>,
    /// Our processes still alive after the kill (should be empty).
    pub survivors: Vec<i32>,
}

/// For the restart path: kills what is left of the recorded groups of a previous run.
/// Only processes whose environment has [`MARKER_ENV`] (equal to `marker` when given) are
/// killed, one pid at a time, so a group id reused by an unrelated program is never touched.
pub async fn sweep(groups: &[Pgid], marker: Option<&str>) -> SweepReport {
    let mut report = SweepReport::default();
    // The dead run's watcher may be letting a codex turn finish the command it ran
    // (`reaper::CRASH_GRACE`) and end by itself: wait, as long as the watcher would, for
    // the codex leaders of these groups to go, so each result reaches its rollout and the
    // resumed turn need not run the command again. The watcher kills the others at once.
    let leader_left = || {
        groups
            .iter()
            .any(|g| g.0 > 1 && procfs::is_live(g.0) && has_marker(g.0, marker))
    };
    let deadline = Instant::now() + reaper::CRASH_GRACE;
    while leader_left() && Instant::now() < deadline {
        tokio::time::sleep(POLL).await;
    }
    // Several rounds: a process may fork between our scan and its kill.
    for _ in 0..5 {
        let mut found = false;
        for &pgid in groups {
            if pgid.0 <= 1 {
                continue;
            }
            for pid in group_members(pgid) {
                if has_marker(pid, marker) {
                    found = true;
                    if kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok()
                        && !report.killed.contains(&(pgid, pid))
                    {
                        report.killed.push((pgid, pid));
                    }
                } else if !report.foreign.contains(&(pgid, pid)) {
                    report.foreign.push((pgid, pid));
                }
            }
        }
        if !found {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    let deadline = Instant::now() + KILL_WAIT;
    loop {
        let left: Vec<i32> = report
            .killed
            .iter()
            .map(|&(_, pid)| pid)
            .filter(|&pid| procfs::is_live(pid) && has_marker(pid, marker))
            .collect();
        if left.is_empty() || Instant::now() >= deadline {
            report.survivors = left;
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    report
}

/// Sends `signal` to the group; `Ok(false)` when the group no longer exists.
fn signal_group(pgid: Pgid, signal: Signal) -> Result<bool, ProcessError> {
    if pgid.0 <= 1 {
        return Err(ProcessError::Signal {
            pgid: pgid.0,
            source: Errno::EINVAL,
        });
    }
    match killpg(Pid::from_raw(pgid.0), signal) {
        Ok(()) => Ok(true),
        Err(Errno::ESRCH) => Ok(false),
        Err(source) => Err(ProcessError::Signal {
            pgid: pgid.0,
            source,
        }),
    }
}

async fn wait_empty(pgid: Pgid, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if group_members(pgid).is_empty() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Whether `pid`'s environment carries [`MARKER_ENV`] (equal to `marker` when given).
fn has_marker(pid: i32, marker: Option<&str>) -> bool {
    procfs::has_env(pid, MARKER_ENV, marker)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;

    fn unique_marker(tag: &str) -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        format!("test-{tag}-{}-{nanos}", std::process::id())
    }

    async fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if cond() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        cond()
    }

    fn sh(script: &str, marker: &str) -> SpawnSpec {
        SpawnSpec::new("/bin/sh", marker).args(["-c", script])
    }

    #[tokio::test]
    async fn stdout_is_read_line_by_line_and_stderr_is_bounded() {
        let marker = unique_marker("lines");
        let mut spec = sh(
            "echo one; echo two; i=0; while [ $i -lt 200 ]; do echo err-$i >&2; i=$((i+1)); done; echo three",
            &marker,
        );
        spec.stderr_limit = 100;
        let mut child = spawn(spec).await.unwrap();
        assert_eq!(child.pgid().0, child.pid() as i32);
        let mut lines = Vec::new();
        while let Some(line) = child.next_line().await.unwrap() {
            lines.push(line);
        }
        assert_eq!(lines, ["one", "two", "three"]);
        assert!(child.wait().await.unwrap().success());
        let tail = child.stderr();
        assert!(wait_for(Duration::from_secs(5), || tail.text().contains("err-199")).await);
        assert!(tail.text().len() <= 100);
        assert!(tail.dropped_bytes() > 0);
        assert!(!tail.text().contains("err-0\n"));
    }

    /// A graced child (a codex turn) still has a reader for its output once ours is gone,
    /// as after our death: its next line does not fail (codex aborts its turn, command and
    /// all, on EPIPE; a shell dies of SIGPIPE). An ungraced one dies of it.
    #[tokio::test]
    async fn a_graced_child_outlives_its_reader() {
        let dir = tempfile::tempdir().unwrap();
        for graced in [true, false] {
            let out = dir.path().join(format!("graced-{graced}"));
            let script = format!("sleep 0.3; echo line; echo done > {}", out.display());
            let mut spec = sh(&script, &unique_marker("kept"));
            spec.crash_grace = graced;
            let mut child = spawn(spec).await.unwrap();
            drop(child.take_stdout());
            child.wait().await.unwrap();
            assert_eq!(out.exists(), graced, "graced: {graced}");
        }
    }

    #[tokio::test]
    async fn child_gets_env_cwd_and_marker() {
        let marker = unique_marker("env");
        let dir = tempfile::tempdir().unwrap();
        let spec = sh("echo \"$CODEX_TEAMS_MARKER|$FOO|$(pwd)\"", &marker)
            .env("FOO", "bar")
            .cwd(dir.path());
        let mut child = spawn(spec).await.unwrap();
        let line = child.next_line().await.unwrap().unwrap();
        let cwd = dir.path().canonicalize().unwrap();
        assert_eq!(line, format!("{marker}|bar|{}", cwd.display()));
        child.wait().await.unwrap();
    }

    #[tokio::test]
    async fn spawn_errors_name_the_program() {
        let err = spawn(SpawnSpec::new("/no/such/program", "m"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("/no/such/program"), "{err}");
        let err = spawn(SpawnSpec::new("/bin/true", "")).await.unwrap_err();
        assert!(matches!(err, ProcessError::EmptyMarker));
    }

    #[tokio::test]
    async fn terminate_removes_grandchildren() {
        let marker = unique_marker("grand");
        let mut child = spawn(sh("sleep 300 & sleep 300; wait", &marker))
            .await
            .unwrap();
        let pgid = child.pgid();
        assert!(wait_for(Duration::from_secs(5), || group_members(pgid).len() == 3).await);
        assert_eq!(marked_processes(&marker).len(), 3);
        let (outcome, status) = child.terminate(Duration::from_secs(5)).await.unwrap();
        assert_eq!(outcome, Termination::Exited);
        assert!(!status.success());
        assert!(group_members(pgid).is_empty());
        assert!(marked_processes(&marker).is_empty());
        // A second terminate finds nothing to do.
        assert_eq!(
            terminate(pgid, Duration::from_millis(10)).await.unwrap(),
            Termination::AlreadyGone
        );
    }

    #[tokio::test]
    async fn sigterm_ignorers_are_killed_after_grace() {
        let marker = unique_marker("trap");
        let mut child = spawn(sh("trap '' TERM; sleep 300 & sleep 300; wait", &marker))
            .await
            .unwrap();
        let pgid = child.pgid();
        assert!(wait_for(Duration::from_secs(5), || group_members(pgid).len() == 3).await);
        let grace = Duration::from_millis(600);
        let start = Instant::now();
        let (outcome, _) = child.terminate(grace).await.unwrap();
        assert_eq!(outcome, Termination::Killed);
        assert!(
            start.elapsed() >= grace,
            "SIGKILL came before the grace ran out"
        );
        assert!(group_members(pgid).is_empty());
        assert!(marked_processes(&marker).is_empty());
    }

    #[tokio::test]
    async fn dropping_a_handle_kills_its_group() {
        let marker = unique_marker("drop");
        let child = spawn(sh("sleep 300 & sleep 300; wait", &marker))
            .await
            .unwrap();
        let pgid = child.pgid();
        assert!(wait_for(Duration::from_secs(5), || group_members(pgid).len() == 3).await);
        drop(child);
        assert!(
            wait_for(Duration::from_secs(5), || marked_processes(&marker)
                .is_empty())
            .await
        );
    }

    #[tokio::test]
    async fn sweep_kills_ours_and_spares_strangers() {
        use std::os::unix::process::CommandExt;
        let marker = unique_marker("sweep");
        let mut ours = spawn(sh("sleep 300 & sleep 300; wait", &marker))
            .await
            .unwrap();
        let ours_pg = ours.pgid();
        assert!(wait_for(Duration::from_secs(5), || group_members(ours_pg).len() == 3).await);
        // A stranger: same kind of group, no marker.
        struct Reap(std::process::Child);
        impl Drop for Reap {
            fn drop(&mut self) {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
        let stranger = std::process::Command::new("sleep")
            .arg("300")
            .env_remove(MARKER_ENV)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        let stranger = Reap(stranger);
        let stranger_pg = Pgid(stranger.0.id() as i32);
        // Another run's child: marked, but with a different marker value.
        let other_marker = unique_marker("sweep-other");
        let mut other = spawn(sh("exec sleep 300", &other_marker)).await.unwrap();
        let other_pg = other.pgid();

        let report = sweep(&[ours_pg, stranger_pg, other_pg], Some(&marker)).await;
        assert_eq!(report.killed.len(), 3, "{report:?}");
        assert!(report.survivors.is_empty());
        assert!(
            report
                .foreign
                .contains(&(stranger_pg, stranger.0.id() as i32))
        );
        assert!(report.foreign.iter().any(|(pg, _)| *pg == other_pg));
        assert!(group_members(ours_pg).is_empty());
        assert_eq!(group_members(stranger_pg), vec![stranger.0.id() as i32]);
        assert_eq!(group_members(other_pg).len(), 1);
        ours.wait().await.unwrap();

        // Without a marker value, any codex-teams child counts as ours.
        let report = sweep(&[other_pg, stranger_pg], None).await;
        assert_eq!(report.killed.len(), 1, "{report:?}");
        other.wait().await.unwrap();
        assert_eq!(group_members(stranger_pg).len(), 1);
        drop(stranger);
    }

    /// Runs the named helper test of this binary in a child process and returns the
    /// `READY` line it prints once its supervised child is up.
    #[expect(
        clippy::zombie_processes,
        reason = "the helper is returned to the caller, which kills and waits for it"
    )]
    fn start_helper(
        test_name: &str,
        marker: &str,
        script: &str,
        watch: bool,
    ) -> (std::process::Child, String) {
        let exe = std::env::current_exe().unwrap();
        let mut helper = std::process::Command::new(exe)
            .args([
                test_name,
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(HELPER_MARKER, marker)
            .env(HELPER_SCRIPT, script)
            .env(HELPER_WATCH, if watch { "1" } else { "0" })
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = helper.stdout.take().unwrap();
        let mut reader = io::BufReader::new(stdout);
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap() == 0 {
                let status = helper.wait();
                panic!("helper ended before READY: {status:?}");
            }
            // libtest prints "test NAME ... " without a newline before the test's output.
            if let Some(at) = line.find("READY ") {
                return (helper, line[at..].trim().to_string());
            }
        }
    }

    const HELPER_MARKER: &str = "CODEX_TEAMS_TEST_HELPER_MARKER";
    const HELPER_SCRIPT: &str = "CODEX_TEAMS_TEST_HELPER_SCRIPT";
    const HELPER_WATCH: &str = "CODEX_TEAMS_TEST_HELPER_WATCH";

    /// Not a test by itself: the body of the helper process used by the `kill -9` tests.
    #[test]
    #[ignore = "entry point of a helper process; does nothing when run directly"]
    fn kill9_helper() {
        let (Ok(marker), Ok(script)) = (std::env::var(HELPER_MARKER), std::env::var(HELPER_SCRIPT))
        else {
            return;
        };
        let watch = std::env::var(HELPER_WATCH).as_deref() == Ok("1");
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let mut spec = sh(&script, &marker);
            spec.watch = watch;
            let child = spawn(spec).await.unwrap();
            println!("READY {}", child.pgid().0);
            std::mem::forget(child);
            tokio::time::sleep(Duration::from_secs(600)).await;
        });
    }

    /// Starts a helper that supervises `script`, waits for `expected` processes in the
    /// child's group (`escaped` of them without our marker and tag in their environment),
    /// SIGKILLs the helper and checks that nothing marked and nothing of the group survives.
    async fn kill9_leaves_no_survivor(
        tag: &str,
        script: &str,
        (expected, escaped): (usize, usize),
        watch: bool,
    ) {
        let marker = unique_marker(tag);
        let (mut helper, ready) = start_helper(
            "supervisor::process::tests::kill9_helper",
            &marker,
            script,
            watch,
        );
        let pgid = Pgid(ready["READY ".len()..].parse().unwrap());
        let bare = || {
            group_members(pgid)
                .into_iter()
                .filter(|&pid| {
                    !has_marker(pid, None) && !procfs::has_env(pid, reaper::SUPERVISOR_ENV, None)
                })
                .count()
        };
        // Until `env -u` has exec'd its program, that process still carries our environment.
        assert!(
            wait_for(Duration::from_secs(5), || group_members(pgid).len()
                == expected
                && bare() == escaped)
            .await,
            "child group never came up as {expected} processes, {escaped} without marker and tag: {:?}, {} bare",
            group_members(pgid),
            bare()
        );
        assert!(marked_processes(&marker).len() >= expected - escaped);
        kill(Pid::from_raw(helper.id() as i32), Signal::SIGKILL).unwrap();
        helper.wait().unwrap();
        let gone = wait_for(Duration::from_secs(10), || {
            marked_processes(&marker).is_empty() && group_members(pgid).is_empty()
        })
        .await;
        let left = (marked_processes(&marker), group_members(pgid));
        if !left.1.is_empty() {
            let _ = killpg(Pid::from_raw(pgid.0), Signal::SIGKILL);
        }
        // Never leave strays behind, even when failing.
        sweep(&[pgid], Some(&marker)).await;
        assert!(
            gone,
            "processes survived the supervisor's SIGKILL: {left:?}"
        );
    }

    #[tokio::test]
    async fn kill9_of_supervisor_takes_the_whole_group_down() {
        kill9_leaves_no_survivor("kill9-group", "sleep 300 & sleep 300; wait", (3, 0), true).await;
    }

    #[tokio::test]
    async fn kill9_of_supervisor_takes_down_group_members_that_left_the_environment() {
        // The sleeps carry neither tag nor marker and PDEATHSIG does not reach them: only the
        // watcher's group registration can.
        let bare = "env -u CODEX_TEAMS_SUPERVISOR -u CODEX_TEAMS_MARKER sleep 300";
        let script = format!("{bare} & {bare} & wait");
        kill9_leaves_no_survivor("kill9-env-u", &script, (3, 2), true).await;
    }

    #[tokio::test]
    async fn kill9_pdeathsig_alone_takes_the_direct_child_down() {
        kill9_leaves_no_survivor("kill9-direct", "exec sleep 300", (1, 0), false).await;
    }

    #[tokio::test]
    async fn kill9_of_supervisor_takes_real_codex_and_its_native_child_down() {
        // Under Node < 22.15 the npm launcher runs the native codex as a grandchild, which
        // PDEATHSIG on the launcher cannot reach; the watcher must.
        let home = tempfile::tempdir().unwrap();
        let codex = crate::supervisor::testutil::pinned_codex();
        let script = format!(
            "CODEX_HOME='{}' exec '{}' exec --json --skip-git-repo-check \
             -c model_provider=mock -c 'model_providers.mock.name=\"mock\"' \
             -c 'model_providers.mock.base_url=\"http://127.0.0.1:9/v1\"' \
             -c 'model_providers.mock.wire_api=\"responses\"' hello >/dev/null 2>&1",
            home.path().display(),
            codex.display()
        );
        let expected = if node_spawns_native_child() { 2 } else { 1 };
        kill9_leaves_no_survivor("kill9-codex", &script, (expected, 0), true).await;
    }

    /// Whether the npm launcher keeps node alive above the native binary (no
    /// `process.execve`, Node older than 22.15).
    fn node_spawns_native_child() -> bool {
        let Ok(out) = std::process::Command::new("node").arg("--version").output() else {
            return false;
        };
        let version = String::from_utf8_lossy(&out.stdout);
        let mut parts = version.trim().trim_start_matches('v').split('.');
        let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        major < 22 || (major == 22 && minor < 15) || major == 23 && minor < 11
    }
}

//! One codex turn of one agent: start `codex exec` (or `exec resume`) in its own process
//! group, read its JSONL as it comes, store every event, record the turn's token usage as
//! a difference of codex's running totals, and report how the process ended. The caller
//! decides what the agent's state becomes.

use std::ffi::OsString;
use std::sync::Arc;
use std::time::Duration;

use codex_teams_mcp::TeamHub;
use codex_teams_store::{AgentState, Usage as StoreUsage};
use serde_json::Value;

use super::events::{ExecEvent, ItemKind, Usage, UsageMeter};
use super::process::{self, Pgid, SpawnSpec};

/// Everything needed to run one turn.
#[derive(Debug)]
pub struct TurnSpec {
    pub team_id: String,
    pub agent_id: String,
    /// The codex binary as found (the npm launcher is replaced by its native binary).
    pub program: std::path::PathBuf,
    /// Arguments from `ExecCommand::start_args` or `resume_args`.
    pub args: Vec<String>,
    /// Environment on top of ours: the token, the agent's identity for `/proc` lookups.
    pub env: Vec<(OsString, OsString)>,
    /// Working directory.
    pub cwd: std::path::PathBuf,
    /// `CODEX_TEAMS_MARKER` value, so a later sweep recognises the processes as ours.
    pub marker: String,
    /// Running totals the thread had before this turn (zero for a new thread).
    pub meter: UsageMeter,
    /// A turn running longer is stopped.
    pub timeout: Option<Duration>,
    /// Grace between SIGTERM and SIGKILL when the turn is stopped.
    pub grace: Duration,
    /// The thread's session rollout, for per-response usage as it happens.
    pub rollout: super::rollout::RolloutTail,
    /// The prompt, written to codex's stdin (the args end in `-`).
    pub stdin: String,
    /// The metering proxy's route for this turn, when its provider is metered there: what
    /// it recorded replaces the rollout's count. Dropped with the spec, closing the route.
    pub metered: Option<super::meter::MeterTurn>,
    /// For a turn the proxy does not meter: called with the turn's tokens so far after each
    /// response read from the rollout, so the budget is checked while the turn runs.
    pub on_response: Option<ResponseHook>,
}

/// A callback with the turn's tokens so far (input + output).
#[derive(Clone)]
pub struct ResponseHook(pub Arc<dyn Fn(u64) + Send + Sync>);

impl std::fmt::Debug for ResponseHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseHook")
    }
}

/// Usage read from the rollout during a turn, shared by the poller and the event pump.
struct Metered {
    tail: super::rollout::RolloutTail,
    /// Sum of the responses recorded this turn.
    recorded: Usage,
    /// The thread's running total after the latest response seen.
    last_total: Option<Usage>,
    /// `turn.completed` reconciled the turn (or it ended): no more recording.
    done: bool,
}

impl Metered {
    fn drain(&mut self) -> Vec<Usage> {
        let new = self.tail.poll();
        for r in &new {
            self.recorded += r.last;
            self.last_total = Some(r.total);
        }
        new.into_iter().map(|r| r.last).collect()
    }
}

fn minus(a: Usage, b: Usage) -> Usage {
    Usage {
        input_tokens: a.input_tokens.saturating_sub(b.input_tokens),
        cached_input_tokens: a.cached_input_tokens.saturating_sub(b.cached_input_tokens),
        cache_write_input_tokens: a
            .cache_write_input_tokens
            .saturating_sub(b.cache_write_input_tokens),
        output_tokens: a.output_tokens.saturating_sub(b.output_tokens),
        reasoning_output_tokens: a
            .reasoning_output_tokens
            .saturating_sub(b.reasoning_output_tokens),
    }
}

/// Writes one piece of an agent's usage to the store and the log; `what` names the source.
pub(crate) async fn record(
    hub: &Arc<TeamHub>,
    team: &str,
    agent: &str,
    u: Usage,
    what: &'static str,
) {
    if u.input_tokens == 0 && u.output_tokens == 0 && u.cached_input_tokens == 0 {
        return;
    }
    let (t, a) = (team.to_string(), agent.to_string());
    let su = store_usage(u);
    if let Err(e) = hub.with_store(move |s| s.record_usage(&t, &a, su)).await {
        tracing::error!(target: "codex_teams::supervisor", event = "usage.error", team_id = %team, agent_id = %agent, error = %e);
    }
    tracing::info!(target: "codex_teams::supervisor", event = "usage.recorded", team_id = %team, agent_id = %agent, source = what,
        input = u.input_tokens, cached_input = u.cached_input_tokens, output = u.output_tokens);
}

/// How a turn ended.
#[derive(Debug, Clone, Default)]
pub struct TurnOutcome {
    /// From `thread.started`; `None` if codex never got that far.
    pub thread_id: Option<String>,
    /// The thread's running totals after the turn (seed for the next resume).
    pub totals: Usage,
    /// A `turn.completed` arrived.
    pub completed: bool,
    /// The process exited with status 0.
    pub exit_ok: bool,
    /// Human-readable reason when not both of the above.
    pub failure: Option<String>,
    /// The last `agent_message` text.
    pub last_message: Option<String>,
    /// Stopped for running past the turn timeout.
    pub timed_out: bool,
}

impl TurnOutcome {
    /// A clean end: the turn completed and codex exited 0.
    pub fn ok(&self) -> bool {
        self.completed && self.exit_ok && self.thread_id.is_some()
    }
}

fn store_usage(u: Usage) -> StoreUsage {
    let i = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    StoreUsage {
        input_tokens: i(u.input_tokens),
        cached_input_tokens: i(u.cached_input_tokens),
        output_tokens: i(u.output_tokens),
        reasoning_output_tokens: i(u.reasoning_output_tokens),
    }
}

/// Runs one turn to its end. `started` is called with the process group as soon as the
/// child exists (the caller records it so a stop can reach it).
pub async fn run_turn(
    hub: Arc<TeamHub>,
    spec: TurnSpec,
    started: impl FnOnce(Pgid),
) -> TurnOutcome {
    let mut child = match start_codex(&spec).await {
        Ok(c) => c,
        Err(e) => {
            return TurnOutcome {
                totals: spec.meter.totals(),
                failure: Some(format!("cannot start codex: {e}")),
                ..TurnOutcome::default()
            };
        }
    };
    let pgid = child.pgid();
    started(pgid);
    let (team, agent) = (spec.team_id.clone(), spec.agent_id.clone());
    {
        let (t, a) = (team.clone(), agent.clone());
        let _ = hub
            .with_store(move |s| s.set_agent_state(&t, &a, AgentState::Running, None, Some(pgid.0)))
            .await;
    }
    tracing::info!(target: "codex_teams::supervisor", event = "turn.started", team_id = %team, agent_id = %agent, pgid = pgid.0);
    let mut lines = child.take_stdout();
    let before = spec.meter.totals();
    let metered = Arc::new(std::sync::Mutex::new(Metered {
        tail: spec.rollout.clone(),
        recorded: Usage::default(),
        last_total: None,
        done: false,
    }));
    let poller = spawn_poller(&hub, &spec, metered.clone());
    let mut reader = Reader {
        hub: &hub,
        spec: &spec,
        pgid,
        meter: spec.meter,
        metered: &metered,
        out: TurnOutcome {
            totals: before,
            ..TurnOutcome::default()
        },
        errors: Vec::new(),
    };
    let pump = async {
        let Some(lines) = lines.as_mut() else { return };
        while let Ok(Some(line)) = lines.next_line().await {
            reader.line(line.trim()).await;
        }
    };
    let timed_out = match spec.timeout {
        Some(limit) => tokio::time::timeout(limit, pump).await.is_err(),
        None => {
            pump.await;
            false
        }
    };
    let status = if timed_out {
        child.terminate(spec.grace).await.ok().map(|(_, st)| st)
    } else {
        child.wait().await.ok()
    };
    let (mut out, errors) = (reader.out, reader.errors);
    out.timed_out = timed_out;
    out.exit_ok = status.is_some_and(|s| s.success());
    settle_usage(&hub, &spec, &metered, before, &mut out).await;
    poller.abort();
    if !out.ok() {
        let base = out
            .failure
            .take()
            .unwrap_or_else(|| match (timed_out, status) {
                (true, _) => "turn timed out".to_string(),
                (false, Some(st)) => format!("codex exited with {st}"),
                (false, None) => "codex could not be waited for".to_string(),
            });
        out.failure = Some(failure_reason(&base, &errors, &child.stderr().text()));
    }
    stop_leftovers(&spec, pgid).await;
    tracing::info!(target: "codex_teams::supervisor", event = "turn.ended", team_id = %spec.team_id, agent_id = %spec.agent_id,
        ok = out.ok(), failure = out.failure.as_deref().unwrap_or(""));
    out
}

/// Starts codex for the turn, its prompt on stdin, in a process group of its own.
async fn start_codex(spec: &TurnSpec) -> Result<process::Supervised, process::ProcessError> {
    // The native binary behind the npm launcher, resolved once: no Node parent per worker.
    let launch = codex_teams_codex_exec::resolve_codex(&spec.program);
    let grace = launch.native || !is_script(&launch.program);
    let mut sspec = SpawnSpec::new(launch.program, spec.marker.clone())
        .args(spec.args.clone())
        .cwd(spec.cwd.clone());
    // Grace to finish a command in flight if we crash, when codex itself leads the group
    // (the watcher reads "a command runs" as "the leader has a child"; a script launcher
    // always has one, codex).
    sspec.crash_grace = grace;
    sspec.env.extend(launch.env);
    sspec.env.extend(spec.env.iter().cloned());
    sspec.stdin = Some(spec.stdin.clone().into_bytes());
    process::spawn(sspec).await
}

/// Whether `program` (looked up in PATH if bare) starts with `#!`: an interpreter runs it,
/// so codex would not lead its own process group.
fn is_script(program: &std::path::Path) -> bool {
    use std::io::Read as _;
    let path = if program.components().count() > 1 {
        Some(program.to_path_buf())
    } else {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(program))
                .find(|p| p.is_file())
        })
    };
    let mut head = [0u8; 2];
    path.and_then(|p| std::fs::File::open(p).ok())
        .and_then(|mut f| f.read_exact(&mut head).ok())
        .is_some_and(|()| &head == b"#!")
}

/// Reads the rollout every 250 ms while the turn runs, recording each response's usage as
/// it appears (and telling the budget hook), so a killed turn loses none of it.
fn spawn_poller(
    hub: &Arc<TeamHub>,
    spec: &TurnSpec,
    m: Arc<std::sync::Mutex<Metered>>,
) -> tokio::task::JoinHandle<()> {
    let (hub, t, a) = (hub.clone(), spec.team_id.clone(), spec.agent_id.clone());
    let hook = spec.on_response.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let (new, so_far) = {
                let mut g = m.lock().unwrap_or_else(|p| p.into_inner());
                if g.done {
                    break;
                }
                let new = g.drain();
                (new, g.recorded.input_tokens + g.recorded.output_tokens)
            };
            let any = !new.is_empty();
            for u in new {
                record(&hub, &t, &a, u, "rollout").await;
            }
            if let (true, Some(h)) = (any, &hook) {
                (h.0)(so_far);
            }
        }
    })
}

/// A turn that ended without `turn.completed` (killed, stopped, timed out) keeps every
/// response codex logged; the thread's total after them seeds the next resume.
async fn settle_usage(
    hub: &Arc<TeamHub>,
    spec: &TurnSpec,
    metered: &std::sync::Mutex<Metered>,
    before: Usage,
    out: &mut TurnOutcome,
) {
    let (new, last_total) = {
        let mut g = metered.lock().unwrap_or_else(|p| p.into_inner());
        let new = if g.done { Vec::new() } else { g.drain() };
        g.done = true;
        (new, g.last_total)
    };
    for u in new {
        record(hub, &spec.team_id, &spec.agent_id, u, "rollout").await;
    }
    if !out.completed {
        if let Some(m) = &spec.metered {
            // The proxy saw every response of the killed turn, the last one included.
            out.totals = before;
            out.totals += m.recorded();
        } else if let Some(total) = last_total {
            out.totals = total;
        }
    }
}

/// Codex's own grandchildren (shell commands) may outlive the leader: stop the group, then
/// anything of this agent that left it.
async fn stop_leftovers(spec: &TurnSpec, pgid: Pgid) {
    if !process::group_members(pgid).is_empty() {
        let _ = process::terminate(pgid, spec.grace).await;
    }
    let (t, a) = (spec.team_id.clone(), spec.agent_id.clone());
    let strays = tokio::task::spawn_blocking(move || kill_agent_strays(&t, &a))
        .await
        .unwrap_or(0);
    if strays > 0 {
        tracing::info!(target: "codex_teams::supervisor", event = "turn.strays_killed", team_id = %spec.team_id, agent_id = %spec.agent_id, count = strays);
    }
}

/// Reads one turn's JSONL: what the outcome needs, usage at `turn.completed`, and every
/// event (but streaming deltas) into the store.
struct Reader<'a> {
    hub: &'a Arc<TeamHub>,
    spec: &'a TurnSpec,
    pgid: Pgid,
    meter: UsageMeter,
    metered: &'a std::sync::Mutex<Metered>,
    out: TurnOutcome,
    /// Codex's own `error` events and error items ("stream disconnected", "unexpected
    /// status 401", ...): what the lead needs to hear when a worker dies.
    errors: Vec<String>,
}

impl Reader<'_> {
    async fn line(&mut self, line: &str) {
        let (team, agent) = (&self.spec.team_id, &self.spec.agent_id);
        if line.is_empty() {
            return;
        }
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            tracing::warn!(target: "codex_teams::supervisor", event = "codex.unparsed", team_id = %team, agent_id = %agent, line = %codex_teams_mcp::redact::preview(line, 200));
            return;
        };
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string();
        let event = ExecEvent::from_value(value);
        match &event {
            ExecEvent::ThreadStarted { thread_id } => self.thread_started(thread_id).await,
            ExecEvent::TurnCompleted { usage } => self.turn_completed(*usage).await,
            ExecEvent::TurnFailed { message } => {
                self.out.failure = Some(format!("turn failed: {message}"));
            }
            ExecEvent::Error { message } => note_error(&mut self.errors, message),
            ExecEvent::ItemCompleted(item) => match &item.kind {
                ItemKind::AgentMessage { text } => self.out.last_message = Some(text.clone()),
                ItemKind::Error { message } => note_error(&mut self.errors, message),
                _ => {}
            },
            _ => {}
        }
        // Streaming deltas add nothing a replay needs.
        if kind == "item.updated" {
            return;
        }
        let (t, a) = (team.clone(), agent.clone());
        let payload = super::digest::digest(&event);
        let _ = self
            .hub
            .with_store(move |s| s.append_event(&t, Some(&a), &format!("codex.{kind}"), &payload))
            .await;
    }

    async fn thread_started(&mut self, thread_id: &str) {
        self.out.thread_id = Some(thread_id.to_string());
        self.metered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .tail
            .set_thread(thread_id);
        let (t, a, th) = (
            self.spec.team_id.clone(),
            self.spec.agent_id.clone(),
            thread_id.to_string(),
        );
        let pgid = self.pgid.0;
        let _ = self
            .hub
            .with_store(move |s| {
                s.set_agent_state(&t, &a, AgentState::Running, Some(&th), Some(pgid))
            })
            .await;
    }

    /// What the rollout showed was recorded as it came; codex's own turn total settles the
    /// rest (all of it, if the rollout was unreadable).
    async fn turn_completed(&mut self, usage: Usage) {
        let (team, agent) = (&self.spec.team_id, &self.spec.agent_id);
        let delta = self.meter.turn_completed(usage);
        self.out.completed = true;
        self.out.totals = self.meter.totals();
        let (new, recorded) = {
            let mut g = self.metered.lock().unwrap_or_else(|p| p.into_inner());
            g.done = true;
            let new = g.drain();
            let recorded = match &self.spec.metered {
                Some(m) => m.recorded(),
                None => g.recorded,
            };
            (new, recorded)
        };
        for u in new {
            record(self.hub, team, agent, u, "rollout").await;
        }
        record(
            self.hub,
            team,
            agent,
            minus(delta, recorded),
            "turn.completed",
        )
        .await;
        tracing::info!(target: "codex_teams::supervisor", event = "turn.usage", team_id = %team, agent_id = %agent,
            input = delta.input_tokens, cached_input = delta.cached_input_tokens, output = delta.output_tokens);
    }
}

fn note_error(errors: &mut Vec<String>, message: &str) {
    let m = message.trim();
    // Harmless, sent for every model codex has no metadata for (codex-facts §1).
    if m.starts_with("Model metadata for") {
        return;
    }
    if !m.is_empty() && !errors.iter().any(|e| e == m) {
        errors.push(m.to_string());
        if errors.len() > 4 {
            errors.remove(0);
        }
    }
}

/// One line for the lead about why a turn failed: codex's verdict, its last distinct error
/// events, and the meaningful end of its stderr (codex's own warnings about helper binaries
/// and blank lines dropped), redacted and bounded so it fits a bus message.
pub fn failure_reason(base: &str, errors: &[String], stderr: &str) -> String {
    let mut parts = vec![base.to_string()];
    for e in errors {
        if !base.contains(e.as_str()) {
            parts.push(format!("codex error: {e}"));
        }
    }
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("WARNING: proceeding, even though"))
        .collect();
    let tail = lines[lines.len().saturating_sub(3)..].join(" | ");
    if !tail.is_empty() && !parts.iter().any(|p| p.contains(&tail)) {
        parts.push(format!("stderr: {tail}"));
    }
    codex_teams_mcp::redact::preview(&parts.join("; "), 900)
}

/// Live processes (other than us) whose environment carries our marker, with the marker's
/// value and the agent id, read from `/proc`. Codex's shell snapshot and commands may leave
/// their own process groups (e.g. a login shell's background `pyenv rehash`), so a group
/// kill alone does not reach them; the environment they inherit does.
pub fn marked_strays() -> Vec<(i32, String, Option<String>)> {
    let marker_prefix = format!("{}=", process::MARKER_ENV);
    let mut out = Vec::new();
    for (pid, raw) in super::procfs::other_environs() {
        let mut marker = None;
        let mut agent = None;
        for kv in raw.split(|b| *b == 0) {
            if let Some(v) = kv.strip_prefix(marker_prefix.as_bytes()) {
                marker = Some(String::from_utf8_lossy(v).into_owned());
            } else if let Some(v) = kv.strip_prefix(b"CODEX_TEAMS_AGENT_ID=") {
                agent = Some(String::from_utf8_lossy(v).into_owned());
            }
        }
        if let Some(m) = marker {
            out.push((pid, m, agent));
        }
    }
    out
}

/// SIGKILLs what is left of one agent's turn once its codex has exited.
pub fn kill_agent_strays(team_id: &str, agent_id: &str) -> usize {
    kill_until_none(|m, a| m == team_id && a == Some(agent_id))
}

/// SIGKILLs every process of a team (by marker).
pub fn kill_team_strays(team_id: &str) -> usize {
    kill_until_none(|m, _| m == team_id)
}

/// Scans and kills until a scan finds nothing (at most a few rounds): a shell being killed
/// can fork one more child (a login shell's background `pyenv rehash`, seen here) after the
/// scan that listed it, and that child would outlive the turn and its slot.
fn kill_until_none(mut matches: impl FnMut(&str, Option<&str>) -> bool) -> usize {
    let mut killed = 0;
    for _ in 0..5 {
        let pids: Vec<i32> = marked_strays()
            .into_iter()
            .filter(|(_, m, a)| matches(m, a.as_deref()))
            .map(|(p, _, _)| p)
            .collect();
        if pids.is_empty() {
            break;
        }
        killed += kill_pids(&pids);
    }
    killed
}

/// SIGKILLs `pids` and waits (up to 2 s) until none is alive, so a freed worker slot never
/// overlaps with the dying processes of the turn that held it.
fn kill_pids(pids: &[i32]) -> usize {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let n = pids
        .iter()
        .filter(|p| kill(Pid::from_raw(**p), Signal::SIGKILL).is_ok())
        .count();
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while pids.iter().any(|p| super::procfs::is_live(*p)) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    n
}

#[cfg(test)]
mod failure_tests {
    use super::*;

    #[test]
    fn the_lead_hears_codex_errors_and_the_end_of_stderr() {
        let mut errors = Vec::new();
        note_error(&mut errors, "Model metadata for `m` not found");
        note_error(
            &mut errors,
            "Reconnecting... 1/5 (stream disconnected: connection refused)",
        );
        note_error(
            &mut errors,
            "Reconnecting... 1/5 (stream disconnected: connection refused)",
        );
        note_error(
            &mut errors,
            "unexpected status 401 Unauthorized: key sk-abcdefghijklmnopqrstuv",
        );
        let stderr = "WARNING: proceeding, even though we could not create PATH aliases\n\nError: mcp_servers.team: url is not supported for stdio\nsecond\nthird\n";
        let r = failure_reason("codex exited with exit status: 1", &errors, stderr);
        assert!(
            r.starts_with("codex exited with exit status: 1; codex error: Reconnecting"),
            "{r}"
        );
        assert_eq!(r.matches("Reconnecting").count(), 1, "{r}");
        assert!(r.contains("401 Unauthorized"), "{r}");
        assert!(
            !r.contains("sk-abcdefghijklmnopqrstuv"),
            "secret redacted: {r}"
        );
        assert!(!r.contains("Model metadata"), "{r}");
        assert!(
            r.contains(
                "stderr: Error: mcp_servers.team: url is not supported for stdio | second | third"
            ),
            "{r}"
        );
        assert!(!r.contains("PATH aliases"), "{r}");
        let long = "x".repeat(5000);
        assert!(failure_reason(&long, &[], "").chars().count() <= 901);
    }
}

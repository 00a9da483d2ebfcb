//! Runs the real `codex exec --json` against a mock-model server, in a throwaway
//! `CODEX_HOME`, and hands back its parsed events: the one way our tests drive Codex.

pub use codex_teams_codex_exec::events;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::AsyncReadExt;

pub use codex_teams_codex_exec::binary::{
    CODEX_VERSION, CodexNotFound, find_codex, project_codex_path, workspace_root,
};
pub use codex_teams_codex_exec::events::{ExecEvent, Item, ItemKind, Usage};

/// A configured codex: binary, temporary `CODEX_HOME` pointing at the mock server,
/// working directory, extra `-c` flags and environment.
#[derive(Debug)]
pub struct Codex {
    bin: PathBuf,
    dir: tempfile::TempDir,
    workdir: PathBuf,
    model: String,
    configs: Vec<String>,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    timeout: Duration,
}

/// What one `codex exec` run produced.
#[derive(Debug, Clone)]
pub struct CodexRun {
    /// Exit code (`None` when killed by a signal).
    pub exit_code: Option<i32>,
    /// Parsed stdout events, in order.
    pub events: Vec<ExecEvent>,
    /// Stdout lines that were not JSON events.
    pub other_stdout: Vec<String>,
    /// Everything codex wrote to stderr.
    pub stderr: String,
}

impl CodexRun {
    /// Whether codex exited 0.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// The thread id from `thread.started`.
    pub fn thread_id(&self) -> Option<&str> {
        self.events.iter().find_map(ExecEvent::thread_id)
    }

    /// The last `agent_message`: codex's final answer.
    pub fn final_message(&self) -> Option<&str> {
        self.completed_items().rev().find_map(|i| match &i.kind {
            ItemKind::AgentMessage { text } => Some(text.as_str()),
            _ => None,
        })
    }

    /// Usage of the last `turn.completed` (the thread's running totals).
    pub fn usage(&self) -> Option<Usage> {
        self.events.iter().rev().find_map(|e| match e {
            ExecEvent::TurnCompleted { usage } => Some(*usage),
            _ => None,
        })
    }

    /// Items of `item.completed` events, in order.
    pub fn completed_items(&self) -> impl DoubleEndedIterator<Item = &Item> {
        self.events.iter().filter_map(|e| match e {
            ExecEvent::ItemCompleted(i) => Some(i),
            _ => None,
        })
    }

    /// `turn.failed` and `error` messages.
    pub fn errors(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter_map(|e| match e {
                ExecEvent::TurnFailed { message } | ExecEvent::Error { message } => {
                    Some(message.as_str())
                }
                _ => None,
            })
            .collect()
    }

    /// `Err` with codex's stderr and error events unless it exited 0 with a completed turn.
    pub fn ensure_success(&self) -> anyhow::Result<&Self> {
        let completed = self
            .events
            .iter()
            .any(|e| matches!(e, ExecEvent::TurnCompleted { .. }));
        if self.success() && completed && self.errors().is_empty() {
            return Ok(self);
        }
        bail!(
            "codex exec failed (exit {:?}, turn completed: {completed}); errors: {:?}; stderr:\n{}",
            self.exit_code,
            self.errors(),
            tail(&self.stderr, 4000)
        )
    }
}

impl Codex {
    /// Finds codex (see [`find_codex`]) and prepares a home whose config uses provider
    /// `mock` at `base_url` (e.g. `MockModelHandle::base_url()`).
    pub fn new(base_url: &str) -> anyhow::Result<Self> {
        Self::with_bin(find_codex()?, base_url)
    }

    /// Like [`Codex::new`] with an explicit binary.
    pub fn with_bin(bin: PathBuf, base_url: &str) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("codex-teams-harness-")
            .tempdir()
            .context("creating a temporary CODEX_HOME")?;
        let home = dir.path().join("home");
        let workdir = dir.path().join("work");
        std::fs::create_dir_all(&home)?;
        std::fs::create_dir_all(&workdir)?;
        let config = format!(
            r#"# Written by codex-teams' test harness: every model request goes to the mock server.
model = "mock-model"
model_provider = "mock"
check_for_update_on_startup = false

[analytics]
enabled = false

[feedback]
enabled = false

[model_providers.mock]
name = "mock"
base_url = {base_url:?}
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
"#
        );
        std::fs::write(home.join("config.toml"), config)?;
        Ok(Codex {
            bin,
            dir,
            workdir,
            model: "mock-model".into(),
            configs: Vec::new(),
            args: Vec::new(),
            envs: Vec::new(),
            timeout: Duration::from_secs(120),
        })
    }

    /// Adds a `-c key=value` override (TOML value), e.g. an MCP server.
    pub fn config(mut self, key_value: impl Into<String>) -> Self {
        self.configs.push(key_value.into());
        self
    }

    /// Adds a raw argument before the prompt (e.g. `--disable`, `multi_agent`).
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Sets an environment variable for codex (e.g. a bearer token).
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// Model slug passed with `-m` (default `mock-model`).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// Working directory codex runs in (default: an empty temporary directory).
    pub fn workdir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.workdir = dir.into();
        self
    }

    /// Kill codex and fail the run after this long (default 120 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The temporary `CODEX_HOME`.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// The working directory.
    pub fn working_dir(&self) -> &Path {
        &self.workdir
    }

    /// The codex binary in use.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// `codex exec --json --skip-git-repo-check ... PROMPT`.
    pub async fn exec(&self, prompt: &str) -> anyhow::Result<CodexRun> {
        let mut argv = self.common_args();
        argv.push(OsString::from("--"));
        argv.push(prompt.into());
        self.run(argv).await
    }

    /// `codex exec --json --skip-git-repo-check ... resume THREAD_ID PROMPT`; the `-c`
    /// overrides are passed again because codex does not remember them across resume.
    pub async fn resume(&self, thread_id: &str, prompt: &str) -> anyhow::Result<CodexRun> {
        let mut argv = self.common_args();
        argv.push("resume".into());
        argv.push(thread_id.into());
        argv.push(prompt.into());
        self.run(argv).await
    }

    fn common_args(&self) -> Vec<OsString> {
        let mut argv: Vec<OsString> = ["exec", "--json", "--skip-git-repo-check", "-m"]
            .iter()
            .map(OsString::from)
            .collect();
        argv.push(self.model.clone().into());
        for c in &self.configs {
            argv.push("-c".into());
            argv.push(c.into());
        }
        argv.extend(self.args.iter().cloned());
        argv
    }

    async fn run(&self, argv: Vec<OsString>) -> anyhow::Result<CodexRun> {
        let mut cmd = tokio::process::Command::new(&self.bin);
        cmd.args(&argv)
            .current_dir(&self.workdir)
            .env("CODEX_HOME", self.home())
            .env_remove("OPENAI_API_KEY")
            .env_remove("CODEX_API_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {}", self.bin.display()))?;
        let pgid = child.id().map(|id| nix::unistd::Pid::from_raw(id as i32));
        let mut stdout = child.stdout.take().context("codex stdout")?;
        let mut stderr = child.stderr.take().context("codex stderr")?;
        let out_task = tokio::spawn(async move {
            let mut buf = Vec::new();
            let _ = stdout.read_to_end(&mut buf).await;
            buf
        });
        let err_task = tokio::spawn(async move {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf).await;
            buf
        });
        let status = match tokio::time::timeout(self.timeout, child.wait()).await {
            Ok(status) => Some(status.context("waiting for codex")?),
            Err(_) => None,
        };
        // Whatever codex left behind (MCP servers, shells) dies with its process group.
        if let Some(pgid) = pgid {
            let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
        }
        let _ = child.wait().await;
        let grace = Duration::from_secs(5);
        let out = tokio::time::timeout(grace, out_task)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let err = tokio::time::timeout(grace, err_task)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let stdout = String::from_utf8_lossy(&out);
        let stderr = String::from_utf8_lossy(&err).into_owned();
        let Some(status) = status else {
            bail!(
                "codex {} timed out after {:?}; stdout:\n{}\nstderr:\n{}",
                display_args(&argv),
                self.timeout,
                tail(&stdout, 4000),
                tail(&stderr, 4000)
            );
        };
        let mut events = Vec::new();
        let mut other_stdout = Vec::new();
        for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
            match ExecEvent::parse(line) {
                Ok(e) => events.push(e),
                Err(_) => other_stdout.push(line.to_owned()),
            }
        }
        Ok(CodexRun {
            exit_code: status.code(),
            events,
            other_stdout,
            stderr,
        })
    }
}

fn display_args(argv: &[OsString]) -> String {
    argv.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_config_points_at_the_server() {
        let codex = Codex::with_bin("/bin/true".into(), "http://127.0.0.1:4242/v1").unwrap();
        let config = std::fs::read_to_string(codex.home().join("config.toml")).unwrap();
        assert!(
            config.contains("base_url = \"http://127.0.0.1:4242/v1\""),
            "{config}"
        );
        assert!(config.contains("wire_api = \"responses\""), "{config}");
        assert!(codex.working_dir().is_dir());
    }
}

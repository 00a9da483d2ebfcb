//! The `codex exec` command line for a lead or worker, first run and resume alike.
//!
//! Codex does not remember `-c` overrides across `exec resume` (codex-facts.md §6), so one
//! [`ExecCommand`] produces both argument lists from the same settings; a resumed worker
//! gets exactly the flags it started with. Every flag here is checked against the pinned
//! codex 0.169.0 by this module's tests (`--strict-config` turns any unknown `-c` key into a
//! hard error there).

use std::ffi::OsString;
use std::path::PathBuf;

use super::model::ModelSettings;
use super::process::SpawnSpec;
use crate::policy::roles::Sandbox;

/// Environment variable carrying an agent's bearer token; codex reads it for the `team`
/// MCP server (`bearer_token_env_var`), so the token never appears in argv or logs.
pub const TOKEN_ENV: &str = "CODEX_TEAMS_TOKEN";

/// Name of the bus MCP server inside codex; tools show up as `mcp__team__*`.
pub const MCP_SERVER: &str = "team";

/// Provider id for the scripted model server. Not one of codex's reserved ids.
pub const SCRIPTED_PROVIDER: &str = "mock";

/// The agent's own endpoint on the team bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamEndpoint {
    /// The MCP server name inside codex ([`MCP_SERVER`] unless the user's config already
    /// uses it; see `supervisor::isolation`).
    pub name: String,
    /// `http://127.0.0.1:PORT/agents/AGENT_ID/mcp`; loopback only.
    pub url: String,
    /// The role's tool subset; `None` offers every tool the server lists.
    pub enabled_tools: Option<Vec<String>>,
    /// Fail the codex run at start if the bus cannot be reached: an agent without the bus
    /// could only burn tokens.
    pub required: bool,
}

/// Everything that decides a codex child's flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecCommand {
    /// `-C`: the team's working directory.
    pub cwd: PathBuf,
    /// Model, provider and effort (after inheritance and role overrides).
    pub model: ModelSettings,
    /// Base URL of the scripted model server (`http://127.0.0.1:PORT/v1`); replaces the
    /// provider with [`SCRIPTED_PROVIDER`]. `None` uses the user's own provider.
    pub scripted_base_url: Option<String>,
    /// The metering proxy's URL for the user's own provider (`-c
    /// model_providers.<provider>.base_url=...`); only with a provider of the user's config.
    pub provider_base_url: Option<String>,
    /// Workers run lean: no native sub-agents, no goals, no web search (codex-facts §5).
    pub lean: bool,
    /// The bus endpoint, if the agent is on a team.
    pub team: Option<TeamEndpoint>,
    /// `-s`; codex's default when `None`.
    pub sandbox: Option<Sandbox>,
    /// `-p NAME`: the lead's codex profile (`$CODEX_HOME/NAME.config.toml`), so workers see
    /// the same provider definitions and settings the lead does.
    pub codex_profile: Option<String>,
    /// MCP servers of the user's config to turn off for this child (`enabled=false`), so it
    /// sees only its own bus tools and can never start a team of its own.
    pub disable_servers: Vec<String>,
    /// `--strict-config`: unknown config keys become errors. For tests and `check-config`;
    /// off for real runs so a user's config written for another codex version still works.
    pub strict_config: bool,
    /// `-c model_instructions_file=...`: base instructions replacing codex's own (a
    /// worker's compact ones, `supervisor::worker_instructions`); codex's when `None`.
    pub instructions_file: Option<PathBuf>,
}

/// An argument list codex would misread, or a non-loopback address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// `-` as the prompt makes codex read stdin, which is /dev/null for our children.
    #[error("the {what} is `-`, which codex reads as \"take the prompt from stdin\"")]
    StdinPrompt {
        /// "prompt" or "resume message".
        what: &'static str,
    },
    /// Empty prompt.
    #[error("the {what} is empty")]
    EmptyPrompt {
        /// "prompt" or "resume message".
        what: &'static str,
    },
    /// A thread id codex could not have produced.
    #[error(
        "thread id `{0}` is not a codex thread id (expected letters, digits and `-`, starting with a letter or digit)"
    )]
    BadThreadId(String),
    /// SPEC: never a network address other than loopback.
    #[error("{what} `{url}` is not a loopback http:// URL (127.0.0.1, [::1] or localhost)")]
    NotLoopback {
        /// Which URL.
        what: &'static str,
        /// The URL given.
        url: String,
    },
    /// A tool name that is not an MCP tool name.
    #[error("tool name `{0}` is not valid (letters, digits, `_` and `-` only)")]
    BadToolName(String),
    /// A model or provider value that would be taken for a flag.
    #[error("{what} `{value}` is not valid")]
    BadValue {
        /// Which setting.
        what: &'static str,
        /// The value.
        value: String,
    },
}

impl ExecCommand {
    /// A command for `cwd` with everything else off; set fields to taste.
    pub fn new(cwd: impl Into<PathBuf>, model: ModelSettings) -> Self {
        ExecCommand {
            cwd: cwd.into(),
            model,
            scripted_base_url: None,
            provider_base_url: None,
            lean: false,
            team: None,
            sandbox: None,
            codex_profile: None,
            disable_servers: Vec::new(),
            strict_config: false,
            instructions_file: None,
        }
    }

    /// Arguments (after the program name) for a first run with `prompt`.
    pub fn start_args(&self, prompt: &str) -> Result<Vec<String>, CommandError> {
        check_prompt(prompt, "prompt")?;
        let mut args = self.common_args()?;
        args.push("--".into());
        args.push(prompt.into());
        Ok(args)
    }

    /// Like [`ExecCommand::start_args`], but the prompt goes to codex on stdin (`-`), so it
    /// is never in the process's argv where `ps` shows it to every local user. Returns the
    /// arguments and the bytes to write.
    pub fn start_args_stdin(&self, prompt: &str) -> Result<(Vec<String>, String), CommandError> {
        check_prompt(prompt, "prompt")?;
        let mut args = self.common_args()?;
        args.extend(["--".into(), "-".into()]);
        Ok((args, prompt.to_string()))
    }

    /// Like [`ExecCommand::resume_args`], with the message on stdin.
    pub fn resume_args_stdin(
        &self,
        thread_id: &str,
        message: &str,
    ) -> Result<(Vec<String>, String), CommandError> {
        let mut args = self.resume_args(thread_id, message)?;
        args.pop();
        args.push("-".into());
        Ok((args, message.to_string()))
    }

    /// Arguments for `codex exec ... resume THREAD_ID MESSAGE`, with the same flags as the
    /// first run (they must be given again).
    pub fn resume_args(&self, thread_id: &str, message: &str) -> Result<Vec<String>, CommandError> {
        check_prompt(message, "resume message")?;
        if !thread_id.starts_with(|c: char| c.is_ascii_alphanumeric())
            || !thread_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(CommandError::BadThreadId(thread_id.into()));
        }
        let mut args = self.common_args()?;
        args.extend([
            "resume".into(),
            "--".into(),
            thread_id.into(),
            message.into(),
        ]);
        Ok(args)
    }

    /// A ready-to-spawn child: `program` with `args`, the token in [`TOKEN_ENV`], the cwd,
    /// and `extra_env` (e.g. `CODEX_HOME`).
    pub fn spawn_spec(
        &self,
        program: impl Into<OsString>,
        args: Vec<String>,
        token: Option<&str>,
        extra_env: &[(OsString, OsString)],
        marker: &str,
    ) -> SpawnSpec {
        let mut spec = SpawnSpec::new(program, marker)
            .args(args)
            .cwd(self.cwd.clone());
        if let Some(token) = token {
            spec = spec.env(TOKEN_ENV, token);
        }
        spec.env.extend(extra_env.iter().cloned());
        spec
    }

    fn common_args(&self) -> Result<Vec<String>, CommandError> {
        let mut a: Vec<String> = vec![
            "exec".into(),
            "--json".into(),
            "--skip-git-repo-check".into(),
        ];
        if self.strict_config {
            a.push("--strict-config".into());
        }
        a.push("-C".into());
        a.push(self.cwd.display().to_string());
        if let Some(profile) = &self.codex_profile {
            check_value("codex profile", profile)?;
            a.push("-p".into());
            a.push(profile.clone());
        }
        if let Some(mode) = self.sandbox {
            a.push("-s".into());
            a.push(mode.as_str().into());
        }
        if let Some(model) = &self.model.model {
            check_value("model", model)?;
            a.push("-m".into());
            a.push(model.clone());
        }
        let mut c = ConfigArgs(a);
        self.provider_config(&mut c)?;
        self.lean_config(&mut c)?;
        self.team_config(&mut c)?;
        let mut a = c.0;
        if self.lean {
            // `agents.enabled=false` yields to `features.multi_agent_v2` (a user's config may
            // turn it on): switch that off too.
            a.extend(
                [
                    "--disable",
                    "multi_agent",
                    "--disable",
                    "multi_agent_v2",
                    "--disable",
                    "goals",
                    "--disable",
                    "sleep_tool",
                ]
                .map(String::from),
            );
        }
        Ok(a)
    }

    /// The model provider: the scripted model's block, or the user's provider (through the
    /// metering proxy when it has a base URL), and the reasoning effort.
    fn provider_config(&self, c: &mut ConfigArgs) -> Result<(), CommandError> {
        match &self.scripted_base_url {
            Some(url) => {
                check_loopback("scripted model URL", url)?;
                let p = SCRIPTED_PROVIDER;
                c.set("model_provider", p.into());
                c.set(&format!("model_providers.{p}.name"), p.into());
                c.set(
                    &format!("model_providers.{p}.base_url"),
                    url.as_str().into(),
                );
                c.set(&format!("model_providers.{p}.wire_api"), "responses".into());
            }
            None => {
                if let Some(provider) = &self.model.provider {
                    check_value("model provider", provider)?;
                    c.set("model_provider", provider.as_str().into());
                    if let Some(url) = &self.provider_base_url {
                        check_loopback("metering proxy URL", url)?;
                        check_server_name(provider)?;
                        c.set(
                            &format!("model_providers.{provider}.base_url"),
                            url.as_str().into(),
                        );
                    }
                }
            }
        }
        if let Some(effort) = &self.model.reasoning_effort {
            check_value("reasoning effort", effort)?;
            c.set("model_reasoning_effort", effort.as_str().into());
        }
        Ok(())
    }

    /// What a worker does without: web search, codex's own sub-agents, secrets in its
    /// shells, the user's MCP servers.
    fn lean_config(&self, c: &mut ConfigArgs) -> Result<(), CommandError> {
        if self.lean {
            c.set("web_search", "disabled".into());
            // `--disable multi_agent` alone does not stop a model codex knows (its default
            // `gpt-6.1-sol` among them) from getting the `collaboration` namespace
            // (`spawn_agent` & co.) and the `<multi_agent_role>` prompt: the model catalog
            // picks the sub-agent version. `[agents].enabled = false` removes them for
            // every model, so no worker can start codex's own sub-agents and the 6-worker
            // cap stays true. Checked by `lean_workers_cannot_spawn_native_sub_agents`.
            c.set("agents.enabled", false.into());
            // Codex's bundled skills (image generation, OpenAI docs, ...) are listed in every
            // request; a worker on a team task never uses them.
            c.set("skills.bundled.enabled", false.into());
        }
        if let Some(file) = &self.instructions_file {
            let file = file.to_str().ok_or(CommandError::BadValue {
                what: "instructions file (not UTF-8)",
                value: file.display().to_string(),
            })?;
            c.set("model_instructions_file", file.into());
        }
        if self.team.is_some() || self.lean {
            // Codex gives shell commands its own environment, bearer token and provider keys
            // included, unless its default excludes (`*KEY*`, `*SECRET*`, `*TOKEN*`) apply;
            // our process markers (needed to reap a dead turn's strays) pass.
            c.set(
                "shell_environment_policy.ignore_default_excludes",
                false.into(),
            );
        }
        for name in &self.disable_servers {
            check_server_name(name)?;
            c.set(&format!("mcp_servers.{name}.enabled"), false.into());
        }
        Ok(())
    }

    /// The team bus as an MCP server: its URL, the token's variable, its tools.
    fn team_config(&self, c: &mut ConfigArgs) -> Result<(), CommandError> {
        let Some(team) = &self.team else {
            return Ok(());
        };
        check_loopback("team endpoint", &team.url)?;
        check_server_name(&team.name)?;
        if self.disable_servers.contains(&team.name) {
            return Err(CommandError::BadValue {
                what: "team server name (the user's config uses it)",
                value: team.name.clone(),
            });
        }
        let s = format!("mcp_servers.{}", team.name);
        c.set(&format!("{s}.url"), team.url.as_str().into());
        c.set(&format!("{s}.bearer_token_env_var"), TOKEN_ENV.into());
        c.set(
            &format!("{s}.default_tools_approval_mode"),
            "approve".into(),
        );
        if team.required {
            c.set(&format!("{s}.required"), true.into());
        }
        if let Some(tools) = &team.enabled_tools {
            for tool in tools {
                if tool.is_empty()
                    || !tool
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    return Err(CommandError::BadToolName(tool.clone()));
                }
            }
            let list = tools
                .iter()
                .map(|t| toml::Value::from(t.as_str()))
                .collect();
            c.set(&format!("{s}.enabled_tools"), toml::Value::Array(list));
        }
        Ok(())
    }
}

/// `-c key=value` arguments, appended to the argv built so far.
struct ConfigArgs(Vec<String>);

impl ConfigArgs {
    fn set(&mut self, key: &str, value: toml::Value) {
        self.0.push("-c".into());
        self.0.push(format!("{key}={value}"));
    }
}

fn check_prompt(prompt: &str, what: &'static str) -> Result<(), CommandError> {
    if prompt.trim().is_empty() {
        return Err(CommandError::EmptyPrompt { what });
    }
    if prompt == "-" {
        return Err(CommandError::StdinPrompt { what });
    }
    Ok(())
}

fn check_server_name(name: &str) -> Result<(), CommandError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(CommandError::BadValue {
            what: "MCP server name",
            value: name.into(),
        });
    }
    Ok(())
}

fn check_value(what: &'static str, value: &str) -> Result<(), CommandError> {
    if value.is_empty() || value.starts_with('-') || value.chars().any(char::is_whitespace) {
        return Err(CommandError::BadValue {
            what,
            value: value.into(),
        });
    }
    Ok(())
}

fn check_loopback(what: &'static str, url: &str) -> Result<(), CommandError> {
    let host_ok = url.strip_prefix("http://").is_some_and(|rest| {
        ["127.0.0.1", "[::1]", "localhost"].iter().any(|host| {
            rest.strip_prefix(host)
                .is_some_and(|after| after.is_empty() || after.starts_with([':', '/']))
        })
    });
    if host_ok {
        Ok(())
    } else {
        Err(CommandError::NotLoopback {
            what,
            url: url.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::process::{self, Termination};
    use std::path::Path;
    use std::time::Duration;

    fn full() -> ExecCommand {
        ExecCommand {
            cwd: PathBuf::from("/work/repo"),
            model: ModelSettings {
                model: Some("gpt-5.1-codex".into()),
                provider: Some("openai".into()),
                reasoning_effort: Some("high".into()),
            },
            scripted_base_url: None,
            provider_base_url: None,
            lean: true,
            team: Some(TeamEndpoint {
                name: MCP_SERVER.into(),
                url: "http://127.0.0.1:4711/agents/a-1/mcp".into(),
                enabled_tools: Some(vec!["team_send".into(), "team_wait".into()]),
                required: true,
            }),
            sandbox: Some(Sandbox::WorkspaceWrite),
            codex_profile: None,
            disable_servers: vec!["codex-teams".into(), "docs".into()],
            strict_config: false,
            instructions_file: Some(PathBuf::from("/home/u/.codex-teams/worker-instructions.md")),
        }
    }

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn worker_start_argv() {
        assert_eq!(
            full().start_args("Implement task T1").unwrap(),
            v(&[
                "exec",
                "--json",
                "--skip-git-repo-check",
                "-C",
                "/work/repo",
                "-s",
                "workspace-write",
                "-m",
                "gpt-5.1-codex",
                "-c",
                "model_provider=\"openai\"",
                "-c",
                "model_reasoning_effort=\"high\"",
                "-c",
                "web_search=\"disabled\"",
                "-c",
                "agents.enabled=false",
                "-c",
                "skills.bundled.enabled=false",
                "-c",
                "model_instructions_file=\"/home/u/.codex-teams/worker-instructions.md\"",
                "-c",
                "shell_environment_policy.ignore_default_excludes=false",
                "-c",
                "mcp_servers.codex-teams.enabled=false",
                "-c",
                "mcp_servers.docs.enabled=false",
                "-c",
                "mcp_servers.team.url=\"http://127.0.0.1:4711/agents/a-1/mcp\"",
                "-c",
                "mcp_servers.team.bearer_token_env_var=\"CODEX_TEAMS_TOKEN\"",
                "-c",
                "mcp_servers.team.default_tools_approval_mode=\"approve\"",
                "-c",
                "mcp_servers.team.required=true",
                "-c",
                "mcp_servers.team.enabled_tools=[\"team_send\", \"team_wait\"]",
                "--disable",
                "multi_agent",
                "--disable",
                "multi_agent_v2",
                "--disable",
                "goals",
                "--disable",
                "sleep_tool",
                "--",
                "Implement task T1",
            ])
        );
    }

    #[test]
    fn resume_repeats_every_flag() {
        let cmd = full();
        let start = cmd.start_args("p").unwrap();
        let resume = cmd
            .resume_args("01a20f13-11fa-7ff1", "new message")
            .unwrap();
        let flags = &start[..start.len() - 2];
        assert_eq!(&resume[..flags.len()], flags);
        assert_eq!(
            &resume[flags.len()..],
            v(&["resume", "--", "01a20f13-11fa-7ff1", "new message"])
        );
    }

    #[test]
    fn scripted_provider_replaces_the_users() {
        let mut cmd = full();
        cmd.scripted_base_url = Some("http://127.0.0.1:9999/v1".into());
        let args = cmd.start_args("p").unwrap();
        let joined = args.join(" ");
        for want in [
            "-c model_provider=\"mock\"",
            "-c model_providers.mock.name=\"mock\"",
            "-c model_providers.mock.base_url=\"http://127.0.0.1:9999/v1\"",
            "-c model_providers.mock.wire_api=\"responses\"",
            "-m gpt-5.1-codex",
        ] {
            assert!(joined.contains(want), "missing {want}: {joined}");
        }
        assert!(!joined.contains("openai"), "{joined}");
    }

    /// The user's own provider is kept; only its base URL is pointed at the metering proxy,
    /// which must be on loopback.
    #[test]
    fn a_metered_user_provider_keeps_its_definition() {
        let mut cmd = full();
        cmd.model.provider = Some("corp".into());
        cmd.provider_base_url = Some("http://127.0.0.1:7/m/k/v1".into());
        let joined = cmd.start_args("p").unwrap().join(" ");
        for want in [
            "-c model_provider=\"corp\"",
            "-c model_providers.corp.base_url=\"http://127.0.0.1:7/m/k/v1\"",
        ] {
            assert!(joined.contains(want), "missing {want}: {joined}");
        }
        assert!(!joined.contains("model_providers.corp.name"), "{joined}");
        cmd.provider_base_url = Some("https://proxy.example/v1".into());
        assert!(matches!(
            cmd.start_args("p"),
            Err(CommandError::NotLoopback { .. })
        ));
    }

    #[test]
    fn minimal_lead_argv_passes_only_what_is_set() {
        let cmd = ExecCommand::new("/r", ModelSettings::default());
        assert_eq!(
            cmd.start_args("go").unwrap(),
            v(&[
                "exec",
                "--json",
                "--skip-git-repo-check",
                "-C",
                "/r",
                "--",
                "go"
            ])
        );
        let mut no_tools = full();
        no_tools.team.as_mut().unwrap().enabled_tools = None;
        no_tools.team.as_mut().unwrap().required = false;
        let joined = no_tools.start_args("p").unwrap().join(" ");
        assert!(!joined.contains("enabled_tools") && !joined.contains("required"));
        let mut profiled = ExecCommand::new("/r", ModelSettings::default());
        profiled.codex_profile = Some("fast".into());
        assert_eq!(
            profiled.resume_args("t1", "m").unwrap(),
            v(&[
                "exec",
                "--json",
                "--skip-git-repo-check",
                "-C",
                "/r",
                "-p",
                "fast",
                "resume",
                "--",
                "t1",
                "m"
            ])
        );
    }

    #[test]
    fn prompts_that_look_like_flags_stay_prompts() {
        let args = full().start_args("--help me").unwrap();
        assert_eq!(&args[args.len() - 2..], v(&["--", "--help me"]));
    }

    #[test]
    fn quoting_survives_awkward_values() {
        let mut cmd = full();
        cmd.team.as_mut().unwrap().url = "http://localhost:1/agents/x\"y/mcp".into();
        let args = cmd.start_args("p").unwrap();
        let url = args
            .iter()
            .find(|a| a.starts_with("mcp_servers.team.url="))
            .unwrap();
        let value: toml::Table = url.parse().unwrap();
        assert_eq!(
            value["mcp_servers"]["team"]["url"].as_str(),
            Some("http://localhost:1/agents/x\"y/mcp")
        );
    }

    #[test]
    fn bad_input_is_refused_by_name() {
        let cmd = full();
        let cases: Vec<(Result<Vec<String>, CommandError>, &str)> = vec![
            (cmd.start_args("-"), "stdin"),
            (cmd.start_args("  "), "prompt is empty"),
            (
                cmd.resume_args("abc def", "m"),
                "`abc def` is not a codex thread id",
            ),
            (cmd.resume_args("--last", "m"), "`--last`"),
            (cmd.resume_args("t", ""), "resume message is empty"),
            (
                {
                    let mut c = full();
                    c.team.as_mut().unwrap().url = "http://10.0.0.5:80/mcp".into();
                    c.start_args("p")
                },
                "team endpoint `http://10.0.0.5:80/mcp` is not a loopback",
            ),
            (
                {
                    let mut c = full();
                    c.scripted_base_url = Some("https://api.example.com/v1".into());
                    c.start_args("p")
                },
                "scripted model URL",
            ),
            (
                {
                    let mut c = full();
                    c.team.as_mut().unwrap().url = "http://127.0.0.1.evil.com/mcp".into();
                    c.start_args("p")
                },
                "not a loopback",
            ),
            (
                {
                    let mut c = full();
                    c.team.as_mut().unwrap().enabled_tools = Some(vec!["team send".into()]);
                    c.start_args("p")
                },
                "tool name `team send`",
            ),
            (
                {
                    let mut c = full();
                    c.model.model = Some("--oss".into());
                    c.start_args("p")
                },
                "model `--oss` is not valid",
            ),
        ];
        for (result, want) in cases {
            let err = result.unwrap_err().to_string();
            assert!(err.contains(want), "want {want:?} in {err:?}");
        }
    }

    /// Runs codex with `args` against closed loopback ports and returns (exit ok, stdout,
    /// stderr). Time-boxed: a run that hangs is terminated and reported.
    async fn run_codex(args: Vec<String>, home: &Path, marker: &str) -> (bool, String, String) {
        let spec = SpawnSpec::new(crate::supervisor::testutil::pinned_codex(), marker)
            .args(args)
            .env("CODEX_HOME", home)
            .env(TOKEN_ENV, "test-token");
        let mut child = process::spawn(spec).await.unwrap();
        let mut stdout = String::new();
        let outcome = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = child.next_line().await.unwrap() {
                stdout.push_str(&line);
                stdout.push('\n');
            }
            child.wait().await.unwrap()
        })
        .await;
        let ok = match outcome {
            Ok(status) => status.success(),
            Err(_) => {
                let (how, _) = child.terminate(Duration::from_secs(2)).await.unwrap();
                assert_ne!(how, Termination::AlreadyGone);
                panic!("codex did not stop within 60 s; stdout so far:\n{stdout}");
            }
        };
        // The stderr reader may lag the exit a little.
        tokio::time::sleep(Duration::from_millis(200)).await;
        (ok, stdout, child.stderr().text())
    }

    fn closed_port() -> u16 {
        // Bind and drop: the port is then closed (and nothing else on loopback takes it in
        // the next second in practice; a taker would still not speak MCP).
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn the_real_codex_accepts_every_flag_we_emit() {
        let home = tempfile::tempdir().unwrap();
        let cwd = tempfile::tempdir().unwrap();
        let port = closed_port();
        let mut cmd = full();
        cmd.cwd = cwd.path().to_path_buf();
        cmd.scripted_base_url = Some(format!("http://127.0.0.1:{port}/v1"));
        cmd.team.as_mut().unwrap().url = format!("http://127.0.0.1:{port}/agents/a-1/mcp");
        cmd.strict_config = true;
        cmd.codex_profile = Some("team".into());
        let instructions = crate::supervisor::worker_instructions::ensure(home.path()).unwrap();
        cmd.instructions_file = Some(instructions);
        std::fs::write(
            home.path().join("team.config.toml"),
            "model_reasoning_effort = \"low\"\n",
        )
        .unwrap();
        // The user servers `full()` turns off must exist: codex refuses `enabled=false` for a
        // server no layer defines ("invalid transport"), which is why isolation only names
        // servers it read from the user's config.
        std::fs::write(
            home.path().join("config.toml"),
            "[mcp_servers.codex-teams]\ncommand = \"/nonexistent/codex-teams\"\nargs = [\"mcp\"]\n\n[mcp_servers.docs]\nurl = \"http://127.0.0.1:9/mcp\"\n\n[mcp_servers.team]\ncommand = \"/nonexistent/users-own-team-server\"\n",
        )
        .unwrap();
        // The user's own stdio `team` server: our bus takes another name (a `-c ...url` merged
        // into a stdio entry would fail with "url is not supported for stdio").
        let iso = super::super::isolation::for_child(Some(home.path()), None, cwd.path());
        assert_eq!(iso.bus_name, "team_2");
        cmd.disable_servers = iso.disable;
        cmd.team.as_mut().unwrap().name = iso.bus_name;

        let start = cmd.start_args("say hi").unwrap();
        let resume = cmd
            .resume_args("01a20f13-11fa-7ff1-bf9b-9a20507b9d93", "and again")
            .unwrap();
        let marker = format!("cmdtest-{}", std::process::id());
        let (first, second) = tokio::join!(
            run_codex(start, home.path(), &marker),
            run_codex(resume, home.path(), &marker)
        );
        let rejected = [
            "unexpected argument",
            "unknown configuration field",
            "Unknown feature flag",
            "unrecognized configuration",
            "invalid value",
            "Usage:",
        ];
        for (what, (ok, stdout, stderr)) in [("start", first), ("resume", second)] {
            assert!(!ok, "{what}: codex cannot succeed against a closed port");
            for bad in rejected {
                assert!(
                    !stderr.contains("url is not supported"),
                    "{what}: our bus merged into the user's server:\n{stderr}"
                );
                assert!(
                    !stderr.contains(bad) && !stdout.contains(bad),
                    "{what}: codex rejected our arguments ({bad}):\n{stderr}\n{stdout}"
                );
            }
            // It got as far as connecting: the failure is the closed bus port (or, for a
            // resume of a thread that never existed, the missing rollout).
            assert!(
                stderr.contains("required MCP servers failed to initialize")
                    || stderr.contains("no rollout found"),
                "{what}: unexpected failure:\n{stderr}\n{stdout}"
            );
        }
    }

    /// Tool names offered by one recorded request: `body.tools` and the namespaces of an
    /// `additional_tools` input item, as `namespace.name` (or `name` at top level).
    fn offered_tools(body: &serde_json::Value) -> Vec<String> {
        fn collect(tools: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
            for tool in tools.as_array().into_iter().flatten() {
                let name = tool["name"].as_str().unwrap_or("?");
                if tool["type"] == "namespace" {
                    collect(&tool["tools"], &format!("{prefix}{name}."), out);
                } else {
                    out.push(format!("{prefix}{name}"));
                }
            }
        }
        let mut out = Vec::new();
        collect(&body["tools"], "", &mut out);
        for item in body["input"].as_array().into_iter().flatten() {
            if item["type"] == "additional_tools" {
                collect(&item["tools"], "", &mut out);
            }
        }
        out
    }

    /// Runs the worker argv for `gpt-6.1-sol` (a model codex knows; its catalog turns on
    /// the sub-agent tools) against the scripted model, with and without
    /// `agents.enabled=false` (and the worker instructions and `skills.bundled`), and checks
    /// the first request of each: the control run is offered `spawn_agent` and carries
    /// codex's base instructions and bundled skills, the lean one none of them.
    #[tokio::test]
    async fn lean_workers_cannot_spawn_native_sub_agents() {
        let scenario_path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scenarios/plain-answer.yaml");
        let run = |drop_agents_flag: bool| {
            let scenario = codex_teams_mock_model::Scenario::load(&scenario_path).unwrap();
            async move {
                let mock = codex_teams_mock_model::MockModel::start(
                    scenario,
                    codex_teams_mock_model::Options::default(),
                )
                .await
                .unwrap();
                let home = tempfile::tempdir().unwrap();
                let cwd = tempfile::tempdir().unwrap();
                let mut cmd = ExecCommand::new(
                    cwd.path(),
                    ModelSettings {
                        model: Some("gpt-6.1-sol".into()),
                        ..ModelSettings::default()
                    },
                );
                cmd.lean = true;
                cmd.strict_config = true;
                cmd.sandbox = Some(Sandbox::ReadOnly);
                cmd.scripted_base_url = Some(mock.base_url());
                if !drop_agents_flag {
                    let file = crate::supervisor::worker_instructions::ensure(home.path());
                    cmd.instructions_file = Some(file.unwrap());
                }
                let mut args = cmd.start_args("say hello").unwrap();
                if drop_agents_flag {
                    for flag in ["agents.enabled=false", "skills.bundled.enabled=false"] {
                        let at = args.iter().position(|a| a == flag).unwrap();
                        args.drain(at - 1..=at);
                    }
                }
                let marker = format!("cmdtest-lean-{}-{drop_agents_flag}", std::process::id());
                let (ok, stdout, stderr) = run_codex(args, home.path(), &marker).await;
                assert!(ok, "codex failed:\n{stderr}\n{stdout}");
                let requests = mock.requests();
                assert_eq!(mock.unmatched_count(), 0, "{stdout}");
                mock.shutdown().await;
                requests.into_iter().next().expect("codex sent no request")
            }
        };
        let (lean, control) = tokio::join!(run(false), run(true));

        // Control: without the flag, this model is offered codex's own sub-agents, so the
        // probe below can see them when they are there.
        let control_tools = offered_tools(&control.body);
        assert!(
            control_tools.iter().any(|t| t.ends_with("spawn_agent")),
            "control run offered no spawn_agent; the probe is blind: {control_tools:?}"
        );

        let tools = offered_tools(&lean.body);
        let body = lean.body.to_string();
        assert!(
            !tools.is_empty()
                && tools
                    .iter()
                    .any(|t| t.ends_with("exec") || t == "exec_command"),
            "the worker lost its shell tool: {tools:?}"
        );
        for gone in [
            "spawn_agent",
            "wait_agent",
            "send_message",
            "collaboration.",
        ] {
            assert!(
                !tools.iter().any(|t| t.contains(gone)),
                "worker request offers {gone}: {tools:?}"
            );
        }
        assert!(
            !body.contains("spawn_agent") && !body.contains("<multi_agent_role>"),
            "worker request still mentions sub-agents"
        );
        // The worker's compact base instructions replace codex's, and codex's bundled
        // skills are not listed; the control run (codex's own) shows both probes can see.
        let ours = crate::supervisor::worker_instructions::TEXT
            .lines()
            .next()
            .unwrap();
        let codexs = "You and the user share one workspace";
        let control_body = control.body.to_string();
        assert!(control_body.contains(codexs) && control_body.contains("imagegen"));
        assert!(body.contains(ours), "worker instructions missing");
        assert!(
            !body.contains(codexs),
            "codex's base instructions still sent"
        );
        assert!(!body.contains("imagegen"), "bundled skills still listed");
        // Smaller, too (figures in the report; no fixed bound on a tokenizer count).
        assert!(
            lean.input_tokens < control.input_tokens,
            "lean {} >= control {}",
            lean.input_tokens,
            control.input_tokens
        );
    }

    #[tokio::test]
    async fn the_real_codex_knows_the_features_we_disable() {
        let home = tempfile::tempdir().unwrap();
        let spec = SpawnSpec::new(
            crate::supervisor::testutil::pinned_codex(),
            "cmdtest-features",
        )
        .args(["features", "list"])
        .env("CODEX_HOME", home.path());
        let mut child = process::spawn(spec).await.unwrap();
        let mut names = Vec::new();
        while let Some(line) = child.next_line().await.unwrap() {
            if let Some(name) = line.split_whitespace().next() {
                names.push(name.to_string());
            }
        }
        assert!(child.wait().await.unwrap().success());
        for feature in ["multi_agent", "multi_agent_v2", "goals", "sleep_tool"] {
            assert!(
                names.iter().any(|n| n == feature),
                "{feature} not in {names:?}"
            );
        }
    }
}

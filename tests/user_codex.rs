//! The path a user takes: a fresh HOME whose `~/.codex/config.toml` already has comments, a
//! provider (the scripted model server) and another MCP server; `scripts/install.sh`; the
//! pinned codex run as the user would (`codex exec "use agents team: ..."`, no CODEX_HOME,
//! no CODEX_BIN, codex on PATH); then `scripts/uninstall.sh`. Checked from outside: the
//! model's request log, /proc and the files on disk.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use codex_teams_mock_model::{MockModel, Options, Scenario};
use common::*;
use serde_json::Value;

const API_KEY: &str = "sk-test-user0123456789abcdefXYZ";

struct UserBox {
    _dir: tempfile::TempDir,
    home: PathBuf,
    repo: PathBuf,
    path_env: String,
}

impl UserBox {
    fn new() -> UserBox {
        let codex = codex_teams_codex_exec::find_codex()
            .expect("the pinned codex (scripts/install-codex.sh)");
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&repo).unwrap();
        let codex_dir = codex.parent().unwrap().display().to_string();
        let path_env = format!(
            "{}/.local/bin:{codex_dir}:/usr/local/bin:/usr/bin:/bin",
            home.display()
        );
        UserBox {
            _dir: dir,
            home,
            repo,
            path_env,
        }
    }

    fn codex_home(&self) -> PathBuf {
        self.home.join(".codex")
    }

    /// A command with only what a user's login gives: HOME, PATH, an API key.
    fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.env_clear()
            .env("HOME", &self.home)
            .env("PATH", &self.path_env)
            .env("OPENAI_API_KEY", API_KEY)
            .env("LANG", "C.UTF-8")
            .current_dir(&self.repo);
        c
    }

    fn script(&self, name: &str, args: &[&str]) -> std::process::Output {
        let out = output_within(
            {
                let mut c = self.cmd("bash");
                c.arg(root().join("scripts").join(name)).args(args);
                c
            },
            Duration::from_secs(120),
        );
        assert!(
            out.status.success(),
            "{name} {args:?} failed:\n{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        out
    }

    fn user_config(&self, base_url: &str) -> String {
        let echo = Path::new(BIN).with_file_name("mock-echo-mcp");
        assert!(
            echo.is_file(),
            "{} is built by `cargo test --workspace`",
            echo.display()
        );
        format!(
            "# My Codex setup. Hand-written; keep my comments.\n\
             model = \"user-config-model\"   # overridden by -m below\n\
             model_provider = \"local\"\n\
             \n\
             [model_providers.local]\n\
             name = \"Local responses server\"\n\
             base_url = \"{base_url}\"\n\
             wire_api = \"responses\"\n\
             \n\
             # A tool server I use every day.\n\
             [mcp_servers.docs]\n\
             command = \"{}\"\n\
             startup_timeout_sec = 20\n",
            echo.display()
        )
    }

    /// The user's codex as they would start it, with `-m session-model`.
    fn lead(&self, prompt: &str) -> Command {
        let mut c = self.cmd("codex");
        c.args([
            "exec",
            "--json",
            "--skip-git-repo-check",
            "-m",
            "session-model",
        ])
        .arg(prompt)
        .stdin(std::process::Stdio::null());
        c
    }

    fn team_pids(&self) -> Vec<i32> {
        pids_with_env("HOME", &self.home.display().to_string())
    }
}

fn namespaces(req: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(tools) = req["body"]["tools"].as_array() {
        for t in tools {
            if t["type"] == "namespace" {
                out.push(t["name"].as_str().unwrap_or("").to_string());
            }
        }
    }
    out
}

fn offers_tool(req: &Value, tool: &str) -> bool {
    req["body"]["tools"]
        .to_string()
        .contains(&format!("\"{tool}\""))
}

async fn lead_session(u: &UserBox, prompt: &str) -> (Vec<Value>, std::process::Output) {
    let server = MockModel::start(
        Scenario::load(&scenario("user-codex.yaml")).unwrap(),
        Options::default(),
    )
    .await
    .unwrap();
    // The provider lives in the user's config: point it at this session's server.
    let cfg = u.codex_home().join("config.toml");
    let text0 = std::fs::read_to_string(&cfg).unwrap();
    let old = text0
        .lines()
        .find(|l| l.starts_with("base_url"))
        .unwrap()
        .to_string();
    let text1 = text0.replace(&old, &format!("base_url = \"{}\"", server.base_url()));
    std::fs::write(&cfg, &text1).unwrap();
    let c = u.lead(prompt);
    let out = tokio::task::spawn_blocking(move || output_within(c, Duration::from_secs(240)))
        .await
        .unwrap();
    let reqs: Vec<Value> = server
        .requests()
        .iter()
        .map(|r| {
            serde_json::json!({
                "rule": r.rule, "model": r.model, "prompt": r.prompt, "body": r.body,
            })
        })
        .collect();
    server.shutdown().await;
    std::fs::write(&cfg, &text0).unwrap();
    (reqs, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_use_agents_team_in_the_users_own_codex_then_uninstall() {
    let u = UserBox::new();
    std::fs::create_dir_all(u.codex_home()).unwrap();
    let original = u.user_config("http://127.0.0.1:9/v1");
    let cfg = u.codex_home().join("config.toml");
    std::fs::write(&cfg, &original).unwrap();

    // Install, twice: the second run changes no byte.
    let first = u.script("install.sh", &["--bin", BIN]);
    let installed = std::fs::read(&cfg).unwrap();
    let again = u.script("install.sh", &["--bin", BIN, "--json"]);
    assert_eq!(
        std::fs::read(&cfg).unwrap(),
        installed,
        "second install changed config.toml"
    );
    let v: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert!(
        v["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["action"] == "unchanged"),
        "{v}\nfirst: {}",
        text(&first.stdout)
    );
    let installed = String::from_utf8(installed).unwrap();
    assert!(
        installed.starts_with(&original),
        "user's text kept as is:\n{installed}"
    );
    let bin = u.home.join(".local/bin/codex-teams");
    assert!(bin.is_file());

    // `codex mcp list` (the user's codex) sees it; check-config is all ok.
    let list = output_within(
        {
            let mut c = u.cmd("codex");
            c.args(["mcp", "list"]);
            c
        },
        Duration::from_secs(60),
    );
    assert!(
        text(&list.stdout).contains("codex-teams"),
        "{}",
        text(&list.stdout)
    );
    let check = output_within(
        {
            let mut c = u.cmd(&bin);
            c.args(["check-config", "--json"]);
            c
        },
        Duration::from_secs(60),
    );
    let cv: Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(cv["ok"], true, "{cv:#}");

    for prompt in [
        "use agents team: add a module and its tests",
        "use agent teams: add a module and its tests",
    ] {
        let (reqs, out) = lead_session(&u, prompt).await;
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "lead failed: {stdout}\n{}",
            text(&out.stderr)
        );
        let unmatched: Vec<_> = reqs
            .iter()
            .filter(|r| r["rule"].is_null())
            .map(|r| r["prompt"].clone())
            .collect();
        assert!(unmatched.is_empty(), "{prompt}: unmatched {unmatched:?}");
        let lead: Vec<&Value> = reqs
            .iter()
            .filter(|r| r["prompt"].as_str().unwrap_or("").contains(prompt))
            .collect();
        let workers: Vec<&Value> = reqs
            .iter()
            .filter(|r| {
                let i = r["body"]["input"].to_string();
                i.contains("role: implementer") || i.contains("role: tester")
            })
            .collect();
        // The skill's text is in the lead's request, and the lead's tools ran to the end.
        assert!(
            lead[0]["body"]["input"].to_string().contains("agent-teams"),
            "skill listed"
        );
        assert!(
            namespaces(lead[0]).contains(&"mcp__codex_teams".to_string()),
            "{:?}",
            namespaces(lead[0])
        );
        assert!(
            lead.iter().any(|r| r["rule"] == "lead-answers"),
            "{prompt}: lead finalized and answered"
        );
        // Two real workers ran on the lead's session model and the user's provider (the only
        // way to reach this server), saw only their own bus, and could not start a team.
        for rule in ["implementer-ends", "tester-ends"] {
            assert!(
                workers.iter().any(|r| r["rule"] == rule),
                "{prompt}: {rule}"
            );
        }
        for r in &workers {
            assert_eq!(
                r["model"], "session-model",
                "worker request on the lead's model"
            );
            assert_eq!(
                namespaces(r),
                vec!["mcp__team".to_string()],
                "worker sees only its bus"
            );
            assert!(!offers_tool(r, "team_spawn") && !offers_tool(r, "team_start"));
            assert!(
                !offers_tool(r, "create_ticket"),
                "the user's docs server is off for workers"
            );
        }
        // The tester's `env`: no bearer token, no API key in a worker's shell.
        let env_out = workers
            .iter()
            .find(|r| r["rule"] == "tester-claims")
            .map(|r| r["body"]["input"].to_string())
            .expect("tester ran env");
        assert!(
            env_out.contains("CODEX_TEAMS_AGENT_ID"),
            "env output is there"
        );
        assert!(
            !env_out.contains("CODEX_TEAMS_TOKEN"),
            "token in a worker shell"
        );
        assert!(!env_out.contains(API_KEY), "API key in a worker shell");
        // After the lead exits, nothing of the team is left.
        let left = wait_for(Duration::from_secs(15), || {
            u.team_pids().is_empty().then_some(())
        });
        assert!(left.is_some(), "left running: {:?}", u.team_pids());
    }

    // The store says what happened: both teams finalized.
    let st = output_within(
        {
            let mut c = u.cmd(&bin);
            c.args(["status", "--json"]);
            c
        },
        Duration::from_secs(30),
    );
    let sv: Value = serde_json::from_slice(&st.stdout).unwrap();
    let teams = sv["teams"].as_array().unwrap();
    assert_eq!(teams.len(), 2, "{sv}");
    assert!(teams.iter().all(|t| t["status"] == "finalized"), "{sv}");
    // The store is private to the user.
    for (p, want) in [
        (u.home.join(".codex-teams"), 0o700),
        (u.home.join(".codex-teams/teams.db"), 0o600),
    ] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, want, "{}: {mode:o}", p.display());
    }

    // Uninstall: the config is byte-identical to before install; skill and binary gone.
    let un = u.script("uninstall.sh", &[]);
    assert_eq!(
        std::fs::read_to_string(&cfg).unwrap(),
        original,
        "{}",
        text(&un.stdout)
    );
    assert!(!u.codex_home().join("skills/agent-teams").exists());
    assert!(!bin.exists());
    assert!(
        u.home.join(".codex-teams").exists(),
        "the store stays without --purge"
    );
}

fn env_of(pid: i32) -> Vec<(String, String)> {
    environ(pid).unwrap_or_default()
}

/// The lead (the user's codex) is killed while its workers run: the workers stop, nothing
/// is left, `status` says the team stopped and its workers were interrupted, and
/// `codex-teams resume` finishes the job with a headless lead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_users_lead_killed_mid_team_leaves_nothing_and_resume_finishes() {
    let u = UserBox::new();
    std::fs::create_dir_all(u.codex_home()).unwrap();
    let server = MockModel::start(
        Scenario::load(&scenario("user-codex-killed.yaml")).unwrap(),
        Options::default(),
    )
    .await
    .unwrap();
    std::fs::write(
        u.codex_home().join("config.toml"),
        u.user_config(&server.base_url()),
    )
    .unwrap();
    u.script("install.sh", &["--bin", BIN]);
    let mut c = u.lead("use agents team: run the two slow jobs");
    c.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut lead = c.spawn().unwrap();
    let home = u.home.display().to_string();
    let workers = || {
        pids_with_env("HOME", &home)
            .into_iter()
            .filter(|p| env_of(*p).iter().any(|(k, _)| k == "CODEX_TEAMS_ROLE"))
            .filter(|p| {
                env_of(*p)
                    .iter()
                    .any(|(k, v)| k == "CODEX_TEAMS_ROLE" && v != "lead")
            })
            .collect::<Vec<_>>()
    };
    let running = wait_for(Duration::from_secs(60), || {
        let roles: std::collections::BTreeSet<String> = workers()
            .into_iter()
            .flat_map(env_of)
            .filter(|(k, _)| k == "CODEX_TEAMS_AGENT_ID")
            .map(|(_, v)| v)
            .collect();
        (roles.len() >= 2
            && server
                .requests()
                .iter()
                .filter(|r| r.rule.as_deref() == Some("worker-slow-start"))
                .count()
                >= 2)
            .then_some(())
    });
    assert!(running.is_some(), "two workers in their long command");
    // Kill the user's codex (launcher and native binary), not our server: as a crash would.
    for pid in pids_with_env("HOME", &home) {
        let env = env_of(pid);
        let ours = env.iter().any(|(k, _)| k == "CODEX_TEAMS_MARKER");
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
        if !ours && !exe.ends_with("codex-teams") {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    let _ = lead.wait();
    // The workers are inside `sleep 120`: the watcher gives a codex turn's command up to
    // `reaper::CRASH_GRACE` (15 s), then kills the group.
    let gone = wait_for(Duration::from_secs(30), || {
        u.team_pids().is_empty().then_some(())
    });
    assert!(
        gone.is_some(),
        "left running after the lead died: {:?}",
        u.team_pids()
    );
    let bin = u.home.join(".local/bin/codex-teams");
    let status = |team: Option<&str>| -> Value {
        let mut c = u.cmd(&bin);
        c.arg("status");
        if let Some(t) = team {
            c.arg(t);
        }
        c.arg("--json");
        let out = output_within(c, Duration::from_secs(30));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let all = status(None);
    let team = all["teams"][0]["team_id"].as_str().unwrap().to_string();
    let st = status(Some(&team));
    assert_eq!(st["status"], "stopped", "{st:#}");
    let states: Vec<&str> = st["agents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["role"] != "lead")
        .map(|a| a["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, vec!["interrupted", "interrupted"], "{st:#}");

    let mut c = u.cmd(&bin);
    c.args(["resume", &team, "--json"]);
    let out = tokio::task::spawn_blocking(move || output_within(c, Duration::from_secs(100)))
        .await
        .unwrap();
    let sum = summary(&out);
    let trail: Vec<String> = server
        .requests()
        .iter()
        .map(|r| {
            format!(
                "{:?} <- {:.100}",
                r.rule,
                r.prompt.clone().unwrap_or_default().replace("\n", " ")
            )
        })
        .collect();
    assert_eq!(
        sum["status"],
        "finalized",
        "{sum:#}\n{}\nrequests:\n{}",
        text(&out.stderr),
        trail.join("\n")
    );
    assert_eq!(sum["tasks"]["done"], 2, "{sum:#}");
    let unmatched: Vec<_> = server
        .requests()
        .iter()
        .filter(|r| r.rule.is_none())
        .map(|r| r.prompt.clone())
        .collect();
    assert!(unmatched.is_empty(), "{unmatched:?}");
    let gone = wait_for(Duration::from_secs(20), || {
        u.team_pids().is_empty().then_some(())
    });
    assert!(
        gone.is_some(),
        "left running after resume: {:?}",
        u.team_pids()
    );
    server.shutdown().await;
}

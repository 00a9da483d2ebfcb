//! `codex-teams check-config`: every requirement of the interactive path, each ok or FAIL
//! with the fix. Exits non-zero on any FAIL, so scripts can gate on it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::{codex_version, entry, skill};

/// Options of `codex-teams check-config`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// The Codex home to check [default: $CODEX_HOME, else ~/.codex].
    #[arg(long)]
    pub codex_home: Option<PathBuf>,
    /// One JSON object: {"ok": bool, "items": [{"id","ok","detail","fix"}]}.
    #[arg(long)]
    pub json: bool,
}

/// One requirement's verdict.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Item {
    /// Stable id: `binary`, `codex`, `config`, `entry`, `approval`, `env`, `skill`,
    /// `names`, `store`, `model`.
    pub id: &'static str,
    /// Whether it holds.
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// How to fix it, when it does not hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Item {
    fn ok(id: &'static str, detail: impl Into<String>) -> Item {
        Item {
            id,
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }
    fn fail(id: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Item {
        Item {
            id,
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// What the checks look at; from the process environment in [`run`], explicit in tests.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The Codex home.
    pub codex_home: PathBuf,
    /// The team store's folder.
    pub teams_home: PathBuf,
    /// `$PATH`.
    pub path_env: Option<OsString>,
}

/// Runs `check-config`.
pub fn run(args: CheckArgs) -> anyhow::Result<()> {
    let inputs = Inputs {
        codex_home: super::resolve_codex_home(args.codex_home.as_deref())?,
        teams_home: crate::supervisor::home::TeamsHome::path()?,
        path_env: std::env::var_os("PATH"),
    };
    let items = check(&inputs);
    let all_ok = items.iter().all(|i| i.ok);
    if args.json {
        println!("{}", serde_json::json!({ "ok": all_ok, "items": items }));
    } else {
        for i in &items {
            println!(
                "{:<4} {:<8} {}",
                if i.ok { "ok" } else { "FAIL" },
                i.id,
                i.detail
            );
            if let Some(fix) = &i.fix {
                println!("              fix: {fix}");
            }
        }
    }
    if all_ok {
        Ok(())
    } else {
        let n = items.iter().filter(|i| !i.ok).count();
        anyhow::bail!("{n} check(s) failed")
    }
}

const INSTALL_FIX: &str = "run `codex-teams install` (or scripts/install.sh)";

/// Every check, in order.
pub fn check(inp: &Inputs) -> Vec<Item> {
    let mut items = vec![binary(inp), codex()];
    let config = inp.codex_home.join("config.toml");
    let text = match std::fs::read_to_string(&config) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            items.push(Item::fail(
                "config",
                format!("{} does not exist", config.display()),
                INSTALL_FIX,
            ));
            None
        }
        Err(e) => {
            items.push(Item::fail(
                "config",
                format!("cannot read {}: {e}", config.display()),
                format!("make {} readable by you", config.display()),
            ));
            None
        }
    };
    if let Some(text) = text {
        match entry::read_entry(&config, &text, entry::SERVER_NAME) {
            Err(e) => items.push(Item::fail(
                "config",
                e.to_string(),
                format!("fix the TOML in {}", config.display()),
            )),
            Ok(found) => {
                items.push(Item::ok("config", format!("{} parses", config.display())));
                items.extend(entry_items(inp, &config, &text, found));
            }
        }
    }
    items.push(skill_item(inp));
    items.push(store(inp));
    items.push(model(inp));
    items
}

fn binary(inp: &Inputs) -> Item {
    let found = inp
        .path_env
        .as_ref()
        .and_then(|p| which::which_in("codex-teams", Some(p), std::env::current_dir().ok()?).ok());
    match found {
        Some(p) => Item::ok(
            "binary",
            format!(
                "{} (this is codex-teams {})",
                p.display(),
                crate::version::long()
            ),
        ),
        None => Item::fail(
            "binary",
            "codex-teams is not on PATH",
            "add the install's bin folder to PATH (default ~/.local/bin), or run `codex-teams install`",
        ),
    }
}

fn codex() -> Item {
    match codex_version::find_supported() {
        Ok(c) => Item::ok(
            "codex",
            format!(
                "{} {} (supported: {} or newer)",
                c.path.display(),
                codex_version::fmt_version(c.version),
                codex_version::fmt_version(codex_version::MIN_SUPPORTED)
            ),
        ),
        Err(e) => Item::fail(
            "codex",
            e.to_string(),
            format!(
                "npm install -g @openai/codex@{} (or set CODEX_BIN)",
                codex_version::fmt_version(codex_version::MIN_SUPPORTED)
            ),
        ),
    }
}

fn entry_items(
    inp: &Inputs,
    config: &Path,
    text: &str,
    found: Option<entry::Installed>,
) -> Vec<Item> {
    let name = entry::SERVER_NAME;
    let mut out = Vec::new();
    let Some(e) = found else {
        out.push(Item::fail(
            "entry",
            format!("no [mcp_servers.{name}] in {}", config.display()),
            INSTALL_FIX,
        ));
        out.push(names(config, text));
        return out;
    };
    let cmd = e.command.clone().unwrap_or_default();
    let runnable = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(&cmd).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    out.push(if !e.enabled {
        Item::fail(
            "entry",
            format!("[mcp_servers.{name}] has enabled = false"),
            "remove `enabled = false` from it",
        )
    } else if cmd.is_empty() {
        Item::fail(
            "entry",
            format!("[mcp_servers.{name}] has no command"),
            INSTALL_FIX,
        )
    } else if !runnable {
        Item::fail(
            "entry",
            format!("[mcp_servers.{name}] command {cmd} is not an executable file"),
            INSTALL_FIX,
        )
    } else if e.args != ["mcp"] {
        Item::fail(
            "entry",
            format!("[mcp_servers.{name}] args are {:?}, not [\"mcp\"]", e.args),
            "set args = [\"mcp\"]",
        )
    } else {
        Item::ok("entry", format!("[mcp_servers.{name}] runs `{cmd} mcp`"))
    });
    out.push(match e.approval.as_deref() {
        Some("approve") => Item::ok("approval", "default_tools_approval_mode = \"approve\""),
        other => Item::fail(
            "approval",
            format!(
                "default_tools_approval_mode is {}: codex exec refuses every team tool call",
                other
                    .map(|o| format!("{o:?}"))
                    .unwrap_or_else(|| "not set".into())
            ),
            format!("add default_tools_approval_mode = \"approve\" to [mcp_servers.{name}]"),
        ),
    });
    let home = inp.codex_home.display().to_string();
    let home_ok = e.env_codex_home.as_deref() == Some(home.as_str())
        || e.env_vars.iter().any(|v| v == "CODEX_HOME");
    let timeout_ok = e.tool_timeout_sec.unwrap_or(300) >= 120;
    out.push(if !home_ok {
        Item::fail(
            "env",
            format!(
                "CODEX_HOME does not reach the server (env.CODEX_HOME = {:?}): workers would use ~/.codex, without your provider",
                e.env_codex_home
            ),
            format!("set env = {{ CODEX_HOME = \"{home}\" }} in [mcp_servers.{name}]"),
        )
    } else if !timeout_ok {
        Item::fail(
            "env",
            format!(
                "tool_timeout_sec = {} is shorter than team_wait's long-poll",
                e.tool_timeout_sec.unwrap_or_default()
            ),
            format!("set tool_timeout_sec = {}", entry::TOOL_TIMEOUT_SEC),
        )
    } else {
        Item::ok(
            "env",
            format!("CODEX_HOME = {home}; forwarded: {}", e.env_vars.join(", ")),
        )
    });
    out.push(names(config, text));
    out
}

/// Another entry whose tools would land in the same namespace as ours (`codex_teams` and
/// `codex-teams` are both `mcp__codex_teams`), or a second registration of our binary.
fn names(config: &Path, text: &str) -> Item {
    let Ok(all) = entry::server_names(config, text) else {
        return Item::ok("names", "no servers");
    };
    let mut clashes = Vec::new();
    for n in &all {
        if n == entry::SERVER_NAME {
            continue;
        }
        let same_ns = n.replace('-', "_") == entry::SERVER_NAME.replace('-', "_");
        let ours = entry::read_entry(config, text, n)
            .ok()
            .flatten()
            .and_then(|e| e.command)
            .is_some_and(|c| {
                Path::new(&c)
                    .file_name()
                    .is_some_and(|f| f == "codex-teams")
            });
        if same_ns || ours {
            clashes.push(n.clone());
        }
    }
    if clashes.is_empty() {
        Item::ok(
            "names",
            format!("{} other server(s), no clash", all.len().saturating_sub(1)),
        )
    } else {
        Item::fail(
            "names",
            format!(
                "[mcp_servers.{}] clashes with ours (same tools namespace or a second codex-teams)",
                clashes.join("], [mcp_servers.")
            ),
            format!("remove or rename [mcp_servers.{}]", clashes[0]),
        )
    }
}

fn skill_item(inp: &Inputs) -> Item {
    let dir = skill::dir(&inp.codex_home);
    let stale = skill::stale_files(&inp.codex_home);
    if stale.is_empty() {
        Item::ok("skill", format!("{} is current", dir.display()))
    } else if !dir.join("SKILL.md").exists() {
        Item::fail(
            "skill",
            format!("{} is not installed", dir.display()),
            INSTALL_FIX,
        )
    } else {
        Item::fail(
            "skill",
            format!("{} is out of date ({})", dir.display(), stale.join(", ")),
            INSTALL_FIX,
        )
    }
}

fn store(inp: &Inputs) -> Item {
    use std::os::unix::fs::PermissionsExt;
    let home = &inp.teams_home;
    let existing = home.ancestors().find(|p| p.exists()).map(Path::to_path_buf);
    let Some(existing) = existing else {
        return Item::fail(
            "store",
            format!("no part of {} exists", home.display()),
            "set CODEX_TEAMS_HOME to a folder you own",
        );
    };
    let probe = existing.join(format!(".codex-teams-check-{}", std::process::id()));
    if let Err(e) = std::fs::write(&probe, b"") {
        return Item::fail(
            "store",
            format!(
                "{} is not writable ({e}); the store cannot be created",
                existing.display()
            ),
            format!(
                "make {} writable by you, or set CODEX_TEAMS_HOME",
                existing.display()
            ),
        );
    }
    let _ = std::fs::remove_file(&probe);
    if !home.exists() {
        return Item::ok(
            "store",
            format!("{} will be created (0700)", home.display()),
        );
    }
    let mut loose = Vec::new();
    for p in [
        home.clone(),
        home.join("teams.db"),
        home.join("teams.db-wal"),
    ] {
        if let Ok(m) = std::fs::metadata(&p)
            && m.permissions().mode() & 0o077 != 0
        {
            loose.push(format!(
                "{} is {:o}",
                p.display(),
                m.permissions().mode() & 0o777
            ));
        }
    }
    if loose.is_empty() {
        Item::ok(
            "store",
            format!("{} is writable and private", home.display()),
        )
    } else {
        Item::fail(
            "store",
            format!("readable by others: {}", loose.join(", ")),
            format!("chmod 700 {0} && chmod 600 {0}/teams.db*", home.display()),
        )
    }
}

/// Provider ids codex defines itself (no `[model_providers.X]` needed).
const BUILTIN_PROVIDERS: &[&str] = &["openai", "ollama", "lmstudio", "oss"];

fn model(inp: &Inputs) -> Item {
    use crate::supervisor::model::{ModelInputs, resolve};
    let resolved = resolve(&ModelInputs {
        explicit_model: None,
        lead_session_model: None,
        codex_home: Some(inp.codex_home.clone()),
        codex_profile: None,
    });
    let r = match resolved {
        Ok(r) => r,
        Err(e) => {
            return Item::fail("model", e.to_string(), "fix the model keys in config.toml");
        }
    };
    let s = &r.settings;
    let provider = s.provider.clone().unwrap_or_else(|| "openai".into());
    let config = inp.codex_home.join("config.toml");
    let defined = std::fs::read_to_string(&config)
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
        .and_then(|t| t.get("model_providers").and_then(|p| p.as_table()).cloned())
        .is_some_and(|p| p.contains_key(&provider));
    let detail = format!(
        "workers inherit the lead's session model (config: {}), provider {provider}, effort {}",
        s.model.as_deref().unwrap_or("codex's default"),
        s.reasoning_effort.as_deref().unwrap_or("codex's default"),
    );
    if defined || BUILTIN_PROVIDERS.contains(&provider.as_str()) {
        Item::ok("model", detail)
    } else {
        Item::fail(
            "model",
            format!(
                "model_provider = {provider:?} but config.toml has no [model_providers.{provider}]"
            ),
            format!("define [model_providers.{provider}] or change model_provider"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A good install in a temp dir; cases break one thing each.
    struct Setup {
        _dir: tempfile::TempDir,
        inputs: Inputs,
        bin: PathBuf,
    }

    fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("built-codex-teams");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let codex_home = dir.path().join("codex");
        std::fs::create_dir_all(&codex_home).unwrap();
        std::fs::write(
            codex_home.join("config.toml"),
            "# mine\nmodel_provider = \"local\"\n[model_providers.local]\nname = \"l\"\nbase_url = \"http://127.0.0.1:1/v1\"\n",
        )
        .unwrap();
        let prefix = dir.path().join("prefix");
        let (_, m) = super::super::setup::install(&exe, &prefix, &codex_home).unwrap();
        let teams_home = dir.path().join("teams");
        let inputs = Inputs {
            codex_home,
            teams_home,
            path_env: Some(prefix.join("bin").into_os_string()),
        };
        Setup {
            _dir: dir,
            inputs,
            bin: m.binary,
        }
    }

    fn item(inp: &Inputs, id: &str) -> Item {
        check(inp)
            .into_iter()
            .find(|i| i.id == id && !i.ok)
            .or_else(|| check(inp).into_iter().find(|i| i.id == id))
            .unwrap()
    }

    fn edit_config(s: &Setup, f: impl FnOnce(String) -> String) {
        let p = s.inputs.codex_home.join("config.toml");
        let t = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, f(t)).unwrap();
    }

    fn assert_fail(s: &Setup, id: &str, detail: &str, fix: &str) {
        let i = item(&s.inputs, id);
        assert!(!i.ok, "{id} should FAIL: {i:?}");
        assert!(i.detail.contains(detail), "{id} detail: {i:?}");
        assert!(
            i.fix.as_deref().unwrap_or("").contains(fix),
            "{id} fix: {i:?}"
        );
    }

    #[test]
    fn a_fresh_install_passes_every_local_item() {
        let s = setup();
        for i in check(&s.inputs) {
            // `codex` depends on the machine (CODEX_BIN / PATH); every other item is ours.
            if i.id != "codex" {
                assert!(i.ok, "{i:?}");
            }
        }
    }

    #[test]
    fn binary_not_on_path() {
        let mut s = setup();
        s.inputs.path_env = Some("/nonexistent".into());
        assert_fail(
            &s,
            "binary",
            "not on PATH",
            "add the install's bin folder to PATH",
        );
    }

    #[test]
    fn config_missing_or_broken() {
        let s = setup();
        edit_config(&s, |t| t + "\nmodel = [\n");
        assert_fail(&s, "config", "is not valid TOML", "fix the TOML in");
        std::fs::remove_file(s.inputs.codex_home.join("config.toml")).unwrap();
        assert_fail(&s, "config", "does not exist", "codex-teams install");
    }

    #[test]
    fn entry_missing_disabled_or_pointing_nowhere() {
        let s = setup();
        std::fs::remove_file(&s.bin).unwrap();
        assert_fail(
            &s,
            "entry",
            "is not an executable file",
            "codex-teams install",
        );
        edit_config(&s, |t| {
            t.replace("args = [\"mcp\"]", "args = [\"mcp\"]\nenabled = false")
        });
        assert_fail(&s, "entry", "enabled = false", "remove `enabled = false`");
        edit_config(&s, |t| {
            let (a, _) = t.split_once("\n[mcp_servers.codex-teams]").unwrap();
            a.to_string()
        });
        assert_fail(
            &s,
            "entry",
            "no [mcp_servers.codex-teams]",
            "codex-teams install",
        );
    }

    #[test]
    fn approval_not_set() {
        let s = setup();
        edit_config(&s, |t| {
            t.replace("default_tools_approval_mode = \"approve\"\n", "")
        });
        assert_fail(
            &s,
            "approval",
            "refuses every team tool call",
            "default_tools_approval_mode = \"approve\"",
        );
    }

    #[test]
    fn codex_home_not_forwarded_or_timeout_too_short() {
        let s = setup();
        edit_config(&s, |t| {
            t.lines()
                .filter(|l| !l.starts_with("env = "))
                .collect::<Vec<_>>()
                .join("\n")
                + "\n"
        });
        assert_fail(
            &s,
            "env",
            "CODEX_HOME does not reach the server",
            "env = { CODEX_HOME",
        );
        let s = setup();
        edit_config(&s, |t| {
            t.replace("tool_timeout_sec = 600", "tool_timeout_sec = 30")
        });
        assert_fail(
            &s,
            "env",
            "shorter than team_wait",
            "tool_timeout_sec = 600",
        );
    }

    #[test]
    fn skill_missing_or_stale() {
        let s = setup();
        let md = skill::dir(&s.inputs.codex_home).join("references/roles.md");
        std::fs::write(&md, "old roles").unwrap();
        assert_fail(
            &s,
            "skill",
            "out of date (references/roles.md)",
            "codex-teams install",
        );
        std::fs::remove_dir_all(skill::dir(&s.inputs.codex_home)).unwrap();
        assert_fail(&s, "skill", "is not installed", "codex-teams install");
    }

    #[test]
    fn clashing_server_names() {
        let s = setup();
        edit_config(&s, |t| {
            t + "\n[mcp_servers.codex_teams]\ncommand = \"other\"\n"
        });
        assert_fail(
            &s,
            "names",
            "[mcp_servers.codex_teams] clashes",
            "remove or rename [mcp_servers.codex_teams]",
        );
        let s = setup();
        edit_config(&s, |t| {
            t + "\n[mcp_servers.team]\ncommand = \"/opt/bin/codex-teams\"\nargs = [\"mcp\"]\n"
        });
        assert_fail(
            &s,
            "names",
            "[mcp_servers.team] clashes",
            "remove or rename [mcp_servers.team]",
        );
    }

    #[test]
    fn store_readable_by_others_or_unwritable() {
        let s = setup();
        std::fs::create_dir_all(&s.inputs.teams_home).unwrap();
        std::fs::set_permissions(&s.inputs.teams_home, std::fs::Permissions::from_mode(0o755))
            .unwrap();
        assert_fail(&s, "store", "readable by others", "chmod 700");
        std::fs::set_permissions(&s.inputs.teams_home, std::fs::Permissions::from_mode(0o700))
            .unwrap();
        assert!(item(&s.inputs, "store").ok);
        // Root writes anywhere: an unwritable home is simulated with a path under a file.
        let mut s2 = setup();
        let file = s2.inputs.codex_home.join("config.toml");
        s2.inputs.teams_home = file.join("teams");
        assert_fail(&s2, "store", "is not writable", "set CODEX_TEAMS_HOME");
    }

    #[test]
    fn provider_not_defined() {
        let s = setup();
        edit_config(&s, |t| {
            t.replace("model_provider = \"local\"", "model_provider = \"acme\"")
        });
        assert_fail(
            &s,
            "model",
            "no [model_providers.acme]",
            "define [model_providers.acme]",
        );
        edit_config(&s, |t| {
            t.replace("model_provider = \"acme\"", "model_provider = \"openai\"")
        });
        assert!(item(&s.inputs, "model").ok);
    }
}

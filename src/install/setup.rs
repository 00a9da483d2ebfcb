//! `codex-teams install` (module `setup`): the binary on PATH, the MCP entry in the user's Codex config, the
//! skill in Codex's skills folder. Idempotent: a second run changes no byte.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::entry::{self, Entry};
use super::manifest::{self, Manifest};
use super::{Step, codex_version, skill};

/// Options of `codex-teams install`.
#[derive(Debug, Clone, clap::Args)]
pub struct InstallArgs {
    /// Install prefix; the binary goes to PREFIX/bin/codex-teams [default: ~/.local].
    #[arg(long)]
    pub prefix: Option<PathBuf>,
    /// The Codex home to register in [default: $CODEX_HOME, else ~/.codex].
    #[arg(long)]
    pub codex_home: Option<PathBuf>,
    /// Print what was done as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs `install`.
pub fn run(args: InstallArgs) -> anyhow::Result<()> {
    let codex = codex_version::find_supported()?;
    let codex_home = super::resolve_codex_home(args.codex_home.as_deref())?;
    let prefix = match &args.prefix {
        Some(p) => super::absolute(p)?,
        None => PathBuf::from(std::env::var_os("HOME").context("HOME is not set; pass --prefix")?)
            .join(".local"),
    };
    let this = std::env::current_exe().context("cannot find the running codex-teams binary")?;
    let (steps, manifest) = install(&this, &prefix, &codex_home)?;
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d == prefix.join("bin")));
    super::print_steps(
        &steps,
        args.json,
        serde_json::json!({
            "codex": { "path": codex.path, "version": codex_version::fmt_version(codex.version) },
            "binary": manifest.binary,
            "on_path": on_path,
        }),
    );
    if !args.json {
        println!(
            "codex-teams {} installed for codex {} ({}).",
            env!("CARGO_PKG_VERSION"),
            codex_version::fmt_version(codex.version),
            codex.path.display()
        );
        if !on_path {
            println!(
                "note: {} is not on your PATH; add it (e.g. export PATH=\"{}:$PATH\").",
                prefix.join("bin").display(),
                prefix.join("bin").display()
            );
        }
        println!(
            "Next: in codex, type `use agents team: <your job>`. Check the setup with `codex-teams check-config`."
        );
    }
    Ok(())
}

/// Does the work; separate from [`run`] so tests call it with their own paths.
pub fn install(
    this_exe: &Path,
    prefix: &Path,
    codex_home: &Path,
) -> anyhow::Result<(Vec<Step>, Manifest)> {
    let mut steps = Vec::new();
    let skill_dir = skill::dir(codex_home);
    let previous = Manifest::read(&skill_dir)?;
    let codex_home_created =
        previous.as_ref().is_some_and(|m| m.codex_home_created) || !codex_home.exists();
    std::fs::create_dir_all(codex_home)
        .with_context(|| format!("cannot create the Codex home {}", codex_home.display()))?;
    let skills_parent = codex_home.join("skills");
    let skills_dir_created =
        previous.as_ref().is_some_and(|m| m.skills_dir_created) || !skills_parent.exists();

    // 1. The binary.
    let binary = manifest::binary_path(prefix);
    let (binary_action, binary_copied) = install_binary(this_exe, &binary)?;
    let binary_copied = binary_copied || previous.as_ref().is_some_and(|m| m.binary_copied);
    steps.push(Step {
        what: "binary",
        action: binary_action,
        path: binary.clone(),
        note: None,
    });

    // 2. The config entry.
    let config = codex_home.join("config.toml");
    let (old, existed) = match std::fs::read_to_string(&config) {
        Ok(t) => (t, true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (String::new(), false),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", config.display())),
    };
    let config_created = previous.as_ref().is_some_and(|m| m.config_created) || !existed;
    let mut env_vars: Vec<String> = entry::BASE_ENV_VARS.iter().map(|s| s.to_string()).collect();
    for k in entry::provider_env_keys(&config, &old)? {
        if !env_vars.contains(&k) {
            env_vars.push(k);
        }
    }
    let wanted = Entry {
        command: binary.clone(),
        codex_home: codex_home.to_path_buf(),
        env_vars,
    };
    let had_entry = entry::read_entry(&config, &old, entry::SERVER_NAME)?.is_some();
    let new = entry::upsert(&config, &old, &wanted)?;
    let config_action = if new == old && existed {
        "unchanged"
    } else {
        let mode = existing_mode(&config).unwrap_or(0o600);
        super::write_atomic(&config, new.as_bytes(), mode)?;
        if had_entry { "updated" } else { "installed" }
    };
    steps.push(Step {
        what: "config",
        action: config_action,
        path: config.clone(),
        note: Some(format!("[mcp_servers.{}]", entry::SERVER_NAME)),
    });

    // 3. The skill.
    std::fs::create_dir_all(skill_dir.join("references"))
        .with_context(|| format!("cannot create {}", skill_dir.display()))?;
    let stale = skill::stale_files(codex_home);
    for (rel, text) in skill::FILES {
        if stale.iter().any(|s| s == rel) {
            super::write_atomic(&skill_dir.join(rel), text.as_bytes(), 0o644)?;
        }
    }
    let manifest = Manifest {
        version: env!("CARGO_PKG_VERSION").into(),
        binary,
        binary_copied,
        config_created,
        codex_home_created,
        skills_dir_created,
    };
    let manifest_changed = previous.as_ref() != Some(&manifest);
    if manifest_changed {
        manifest.write(&skill_dir)?;
    }
    steps.push(Step {
        what: "skill",
        action: if stale.is_empty() && !manifest_changed {
            "unchanged"
        } else if previous.is_some() {
            "updated"
        } else {
            "installed"
        },
        path: skill_dir,
        note: None,
    });
    Ok((steps, manifest))
}

fn existing_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

/// Copies `from` to `to` unless it is already that file or has the same bytes.
fn install_binary(from: &Path, to: &Path) -> anyhow::Result<(&'static str, bool)> {
    let same_file = match (std::fs::canonicalize(from), std::fs::canonicalize(to)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same_file {
        return Ok(("unchanged", false));
    }
    let bytes = std::fs::read(from).with_context(|| format!("cannot read {}", from.display()))?;
    if std::fs::read(to).ok().as_deref() == Some(bytes.as_slice()) {
        return Ok(("unchanged", true));
    }
    let existed = to.exists();
    let dir = to.parent().expect("PREFIX/bin/codex-teams has a parent");
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    super::write_atomic(to, &bytes, 0o755)?;
    Ok((if existed { "updated" } else { "installed" }, true))
}

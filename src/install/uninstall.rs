//! `codex-teams uninstall`: removes exactly what `install` added. A config that had comments
//! and other servers is left byte-identical to its state before install; the team store
//! stays unless `--purge`.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::manifest::Manifest;
use super::{Step, entry, skill};

/// Options of `codex-teams uninstall`.
#[derive(Debug, Clone, clap::Args)]
pub struct UninstallArgs {
    /// The Codex home to remove the registration from [default: $CODEX_HOME, else ~/.codex].
    #[arg(long)]
    pub codex_home: Option<PathBuf>,
    /// Also delete the team store and logs ($CODEX_TEAMS_HOME, else ~/.codex-teams).
    #[arg(long)]
    pub purge: bool,
    /// Print what was done as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs `uninstall`.
pub fn run(args: UninstallArgs) -> anyhow::Result<()> {
    let codex_home = super::resolve_codex_home(args.codex_home.as_deref())?;
    let teams_home = args
        .purge
        .then(crate::supervisor::home::TeamsHome::path)
        .transpose()?;
    let steps = uninstall(&codex_home, teams_home.as_deref())?;
    super::print_steps(&steps, args.json, serde_json::json!({}));
    if !args.json {
        println!("codex-teams removed from {}.", codex_home.display());
    }
    Ok(())
}

/// Does the work; `purge` is the team home to delete, if asked.
pub fn uninstall(codex_home: &Path, purge: Option<&Path>) -> anyhow::Result<Vec<Step>> {
    let mut steps = Vec::new();
    let skill_dir = skill::dir(codex_home);
    let manifest = Manifest::read(&skill_dir)?;

    let config = codex_home.join("config.toml");
    match std::fs::read_to_string(&config) {
        Ok(text) => {
            let (out, removed) = entry::remove(&config, &text)?;
            if removed {
                if out.is_empty() && manifest.as_ref().is_some_and(|m| m.config_created) {
                    std::fs::remove_file(&config)
                        .with_context(|| format!("cannot remove {}", config.display()))?;
                } else {
                    let mode = {
                        use std::os::unix::fs::PermissionsExt;
                        std::fs::metadata(&config)
                            .map(|m| m.permissions().mode() & 0o7777)
                            .unwrap_or(0o600)
                    };
                    super::write_atomic(&config, out.as_bytes(), mode)?;
                }
            }
            steps.push(Step {
                what: "config",
                action: if removed { "removed" } else { "absent" },
                path: config.clone(),
                note: Some(format!("[mcp_servers.{}]", entry::SERVER_NAME)),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => steps.push(Step {
            what: "config",
            action: "absent",
            path: config.clone(),
            note: None,
        }),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", config.display())),
    }

    // The skill: our files only; the folder goes when nothing of the user's is left in it.
    let mut removed_any = false;
    for rel in skill::FILES
        .iter()
        .map(|(r, _)| *r)
        .chain([skill::MANIFEST])
    {
        match std::fs::remove_file(skill_dir.join(rel)) {
            Ok(()) => removed_any = true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot remove {}", skill_dir.join(rel).display()));
            }
        }
    }
    let _ = std::fs::remove_dir(skill_dir.join("references"));
    let _ = std::fs::remove_dir(&skill_dir);
    steps.push(Step {
        what: "skill",
        action: if removed_any { "removed" } else { "absent" },
        path: skill_dir.clone(),
        note: skill_dir
            .exists()
            .then(|| "kept: it holds files that are not ours".into()),
    });
    if let Some(m) = &manifest {
        if m.skills_dir_created {
            let _ = std::fs::remove_dir(codex_home.join("skills"));
        }
        // The binary, if install put it there.
        if m.binary_copied {
            let action = match std::fs::remove_file(&m.binary) {
                Ok(()) => "removed",
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => "absent",
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot remove {}", m.binary.display()));
                }
            };
            steps.push(Step {
                what: "binary",
                action,
                path: m.binary.clone(),
                note: None,
            });
        }
        if m.codex_home_created {
            // Only if codex itself left nothing there.
            let _ = std::fs::remove_dir(codex_home);
        }
    }
    if let Some(home) = purge {
        let action = match std::fs::remove_dir_all(home) {
            Ok(()) => "removed",
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => "absent",
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", home.display())),
        };
        steps.push(Step {
            what: "store",
            action,
            path: home.to_path_buf(),
            note: None,
        });
    } else if let Ok(home) = crate::supervisor::home::TeamsHome::path()
        && home.exists()
    {
        steps.push(Step {
            what: "store",
            action: "kept",
            path: home,
            note: Some("--purge deletes it".into()),
        });
    }
    Ok(steps)
}

//! `codex-teams profile check|show`: validate a profile before a run spends tokens on it, and
//! show what a profile resolves to (role pack defaults plus overrides).

use clap::Subcommand;
use serde_json::json;

use super::fanout::Band;
use super::profile::{Profile, ProfileError, ResolvedRole};

/// The `profile` subcommands.
#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Validate a profile (bundled name or YAML path); non-zero exit when it is invalid.
    Check {
        /// `default`, `fast`, `deep`, `fixed-6`, or a path to a `.team.yaml` file.
        profile: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a profile with every role resolved.
    Show {
        /// `default`, `fast`, `deep`, `fixed-6`, or a path to a `.team.yaml` file.
        profile: String,
        /// Print JSON instead of YAML.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `profile` subcommand.
pub fn run(cmd: ProfileCommand) -> anyhow::Result<()> {
    match cmd {
        ProfileCommand::Check { profile, json } => {
            let (out, result) = check(&profile, json);
            if json || result.is_ok() {
                println!("{out}");
            }
            result.map_err(anyhow::Error::from)
        }
        ProfileCommand::Show { profile, json } => {
            println!("{}", show(&profile, json)?);
            Ok(())
        }
    }
}

/// The `check` output (one line of text, or JSON) and whether the profile is valid.
pub fn check(target: &str, json: bool) -> (String, Result<(), ProfileError>) {
    match Profile::load(target) {
        Ok(p) => {
            let out = if json {
                json!({
                    "ok": true,
                    "name": p.name,
                    "mode": p.mode,
                    "max_threads": p.max_threads,
                    "bands": bands(&p).iter().map(|(b, min, max)| json!({"band": b, "min_workers": min, "max_workers": max})).collect::<Vec<_>>(),
                    "total_tokens": p.budget.total_tokens,
                    "worker_turn_estimate": p.budget.worker_turn_estimate,
                    "run_secs": p.timeouts.run_secs,
                })
                .to_string()
            } else {
                let bands = bands(&p)
                    .iter()
                    .map(|(b, min, max)| format!("{b} {min}-{max}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!(
                    "OK {}: {} mode, max_threads {}, bands {bands}, budget {} tokens ({} per worker turn), run timeout {} s",
                    p.name,
                    p.mode,
                    p.max_threads,
                    p.budget.total_tokens,
                    p.budget.worker_turn_estimate,
                    p.timeouts.run_secs
                )
            };
            (out, Ok(()))
        }
        Err(e) => {
            let out = if json {
                json!({
                    "ok": false,
                    "error": {
                        "origin": e.origin,
                        "field": e.field,
                        "line": e.line,
                        "message": e.message,
                    }
                })
                .to_string()
            } else {
                e.to_string()
            };
            (out, Err(e))
        }
    }
}

/// The resolved profile as YAML (or JSON): the file's settings plus every role as a run uses it.
pub fn show(target: &str, json: bool) -> anyhow::Result<String> {
    #[derive(serde::Serialize)]
    struct Shown<'a> {
        profile: &'a Profile,
        resolved_roles: Vec<ResolvedRole>,
    }
    let p = Profile::load(target)?;
    let shown = Shown {
        profile: &p,
        resolved_roles: p.resolved_roles(),
    };
    Ok(if json {
        serde_json::to_string_pretty(&shown)?
    } else {
        serde_norway::to_string(&shown)?
    })
}

fn bands(p: &Profile) -> [(Band, u32, u32); 3] {
    let f = &p.fanout;
    [
        (Band::Small, f.small.min_workers, f.small.max_workers),
        (Band::Medium, f.medium.min_workers, f.medium.max_workers),
        (Band::High, f.high.min_workers, f.high.max_workers),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_reports_ok_and_errors() {
        let (out, r) = check("default", false);
        assert!(r.is_ok());
        assert!(
            out.starts_with(
                "OK default: adaptive mode, max_threads 6, bands small 1-2, medium 3-4, high 5-6"
            ),
            "{out}"
        );
        let (out, _) = check("fast", true);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            (v["ok"].as_bool(), v["max_threads"].as_u64()),
            (Some(true), Some(3))
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.team.yaml");
        let text = include_str!("../../profiles/default.team.yaml").replacen(
            "max_threads: 6 ",
            "max_threads: 8 ",
            1,
        );
        std::fs::write(&path, &text).unwrap();
        let (out, r) = check(path.to_str().unwrap(), true);
        assert!(r.is_err());
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["ok"], false);
        assert_eq!(v["error"]["field"], "max_threads");
        assert_eq!(v["error"]["line"], 6);
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("the limit is 6")
        );
        let (out, _) = check(path.to_str().unwrap(), false);
        assert!(
            out.contains("line 6, field `max_threads`: 8 is out of range"),
            "{out}"
        );
    }

    #[test]
    fn show_resolves_roles() {
        let yaml = show("deep", false).unwrap();
        assert!(yaml.contains("resolved_roles:"), "{yaml}");
        assert!(yaml.contains("effort: xhigh"), "{yaml}");
        let v: serde_json::Value = serde_json::from_str(&show("deep", true).unwrap()).unwrap();
        assert_eq!(v["profile"]["name"], "deep");
        assert_eq!(v["resolved_roles"][2]["name"], "implementer");
        assert_eq!(v["resolved_roles"][2]["effort"], "high");
        assert_eq!(v["resolved_roles"][2]["sandbox"], "workspace-write");
        assert!(show("nope", true).is_err());
    }
}

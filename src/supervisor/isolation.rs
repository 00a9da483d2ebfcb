//! Keeping a codex child to its own bus: a worker started with `-c mcp_servers.team...`
//! still loads the user's whole Codex config, so every MCP server the user registered (our
//! own `codex-teams` entry included, whose `team_start`/`team_spawn` would let a worker
//! start a nested team past the cap) is started for it and its tools offered, unless turned
//! off per child (codex-facts §9). And a user server with our bus's name would merge with
//! our `-c` keys and break every child (`url is not supported for stdio`). This module reads
//! the config layers codex loads and says which servers to turn off and which name is free.

use std::path::{Path, PathBuf};

/// The bus server's preferred name; tools show up as `mcp__team__*`.
pub const PREFERRED_BUS_NAME: &str = "team";

/// What a child needs to be isolated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Isolation {
    /// The name our bus server gets (not one the user's config uses).
    pub bus_name: String,
    /// Every MCP server the user's config layers define: each gets `enabled=false`.
    pub disable: Vec<String>,
}

/// Reads `$CODEX_HOME/config.toml`, the codex profile file (`NAME.config.toml`) if any, and
/// the `.codex/config.toml` of `cwd` and its parents that the user config marks trusted
/// (codex loads project layers only for trusted projects). Unreadable or malformed files
/// contribute nothing: codex itself will report them.
pub fn for_child(codex_home: Option<&Path>, codex_profile: Option<&str>, cwd: &Path) -> Isolation {
    let mut names = Vec::new();
    let mut trusted = Vec::new();
    if let Some(home) = codex_home {
        if let Some(t) = read(&home.join("config.toml")) {
            collect(&t, &mut names);
            if let Some(projects) = t.get("projects").and_then(|p| p.as_table()) {
                for (dir, v) in projects {
                    if v.get("trust_level").and_then(|l| l.as_str()) == Some("trusted") {
                        trusted.push(PathBuf::from(dir));
                    }
                }
            }
        }
        if let Some(p) = codex_profile
            && let Some(t) = read(&home.join(format!("{p}.config.toml")))
        {
            collect(&t, &mut names);
        }
    }
    for dir in cwd.ancestors() {
        if trusted.iter().any(|t| t == dir)
            && let Some(t) = read(&dir.join(".codex").join("config.toml"))
        {
            collect(&t, &mut names);
        }
    }
    plan(names)
}

/// The pure part: the names found, in the order found, to what the child gets.
pub fn plan(found: Vec<String>) -> Isolation {
    let mut disable: Vec<String> = Vec::new();
    for n in found {
        // Codex only accepts these characters in server names; anything else it rejects
        // itself, and a `-c` key with it would not parse.
        let valid = !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if valid && !disable.contains(&n) {
            disable.push(n);
        }
    }
    // Tools of `a-b` and `a_b` share the namespace `mcp__a_b`: avoid both spellings.
    let taken = |name: &str| {
        disable
            .iter()
            .any(|d| d.replace('-', "_") == name.replace('-', "_"))
    };
    let bus_name = std::iter::once(PREFERRED_BUS_NAME.to_string())
        .chain((2..).map(|i| format!("{PREFERRED_BUS_NAME}_{i}")))
        .find(|n| !taken(n))
        .expect("an unbounded sequence has a free name");
    Isolation { bus_name, disable }
}

fn read(path: &Path) -> Option<toml::Table> {
    std::fs::read_to_string(path).ok()?.parse().ok()
}

fn collect(t: &toml::Table, out: &mut Vec<String>) {
    if let Some(servers) = t.get("mcp_servers").and_then(|s| s.as_table()) {
        out.extend(servers.keys().cloned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn plans() {
        let cases: &[(&[&str], &str, &[&str])] = &[
            (&[], "team", &[]),
            (&["codex-teams", "docs"], "team", &["codex-teams", "docs"]),
            (&["team"], "team_2", &["team"]),
            (
                &["team", "team_2", "team-3"],
                "team_4",
                &["team", "team_2", "team-3"],
            ),
            (&["docs", "docs", "bad.name", ""], "team", &["docs"]),
        ];
        for (found, bus, disable) in cases {
            let p = plan(names(found));
            assert_eq!(p.bus_name, *bus, "{found:?}");
            assert_eq!(p.disable, names(disable), "{found:?}");
        }
    }

    #[test]
    fn reads_user_profile_and_trusted_project_layers() {
        let home = tempfile::tempdir().unwrap();
        let proj = tempfile::tempdir().unwrap();
        let untrusted = tempfile::tempdir().unwrap();
        std::fs::write(
            home.path().join("config.toml"),
            format!(
                "# mine\n[mcp_servers.team]\ncommand = \"x\"\n[mcp_servers.codex-teams]\ncommand = \"y\"\n[projects.{:?}]\ntrust_level = \"trusted\"\n",
                proj.path().display().to_string()
            ),
        )
        .unwrap();
        std::fs::write(
            home.path().join("work.config.toml"),
            "[mcp_servers.jira]\nurl = \"http://127.0.0.1:1/mcp\"\n",
        )
        .unwrap();
        for d in [proj.path(), untrusted.path()] {
            std::fs::create_dir_all(d.join(".codex")).unwrap();
            std::fs::write(
                d.join(".codex/config.toml"),
                "[mcp_servers.projtool]\ncommand = \"z\"\n",
            )
            .unwrap();
        }
        let sub = proj.path().join("src");
        std::fs::create_dir_all(&sub).unwrap();
        let got = for_child(Some(home.path()), Some("work"), &sub);
        assert_eq!(got.bus_name, "team_2");
        assert_eq!(
            got.disable,
            names(&["codex-teams", "team", "jira", "projtool"])
        );
        let got = for_child(Some(home.path()), None, untrusted.path());
        assert_eq!(got.disable, names(&["codex-teams", "team"]));
        assert_eq!(for_child(None, None, proj.path()), plan(vec![]));
    }
}

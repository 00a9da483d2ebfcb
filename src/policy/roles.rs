//! The role pack v1 (SPEC §5). `skills/agent-teams/references/roles.md` is the single source:
//! the same file the skill ships is embedded here and parsed, so the instructions a worker
//! gets and the ones a user reads can never drift apart.

use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::tools;

/// The embedded role pack, exactly as shipped in the skill.
pub const ROLES_MD: &str = include_str!("../../skills/agent-teams/references/roles.md");

/// The roles of v1, lead first (`team_spawn` accepts all but the lead), and the lead's
/// name (the only role allowed lead-only tools): spelled once, by the tool surface.
pub use codex_teams_mcp::types::{LEAD_ROLE as LEAD, ROLE_NAMES, Role as WorkerRole};

/// A Codex sandbox mode, spelled as `codex -s` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sandbox {
    ReadOnly,
    WorkspaceWrite,
    DangerFullAccess,
}

impl Sandbox {
    /// The value for `codex -s`.
    pub fn as_str(self) -> &'static str {
        match self {
            Sandbox::ReadOnly => "read-only",
            Sandbox::WorkspaceWrite => "workspace-write",
            Sandbox::DangerFullAccess => "danger-full-access",
        }
    }

    /// Parses a `codex -s` value.
    pub fn parse(s: &str) -> Option<Sandbox> {
        match s {
            "read-only" => Some(Sandbox::ReadOnly),
            "workspace-write" => Some(Sandbox::WorkspaceWrite),
            "danger-full-access" => Some(Sandbox::DangerFullAccess),
            _ => None,
        }
    }
}

impl fmt::Display for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One role of the pack: what an agent of this role may call, where it may write, and the
/// instructions that open its prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Role {
    pub name: String,
    pub tools: Vec<String>,
    pub sandbox: Sandbox,
    pub instructions: String,
}

/// A role-pack problem: a malformed roles.md (with its line) or an unknown role name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    #[error("roles.md line {line}: {message}")]
    Format { line: usize, message: String },
    #[error(
        "unknown role `{0}`: the roles are lead, planner, implementer, reviewer, tester, researcher"
    )]
    Unknown(String),
}

/// The parsed role pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RolePack {
    pub roles: Vec<Role>,
}

impl RolePack {
    /// The embedded pack v1, parsed once. Its validity is a test, so a bad edit fails CI.
    pub fn v1() -> &'static RolePack {
        static PACK: OnceLock<RolePack> = OnceLock::new();
        PACK.get_or_init(|| {
            RolePack::parse(ROLES_MD).expect("the embedded roles.md is valid (tested)")
        })
    }

    /// Parses the strict roles.md format: `## name`, `tools:` line, `sandbox:` line, blank
    /// line, instructions. Every v1 role must be present exactly once.
    pub fn parse(text: &str) -> Result<RolePack, RoleError> {
        let err = |line: usize, message: String| RoleError::Format { line, message };
        let lines: Vec<&str> = text.lines().collect();
        let mut starts = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            if let Some(name) = l.strip_prefix("## ") {
                starts.push((i, name.trim()));
            }
        }
        let mut roles: Vec<Role> = Vec::new();
        for (k, &(at, name)) in starts.iter().enumerate() {
            let end = starts.get(k + 1).map_or(lines.len(), |s| s.0);
            let ln = at + 1; // 1-based line of the heading
            if !ROLE_NAMES.contains(&name) {
                return Err(err(
                    ln,
                    format!("unknown role `{name}` (roles: {})", ROLE_NAMES.join(", ")),
                ));
            }
            if roles.iter().any(|r| r.name == name) {
                return Err(err(ln, format!("role `{name}` appears twice")));
            }
            let body = &lines[at + 1..end];
            let tools_line = body
                .first()
                .and_then(|l| l.strip_prefix("tools:"))
                .ok_or_else(|| err(ln + 1, format!("role `{name}`: expected a `tools:` line")))?;
            let tools: Vec<String> = tools_line
                .split(',')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect();
            if tools.is_empty() {
                return Err(err(ln + 1, format!("role `{name}`: `tools:` is empty")));
            }
            for t in &tools {
                check_tool(name, t).map_err(|m| err(ln + 1, m))?;
            }
            let sandbox_value = body
                .get(1)
                .and_then(|l| l.strip_prefix("sandbox:"))
                .ok_or_else(|| err(ln + 2, format!("role `{name}`: expected a `sandbox:` line")))?
                .trim();
            let sandbox = Sandbox::parse(sandbox_value).ok_or_else(|| {
                err(
                    ln + 2,
                    format!(
                        "role `{name}`: sandbox `{sandbox_value}` is not one of read-only, workspace-write, danger-full-access"
                    ),
                )
            })?;
            if body.get(2).is_some_and(|l| !l.trim().is_empty()) {
                return Err(err(
                    ln + 3,
                    format!("role `{name}`: expected a blank line before the instructions"),
                ));
            }
            let instructions = body
                .iter()
                .skip(3)
                .copied()
                .collect::<Vec<_>>()
                .join("\n")
                .trim()
                .to_string();
            if instructions.is_empty() {
                return Err(err(ln, format!("role `{name}` has no instructions")));
            }
            roles.push(Role {
                name: name.to_string(),
                tools,
                sandbox,
                instructions,
            });
        }
        if let Some(missing) = ROLE_NAMES
            .iter()
            .find(|n| !roles.iter().any(|r| r.name == **n))
        {
            return Err(err(
                lines.len().max(1),
                format!("role `{missing}` is missing"),
            ));
        }
        Ok(RolePack { roles })
    }

    /// The role called `name`, or an error listing the roles.
    pub fn get(&self, name: &str) -> Result<&Role, RoleError> {
        self.roles
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| RoleError::Unknown(name.to_string()))
    }
}

/// Checks that `tool` is a real team tool and that `role` may hold it; the message says which
/// rule failed. Shared with profile validation so both places speak the same language.
pub fn check_tool(role: &str, tool: &str) -> Result<(), String> {
    if !tools::is_tool(tool) {
        return Err(format!(
            "unknown tool `{tool}` (tools: {})",
            tools::TOOLS.join(", ")
        ));
    }
    if role != LEAD && tools::is_lead_only(tool) {
        return Err(format!(
            "`{tool}` is lead-only; role `{role}` cannot hold it"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_v1_role_parses_with_real_tools() {
        let pack = RolePack::parse(ROLES_MD).unwrap();
        assert_eq!(
            pack.roles
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
            ROLE_NAMES
        );
        for role in &pack.roles {
            assert!(!role.tools.is_empty(), "{}", role.name);
            for t in &role.tools {
                assert!(tools::is_tool(t), "{}: {t}", role.name);
            }
            // Instructions go into every request of the role: keep them short.
            assert!(
                role.instructions.len() < 800,
                "{} instructions are {} bytes",
                role.name,
                role.instructions.len()
            );
            assert!(!role.instructions.contains("## "), "{}", role.name);
        }
    }

    #[test]
    fn roles_have_the_expected_reach() {
        let pack = RolePack::v1();
        let lead = pack.get("lead").unwrap();
        for t in ["team_spawn", "team_finalize", "task_create", "team_wait"] {
            assert!(lead.tools.iter().any(|x| x == t), "lead lacks {t}");
        }
        for r in ["planner", "implementer", "reviewer", "tester", "researcher"] {
            let role = pack.get(r).unwrap();
            assert!(role.tools.iter().all(|t| !tools::is_lead_only(t)), "{r}");
            assert!(role.tools.iter().any(|t| t == "team_wait"), "{r}");
            assert!(role.tools.iter().any(|t| t == "artifact_publish"), "{r}");
        }
        assert_eq!(
            pack.get("implementer").unwrap().sandbox,
            Sandbox::WorkspaceWrite
        );
        assert_eq!(pack.get("reviewer").unwrap().sandbox, Sandbox::ReadOnly);
        assert_eq!(
            pack.get("researcher").unwrap().sandbox.as_str(),
            "read-only"
        );
    }

    #[test]
    fn unknown_role_is_a_clear_error() {
        let e = RolePack::v1().get("manager").unwrap_err();
        assert_eq!(e, RoleError::Unknown("manager".into()));
        let msg = e.to_string();
        assert!(
            msg.contains("`manager`") && msg.contains("implementer"),
            "{msg}"
        );
    }

    fn pack_with(section: &str) -> String {
        let mut text = String::new();
        for name in ROLE_NAMES.iter().filter(|n| **n != "tester") {
            text.push_str(&format!(
                "## {name}\ntools: team_wait\nsandbox: read-only\n\nDo {name} work.\n\n"
            ));
        }
        text.push_str(section);
        text
    }

    #[test]
    fn malformed_packs_name_the_line_and_problem() {
        // (tester section, expected line, expected fragment)
        let cases: &[(&str, usize, &str)] = &[
            (
                "## tester\ntools: team_wait\nsandbox: read-only\n\nTest.\n",
                0,
                "",
            ),
            (
                "## tester\nsandbox: read-only\n\nTest.\n",
                32,
                "expected a `tools:` line",
            ),
            (
                "## tester\ntools: team_wait, team_fly\nsandbox: read-only\n\nTest.\n",
                32,
                "unknown tool `team_fly`",
            ),
            (
                "## tester\ntools: team_spawn\nsandbox: read-only\n\nTest.\n",
                32,
                "`team_spawn` is lead-only",
            ),
            (
                "## tester\ntools: team_wait\nsandbox: yolo\n\nTest.\n",
                33,
                "sandbox `yolo`",
            ),
            (
                "## tester\ntools: team_wait\nsandbox: read-only\nTest.\n",
                34,
                "blank line",
            ),
            (
                "## tester\ntools: team_wait\nsandbox: read-only\n\n\n",
                31,
                "no instructions",
            ),
            (
                "## tester\ntools: team_wait\nsandbox: read-only\n\nT.\n## chef\ntools: team_wait\n",
                36,
                "unknown role `chef`",
            ),
            (
                "## lead\ntools: team_wait\nsandbox: read-only\n\nT.\n",
                31,
                "appears twice",
            ),
        ];
        for (section, line, fragment) in cases {
            let result = RolePack::parse(&pack_with(section));
            if fragment.is_empty() {
                assert!(result.is_ok(), "{result:?}");
                continue;
            }
            match result.unwrap_err() {
                RoleError::Format { line: l, message } => {
                    assert!(message.contains(fragment), "{message} !~ {fragment}");
                    assert_eq!(l, *line, "{message}");
                }
                other => panic!("{other:?}"),
            }
        }
        let missing = RolePack::parse("## lead\ntools: team_wait\nsandbox: read-only\n\nLead.\n")
            .unwrap_err();
        assert!(
            missing.to_string().contains("role `planner` is missing"),
            "{missing}"
        );
    }
}

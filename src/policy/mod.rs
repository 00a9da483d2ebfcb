//! The policy engine (SPEC §5-6): team profiles, adaptive fan-out, the token budget, guardrails
//! and the role pack. Everything here is pure and deterministic so the supervisor can ask the
//! same question twice and get the same answer, and tests can pin every rule in a table.

pub mod budget;
pub mod cli;
pub mod fanout;
pub mod guard;
pub mod locate;
pub mod plan;
pub mod profile;
pub mod restart;
pub mod roles;
pub mod spend;
pub mod tools;

pub use profile::{Profile, ProfileError};

/// The hard cap on concurrently running workers (SPEC §4.8); no profile may exceed it.
pub const MAX_WORKERS: usize = 6;

#[cfg(test)]
mod tests {
    /// The skill must trigger on both phrasings the user may write (codex-facts §7: the
    /// description is what the model matches against).
    #[test]
    fn skill_frontmatter_triggers_on_both_phrasings() {
        let skill = include_str!("../../skills/agent-teams/SKILL.md");
        let front = skill
            .strip_prefix("---\n")
            .and_then(|s| s.split_once("\n---\n"))
            .map(|(f, _)| f)
            .expect("frontmatter between --- lines");
        assert!(front.lines().any(|l| l == "name: agent-teams"), "{front}");
        let desc = front
            .lines()
            .find_map(|l| l.strip_prefix("description: "))
            .expect("description");
        assert!(desc.contains("\"use agents team\""), "{desc}");
        assert!(desc.contains("\"use agent teams\""), "{desc}");
        for tool in [
            "team_start",
            "task_create",
            "team_spawn",
            "team_wait",
            "team_finalize",
        ] {
            assert!(skill.contains(tool), "SKILL.md lacks {tool}");
        }
        // Valid YAML frontmatter (the description has a colon-free value).
        let parsed: serde_norway::Value = serde_norway::from_str(front).unwrap();
        assert_eq!(parsed["name"], "agent-teams");
    }
}

//! Team profiles (SPEC §6): one YAML file holds every knob of a run's policy, so switching
//! `--profile fast|default|deep` or a user's own file changes behaviour with no code edit.
//! Loading is strict: unknown keys, wrong types and out-of-range values are errors that name
//! the field and its line, because a silently ignored typo in a budget costs real tokens.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::MAX_WORKERS;
use super::locate;
use super::roles::{self, RolePack, Sandbox};

/// The bundled profiles, embedded so the binary works from any directory.
pub const BUNDLED: &[(&str, &str)] = &[
    ("default", include_str!("../../profiles/default.team.yaml")),
    ("fast", include_str!("../../profiles/fast.team.yaml")),
    ("deep", include_str!("../../profiles/deep.team.yaml")),
    ("fixed-6", include_str!("../../profiles/fixed-6.team.yaml")),
];

/// How the team size is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// From the ready work and the budget (the product's behaviour).
    Adaptive,
    /// Always `max_threads` workers (the `fixed-6` benchmark baseline).
    Fixed,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Adaptive => "adaptive",
            Mode::Fixed => "fixed",
        })
    }
}

/// A Codex reasoning effort (`-c model_reasoning_effort=...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effort {
    None,
    Minimal,
    Low,
    Medium,
    High,
    Xhigh,
}

impl Effort {
    /// The value for `model_reasoning_effort`.
    pub fn as_str(self) -> &'static str {
        match self {
            Effort::None => "none",
            Effort::Minimal => "minimal",
            Effort::Low => "low",
            Effort::Medium => "medium",
            Effort::High => "high",
            Effort::Xhigh => "xhigh",
        }
    }
}

impl fmt::Display for Effort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The smallest band: the fallback when no larger band's thresholds are met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmallBand {
    pub min_workers: u32,
    pub max_workers: u32,
}

/// A larger band and the ready work that selects it: at least `min_ready` tasks that can run
/// in parallel, weighing at least `min_weight` in total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    pub min_ready: u32,
    pub min_weight: u32,
    pub min_workers: u32,
    pub max_workers: u32,
}

/// Work units per task size, so many tiny tasks do not buy as many workers as large ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    pub small: u32,
    pub medium: u32,
    pub large: u32,
}

/// The three fan-out bands and the task weights that select among them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fanout {
    pub weights: Weights,
    pub small: SmallBand,
    pub medium: Band,
    pub high: Band,
}

/// Token budget for the whole run (lead and workers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    pub total_tokens: u64,
    pub lead_reserve_tokens: u64,
    pub worker_turn_estimate: u64,
    pub worker_turn_max_tokens: u64,
}

/// Wall-clock limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    pub worker_turn_secs: u64,
    pub run_secs: u64,
    pub tool_wait_secs: u64,
}

/// Which early-stop rules are on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStop {
    pub board_done: bool,
    pub budget_spent: bool,
    pub lead_finalized: bool,
    /// When every task is done, none failed and the lead has no unread mail, the supervisor
    /// finalizes the team itself instead of resuming the lead: there is nothing to decide,
    /// and a lead turn costs two full requests.
    #[serde(default)]
    pub finalize_clean_board: bool,
}

/// Size limits that keep messages compact (big content goes into artifacts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub message_bytes: u64,
    pub artifact_bytes: u64,
}

/// Model and effort for every worker role that does not set its own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<Effort>,
}

/// One role's overrides; anything unset comes from the role pack or the lead's session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<Effort>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<Sandbox>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<String>>,
}

/// Per-role overrides; `workers` applies to every worker role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<ModelOverride>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead: Option<RoleOverride>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planner: Option<RoleOverride>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementer: Option<RoleOverride>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewer: Option<RoleOverride>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tester: Option<RoleOverride>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub researcher: Option<RoleOverride>,
}

impl RoleOverrides {
    /// The override block of role `name`, if the profile has one.
    pub fn get(&self, name: &str) -> Option<&RoleOverride> {
        if name == roles::LEAD {
            return self.lead.as_ref();
        }
        match roles::WorkerRole::parse(name)? {
            roles::WorkerRole::Planner => self.planner.as_ref(),
            roles::WorkerRole::Implementer => self.implementer.as_ref(),
            roles::WorkerRole::Reviewer => self.reviewer.as_ref(),
            roles::WorkerRole::Tester => self.tester.as_ref(),
            roles::WorkerRole::Researcher => self.researcher.as_ref(),
        }
    }
}

/// A team profile: every policy knob of a run. See `skills/agent-teams/references/policies.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    pub description: String,
    pub mode: Mode,
    pub max_threads: u32,
    pub fanout: Fanout,
    pub budget: Budget,
    pub timeouts: Timeouts,
    pub idle_shutdown_secs: u64,
    pub early_stop: EarlyStop,
    pub limits: Limits,
    #[serde(default)]
    pub roles: RoleOverrides,
}

/// A profile that could not be loaded: where (file or bundled name), which field, which line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError {
    /// The file path or `bundled profile NAME`.
    pub origin: String,
    /// Dotted field path, e.g. `fanout.high.max_workers`.
    pub field: Option<String>,
    /// 1-based line in the file.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ProfileError {}

/// A role as a run uses it: the role pack's defaults with the profile's overrides applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedRole {
    pub name: String,
    /// `None`: inherit the lead's live model.
    pub model: Option<String>,
    /// `None`: inherit the lead's effort.
    pub effort: Option<Effort>,
    pub sandbox: Sandbox,
    pub tools: Vec<String>,
    pub instructions: String,
}

impl Profile {
    /// Loads a bundled profile by name (`default`, `fast`, `deep`) or any YAML file by path.
    pub fn load(name_or_path: &str) -> Result<Profile, ProfileError> {
        if let Some((name, text)) = BUNDLED.iter().find(|(n, _)| *n == name_or_path) {
            return Profile::from_yaml(text, &format!("bundled profile {name}"));
        }
        let looks_like_path = name_or_path.contains(['/', '\\'])
            || name_or_path.ends_with(".yaml")
            || name_or_path.ends_with(".yml")
            || Path::new(name_or_path).exists();
        if !looks_like_path {
            return Err(ProfileError {
                origin: format!("profile `{name_or_path}`"),
                field: None,
                line: None,
                message: format!(
                    "unknown profile: the bundled profiles are {}; or give a path to a YAML file",
                    bundled_names().join(", ")
                ),
            });
        }
        let text = std::fs::read_to_string(name_or_path).map_err(|e| ProfileError {
            origin: name_or_path.to_string(),
            field: None,
            line: None,
            message: format!("cannot read the file: {e}"),
        })?;
        Profile::from_yaml(&text, name_or_path)
    }

    /// Parses and validates profile YAML; `origin` names the source in errors.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Profile, ProfileError> {
        let profile: Profile = serde_norway::from_str(text).map_err(|e| {
            let (field, line, message) = locate::split_serde_error(&e, text);
            ProfileError {
                origin: origin.to_string(),
                field,
                line,
                message,
            }
        })?;
        profile
            .validate()
            .map_err(|(field, message)| ProfileError {
                origin: origin.to_string(),
                line: locate::line_of(text, &field),
                field: Some(field),
                message,
            })?;
        Ok(profile)
    }

    /// The workers this profile may run at once: `max_threads`, never above 6.
    pub fn cap(&self) -> usize {
        (self.max_threads as usize).min(MAX_WORKERS)
    }

    /// The role `name` with this profile's overrides applied.
    pub fn role(&self, name: &str) -> Result<ResolvedRole, roles::RoleError> {
        let base = RolePack::v1().get(name)?;
        let own = self.roles.get(name);
        let workers = if name == roles::LEAD {
            None
        } else {
            self.roles.workers.as_ref()
        };
        Ok(ResolvedRole {
            name: base.name.clone(),
            model: own
                .and_then(|o| o.model.clone())
                .or_else(|| workers.and_then(|w| w.model.clone())),
            effort: own
                .and_then(|o| o.effort)
                .or_else(|| workers.and_then(|w| w.effort)),
            sandbox: own.and_then(|o| o.sandbox).unwrap_or(base.sandbox),
            tools: own
                .and_then(|o| o.tools.clone())
                .unwrap_or_else(|| base.tools.clone()),
            instructions: base.instructions.clone(),
        })
    }

    /// Every role resolved, lead first.
    pub fn resolved_roles(&self) -> Vec<ResolvedRole> {
        roles::ROLE_NAMES
            .iter()
            .map(|n| self.role(n).expect("v1 role names resolve"))
            .collect()
    }

    /// Range and consistency checks serde cannot express; the error is (field path, message).
    fn validate(&self) -> Result<(), (String, String)> {
        let fail = |field: &str, message: String| Err((field.to_string(), message));
        if self.name.trim().is_empty() {
            return fail("name", "must not be empty".into());
        }
        if self.description.trim().is_empty() {
            return fail("description", "must not be empty".into());
        }
        threads("max_threads", self.max_threads)?;
        let f = &self.fanout;
        for (field, w) in [
            ("fanout.weights.small", f.weights.small),
            ("fanout.weights.medium", f.weights.medium),
            ("fanout.weights.large", f.weights.large),
        ] {
            if !(1..=100).contains(&w) {
                return fail(field, format!("{w} is out of range 1..=100"));
            }
        }
        if !(f.weights.small <= f.weights.medium && f.weights.medium <= f.weights.large) {
            return fail(
                "fanout.weights",
                "weights must not decrease from small to medium to large".into(),
            );
        }
        let bands = [
            ("small", f.small.min_workers, f.small.max_workers),
            ("medium", f.medium.min_workers, f.medium.max_workers),
            ("high", f.high.min_workers, f.high.max_workers),
        ];
        for (band, min, max) in bands {
            threads(&format!("fanout.{band}.min_workers"), min)?;
            threads(&format!("fanout.{band}.max_workers"), max)?;
            if min > max {
                return fail(
                    &format!("fanout.{band}.min_workers"),
                    format!("min_workers {min} is above max_workers {max}"),
                );
            }
        }
        for pair in bands.windows(2) {
            let (lower, _, lower_max) = pair[0];
            let (upper, upper_min, _) = pair[1];
            if upper_min <= lower_max {
                return fail(
                    &format!("fanout.{upper}.min_workers"),
                    format!(
                        "{upper_min} overlaps the {lower} band (up to {lower_max}); bands must grow"
                    ),
                );
            }
        }
        for (band, b) in [("medium", &f.medium), ("high", &f.high)] {
            if b.min_ready < 1 {
                return fail(
                    &format!("fanout.{band}.min_ready"),
                    "must be at least 1".into(),
                );
            }
            if b.min_ready < b.min_workers {
                return fail(
                    &format!("fanout.{band}.min_ready"),
                    format!(
                        "{} is below min_workers {}: a band cannot need more workers than ready tasks",
                        b.min_ready, b.min_workers
                    ),
                );
            }
        }
        if f.high.min_ready < f.medium.min_ready {
            return fail(
                "fanout.high.min_ready",
                format!(
                    "{} is below fanout.medium.min_ready {}",
                    f.high.min_ready, f.medium.min_ready
                ),
            );
        }
        if f.high.min_weight < f.medium.min_weight {
            return fail(
                "fanout.high.min_weight",
                format!(
                    "{} is below fanout.medium.min_weight {}",
                    f.high.min_weight, f.medium.min_weight
                ),
            );
        }
        let b = &self.budget;
        if b.total_tokens < 10_000 {
            return fail(
                "budget.total_tokens",
                format!("{} is below the minimum of 10000", b.total_tokens),
            );
        }
        if b.lead_reserve_tokens >= b.total_tokens {
            return fail(
                "budget.lead_reserve_tokens",
                format!(
                    "{} leaves nothing of total_tokens {} for workers",
                    b.lead_reserve_tokens, b.total_tokens
                ),
            );
        }
        if b.worker_turn_estimate < 1 || b.worker_turn_estimate > b.total_tokens {
            return fail(
                "budget.worker_turn_estimate",
                format!(
                    "{} is out of range 1..={}",
                    b.worker_turn_estimate, b.total_tokens
                ),
            );
        }
        if b.worker_turn_max_tokens < b.worker_turn_estimate {
            return fail(
                "budget.worker_turn_max_tokens",
                format!(
                    "{} is below worker_turn_estimate {}",
                    b.worker_turn_max_tokens, b.worker_turn_estimate
                ),
            );
        }
        let t = &self.timeouts;
        if !(10..=86_400).contains(&t.worker_turn_secs) {
            return fail(
                "timeouts.worker_turn_secs",
                format!("{} is out of range 10..=86400", t.worker_turn_secs),
            );
        }
        if !(10..=7 * 86_400).contains(&t.run_secs) {
            return fail(
                "timeouts.run_secs",
                format!("{} is out of range 10..=604800", t.run_secs),
            );
        }
        if t.run_secs < t.worker_turn_secs {
            return fail(
                "timeouts.run_secs",
                format!(
                    "{} is below timeouts.worker_turn_secs {}",
                    t.run_secs, t.worker_turn_secs
                ),
            );
        }
        if !(1..=60).contains(&t.tool_wait_secs) {
            return fail(
                "timeouts.tool_wait_secs",
                format!(
                    "{} is out of range 1..=60 (team_wait caps a wait at 60 s)",
                    t.tool_wait_secs
                ),
            );
        }
        if self.idle_shutdown_secs > 86_400 {
            return fail(
                "idle_shutdown_secs",
                format!("{} is out of range 0..=86400", self.idle_shutdown_secs),
            );
        }
        let l = &self.limits;
        if !(256..=16_384).contains(&l.message_bytes) {
            return fail(
                "limits.message_bytes",
                format!(
                    "{} is out of range 256..=16384 (the bus refuses bodies over 16 KiB)",
                    l.message_bytes
                ),
            );
        }
        if !(1024..=4 * 1024 * 1024).contains(&l.artifact_bytes) {
            return fail(
                "limits.artifact_bytes",
                format!(
                    "{} is out of range 1024..=4194304 (the store refuses artifacts over 4 MiB)",
                    l.artifact_bytes
                ),
            );
        }
        let r = &self.roles;
        if let Some(w) = &r.workers {
            model_name("roles.workers.model", w.model.as_deref())?;
        }
        for name in roles::ROLE_NAMES {
            let Some(o) = r.get(name) else { continue };
            model_name(&format!("roles.{name}.model"), o.model.as_deref())?;
            if let Some(tools) = &o.tools {
                if tools.is_empty() {
                    return fail(
                        &format!("roles.{name}.tools"),
                        "must list at least one tool".into(),
                    );
                }
                for (i, t) in tools.iter().enumerate() {
                    roles::check_tool(name, t)
                        .map_err(|m| (format!("roles.{name}.tools[{i}]"), m))?;
                }
            }
        }
        Ok(())
    }
}

/// A worker-thread count: 1..=6, with the limit spelled out.
fn threads(field: &str, n: u32) -> Result<(), (String, String)> {
    if n == 0 {
        return Err((
            field.to_string(),
            "0 is out of range: at least 1 worker".into(),
        ));
    }
    if n as usize > MAX_WORKERS {
        return Err((
            field.to_string(),
            format!("{n} is out of range: the limit is {MAX_WORKERS} concurrent worker threads"),
        ));
    }
    Ok(())
}

fn model_name(field: &str, model: Option<&str>) -> Result<(), (String, String)> {
    match model {
        Some(m) if m.trim().is_empty() || m.contains(char::is_whitespace) => Err((
            field.to_string(),
            format!(
                "`{m}` is not a model slug (empty or has spaces); omit it to inherit the lead's model"
            ),
        )),
        _ => Ok(()),
    }
}

/// The names of the bundled profiles.
pub fn bundled_names() -> Vec<&'static str> {
    BUNDLED.iter().map(|(n, _)| *n).collect()
}

#[cfg(test)]
mod tests;

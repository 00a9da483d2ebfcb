//! Model inheritance (SPEC §3, codex-facts.md §4): every worker runs the lead's model,
//! provider and reasoning effort unless a profile or role says otherwise.
//!
//! Precedence for the model: `--model`, then the lead's live session model (from the
//! `x-codex-turn-metadata` of its tool calls), then the Codex config. Provider and effort are
//! not in the metadata, so they always come from the config. Role overrides apply on top.
//!
//! The Codex config is `$CODEX_HOME/config.toml` (`model`, `model_provider`,
//! `model_reasoning_effort`) with, on top, either
//! - a codex profile file `$CODEX_HOME/NAME.config.toml`, what `codex --profile NAME` layers
//!   in codex 0.169.0 (checked against the pinned binary), or
//! - the legacy `profile = "NAME"` + `[profiles.NAME]` of older codex versions. Codex
//!   0.169.0 itself refuses to start with a legacy `profile` key ("no longer supported; use
//!   `--profile NAME` with `NAME.config.toml`"), and ignores `[profiles.*]` tables without it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// The settings a codex child is started with. `None` means "let codex decide", and no
/// flag is passed for it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ModelSettings {
    /// `-m MODEL`.
    pub model: Option<String>,
    /// `-c model_provider=...`.
    pub provider: Option<String>,
    /// `-c model_reasoning_effort=...`.
    pub reasoning_effort: Option<String>,
}

/// Where the model choice came from: shown in the summary so a user can see why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelSource {
    /// `--model` on the command line.
    Explicit,
    /// The lead's live session.
    LeadSession,
    /// A key in the Codex config (`profile` set when it came from `[profiles.NAME]`).
    CodexConfig {
        /// The config file.
        path: PathBuf,
        /// The active profile, if the value came from it.
        profile: Option<String>,
    },
    /// Nothing set anywhere: codex's own default.
    CodexDefault,
}

/// The resolved settings for the team, before role overrides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedModel {
    /// What every worker gets by default.
    pub settings: ModelSettings,
    /// Where `settings.model` came from.
    pub model_source: ModelSource,
}

/// What the caller knows; everything optional.
#[derive(Debug, Clone, Default)]
pub struct ModelInputs {
    /// `--model`.
    pub explicit_model: Option<String>,
    /// The lead's session model from tool-call metadata.
    pub lead_session_model: Option<String>,
    /// `$CODEX_HOME`; see [`codex_home`] for the default.
    pub codex_home: Option<PathBuf>,
    /// The lead's codex profile (`codex --profile NAME`): `$CODEX_HOME/NAME.config.toml` is
    /// layered over `config.toml`. Workers should get the same `-p NAME`.
    pub codex_profile: Option<String>,
}

/// A per-role override from a profile: only the fields set replace the team's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleOverride {
    /// Model for this role.
    pub model: Option<String>,
    /// Reasoning effort for this role.
    pub reasoning_effort: Option<String>,
}

/// Model settings found in a Codex config file, profile already applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodexConfigModel {
    /// The effective values.
    pub settings: ModelSettings,
    /// The active profile name, if `profile = "..."` was set.
    pub profile: Option<String>,
    /// Whether `settings.model` came from the profile table.
    pub model_from_profile: bool,
}

/// Bad configuration, always naming the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file exists but cannot be read.
    #[error("cannot read Codex config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not valid TOML.
    #[error("Codex config {path} is not valid TOML: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A known key with the wrong type.
    #[error("Codex config {path}: `{key}` must be a string")]
    NotAString {
        /// The file.
        path: PathBuf,
        /// The dotted key.
        key: String,
    },
    /// `profile = "x"` without a `[profiles.x]` table.
    #[error(
        "Codex config {path}: profile `{profile}` is selected but [profiles.{profile}] is missing"
    )]
    MissingProfile {
        /// The file.
        path: PathBuf,
        /// The profile name.
        profile: String,
    },
    /// `--profile NAME` names a file that does not exist.
    #[error("codex profile `{profile}` not found: {path} does not exist")]
    MissingProfileFile {
        /// The file looked for.
        path: PathBuf,
        /// The profile name.
        profile: String,
    },
    /// A profile name that cannot be a file name in `$CODEX_HOME`.
    #[error("codex profile name `{0}` is not valid (letters, digits, `_`, `-` and `.` only)")]
    BadProfileName(String),
    /// An empty string where a name is needed.
    #[error("{what} is empty")]
    Empty {
        /// Which input.
        what: String,
    },
}

/// `$CODEX_HOME`, else `~/.codex`, the same rule codex follows. `None` if neither is known.
pub fn codex_home() -> Option<PathBuf> {
    match std::env::var_os("CODEX_HOME") {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join(".codex")),
    }
}

/// The `base_url` of a provider the user defined (`[model_providers.NAME]` in
/// `config.toml`), which the metering proxy forwards to. `None` when it is not defined there
/// (a built-in provider, or the file is unreadable): that provider is not proxied.
pub fn provider_base_url(codex_home: Option<&Path>, provider: &str) -> Option<String> {
    let home = codex_home.map(Path::to_path_buf).or_else(codex_home_dir)?;
    let path = home.join("config.toml");
    let table = parse_table(&path, &std::fs::read_to_string(&path).ok()?).ok()?;
    let url = table
        .get("model_providers")?
        .get(provider)?
        .get("base_url")?
        .as_str()?
        .trim()
        .to_string();
    (url.starts_with("http://") || url.starts_with("https://")).then_some(url)
}

fn codex_home_dir() -> Option<PathBuf> {
    codex_home()
}

/// Reads the model keys of one Codex config file. A missing file is an empty config, as it
/// is for codex; anything unreadable or malformed is an error naming the file.
pub fn read_codex_config(path: &Path) -> Result<CodexConfigModel, ModelError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Ok(CodexConfigModel::default());
        }
        Err(source) => {
            return Err(ModelError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let table = parse_table(path, &text)?;
    let get =
        |table: &toml::Table, prefix: &str, key: &str| -> Result<Option<String>, ModelError> {
            match table.get(key) {
                None => Ok(None),
                Some(toml::Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(ModelError::NotAString {
                    path: path.to_path_buf(),
                    key: format!("{prefix}{key}"),
                }),
            }
        };
    let mut out = CodexConfigModel {
        settings: ModelSettings {
            model: get(&table, "", "model")?,
            provider: get(&table, "", "model_provider")?,
            reasoning_effort: get(&table, "", "model_reasoning_effort")?,
        },
        profile: get(&table, "", "profile")?,
        model_from_profile: false,
    };
    if let Some(name) = out.profile.clone() {
        let profile = table
            .get("profiles")
            .and_then(|p| p.as_table())
            .and_then(|p| p.get(&name))
            .and_then(|p| p.as_table())
            .ok_or_else(|| ModelError::MissingProfile {
                path: path.to_path_buf(),
                profile: name.clone(),
            })?;
        let prefix = format!("profiles.{name}.");
        if let Some(model) = get(profile, &prefix, "model")? {
            out.settings.model = Some(model);
            out.model_from_profile = true;
        }
        if let Some(provider) = get(profile, &prefix, "model_provider")? {
            out.settings.provider = Some(provider);
        }
        if let Some(effort) = get(profile, &prefix, "model_reasoning_effort")? {
            out.settings.reasoning_effort = Some(effort);
        }
    }
    Ok(out)
}

fn parse_table(path: &Path, text: &str) -> Result<toml::Table, ModelError> {
    text.parse().map_err(|e: toml::de::Error| ModelError::Toml {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })
}

/// Reads a codex profile file (`NAME.config.toml`): the same three keys, which override
/// `config.toml`'s. Unlike `config.toml`, it must exist: the user named it.
pub fn read_profile_file(path: &Path, profile: &str) -> Result<ModelSettings, ModelError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(ModelError::MissingProfileFile {
                path: path.to_path_buf(),
                profile: profile.into(),
            });
        }
        Err(source) => {
            return Err(ModelError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let table = parse_table(path, &text)?;
    let get = |key: &str| match table.get(key) {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ModelError::NotAString {
            path: path.to_path_buf(),
            key: key.into(),
        }),
    };
    Ok(ModelSettings {
        model: get("model")?,
        provider: get("model_provider")?,
        reasoning_effort: get("model_reasoning_effort")?,
    })
}

/// Resolves the team's model settings from the inputs and the Codex config.
pub fn resolve(inputs: &ModelInputs) -> Result<ResolvedModel, ModelError> {
    for (what, value) in [
        ("--model", &inputs.explicit_model),
        ("the lead's session model", &inputs.lead_session_model),
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(ModelError::Empty { what: what.into() });
        }
    }
    if let Some(name) = &inputs.codex_profile
        && (name.is_empty()
            || name.starts_with('.')
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(ModelError::BadProfileName(name.clone()));
    }
    let home = inputs.codex_home.clone().or_else(codex_home);
    let (mut config, mut path) = match &home {
        Some(home) => {
            let path = home.join("config.toml");
            (read_codex_config(&path)?, Some(path))
        }
        None => (CodexConfigModel::default(), None),
    };
    if let (Some(name), Some(home)) = (&inputs.codex_profile, &home) {
        let file = home.join(format!("{name}.config.toml"));
        let layer = read_profile_file(&file, name)?;
        if layer.model.is_some() {
            config.settings.model = layer.model;
            config.model_from_profile = true;
            config.profile = Some(name.clone());
            path = Some(file);
        }
        if layer.provider.is_some() {
            config.settings.provider = layer.provider;
        }
        if layer.reasoning_effort.is_some() {
            config.settings.reasoning_effort = layer.reasoning_effort;
        }
    }
    let mut settings = config.settings.clone();
    let model_source = if let Some(model) = &inputs.explicit_model {
        settings.model = Some(model.clone());
        ModelSource::Explicit
    } else if let Some(model) = &inputs.lead_session_model {
        settings.model = Some(model.clone());
        ModelSource::LeadSession
    } else if let (Some(_), Some(path)) = (&settings.model, path) {
        ModelSource::CodexConfig {
            path,
            profile: config.profile.filter(|_| config.model_from_profile),
        }
    } else {
        ModelSource::CodexDefault
    };
    Ok(ResolvedModel {
        settings,
        model_source,
    })
}

impl ResolvedModel {
    /// The settings for a worker of `role`: the team's, with that role's override applied.
    pub fn for_role(
        &self,
        role: &str,
        overrides: &BTreeMap<String, RoleOverride>,
    ) -> ModelSettings {
        let mut settings = self.settings.clone();
        if let Some(o) = overrides.get(role) {
            if let Some(model) = &o.model {
                settings.model = Some(model.clone());
            }
            if let Some(effort) = &o.reasoning_effort {
                settings.reasoning_effort = Some(effort.clone());
            }
        }
        settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home_with(config: Option<&str>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        if let Some(text) = config {
            std::fs::write(dir.path().join("config.toml"), text).unwrap();
        }
        dir
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    fn settings(
        model: Option<&str>,
        provider: Option<&str>,
        effort: Option<&str>,
    ) -> ModelSettings {
        ModelSettings {
            model: model.map(str::to_string),
            provider: provider.map(str::to_string),
            reasoning_effort: effort.map(str::to_string),
        }
    }

    const FULL: &str = r#"
model = "gpt-5.1-codex"
model_provider = "openai"
model_reasoning_effort = "medium"
"#;

    const WITH_PROFILE: &str = r#"
model = "gpt-5.1-codex"
model_provider = "openai"
model_reasoning_effort = "medium"
profile = "fast"

[profiles.fast]
model = "gpt-5.1-codex-mini"
model_reasoning_effort = "low"

[profiles.deep]
model = "o3"
"#;

    const PROFILE_EFFORT_ONLY: &str = r#"
model = "gpt-5.1-codex"
profile = "p"
[profiles.p]
model_provider = "azure"
"#;

    /// The proxy forwards to the base URL of a provider the user defined; built-in or
    /// undefined providers, and URLs that are not http(s), are not proxied.
    #[test]
    fn provider_base_urls_come_from_the_users_config() {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(
            home.path().join("config.toml"),
            "# mine\nmodel_provider = \"corp\"\n[model_providers.corp]\nname = \"Corp\"\nbase_url = \"https://llm.corp.example/v1\"\n[model_providers.odd]\nbase_url = \"ftp://x\"\n",
        )
        .unwrap();
        let h = Some(home.path());
        assert_eq!(
            provider_base_url(h, "corp").as_deref(),
            Some("https://llm.corp.example/v1")
        );
        assert_eq!(provider_base_url(h, "openai"), None);
        assert_eq!(provider_base_url(h, "odd"), None);
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(provider_base_url(Some(empty.path()), "corp"), None);
    }

    #[test]
    fn precedence_table() {
        // (case, config text, --model, lead model, expected settings, expected source kind)
        type Case = (
            &'static str,
            Option<&'static str>,
            Option<&'static str>,
            Option<&'static str>,
            ModelSettings,
            &'static str,
        );
        let cases: Vec<Case> = vec![
            (
                "no config at all",
                None,
                None,
                None,
                settings(None, None, None),
                "default",
            ),
            (
                "config only",
                Some(FULL),
                None,
                None,
                settings(Some("gpt-5.1-codex"), Some("openai"), Some("medium")),
                "config",
            ),
            (
                "lead session beats config, provider/effort stay",
                Some(FULL),
                None,
                Some("mock-model"),
                settings(Some("mock-model"), Some("openai"), Some("medium")),
                "lead",
            ),
            (
                "--model beats the lead",
                Some(FULL),
                Some("o4-mini"),
                Some("mock-model"),
                settings(Some("o4-mini"), Some("openai"), Some("medium")),
                "explicit",
            ),
            (
                "--model without config",
                None,
                Some("o4-mini"),
                None,
                settings(Some("o4-mini"), None, None),
                "explicit",
            ),
            (
                "profile overrides the top level",
                Some(WITH_PROFILE),
                None,
                None,
                settings(Some("gpt-5.1-codex-mini"), Some("openai"), Some("low")),
                "profile",
            ),
            (
                "lead beats the profile model, profile effort kept",
                Some(WITH_PROFILE),
                None,
                Some("lead-m"),
                settings(Some("lead-m"), Some("openai"), Some("low")),
                "lead",
            ),
            (
                "profile without a model keeps the top-level model",
                Some(PROFILE_EFFORT_ONLY),
                None,
                None,
                settings(Some("gpt-5.1-codex"), Some("azure"), None),
                "config",
            ),
            (
                "unrelated keys are ignored",
                Some("approval_policy = \"never\"\n[mcp_servers.x]\ncommand = \"y\"\n"),
                None,
                None,
                settings(None, None, None),
                "default",
            ),
        ];
        for (case, config, explicit, lead, want, source) in cases {
            let home = home_with(config);
            let got = resolve(&ModelInputs {
                explicit_model: explicit.map(str::to_string),
                lead_session_model: lead.map(str::to_string),
                codex_home: Some(home.path().to_path_buf()),
                codex_profile: None,
            })
            .unwrap();
            assert_eq!(got.settings, want, "{case}");
            let kind = match &got.model_source {
                ModelSource::Explicit => "explicit",
                ModelSource::LeadSession => "lead",
                ModelSource::CodexConfig {
                    profile: Some(_),
                    path,
                } => {
                    assert_eq!(path, &home.path().join("config.toml"));
                    "profile"
                }
                ModelSource::CodexConfig { profile: None, .. } => "config",
                ModelSource::CodexDefault => "default",
            };
            assert_eq!(kind, source, "{case}");
        }
    }

    #[test]
    fn codex_profile_file_layers_over_config_toml() {
        let home = home_with(Some(FULL));
        std::fs::write(
            home.path().join("fast.config.toml"),
            "model = \"gpt-5.1-codex-mini\"\nmodel_reasoning_effort = \"low\"\n",
        )
        .unwrap();
        std::fs::write(
            home.path().join("effort.config.toml"),
            "model_reasoning_effort = \"xhigh\"\n",
        )
        .unwrap();
        let inputs = |profile: &str, lead: Option<&str>| ModelInputs {
            lead_session_model: lead.map(str::to_string),
            codex_home: Some(home.path().to_path_buf()),
            codex_profile: Some(profile.to_string()),
            ..ModelInputs::default()
        };
        let got = resolve(&inputs("fast", None)).unwrap();
        assert_eq!(
            got.settings,
            settings(Some("gpt-5.1-codex-mini"), Some("openai"), Some("low"))
        );
        assert_eq!(
            got.model_source,
            ModelSource::CodexConfig {
                path: home.path().join("fast.config.toml"),
                profile: Some("fast".into()),
            }
        );
        let got = resolve(&inputs("fast", Some("lead-m"))).unwrap();
        assert_eq!(
            got.settings,
            settings(Some("lead-m"), Some("openai"), Some("low"))
        );
        let got = resolve(&inputs("effort", None)).unwrap();
        assert_eq!(
            got.settings,
            settings(Some("gpt-5.1-codex"), Some("openai"), Some("xhigh"))
        );
        assert_eq!(
            got.model_source,
            ModelSource::CodexConfig {
                path: home.path().join("config.toml"),
                profile: None
            }
        );

        let err = resolve(&inputs("nope", None)).unwrap_err().to_string();
        assert!(
            err.contains("codex profile `nope` not found") && err.contains("nope.config.toml"),
            "{err}"
        );
        let err = resolve(&inputs("../etc/x", None)).unwrap_err().to_string();
        assert!(err.contains("`../etc/x` is not valid"), "{err}");
        std::fs::write(home.path().join("bad.config.toml"), "model = [").unwrap();
        let err = resolve(&inputs("bad", None)).unwrap_err().to_string();
        assert!(
            err.contains("bad.config.toml") && err.contains("not valid TOML"),
            "{err}"
        );
    }

    #[test]
    fn role_overrides_apply_on_top() {
        let home = home_with(Some(FULL));
        let team = resolve(&ModelInputs {
            lead_session_model: s("lead-model"),
            codex_home: Some(home.path().to_path_buf()),
            ..ModelInputs::default()
        })
        .unwrap();
        let mut overrides = BTreeMap::new();
        overrides.insert(
            "reviewer".to_string(),
            RoleOverride {
                model: s("o3"),
                reasoning_effort: s("high"),
            },
        );
        overrides.insert(
            "tester".to_string(),
            RoleOverride {
                model: None,
                reasoning_effort: s("low"),
            },
        );
        let table = [
            (
                "implementer",
                settings(Some("lead-model"), Some("openai"), Some("medium")),
            ),
            (
                "reviewer",
                settings(Some("o3"), Some("openai"), Some("high")),
            ),
            (
                "tester",
                settings(Some("lead-model"), Some("openai"), Some("low")),
            ),
        ];
        for (role, want) in table {
            assert_eq!(team.for_role(role, &overrides), want, "{role}");
        }
    }

    #[test]
    fn bad_config_names_the_file_and_key() {
        let cases = [
            ("model = \"unterminated\n", "is not valid TOML"),
            ("model = 5\n", "`model` must be a string"),
            (
                "model_reasoning_effort = [\"high\"]\n",
                "`model_reasoning_effort` must be a string",
            ),
            (
                "profile = \"nope\"\n",
                "profile `nope` is selected but [profiles.nope] is missing",
            ),
            (
                "profile = \"p\"\n[profiles.p]\nmodel = true\n",
                "`profiles.p.model` must be a string",
            ),
        ];
        for (text, want) in cases {
            let home = home_with(Some(text));
            let err = resolve(&ModelInputs {
                codex_home: Some(home.path().to_path_buf()),
                ..ModelInputs::default()
            })
            .unwrap_err()
            .to_string();
            let path = home.path().join("config.toml");
            assert!(err.contains(&path.display().to_string()), "{err}");
            assert!(err.contains(want), "{text:?}: {err}");
        }
        // A broken file is an error even when --model is given: codex itself would fail on it.
        let home = home_with(Some("[[[\n"));
        assert!(
            resolve(&ModelInputs {
                explicit_model: s("m"),
                codex_home: Some(home.path().to_path_buf()),
                ..ModelInputs::default()
            })
            .is_err()
        );
    }

    #[test]
    fn empty_names_are_refused() {
        let err = resolve(&ModelInputs {
            explicit_model: s(" "),
            codex_home: Some(home_with(None).path().to_path_buf()),
            ..ModelInputs::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("--model"), "{err}");
    }

    #[test]
    fn unreadable_config_is_an_error_not_a_default() {
        let home = home_with(None);
        std::fs::create_dir(home.path().join("config.toml")).unwrap();
        let err = read_codex_config(&home.path().join("config.toml")).unwrap_err();
        assert!(
            err.to_string().contains("cannot read Codex config"),
            "{err}"
        );
    }
}

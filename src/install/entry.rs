//! The `[mcp_servers.codex-teams]` entry in a user's `config.toml`, edited as text that
//! keeps every comment, blank line and other entry of the user's (toml_edit). Pure: strings
//! in, strings out, so install, uninstall and check-config share one reading of the file and
//! the round trip (install then uninstall gives back the same bytes) is table-tested.

use std::path::{Path, PathBuf};

use toml_edit::{Array, DocumentMut, Item, Table, Value};

/// The server name we register. Codex shows its tools as `mcp__codex_teams__*`.
pub const SERVER_NAME: &str = "codex-teams";

/// Longest a lead's tool call may take before codex gives up on it: `team_wait` long-polls
/// for up to 60 s, so this leaves ample margin.
pub const TOOL_TIMEOUT_SEC: i64 = 600;

/// How long codex waits for `codex-teams mcp` to answer `initialize`.
pub const STARTUP_TIMEOUT_SEC: i64 = 30;

/// Environment variables codex forwards to `codex-teams mcp` (it starts MCP servers with a
/// cleared environment): where our store lives, and the API keys the workers' provider
/// reads, and the marker every codex child of ours carries, so a server started inside one
/// of our children refuses to run (a worker never starts a team). A worker's shell never
/// sees the keys (see `supervisor::command`).
pub const BASE_ENV_VARS: &[&str] = &["CODEX_TEAMS_HOME", "OPENAI_API_KEY", "CODEX_TEAMS_MARKER"];

/// What the entry must say for a lead's team tools to work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Absolute path of the installed `codex-teams` binary.
    pub command: PathBuf,
    /// The Codex home whose config this is; written as the server's `CODEX_HOME` so
    /// workers inherit the lead's provider and write sessions there, whatever environment
    /// codex starts the server with.
    pub codex_home: PathBuf,
    /// Variables forwarded from the lead's environment ([`BASE_ENV_VARS`] plus the `env_key`
    /// of every provider the config defines).
    pub env_vars: Vec<String>,
}

/// A config file that is not valid TOML, or whose `mcp_servers` is not a table.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    /// Not TOML: codex would refuse it too.
    #[error("{path} is not valid TOML: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (line and column included).
        message: String,
    },
    /// `mcp_servers = 3` and the like.
    #[error("{path}: `{key}` is not a table")]
    NotATable {
        /// The file.
        path: PathBuf,
        /// The dotted key.
        key: String,
    },
}

/// Parses a config file's text; `path` only names it in errors.
pub fn parse(path: &Path, text: &str) -> Result<DocumentMut, EntryError> {
    text.parse::<DocumentMut>().map_err(|e| EntryError::Parse {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })
}

fn servers<'a>(path: &Path, doc: &'a DocumentMut) -> Result<Option<&'a Table>, EntryError> {
    match doc.get("mcp_servers") {
        None => Ok(None),
        Some(item) => item
            .as_table()
            .map(Some)
            .ok_or_else(|| EntryError::NotATable {
                path: path.to_path_buf(),
                key: "mcp_servers".into(),
            }),
    }
}

/// Names of every `[mcp_servers.*]` entry in the file.
pub fn server_names(path: &Path, text: &str) -> Result<Vec<String>, EntryError> {
    let doc = parse(path, text)?;
    Ok(servers(path, &doc)?
        .map(|t| t.iter().map(|(k, _)| k.to_string()).collect())
        .unwrap_or_default())
}

/// Environment variable names the config's providers read their API keys from
/// (`[model_providers.X] env_key = "..."`), in file order.
pub fn provider_env_keys(path: &Path, text: &str) -> Result<Vec<String>, EntryError> {
    let doc = parse(path, text)?;
    let mut out = Vec::new();
    if let Some(providers) = doc.get("model_providers").and_then(Item::as_table_like) {
        for (_, p) in providers.iter() {
            if let Some(k) = p
                .as_table_like()
                .and_then(|t| t.get("env_key"))
                .and_then(Item::as_str)
                && !out.iter().any(|o| o == k)
            {
                out.push(k.to_string());
            }
        }
    }
    Ok(out)
}

/// The entry as installed, if present: its raw table, for check-config to inspect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Installed {
    /// `command`.
    pub command: Option<String>,
    /// `args`.
    pub args: Vec<String>,
    /// `default_tools_approval_mode`.
    pub approval: Option<String>,
    /// `env.CODEX_HOME`.
    pub env_codex_home: Option<String>,
    /// `env_vars`.
    pub env_vars: Vec<String>,
    /// `tool_timeout_sec`.
    pub tool_timeout_sec: Option<i64>,
    /// `enabled` (absent means enabled).
    pub enabled: bool,
}

/// Reads `[mcp_servers.<name>]`; `None` when absent.
pub fn read_entry(path: &Path, text: &str, name: &str) -> Result<Option<Installed>, EntryError> {
    let doc = parse(path, text)?;
    let Some(table) = servers(path, &doc)?.and_then(|s| s.get(name)) else {
        return Ok(None);
    };
    let Some(t) = table.as_table_like() else {
        return Err(EntryError::NotATable {
            path: path.to_path_buf(),
            key: format!("mcp_servers.{name}"),
        });
    };
    let strs = |key: &str| -> Vec<String> {
        t.get(key)
            .and_then(Item::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(Some(Installed {
        command: t.get("command").and_then(Item::as_str).map(String::from),
        args: strs("args"),
        approval: t
            .get("default_tools_approval_mode")
            .and_then(Item::as_str)
            .map(String::from),
        env_codex_home: t
            .get("env")
            .and_then(Item::as_table_like)
            .and_then(|e| e.get("CODEX_HOME"))
            .and_then(Item::as_str)
            .map(String::from),
        env_vars: strs("env_vars"),
        tool_timeout_sec: t.get("tool_timeout_sec").and_then(Item::as_integer),
        enabled: t.get("enabled").and_then(Item::as_bool).unwrap_or(true),
    }))
}

fn entry_table(entry: &Entry) -> Table {
    let mut t = Table::new();
    t.set_implicit(false);
    t.insert("command", toml_edit::value(path_str(&entry.command)));
    t.insert("args", toml_edit::value(Array::from_iter(["mcp"])));
    let mut env = toml_edit::InlineTable::new();
    env.insert("CODEX_HOME", Value::from(path_str(&entry.codex_home)));
    t.insert("env", toml_edit::value(env));
    t.insert(
        "env_vars",
        toml_edit::value(Array::from_iter(entry.env_vars.iter().map(String::as_str))),
    );
    t.insert("default_tools_approval_mode", toml_edit::value("approve"));
    t.insert("startup_timeout_sec", toml_edit::value(STARTUP_TIMEOUT_SEC));
    t.insert("tool_timeout_sec", toml_edit::value(TOOL_TIMEOUT_SEC));
    t
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// The text with our entry present and equal to `entry`. An absent entry is appended as a
/// block after everything else, with one newline before it, so [`remove`] can take exactly
/// that back off; a present one has its keys set in place, keeping any the user added.
/// Returns the text unchanged when it already says exactly this (install is idempotent to
/// the byte).
pub fn upsert(path: &Path, text: &str, entry: &Entry) -> Result<String, EntryError> {
    let mut doc = parse(path, text)?;
    let wanted = entry_table(entry);
    if let Some(existing) = servers(path, &doc)?.and_then(|s| s.get(SERVER_NAME)) {
        if existing.as_table_like().is_none() {
            return Err(EntryError::NotATable {
                path: path.to_path_buf(),
                key: format!("mcp_servers.{SERVER_NAME}"),
            });
        }
        let t = doc["mcp_servers"][SERVER_NAME]
            .as_table_like_mut()
            .expect("checked above");
        let mut changed = false;
        for (k, v) in wanted.iter() {
            let same = t
                .get(k)
                .is_some_and(|cur| cur.to_string().trim() == v.to_string().trim());
            if !same {
                t.insert(k, v.clone());
                changed = true;
            }
        }
        return Ok(if changed {
            doc.to_string()
        } else {
            text.to_string()
        });
    }
    let sep = if text.is_empty() { "" } else { "\n" };
    let out = format!("{text}{sep}{}", render_block(&wanted));
    // The appended block must read back as our entry (e.g. not land inside an array of
    // tables the user's file ends with); otherwise let toml_edit place it.
    match read_entry(path, &out, SERVER_NAME) {
        Ok(Some(e)) if e.args == ["mcp"] => Ok(out),
        _ => {
            if doc.get("mcp_servers").is_none() {
                let mut parent = Table::new();
                parent.set_implicit(true);
                doc.insert("mcp_servers", Item::Table(parent));
            }
            doc["mcp_servers"]
                .as_table_mut()
                .expect("a table")
                .insert(SERVER_NAME, Item::Table(wanted));
            Ok(doc.to_string())
        }
    }
}

fn render_block(table: &Table) -> String {
    let mut doc = DocumentMut::new();
    let mut parent = Table::new();
    parent.set_implicit(true);
    parent.insert(SERVER_NAME, Item::Table(table.clone()));
    doc.insert("mcp_servers", Item::Table(parent));
    let s = doc.to_string();
    if s.ends_with('\n') { s } else { s + "\n" }
}

/// The text without our entry, and whether there was one. When our block is the last thing
/// in the file (as install put it), it goes with the one newline install put before it:
/// the file is then byte-identical to what it was before install. Otherwise (the user added
/// tables after it, or wrote it inline) toml_edit removes it, keeping everything else.
pub fn remove(path: &Path, text: &str) -> Result<(String, bool), EntryError> {
    let mut doc = parse(path, text)?;
    if servers(path, &doc)?.is_none_or(|s| !s.contains_key(SERVER_NAME)) {
        return Ok((text.to_string(), false));
    }
    let header = format!("[mcp_servers.{SERVER_NAME}]");
    let at = text
        .match_indices(&header)
        .map(|(i, _)| i)
        .find(|&i| i == 0 || text[..i].ends_with('\n'));
    if let Some(i) = at {
        let last = !text[i..]
            .lines()
            .skip(1)
            .any(|l| l.trim_start().starts_with('['));
        if last {
            let before = &text[..i];
            let candidate = before.strip_suffix('\n').unwrap_or(before).to_string();
            if matches!(read_entry(path, &candidate, SERVER_NAME), Ok(None)) {
                return Ok((candidate, true));
            }
        }
    }
    let servers = doc["mcp_servers"].as_table_mut().expect("checked");
    servers.remove(SERVER_NAME);
    if servers.is_empty() && servers.is_implicit() {
        doc.remove("mcp_servers");
    }
    Ok((doc.to_string(), true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            command: PathBuf::from("/home/u/.local/bin/codex-teams"),
            codex_home: PathBuf::from("/home/u/.codex"),
            env_vars: BASE_ENV_VARS.iter().map(|s| s.to_string()).collect(),
        }
    }

    const USER: &str = "# my codex config\nmodel = \"gpt-5.1-codex\" # the best one\nmodel_provider = \"acme\"\n\n[model_providers.acme]\nname = \"Acme\"   # keep this spacing\nbase_url = \"http://127.0.0.1:9/v1\"\nenv_key = \"ACME_KEY\"\n\n# servers I use\n[mcp_servers.docs]\ncommand = \"docs-mcp\"\nargs = [\"--stdio\"]\n";

    fn p() -> &'static Path {
        Path::new("/home/u/.codex/config.toml")
    }

    /// Install then uninstall gives back the very bytes, for every shape of file we could
    /// meet; a second install changes nothing.
    #[test]
    fn round_trip_is_byte_identical() {
        let cases = [
            "",
            "\n",
            USER,
            USER.trim_end(),
            "model = \"m\"",
            "model = \"m\"\n\n\n",
            "[mcp_servers]\n# explicit parent\n",
            "[mcp_servers.a]\ncommand = \"a\"\n\n[profiles.x]\nmodel = \"y\"\n",
            "mcp_servers.inline = { command = \"x\" }\n",
            "# only a comment",
            "[projects.\"/src/app\"]\ntrust_level = \"trusted\"\r\n",
        ];
        for case in cases {
            let installed = upsert(p(), case, &entry()).unwrap();
            assert!(
                installed.contains("[mcp_servers.codex-teams]")
                    || installed.contains("codex-teams"),
                "{installed}"
            );
            assert!(
                installed.starts_with(case.trim_end_matches('\n')),
                "user text kept as prefix for {case:?}: {installed:?}"
            );
            let again = upsert(p(), &installed, &entry()).unwrap();
            assert_eq!(
                again, installed,
                "second install changed bytes for {case:?}"
            );
            let (back, removed) = remove(p(), &installed).unwrap();
            assert!(removed);
            assert_eq!(back, case, "round trip of {case:?}");
            // The result is a config codex reads the same way.
            let reread = read_entry(p(), &installed, SERVER_NAME).unwrap().unwrap();
            assert_eq!(reread.args, vec!["mcp".to_string()]);
            assert_eq!(reread.approval.as_deref(), Some("approve"));
            assert_eq!(reread.env_codex_home.as_deref(), Some("/home/u/.codex"));
        }
    }

    #[test]
    fn appended_entry_reads_as_toml_codex_accepts() {
        let out = upsert(p(), USER, &entry()).unwrap();
        let v: toml::Table = out.parse().unwrap();
        let e = &v["mcp_servers"]["codex-teams"];
        assert_eq!(
            e["command"].as_str(),
            Some("/home/u/.local/bin/codex-teams")
        );
        assert_eq!(e["tool_timeout_sec"].as_integer(), Some(TOOL_TIMEOUT_SEC));
        assert_eq!(
            v["mcp_servers"]["docs"]["command"].as_str(),
            Some("docs-mcp")
        );
        assert!(out.contains("name = \"Acme\"   # keep this spacing"));
    }

    #[test]
    fn an_existing_entry_is_corrected_in_place_keeping_user_keys() {
        let text = "[mcp_servers.codex-teams]\ncommand = \"/old/codex-teams\"\nargs = [\"mcp\"]\nenabled_tools = [\"team_start\"] # mine\n\n[other]\nx = 1\n";
        let out = upsert(p(), text, &entry()).unwrap();
        let e = read_entry(p(), &out, SERVER_NAME).unwrap().unwrap();
        assert_eq!(e.command.as_deref(), Some("/home/u/.local/bin/codex-teams"));
        assert_eq!(e.approval.as_deref(), Some("approve"));
        assert!(
            out.contains("enabled_tools = [\"team_start\"] # mine"),
            "{out}"
        );
        assert!(out.ends_with("[other]\nx = 1\n"), "{out}");
    }

    #[test]
    fn names_keys_and_errors() {
        assert_eq!(server_names(p(), USER).unwrap(), vec!["docs".to_string()]);
        assert_eq!(
            provider_env_keys(p(), USER).unwrap(),
            vec!["ACME_KEY".to_string()]
        );
        let err = upsert(p(), "model = [", &entry()).unwrap_err().to_string();
        assert!(
            err.contains("/home/u/.codex/config.toml is not valid TOML"),
            "{err}"
        );
        let err = upsert(p(), "mcp_servers = 3\n", &entry())
            .unwrap_err()
            .to_string();
        assert!(err.contains("`mcp_servers` is not a table"), "{err}");
        assert_eq!(remove(p(), USER).unwrap(), (USER.to_string(), false));
    }
}

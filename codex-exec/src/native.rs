//! Starting codex without its Node launcher.
//!
//! The npm package `@openai/codex` installs `bin/codex.js`, a Node script whose only job is
//! to find the native binary in the platform package (`@openai/codex-linux-x64` and
//! friends) and run it with two extra environment variables. On a Node without
//! `process.execve` (before 23.11) the launcher stays alive as the binary's parent for the
//! whole turn, about 44 MB per worker. [`resolve`] does the launcher's work once, the same
//! way (`bin/codex.js` of 0.169.0), so a worker is the native process tree and nothing more;
//! anything it does not recognise is run as given, launcher and all.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// Set to `1` to run codex through whatever [`crate::find_codex`] found, never the native
/// binary behind it: for comparing both ways, or for an install this module misreads.
pub const LAUNCHER_ENV: &str = "CODEX_TEAMS_CODEX_LAUNCHER";

/// How a codex child is started: the program, and environment the launcher would have added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodexLaunch {
    /// What to execute.
    pub program: PathBuf,
    /// Variables to set on top of the inherited environment.
    pub env: Vec<(OsString, OsString)>,
    /// True when `program` is the native binary found behind an npm launcher.
    pub native: bool,
}

impl CodexLaunch {
    /// `program` run as it is, with nothing added.
    pub fn as_given(program: &Path) -> CodexLaunch {
        CodexLaunch {
            program: program.to_path_buf(),
            env: Vec::new(),
            native: false,
        }
    }
}

/// [`resolve`], computed once per program path for the life of the process (unless
/// [`LAUNCHER_ENV`] is `1`, which keeps the program as given).
pub fn resolve_once(program: &Path) -> CodexLaunch {
    if std::env::var_os(LAUNCHER_ENV).is_some_and(|v| v == "1") {
        return CodexLaunch::as_given(program);
    }
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, CodexLaunch>>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    cache
        .entry(program.to_path_buf())
        .or_insert_with(|| resolve(program))
        .clone()
}

/// The native binary behind an npm `codex` launcher, with the environment the launcher
/// gives it; `program` as given when it is not such a launcher or the binary is missing.
pub fn resolve(program: &Path) -> CodexLaunch {
    native_behind(program).unwrap_or_else(|| CodexLaunch::as_given(program))
}

fn native_behind(program: &Path) -> Option<CodexLaunch> {
    // The `.bin/codex` symlink (or `codex` on PATH) points at `<root>/bin/codex.js`.
    let script = std::fs::canonicalize(program).ok()?;
    if script.file_name()? != "codex.js" {
        return None;
    }
    let root = script.parent()?.parent()?.to_path_buf();
    if !is_codex_package(&root) {
        return None;
    }
    let (triple, platform_pkg) = target()?;
    let vendor = platform_vendor_dir(&script, platform_pkg).unwrap_or_else(|| root.join("vendor"));
    let binary = vendor.join(triple).join("bin").join("codex");
    if !is_executable(&binary) {
        return None;
    }
    let manager = package_manager(&root, &script);
    Some(CodexLaunch {
        program: binary,
        env: vec![
            ("CODEX_MANAGED_PACKAGE_ROOT".into(), root.into_os_string()),
            (manager.into(), "1".into()),
        ],
        native: true,
    })
}

/// The launcher's target triple and platform package for this machine.
fn target() -> Option<(&'static str, &'static str)> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux" | "android", "x86_64") => {
            Some(("x86_64-unknown-linux-musl", "@openai/codex-linux-x64"))
        }
        ("linux" | "android", "aarch64") => {
            Some(("aarch64-unknown-linux-musl", "@openai/codex-linux-arm64"))
        }
        ("macos", "x86_64") => Some(("x86_64-apple-darwin", "@openai/codex-darwin-x64")),
        ("macos", "aarch64") => Some(("aarch64-apple-darwin", "@openai/codex-darwin-arm64")),
        _ => None,
    }
}

/// True when `root/package.json` is the `@openai/codex` package.
fn is_codex_package(root: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(root.join("package.json")) else {
        return false;
    };
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(str::to_owned))
        .is_some_and(|n| n == "@openai/codex")
}

/// `require.resolve("<pkg>/package.json")` from the script's directory, as Node does it:
/// `node_modules/<pkg>` in each ancestor that is not itself a `node_modules` directory.
fn platform_vendor_dir(script: &Path, pkg: &str) -> Option<PathBuf> {
    script
        .parent()?
        .ancestors()
        .filter(|dir| dir.file_name().is_none_or(|n| n != "node_modules"))
        .map(|dir| dir.join("node_modules").join(pkg))
        .find(|dir| dir.join("package.json").is_file())
        .map(|dir| dir.join("vendor"))
}

/// Which `CODEX_MANAGED_BY_*` the launcher sets: pnpm when a `node_modules/.modules.yaml`
/// above the package owns it, bun when bun installed it, npm otherwise.
fn package_manager(root: &Path, script: &Path) -> &'static str {
    let pnpm = root.ancestors().any(|dir| {
        let nm = dir.join("node_modules");
        nm.join(".modules.yaml").is_file()
            && std::fs::canonicalize(nm.join("@openai/codex")).is_ok_and(|p| p == root)
    });
    if pnpm {
        return "CODEX_MANAGED_BY_PNPM";
    }
    let agent = std::env::var("npm_config_user_agent").unwrap_or_default();
    let exec = std::env::var("npm_execpath").unwrap_or_default();
    let in_bun = script.to_string_lossy().contains(".bun/install/global");
    if agent.contains("bun/") || exec.contains("bun") || in_bun {
        return "CODEX_MANAGED_BY_BUN";
    }
    "CODEX_MANAGED_BY_NPM"
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    /// An npm-shaped install: `node_modules/.bin/codex -> ../@openai/codex/bin/codex.js`
    /// and the platform package next to it.
    fn fake_install(dir: &Path, with_binary: bool) -> (PathBuf, PathBuf) {
        let nm = dir.join("node_modules");
        let root = nm.join("@openai/codex");
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::write(root.join("package.json"), r#"{"name":"@openai/codex"}"#).unwrap();
        std::fs::write(root.join("bin/codex.js"), "#!/usr/bin/env node\n").unwrap();
        std::fs::create_dir_all(nm.join(".bin")).unwrap();
        symlink("../@openai/codex/bin/codex.js", nm.join(".bin/codex")).unwrap();
        let (triple, pkg) = target().unwrap();
        let plat = nm.join(pkg);
        let bin = plat.join("vendor").join(triple).join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(plat.join("package.json"), "{}").unwrap();
        let native = bin.join("codex");
        if with_binary {
            std::fs::write(&native, "").unwrap();
            std::fs::set_permissions(&native, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        (nm.join(".bin/codex"), native)
    }

    #[test]
    fn finds_the_native_binary_behind_the_npm_launcher() {
        let dir = tempfile::tempdir().unwrap();
        let (launcher, native) = fake_install(dir.path(), true);
        let got = resolve(&launcher);
        assert!(got.native);
        assert_eq!(got.program, native.canonicalize().unwrap());
        let root = std::fs::canonicalize(dir.path().join("node_modules/@openai/codex")).unwrap();
        assert_eq!(
            got.env,
            vec![
                ("CODEX_MANAGED_PACKAGE_ROOT".into(), root.into_os_string()),
                ("CODEX_MANAGED_BY_NPM".into(), "1".into()),
            ]
        );
    }

    #[test]
    fn falls_back_to_the_launcher_when_the_binary_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let (launcher, _) = fake_install(dir.path(), false);
        assert_eq!(resolve(&launcher), CodexLaunch::as_given(&launcher));
    }

    #[test]
    fn anything_else_runs_as_given() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("codex");
        std::fs::write(&plain, "").unwrap();
        assert_eq!(resolve(&plain), CodexLaunch::as_given(&plain));
        let missing = dir.path().join("nothing");
        assert_eq!(resolve(&missing), CodexLaunch::as_given(&missing));
    }

    #[test]
    fn a_pnpm_install_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let (launcher, _) = fake_install(dir.path(), true);
        std::fs::write(dir.path().join("node_modules/.modules.yaml"), "").unwrap();
        let got = resolve(&launcher);
        assert!(
            got.env
                .contains(&("CODEX_MANAGED_BY_PNPM".into(), "1".into()))
        );
    }

    /// The pinned install (when present) resolves to a native binary that reports the
    /// pinned version, run with the launcher's environment.
    #[test]
    fn the_pinned_install_resolves_to_a_working_native_binary() {
        let Ok(launcher) = crate::find_codex() else {
            return;
        };
        let via_node = std::fs::canonicalize(&launcher).is_ok_and(|p| p.ends_with("bin/codex.js"));
        let got = resolve(&launcher);
        assert_eq!(got.native, via_node, "{launcher:?} resolved to {got:?}");
        if !via_node {
            return; // CODEX_BIN names a native binary already
        }
        let out = std::process::Command::new(&got.program)
            .arg("--version")
            .envs(got.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(crate::CODEX_VERSION), "{text}");
    }
}

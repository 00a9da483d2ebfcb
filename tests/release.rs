//! A release as a user without cargo or the repo meets it: `scripts/release.sh` packs the
//! binary, skill, profiles and install scripts with checksums; the tarball's own
//! `install.sh`, in a fresh HOME whose PATH has no cargo, installs it; check-config is green;
//! a tampered tarball is refused; uninstall leaves nothing of ours.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

fn user(home: &std::path::Path, program: &str) -> Command {
    let codex = codex_teams_codex_exec::find_codex().expect("the pinned codex");
    let mut c = Command::new(program);
    c.env_clear()
        .env("HOME", home)
        .env(
            "PATH",
            format!(
                "{}/.local/bin:{}:/usr/bin:/bin",
                home.display(),
                codex.parent().unwrap().display()
            ),
        )
        .current_dir(home);
    c
}

fn ok(out: std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn release_tarball_installs_on_a_machine_without_cargo() {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    let mut c = Command::new("bash");
    c.arg(root().join("scripts/release.sh"))
        .args(["--bin", BIN, "--out"])
        .arg(&dist);
    let printed = ok(output_within(c, Duration::from_secs(120)), "release.sh");
    let tarball = std::path::PathBuf::from(printed.lines().last().unwrap().trim());
    assert!(tarball.is_file(), "{printed}");
    assert!(
        dist.join(format!(
            "{}.sha256",
            tarball.file_name().unwrap().to_string_lossy()
        ))
        .is_file()
    );

    // What is inside.
    let list = ok(
        Command::new("tar")
            .arg("-tzf")
            .arg(&tarball)
            .output()
            .unwrap(),
        "tar -t",
    );
    for f in [
        "bin/codex-teams",
        "install.sh",
        "scripts/install.sh",
        "scripts/uninstall.sh",
        "scripts/check-config.sh",
        "skills/agent-teams/SKILL.md",
        "profiles/default.team.yaml",
        "SHA256SUMS",
        "CHANGELOG.md",
    ] {
        assert!(list.lines().any(|l| l.ends_with(f)), "{f} missing:\n{list}");
    }

    // A fresh HOME, no cargo on PATH: the tarball's own installer.
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let unpack = dir.path().join("unpack");
    std::fs::create_dir_all(&unpack).unwrap();
    ok(
        Command::new("tar")
            .arg("-xzf")
            .arg(&tarball)
            .arg("-C")
            .arg(&unpack)
            .output()
            .unwrap(),
        "tar -x",
    );
    let top = std::fs::read_dir(&unpack)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(
        user(&home, "sh")
            .args(["-c", "command -v cargo"])
            .output()
            .unwrap()
            .stdout
            .is_empty(),
        "no cargo on the user's PATH"
    );
    let out = ok(
        output_within(
            {
                let mut c = user(&home, "bash");
                c.arg(top.join("install.sh"));
                c
            },
            Duration::from_secs(60),
        ),
        "install.sh from the tarball",
    );
    assert!(out.contains("installed"), "{out}");
    let installed = home.join(".local/bin/codex-teams");
    let version = ok(
        user(&home, "codex-teams")
            .arg("--version")
            .output()
            .unwrap(),
        "--version",
    );
    assert!(version.contains("(commit "), "{version}");
    let check = user(&home, "codex-teams")
        .args(["check-config", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(v["ok"], true, "{v:#}");

    // `scripts/install.sh --from` checks the sums: a tampered tarball is refused.
    let bad = dir.path().join("bad.tar.gz");
    let bad_dir = dir.path().join("bad");
    std::fs::create_dir_all(&bad_dir).unwrap();
    ok(
        Command::new("tar")
            .arg("-xzf")
            .arg(&tarball)
            .arg("-C")
            .arg(&bad_dir)
            .output()
            .unwrap(),
        "tar -x",
    );
    let name = top.file_name().unwrap();
    std::fs::write(
        bad_dir.join(name).join("skills/agent-teams/SKILL.md"),
        "evil",
    )
    .unwrap();
    ok(
        Command::new("tar")
            .arg("-czf")
            .arg(&bad)
            .arg("-C")
            .arg(&bad_dir)
            .arg(name)
            .output()
            .unwrap(),
        "tar -c",
    );
    let refused = user(&home, "bash")
        .arg(root().join("scripts/install.sh"))
        .arg("--from")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("checksum mismatch"),
        "{}",
        text(&refused.stderr)
    );
    // And the good one through `--from` is a no-op now.
    let again = ok(
        user(&home, "bash")
            .arg(root().join("scripts/install.sh"))
            .arg("--from")
            .arg(&tarball)
            .arg("--json")
            .output()
            .unwrap(),
        "install.sh --from",
    );
    let v: serde_json::Value = serde_json::from_str(again.lines().last().unwrap()).unwrap();
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "{v}");
    assert!(steps.iter().all(|s| s["action"] == "unchanged"), "{v}");

    // Uninstall: nothing of ours is left; the config install created is gone.
    ok(
        user(&home, "bash")
            .arg(top.join("scripts/uninstall.sh"))
            .output()
            .unwrap(),
        "uninstall.sh",
    );
    assert!(!installed.exists());
    assert!(
        !home.join(".codex/config.toml").exists(),
        "install created it, uninstall removes it"
    );
    assert!(!home.join(".codex/skills").exists());
}

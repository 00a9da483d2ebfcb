//! Stamps the binary with the commit it was built from, for `codex-teams --version`.
//! A tarball or `cargo install` from a source without git says `unknown`; a release build
//! can set CODEX_TEAMS_COMMIT itself.

fn main() {
    println!("cargo:rerun-if-env-changed=CODEX_TEAMS_COMMIT");
    let commit = std::env::var("CODEX_TEAMS_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| {
            let out = std::process::Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
                .filter(|c| !c.is_empty())
        });
    // Rebuild when HEAD moves (a checkout or a commit), not on every file change.
    if let Ok(out) = std::process::Command::new("git")
        .args(["rev-parse", "--git-dir"])
        .output()
        && out.status.success()
    {
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
        println!("cargo:rerun-if-changed={dir}/HEAD");
        println!("cargo:rerun-if-changed={dir}/refs/heads");
    }
    println!(
        "cargo:rustc-env=CODEX_TEAMS_COMMIT={}",
        commit.as_deref().unwrap_or("unknown")
    );
}

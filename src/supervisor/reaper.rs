//! The last line of the no-orphans rule: a tiny watcher process (`codex-teams __reap TAG`,
//! its own process group, no PDEATHSIG) that blocks on a pipe only the supervisor holds.
//! However the supervisor dies (SIGKILL included) the kernel closes the pipe; the reaper
//! then SIGKILLs every process whose environment carries `CODEX_TEAMS_SUPERVISOR=TAG`.
//!
//! The guardian kills registered process *groups*; this catches what left them: codex's
//! shell snapshot and commands may start their own groups (measured here: a login shell's
//! background `pyenv rehash` outlived its codex's group), but they keep the environment.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context;

/// Environment variable set on every child of one supervisor process.
pub const SUPERVISOR_ENV: &str = "CODEX_TEAMS_SUPERVISOR";

/// Keeps the reaper's pipe open for as long as it lives; drop it (or die) to trigger it.
#[derive(Debug)]
pub struct Reaper {
    /// The tag every child carries in [`SUPERVISOR_ENV`].
    pub tag: String,
    _pipe: std::io::PipeWriter,
}

impl Reaper {
    /// Starts the reaper for a fresh tag (our pid and a random part).
    pub fn start() -> anyhow::Result<Reaper> {
        let tag = format!("{}-{}", std::process::id(), uuid_like());
        let (reader, writer) = std::io::pipe().context("cannot create the reaper pipe")?;
        let exe = std::env::current_exe().context("cannot find our own executable")?;
        let mut cmd = Command::new(exe);
        cmd.args(["__reap", &tag])
            .stdin(reader)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .env_remove(SUPERVISOR_ENV)
            .env_remove(super::process::MARKER_ENV);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().context("cannot start the reaper")?;
        // Reap it when it exits so it never lingers as a zombie of ours.
        std::thread::spawn(move || {
            let _ = child.wait();
        });
        Ok(Reaper { tag, _pipe: writer })
    }
}

fn uuid_like() -> String {
    use rand::Rng;
    let n: u64 = rand::rng().random();
    format!("{n:016x}")
}

/// Live pids (other than ours) whose environment has `SUPERVISOR_ENV=tag`.
pub fn tagged(tag: &str) -> Vec<i32> {
    let needle = format!("{SUPERVISOR_ENV}={tag}");
    super::procfs::other_environs()
        .into_iter()
        .filter(|(_, env)| env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()))
        .map(|(pid, _)| pid)
        .collect()
}

/// `codex-teams __reap TAG`: waits for stdin to close, then kills every tagged process.
pub fn reap_main(tag: &str) -> anyhow::Result<()> {
    anyhow::ensure!(!tag.is_empty(), "__reap needs a tag");
    let mut buf = [0u8; 64];
    let mut stdin = std::io::stdin();
    loop {
        match stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    // A few rounds: a process may fork while we kill its parent.
    for _ in 0..5 {
        let pids = tagged(tag);
        if pids.is_empty() {
            break;
        }
        for p in pids {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(p),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_finds_only_the_tag() {
        let tag = format!("test-{}", uuid_like());
        let mut child = Command::new("sleep")
            .arg("30")
            .env(SUPERVISOR_ENV, &tag)
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(tagged(&tag), vec![child.id() as i32]);
        assert!(tagged("some-other-tag").is_empty());
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(tagged(&tag).is_empty());
    }
}

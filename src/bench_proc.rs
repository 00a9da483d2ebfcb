//! Memory of processes as `/proc` reports it, for the benchmarks: one process's peak RSS,
//! and RSS and PSS summed over a process group (a worker is its whole group).

use std::path::Path;

use anyhow::Context;

/// Memory of one process group, in KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    /// Sum of resident set sizes: shared pages count once per process.
    pub rss_kb: u64,
    /// Sum of proportional set sizes: shared pages split between their users, so the
    /// sum over all processes is what they really hold.
    pub pss_kb: u64,
    /// Processes in the group.
    pub processes: usize,
}

/// RSS and PSS summed over every live process in group `pgid`.
pub fn group_memory(pgid: i32) -> anyhow::Result<Memory> {
    let mut total = Memory::default();
    for entry in std::fs::read_dir("/proc").context("reading /proc")? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if process_group(pid) != Some(pgid) {
            continue;
        }
        // A process may exit between the listing and the read: it holds nothing then.
        let dir = entry.path();
        let Some(rss) = field_kb(&dir.join("status"), "VmRSS:") else {
            continue;
        };
        total.rss_kb += rss;
        total.pss_kb += field_kb(&dir.join("smaps_rollup"), "Pss:").unwrap_or(0);
        total.processes += 1;
    }
    Ok(total)
}

/// The highest RSS process `pid` has had (`VmHWM`), in KiB.
pub fn peak_rss_kb(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    field_kb(Path::new(&path), "VmHWM:").with_context(|| format!("no VmHWM in {path}"))
}

/// The process group of `pid`, from `/proc/PID/stat` (field 5, after the `(comm)`).
fn process_group(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_pgrp(&stat)
}

fn parse_pgrp(stat: &str) -> Option<i32> {
    // comm may hold spaces and parentheses; the fields resume after the last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(2)?.parse().ok()
}

/// The `NAME: N kB` line of a `/proc` file, in KiB.
fn field_kb(path: &Path, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    parse_field_kb(&text, name)
}

fn parse_field_kb(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_group_past_an_awkward_comm() {
        let stat = "4242 (a (b) c) S 1 4240 4240 0 -1 4194560";
        assert_eq!(parse_pgrp(stat), Some(4240));
        assert_eq!(parse_pgrp("garbage"), None);
    }

    #[test]
    fn reads_kb_fields() {
        let text = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n";
        assert_eq!(parse_field_kb(text, "VmRSS:"), Some(1024));
        assert_eq!(parse_field_kb(text, "VmHWM:"), Some(2048));
        assert_eq!(parse_field_kb(text, "Pss:"), None);
    }

    /// A real group: a shell and its sleeping child, started in a new group.
    #[test]
    fn sums_a_live_group() {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30; wait"])
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = child.id() as i32;
        let mut mem = Memory::default();
        for _ in 0..100 {
            mem = group_memory(pgid).unwrap();
            if mem.processes == 3 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pgid),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = child.wait();
        assert_eq!(mem.processes, 3, "{mem:?}");
        assert!(
            mem.rss_kb > 0 && mem.pss_kb > 0 && mem.pss_kb <= mem.rss_kb,
            "{mem:?}"
        );
        assert!(peak_rss_kb(std::process::id()).unwrap() > 0);
    }
}

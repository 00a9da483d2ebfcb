//! Everything this program reads from `/proc`, parsed in one place: a process's state,
//! group and start time (`stat`), its environment and its command line. Pids are reused, so
//! callers that must name one process for good pair the pid with its start time.

/// A process group id. Newtype so a pid is never passed where a group is meant. (Here, at
/// the bottom of the process modules, so the watcher and the spawner share it without
/// importing each other.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pgid(pub i32);

/// What `/proc/PID/stat` says about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// `R`, `S`, `D`, `Z` (zombie), `X` (dead), ...
    pub state: char,
    /// Its parent.
    pub ppid: i32,
    /// Its process group.
    pub pgrp: i32,
    /// Clock ticks after boot when the process started: with the pid, an identity that a
    /// reused pid cannot fake.
    pub start: u64,
}

impl Stat {
    /// Running: not a zombie, not dead.
    pub fn live(&self) -> bool {
        self.state != 'Z' && self.state != 'X'
    }
}

/// Parses `/proc/PID/stat`: `pid (comm) state ppid pgrp ...`; comm may hold spaces and
/// parentheses, so fields are counted after the last `)`.
pub fn stat(pid: i32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    // Field 22 (starttime) is the 20th after the state.
    let start = fields.nth(16)?.parse().ok()?;
    Some(Stat {
        state,
        ppid,
        pgrp,
        start,
    })
}

/// Every process id in `/proc` right now.
pub fn pids() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .collect()
}

/// The `stat` of every process we can read.
pub fn stats() -> Vec<(i32, Stat)> {
    pids()
        .into_iter()
        .filter_map(|pid| Some((pid, stat(pid)?)))
        .collect()
}

/// Live (non-zombie) processes whose process group is `pgid`.
pub fn group_members(pgid: Pgid) -> Vec<i32> {
    stats()
        .into_iter()
        .filter(|(_, stat)| stat.pgrp == pgid.0 && stat.live())
        .map(|(pid, _)| pid)
        .collect()
}

/// Live (non-zombie) children of `pid`.
pub fn children(pid: i32) -> Vec<i32> {
    stats()
        .into_iter()
        .filter(|(_, stat)| stat.ppid == pid && stat.live())
        .map(|(pid, _)| pid)
        .collect()
}

/// Whether `pid` runs (exists, not a zombie).
pub fn is_live(pid: i32) -> bool {
    stat(pid).is_some_and(|s| s.live())
}

/// When `pid` started (clock ticks after boot), if it is alive (not a zombie). A pid plus
/// its start time names one process for good: pids are reused, start times are not.
pub fn start_time(pid: i32) -> Option<u64> {
    stat(pid).filter(Stat::live).map(|s| s.start)
}

/// The environment block (NUL-separated `K=V`) of `pid`, if we may read it.
pub fn environ(pid: i32) -> Option<Vec<u8>> {
    std::fs::read(format!("/proc/{pid}/environ")).ok()
}

/// Whether `pid`'s environment has `key`, equal to `value` when one is given.
pub fn has_env(pid: i32, key: &str, value: Option<&str>) -> bool {
    environ(pid).is_some_and(|env| env_has(&env, key, value))
}

/// Whether an environment block has `key` (equal to `value` when one is given).
pub fn env_has(environ: &[u8], key: &str, value: Option<&str>) -> bool {
    let prefix = format!("{key}=");
    environ
        .split(|&b| b == 0)
        .any(|var| match var.strip_prefix(prefix.as_bytes()) {
            Some(v) => value.is_none_or(|want| v == want.as_bytes()),
            None => false,
        })
}

/// The environment block of every other process we may read: how the supervisor finds its
/// own descendants that left their process group.
pub fn other_environs() -> Vec<(i32, Vec<u8>)> {
    let me = std::process::id() as i32;
    pids()
        .into_iter()
        .filter(|pid| *pid != me)
        .filter_map(|pid| Some((pid, environ(pid)?)))
        .collect()
}

/// `pid`'s command line, its arguments joined by spaces.
pub fn cmdline(pid: i32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(String::from_utf8_lossy(&raw).replace('\0', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_last_parenthesis() {
        let line =
            "42 (a (weird) name) S 1 77 77 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 10";
        let s = parse_stat(line).unwrap();
        assert_eq!((s.state, s.ppid, s.pgrp, s.start), ('S', 1, 77, 123456));
        assert!(s.live());
        assert!(parse_stat("garbage").is_none());
    }

    #[test]
    fn this_process_is_found_with_its_environment() {
        let me = std::process::id() as i32;
        assert!(is_live(me) && pids().contains(&me));
        assert_eq!(start_time(me), stat(me).map(|s| s.start));
        let env = environ(me).unwrap();
        assert!(env_has(&env, "PATH", None));
        assert!(!env_has(&env, "PATH", Some("surely not this")));
        assert!(!env_has(b"PATHX=1\0", "PATH", None));
        assert!(cmdline(me).is_some_and(|c| !c.is_empty()));
        assert!(!other_environs().iter().any(|(p, _)| *p == me));
    }
}

//! Per-response token usage as it happens, from the session rollout codex writes
//! (`$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*-<thread>.jsonl`): after every model
//! response codex appends an `event_msg` of type `token_count` with that response's usage
//! (`last_token_usage`) and the thread's running total (`total_token_usage`). Recording
//! each as it appears means a turn that is killed, stopped or times out never loses what it
//! spent; `turn.completed` then only reconciles. Works for API-key and ChatGPT-login users
//! alike: it reads what codex itself counted.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use codex_teams_codex_exec::Usage;

use crate::policy::restart::Thread;

/// One response's usage and the thread's total after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response {
    /// This response alone.
    pub last: Usage,
    /// The thread's running total after it.
    pub total: Usage,
}

/// Parses one rollout line; `None` for anything but a `token_count` with usage.
pub fn parse_line(line: &str) -> Option<Response> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    if v.get("type")?.as_str()? != "event_msg" {
        return None;
    }
    let p = v.get("payload")?;
    if p.get("type")?.as_str()? != "token_count" {
        return None;
    }
    let info = p.get("info")?;
    let last = serde_json::from_value(info.get("last_token_usage")?.clone()).ok()?;
    let total = serde_json::from_value(info.get("total_token_usage")?.clone()).ok()?;
    Some(Response { last, total })
}

/// Follows one thread's rollout file from a starting offset.
#[derive(Debug, Clone)]
pub struct RolloutTail {
    sessions: Option<PathBuf>,
    thread: Option<String>,
    path: Option<PathBuf>,
    offset: u64,
    partial: String,
}

impl RolloutTail {
    /// For a thread not known yet (a first turn): the file is read from its start once
    /// [`RolloutTail::set_thread`] names it.
    pub fn new(codex_home: Option<&Path>) -> Self {
        RolloutTail {
            sessions: codex_home.map(|h| h.join("sessions")),
            thread: None,
            path: None,
            offset: 0,
            partial: String::new(),
        }
    }

    /// For a resumed thread: only what is appended from now on counts.
    pub fn resuming(codex_home: Option<&Path>, thread: &str) -> Self {
        let mut t = Self::new(codex_home);
        t.thread = Some(thread.to_string());
        if let Some(p) = t.locate() {
            t.offset = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            t.path = Some(p);
        }
        t
    }

    /// The thread id, from `thread.started`.
    pub fn set_thread(&mut self, thread: &str) {
        if self.thread.is_none() {
            self.thread = Some(thread.to_string());
        }
    }

    fn locate(&self) -> Option<PathBuf> {
        let sessions = self.sessions.as_ref()?;
        let suffix = format!("{}.jsonl", self.thread.as_ref()?);
        // Newest day first: YYYY/MM/DD.
        let mut days = Vec::new();
        for y in read_dirs(sessions) {
            for m in read_dirs(&y) {
                days.extend(read_dirs(&m));
            }
        }
        days.sort();
        for day in days.iter().rev() {
            if let Ok(rd) = std::fs::read_dir(day) {
                for e in rd.flatten() {
                    let name = e.file_name();
                    let name = name.to_string_lossy();
                    if name.starts_with("rollout-") && name.ends_with(&suffix) {
                        return Some(e.path());
                    }
                }
            }
        }
        None
    }

    /// The responses appended since the last call.
    pub fn poll(&mut self) -> Vec<Response> {
        if self.path.is_none() {
            self.path = self.locate();
        }
        let Some(path) = &self.path else {
            return Vec::new();
        };
        let Ok(mut f) = std::fs::File::open(path) else {
            return Vec::new();
        };
        if f.seek(SeekFrom::Start(self.offset)).is_err() {
            return Vec::new();
        }
        let mut buf = Vec::new();
        if f.read_to_end(&mut buf).is_err() {
            return Vec::new();
        }
        self.offset += buf.len() as u64;
        self.partial.push_str(&String::from_utf8_lossy(&buf));
        let mut out = Vec::new();
        // Only whole lines: codex may be mid-write.
        while let Some(i) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=i).collect();
            if let Some(r) = parse_line(line.trim()) {
                out.push(r);
            }
        }
        out
    }
}

/// How far a thread got, read from its whole rollout (for `resume`): whether a prompt of
/// ours reached it (a user message other than codex's own environment context) and whether
/// its last turn was left open (`task_started` with no `task_complete` / `turn_aborted`
/// after it). `Unusable` when codex has no rollout for it or it never got a prompt.
pub fn thread_state(codex_home: Option<&Path>, thread: &str) -> Thread {
    let tail = RolloutTail::resuming(codex_home, thread);
    let Some(text) = tail.path.and_then(|p| std::fs::read_to_string(p).ok()) else {
        return Thread::Unusable;
    };
    let (mut prompted, mut turn_open) = (false, false);
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue; // a line cut by the kill
        };
        let p = &v["payload"];
        match (v["type"].as_str(), p["type"].as_str()) {
            (Some("event_msg"), Some("task_started")) => turn_open = true,
            (Some("event_msg"), Some("task_complete" | "turn_aborted")) => turn_open = false,
            (Some("response_item"), Some("message")) if p["role"] == "user" => {
                let text = p["content"][0]["text"].as_str().unwrap_or("");
                if !text.trim_start().starts_with("<environment_context>") {
                    prompted = true;
                }
            }
            _ => {}
        }
    }
    if prompted {
        Thread::Usable { turn_open }
    } else {
        Thread::Unusable
    }
}

fn read_dirs(p: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"timestamp":"t","type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"input_tokens":8208,"cached_input_tokens":10,"cache_write_input_tokens":0,"output_tokens":27,"reasoning_output_tokens":0,"total_tokens":8235},"last_token_usage":{"input_tokens":100,"cached_input_tokens":0,"output_tokens":7,"reasoning_output_tokens":0,"total_tokens":107}},"rate_limits":{}}}"#;

    #[test]
    fn parses_token_counts_only() {
        let r = parse_line(LINE).unwrap();
        assert_eq!(r.last.input_tokens, 100);
        assert_eq!(r.total.input_tokens, 8208);
        assert_eq!(r.total.cached_input_tokens, 10);
        assert!(
            parse_line(r#"{"type":"event_msg","payload":{"type":"token_count","info":null}}"#)
                .is_none()
        );
        assert!(parse_line(r#"{"type":"response_item","payload":{}}"#).is_none());
        assert!(parse_line("not json").is_none());
    }

    /// The tail finds the thread's file, reads whole lines only, and a resumed tail skips
    /// what was there before.
    #[test]
    fn tails_the_threads_file() {
        let home = tempfile::tempdir().unwrap();
        let day = home.path().join("sessions/2026/12/03");
        std::fs::create_dir_all(&day).unwrap();
        let f = day.join("rollout-2026-12-03T10-00-00-thr-1.jsonl");
        std::fs::write(
            day.join("rollout-2026-12-03T09-00-00-other.jsonl"),
            format!("{LINE}\n"),
        )
        .unwrap();
        let mut t = RolloutTail::new(Some(home.path()));
        assert!(t.poll().is_empty(), "no thread yet");
        t.set_thread("thr-1");
        assert!(t.poll().is_empty(), "no file yet");
        std::fs::write(&f, format!("{LINE}\n{{\"type\":\"x\"}}\n{}", &LINE[..40])).unwrap();
        assert_eq!(t.poll().len(), 1);
        let mut rest = LINE[40..].to_string();
        rest.push('\n');
        let mut all = std::fs::read_to_string(&f).unwrap();
        all.push_str(&rest);
        std::fs::write(&f, all).unwrap();
        assert_eq!(t.poll().len(), 1, "the completed partial line");
        assert!(t.poll().is_empty());
        let mut r = RolloutTail::resuming(Some(home.path()), "thr-1");
        assert!(r.poll().is_empty(), "a resumed tail starts at the end");
    }

    /// The thread's state from its rollout: no file or no prompt of ours is unusable; a
    /// `task_started` without its `task_complete` is an open turn; a cut last line is skipped.
    #[test]
    fn reads_how_far_a_thread_got() {
        let home = tempfile::tempdir().unwrap();
        let day = home.path().join("sessions/2026/12/03");
        std::fs::create_dir_all(&day).unwrap();
        let write = |thread: &str, lines: &[&str]| {
            let f = day.join(format!("rollout-2026-12-03T10-00-00-{thread}.jsonl"));
            std::fs::write(f, lines.join("\n")).unwrap();
        };
        let started = r#"{"type":"event_msg","payload":{"type":"task_started"}}"#;
        let complete = r#"{"type":"event_msg","payload":{"type":"task_complete"}}"#;
        let context = r#"{"type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"<environment_context>\n</environment_context>"}]}}"#;
        let prompt = r#"{"type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"role: implementer"}]}}"#;
        let h = Some(home.path());
        assert_eq!(thread_state(h, "gone"), Thread::Unusable);
        write("bare", &[started, context]);
        assert_eq!(thread_state(h, "bare"), Thread::Unusable);
        write("cut", &[started, context, prompt, r#"{"type":"event_ms"#]);
        assert_eq!(thread_state(h, "cut"), Thread::Usable { turn_open: true });
        write("ended", &[started, context, prompt, complete]);
        assert_eq!(
            thread_state(h, "ended"),
            Thread::Usable { turn_open: false }
        );
        write("again", &[started, context, prompt, complete, started]);
        assert_eq!(thread_state(h, "again"), Thread::Usable { turn_open: true });
    }
}

//! `codex-teams replay TEAM_ID`: a run rebuilt from the store's event log, for a finished,
//! crashed or resumed team alike (the log is append-only and outlives every process), as
//! text, JSON (`--json`) or one self-contained HTML page (`--html FILE`).

pub mod describe;
pub mod html;
pub mod json;
pub mod text;
pub mod timeline;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use codex_teams_store::{Event, Store};

use crate::supervisor::home::TeamsHome;
use timeline::Timeline;

/// Options of `codex-teams replay`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReplayArgs {
    /// The team to replay (see `codex-teams status`).
    pub team_id: String,
    /// One JSON object on stdout: lanes, turns, tokens, every event with its trace ids.
    #[arg(long)]
    pub json: bool,
    /// Only this agent's events (and messages to or from it): a name or an agent id.
    #[arg(long, value_name = "AGENT")]
    pub agent: Option<String>,
    /// Only events at or after this time since the team started: `90`, `90s`, `1m30s`,
    /// `1:30` or `500ms`.
    #[arg(long, value_name = "TIME", value_parser = parse_offset)]
    pub from: Option<i64>,
    /// Also write the timeline as one self-contained HTML page (SVG swimlanes) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// `codex-teams replay`.
pub fn run(args: ReplayArgs) -> anyhow::Result<()> {
    let home = TeamsHome::locate()?;
    let path = home.store_path();
    if !path.exists() {
        bail!(
            "no team store at {}: nothing has run here yet",
            path.display()
        );
    }
    let store = Store::open_read_only(&path)?;
    let mut t = load(&store, &args.team_id)?;
    filter(&mut t, args.agent.as_deref(), args.from)?;
    if let Some(file) = &args.html {
        write_private(file, &html::render(&t))?;
        if !args.json {
            eprintln!("replay: wrote {}", file.display());
        }
    }
    let out = if args.json {
        json::render(&t)? + "\n"
    } else if args.html.is_none() {
        text::render(&t)
    } else {
        return Ok(());
    };
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    quiet_on_closed_pipe(
        stdout
            .write_all(out.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(Into::into),
    )
}

/// The timeline of `team_id` from every event in the store.
pub fn load(store: &Store, team_id: &str) -> anyhow::Result<Timeline> {
    let team = store
        .team(team_id)
        .with_context(|| format!("cannot replay team {team_id}"))?;
    let agents = store.list_agents(team_id)?;
    let events = all_events(store, team_id)?;
    let mut t = timeline::build(&team, &agents, &events);
    if !events.iter().any(|e| e.kind == "usage.recorded") {
        // A run recorded before usage reached the event log: its ledger still has the totals.
        for lane in &mut t.lanes {
            let u = store.agent_usage(team_id, &lane.agent_id)?;
            lane.tokens = timeline::Tokens {
                input: u.input_tokens,
                cached_input: u.cached_input_tokens,
                output: u.output_tokens,
                reasoning_output: u.reasoning_output_tokens,
            };
        }
        t.totals = t
            .lanes
            .iter()
            .fold(timeline::Tokens::default(), |mut sum, l| {
                sum.add(&l.tokens);
                sum
            });
    }
    Ok(t)
}

/// Every event of the team, oldest first, read in pages.
pub fn all_events(store: &Store, team_id: &str) -> anyhow::Result<Vec<Event>> {
    let mut out: Vec<Event> = Vec::new();
    loop {
        let after = out.last().map_or(0, |e| e.seq);
        let page = store.events(team_id, after, 5000)?;
        if page.is_empty() {
            return Ok(out);
        }
        out.extend(page);
    }
}

/// Keeps one agent's lane and entries (`agent`, by name or id) and entries from `from_ms` on.
pub fn filter(t: &mut Timeline, agent: Option<&str>, from_ms: Option<i64>) -> anyhow::Result<()> {
    if let Some(want) = agent {
        let Some(lane) = t
            .lanes
            .iter()
            .find(|l| l.agent_id == want || l.name == want)
        else {
            let known: Vec<&str> = t.lanes.iter().map(|l| l.name.as_str()).collect();
            bail!(
                "--agent {want}: team {} has no such agent (agents: {})",
                t.team_id,
                known.join(", ")
            );
        };
        let (id, name) = (lane.agent_id.clone(), lane.name.clone());
        t.lanes.retain(|l| l.agent_id == id);
        t.entries.retain(|e| {
            e.agent_id.as_deref() == Some(id.as_str()) || e.peer.as_deref() == Some(&name)
        });
        t.messages.retain(|m| {
            m.from == id || m.to == id || m.delivered.iter().any(|(who, _)| *who == id)
        });
        t.totals = t.lanes[0].tokens;
    }
    if let Some(from) = from_ms {
        t.entries.retain(|e| e.t_ms >= from);
    }
    Ok(())
}

/// Parses `--from`: seconds (`90`), units (`1m30s`, `500ms`, `2h`) or a clock (`1:30`).
pub fn parse_offset(s: &str) -> Result<i64, String> {
    let bad =
        || format!("`{s}` is not a time since the start; use e.g. 90, 90s, 1m30s, 1:30 or 500ms");
    let s = s.trim().trim_start_matches('+');
    if s.is_empty() {
        return Err(bad());
    }
    if s.contains(':') {
        let mut ms = 0f64;
        for part in s.split(':') {
            let v: f64 = part.parse().map_err(|_| bad())?;
            ms = ms * 60.0 + v * 1000.0;
        }
        return Ok(ms as i64);
    }
    if let Ok(secs) = s.parse::<f64>() {
        return Ok((secs * 1000.0) as i64);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let v: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 1.0,
            "s" => 1000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            _ => return Err(bad()),
        };
        total += v * factor;
        rest = &rest[unit_len..];
    }
    Ok(total as i64)
}

/// Writes `text` to `path` as an owner-only (0600) file.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write --html {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot write --html {}", path.display()))
}

/// A reader that went away (`watch | head`) ends the command quietly, as for `cat`.
pub fn quiet_on_closed_pipe(r: anyhow::Result<()>) -> anyhow::Result<()> {
    match r {
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_parse_in_every_spelling() {
        for (s, ms) in [
            ("90", 90_000),
            ("90s", 90_000),
            ("1m30s", 90_000),
            ("1:30", 90_000),
            ("+0:01.5", 1_500),
            ("500ms", 500),
            ("2h", 7_200_000),
            ("0.25", 250),
        ] {
            assert_eq!(parse_offset(s), Ok(ms), "{s}");
        }
        for s in ["", "abc", "5x", "1m30q", "m"] {
            let e = parse_offset(s).unwrap_err();
            assert!(e.contains("not a time"), "{s}: {e}");
        }
    }
}

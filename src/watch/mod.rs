//! `codex-teams watch [TEAM_ID]`: a live view of a team, read from the store (read-only), so
//! it works beside a `run` or an interactive lead in another terminal. On a terminal it is a
//! ratatui screen redrawn within a poll interval of each event; otherwise it prints one
//! line (or, with `--json`, one JSON object) per event until the team stops.

pub mod lines;
pub mod snapshot;
pub mod view;

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use codex_teams_store::{Store, TeamStatus};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};

use crate::supervisor::home::TeamsHome;
use snapshot::Snapshot;
use view::Ui;

/// Options of `codex-teams watch`.
#[derive(Debug, Clone, clap::Args)]
pub struct WatchArgs {
    /// The team to watch [default: the newest running team, else the newest team].
    pub team_id: Option<String>,
    /// How often to look for new events, in milliseconds (50..=5000).
    #[arg(long, default_value_t = 250, value_parser = clap::value_parser!(u64).range(50..=5000))]
    pub interval_ms: u64,
    /// Without a terminal: one JSON object per event instead of a line.
    #[arg(long)]
    pub json: bool,
}

/// `codex-teams watch`.
pub fn run(args: WatchArgs) -> anyhow::Result<()> {
    let home = TeamsHome::locate()?;
    let path = home.store_path();
    if !path.exists() {
        bail!(
            "no team store at {}: start a team first (codex-teams run, or `use agents team` in codex)",
            path.display()
        );
    }
    let store = Store::open_read_only(&path)?;
    let team_id = match args.team_id.clone() {
        Some(id) => {
            store
                .team(&id)
                .with_context(|| format!("cannot watch team {id}"))?;
            id
        }
        None => pick_team(&store)?,
    };
    let interval = Duration::from_millis(args.interval_ms);
    if std::io::stdout().is_terminal() && !args.json {
        tui(&store, &team_id, interval)
    } else {
        let mut out = std::io::stdout().lock();
        let supervised = || home.owner_alive(&team_id).is_some();
        crate::replay::quiet_on_closed_pipe(lines::follow(
            &store,
            &team_id,
            interval,
            args.json,
            &mut out,
            &supervised,
        ))
    }
}

/// The newest running team, else the newest team.
fn pick_team(store: &Store) -> anyhow::Result<String> {
    let teams = store.list_teams()?;
    let running = teams.iter().rev().find(|t| t.status == TeamStatus::Running);
    match running.or(teams.last()) {
        Some(t) => Ok(t.team_id.clone()),
        None => bail!("the store has no team yet; start one with `codex-teams run`"),
    }
}

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The full-screen view until `q`, Esc (with nothing focused) or Ctrl-C.
fn tui(store: &Store, team_id: &str, interval: Duration) -> anyhow::Result<()> {
    let mut snap = Snapshot::load(store, team_id, now_ms())?;
    let mut terminal = ratatui::init();
    let mut ui = Ui::default();
    let mut loaded = Instant::now();
    let result = loop {
        if let Err(e) = terminal.draw(|f| view::draw(f, &snap, &ui)) {
            break Err(e.into());
        }
        match event::poll(interval) {
            Ok(true) => match event::read() {
                Ok(Event::Key(k)) if k.kind == KeyEventKind::Press => {
                    let quit = matches!(k.code, KeyCode::Char('q'))
                        || (k.code == KeyCode::Char('c')
                            && k.modifiers.contains(KeyModifiers::CONTROL))
                        || (k.code == KeyCode::Esc && ui.focus.is_none());
                    if quit {
                        break Ok(());
                    }
                    match k.code {
                        KeyCode::Down | KeyCode::Char('j') | KeyCode::Tab => {
                            ui.step(1, snap.agents.len())
                        }
                        KeyCode::Up | KeyCode::Char('k') | KeyCode::BackTab => {
                            ui.step(-1, snap.agents.len())
                        }
                        KeyCode::Esc => ui.focus = None,
                        _ => {}
                    }
                }
                Ok(_) => {}
                Err(e) => break Err(e.into()),
            },
            Ok(false) => {}
            Err(e) => break Err(e.into()),
        }
        // New events redraw at once; the turn timers tick once a second regardless.
        let changed = store.last_event_seq(team_id).map(|s| s != snap.last_seq);
        if changed.unwrap_or(false) || loaded.elapsed() >= Duration::from_secs(1) {
            match Snapshot::load(store, team_id, now_ms()) {
                Ok(s) => snap = s,
                Err(e) => break Err(e),
            }
            loaded = Instant::now();
        }
    };
    ratatui::restore();
    result
}

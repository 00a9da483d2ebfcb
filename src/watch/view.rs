//! Draws one [`Snapshot`] with ratatui: header, worker and budget gauges, the agents table,
//! the task board, and the latest messages or, with an agent focused, its last tool calls.
//! Pure drawing: the tests render it into ratatui's `TestBackend`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Gauge, List, ListItem, Paragraph, Row, Table};

use codex_teams_store::{AgentState, TaskStatus};

use super::snapshot::Snapshot;
use crate::replay::timeline::duration;
use crate::supervisor::status::ShownState;

/// What the user chose: the focused agent (an index into the agents), if any.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ui {
    pub focus: Option<usize>,
}

impl Ui {
    /// Moves the focus by `step` agents (wrapping), starting at the first.
    pub fn step(&mut self, step: isize, agents: usize) {
        if agents == 0 {
            self.focus = None;
            return;
        }
        let n = agents as isize;
        let at = match self.focus {
            None if step >= 0 => 0,
            None => n - 1,
            Some(i) => (i as isize + step).rem_euclid(n),
        };
        self.focus = Some(at as usize);
    }
}

/// Draws the whole screen.
pub fn draw(f: &mut Frame<'_>, s: &Snapshot, ui: &Ui) {
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Length(3),
            Constraint::Length(s.agents.len() as u16 + 3),
            Constraint::Min(5),
            Constraint::Length(1),
        ])
        .split(f.area());
    header(f, rows[0], s);
    gauges(f, rows[1], s);
    agents(f, rows[2], s, ui);
    let bottom = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Percentage(45), Constraint::Percentage(55)])
        .split(rows[3]);
    board(f, bottom[0], s);
    match ui.focus.and_then(|i| s.agents.get(i)) {
        Some(a) => lines(
            f,
            bottom[1],
            &format!("last tool calls of {}", a.name),
            &a.tools,
        ),
        None => lines(f, bottom[1], "latest messages", &s.messages),
    }
    let help = "q quit  ↑/↓ or j/k focus an agent  esc unfocus";
    f.render_widget(
        Paragraph::new(help).style(Style::default().fg(Color::DarkGray)),
        rows[4],
    );
}

fn header(f: &mut Frame<'_>, area: Rect, s: &Snapshot) {
    let line = Line::from(vec![
        Span::styled(
            format!("team {} ", s.team_id),
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(
            "({}) {}  ",
            s.status.as_str(),
            duration(s.elapsed_ms)
        )),
        Span::styled(s.goal.clone(), Style::default().fg(Color::DarkGray)),
    ]);
    f.render_widget(Paragraph::new(line), area);
}

fn gauges(f: &mut Frame<'_>, area: Rect, s: &Snapshot) {
    let cols = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Percentage(50), Constraint::Percentage(50)])
        .split(area);
    let cap = s.cap.max(1);
    let workers = Gauge::default()
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title("workers on this machine"),
        )
        .gauge_style(Style::default().fg(Color::Cyan))
        .ratio((s.workers_live as f64 / cap as f64).min(1.0))
        .label(format!("{}/{}", s.workers_live, s.cap));
    f.render_widget(workers, cols[0]);
    let (ratio, label) = match s.budget {
        Some(b) if b > 0 => (
            (s.spent.max(0) as f64 / b as f64).min(1.0),
            format!("{} / {} tokens", s.spent, b),
        ),
        _ => (0.0, format!("{} tokens", s.spent)),
    };
    let budget = Gauge::default()
        .block(Block::default().borders(Borders::ALL).title("budget spent"))
        .gauge_style(Style::default().fg(Color::Yellow))
        .ratio(ratio)
        .label(label);
    f.render_widget(budget, cols[1]);
}

fn state_color(state: ShownState) -> Color {
    match state {
        ShownState::Agent(AgentState::Running) => Color::Green,
        ShownState::Agent(AgentState::Idle) => Color::Blue,
        ShownState::Agent(AgentState::Failed) | ShownState::Interrupted => Color::Red,
        ShownState::Agent(AgentState::Pending) => Color::Yellow,
        ShownState::Agent(AgentState::Stopped) => Color::DarkGray,
    }
}

fn agents(f: &mut Frame<'_>, area: Rect, s: &Snapshot, ui: &Ui) {
    let head = Row::new([
        "agent", "role", "state", "task", "turn", "turns", "in", "cached", "out",
    ])
    .style(Style::default().add_modifier(Modifier::BOLD));
    let rows = s.agents.iter().enumerate().map(|(i, a)| {
        let focused = ui.focus == Some(i);
        let style = if focused {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        };
        Row::new(vec![
            Cell::from(a.name.clone()),
            Cell::from(a.role.clone()),
            Cell::from(a.state.as_str()).style(Style::default().fg(state_color(a.state))),
            Cell::from(a.task.clone().unwrap_or_else(|| "-".into())),
            Cell::from(a.turn_ms.map_or("-".into(), duration)),
            Cell::from(a.turns.to_string()),
            Cell::from(a.tokens.input.to_string()),
            Cell::from(a.tokens.cached_input.to_string()),
            Cell::from(a.tokens.output.to_string()),
        ])
        .style(style)
    });
    let widths = [
        Constraint::Length(16),
        Constraint::Length(12),
        Constraint::Length(11),
        Constraint::Min(16),
        Constraint::Length(7),
        Constraint::Length(5),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(7),
    ];
    let table = Table::new(rows, widths)
        .header(head)
        .block(Block::default().borders(Borders::ALL).title("agents"));
    f.render_widget(table, area);
}

fn board(f: &mut Frame<'_>, area: Rect, s: &Snapshot) {
    let done = s
        .tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Done)
        .count();
    let items: Vec<ListItem> = s
        .tasks
        .iter()
        .map(|t| {
            let owner = t
                .owner
                .as_deref()
                .map(|o| format!(" @{o}"))
                .unwrap_or_default();
            ListItem::new(format!("{:<8} {}{owner}", t.status.as_str(), t.title))
        })
        .collect();
    let title = format!("tasks {done}/{} done", s.tasks.len());
    f.render_widget(
        List::new(items).block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}

fn lines(f: &mut Frame<'_>, area: Rect, title: &str, text: &[String]) {
    let shown = area.height.saturating_sub(2) as usize;
    let items: Vec<ListItem> = text
        .iter()
        .skip(text.len().saturating_sub(shown))
        .map(|l| ListItem::new(l.clone()))
        .collect();
    f.render_widget(
        List::new(items).block(
            Block::default()
                .borders(Borders::ALL)
                .title(title.to_string()),
        ),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn focus_wraps_both_ways() {
        let mut ui = Ui::default();
        ui.step(1, 3);
        assert_eq!(ui.focus, Some(0));
        ui.step(-1, 3);
        assert_eq!(ui.focus, Some(2));
        ui.step(1, 3);
        assert_eq!(ui.focus, Some(0));
        let mut ui = Ui::default();
        ui.step(-1, 3);
        assert_eq!(ui.focus, Some(2));
        ui.step(1, 0);
        assert_eq!(ui.focus, None);
    }
}

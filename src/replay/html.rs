//! `replay --html FILE`: one self-contained page (no script, no network): an SVG swimlane per
//! agent with its turns as bars and its events as dots, messages as lines from sender to
//! recipient, hover details through SVG `<title>`s and CSS, then the token totals per agent
//! and the event list. The markup is well-formed XML, so the tests (and any XML tool) can
//! parse it.

use std::fmt::Write;

use super::timeline::{Category, Entry, Lane, Timeline, clock, duration, tokens_text};

const WIDTH: f64 = 1200.0;
const LABEL: f64 = 180.0;
const RIGHT: f64 = 20.0;
const LANE: f64 = 40.0;
const TOP: f64 = 34.0;

/// Escapes text for XML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Maps times to x positions.
struct Scale {
    span: f64,
}

impl Scale {
    fn x(&self, t_ms: i64) -> f64 {
        LABEL + (t_ms.max(0) as f64 / self.span).min(1.0) * (WIDTH - LABEL - RIGHT)
    }
}

const STYLE: &str = "body{font:13px/1.4 system-ui,sans-serif;margin:24px;color:#222}\
h1{font-size:18px;margin:0 0 4px}p.meta{margin:0 0 12px;color:#555}\
svg{background:#fff;border:1px solid #ddd}\
.lane-bg{fill:#f7f7f9}.lane:nth-child(even) .lane-bg{fill:#fff}\
.lane:hover .lane-bg{fill:#e8eefc}.label{font-size:12px}.role{fill:#777;font-size:11px}\
.turn{fill:#9db8e8;stroke:#5a7fc0;stroke-width:1}.turn.failed,.turn.interrupted{fill:#f0b3a8;stroke:#c0553f}\
.turn:hover{fill:#6f95dc}.ev{stroke:#fff;stroke-width:1}.ev:hover{stroke:#000;stroke-width:2}\
.c-message{fill:#2a9d8f}.c-task{fill:#e9c46a}.c-artifact{fill:#8e44ad}.c-decision{fill:#34495e}\
.c-recovery{fill:#e63946}.c-tool{fill:#888}.c-agent{fill:#264653}.c-team{fill:#000}\
.msg{stroke:#2a9d8f;stroke-width:1.2;opacity:.55}.msg:hover{opacity:1;stroke-width:3}\
.axis{stroke:#ccc}.tick{fill:#777;font-size:10px}\
table{border-collapse:collapse;margin-top:16px}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}\
td:first-child,th:first-child,td.role{text-align:left}tr.total td{font-weight:bold}\
pre{font-size:12px;background:#f7f7f9;padding:8px;overflow:auto}";

/// The whole page.
pub fn render(t: &Timeline) -> String {
    let scale = Scale {
        span: t.duration_ms.max(1) as f64,
    };
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    let _ = writeln!(out, "<title>codex-teams replay {}</title>", esc(&t.team_id));
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");
    let _ = writeln!(
        out,
        "<h1>Team {} ({})</h1>",
        esc(&t.team_id),
        esc(&t.status)
    );
    let _ = writeln!(
        out,
        "<p class=\"meta\">{} · profile {} · {} session(s) · {} · {}</p>",
        esc(&t.goal),
        esc(&t.profile),
        t.sessions,
        duration(t.duration_ms),
        esc(&tokens_text(&t.totals))
    );
    out.push_str(&svg(t, &scale));
    out.push_str(&totals_table(t));
    out.push_str(&event_list(t));
    out.push_str("</body>\n</html>\n");
    out
}

fn lane_y(i: usize) -> f64 {
    TOP + i as f64 * LANE
}

fn svg(t: &Timeline, scale: &Scale) -> String {
    let height = TOP + t.lanes.len() as f64 * LANE + 10.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\">"
    );
    out.push_str(&axis(t, scale, height));
    let _ = writeln!(out, "<g class=\"lanes\">");
    for (i, lane) in t.lanes.iter().enumerate() {
        out.push_str(&lane_svg(t, lane, i, scale));
    }
    out.push_str("</g>\n");
    out.push_str(&message_lines(t, scale));
    out.push_str("</svg>\n");
    out
}

/// Time ticks along the top and the team-level events (no agent) as marks on the axis.
fn axis(t: &Timeline, scale: &Scale, height: f64) -> String {
    let mut out = String::from("<g class=\"axis-g\">\n");
    for k in 0..=10 {
        let tm = t.duration_ms * k / 10;
        let x = scale.x(tm);
        let _ = writeln!(
            out,
            "<line class=\"axis\" x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{height:.1}\"/><text class=\"tick\" x=\"{x:.1}\" y=\"12\" text-anchor=\"middle\">{}</text>",
            TOP - 14.0,
            esc(&duration(tm))
        );
    }
    for e in t.entries.iter().filter(|e| e.agent_id.is_none()) {
        let _ = writeln!(
            out,
            "<rect class=\"ev c-{}\" x=\"{:.1}\" y=\"{:.1}\" width=\"5\" height=\"10\"><title>{}</title></rect>",
            e.category.word(),
            scale.x(e.t_ms) - 2.5,
            TOP - 13.0,
            esc(&hover(e))
        );
    }
    out.push_str("</g>\n");
    out
}

fn hover(e: &Entry) -> String {
    format!(
        "{} {} [{}] {}",
        clock(e.t_ms),
        e.agent.as_deref().unwrap_or("team"),
        e.kind,
        e.text
    )
}

/// One agent: background, label, turn bars with their tokens, event dots.
fn lane_svg(t: &Timeline, lane: &Lane, i: usize, scale: &Scale) -> String {
    let y = lane_y(i);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<g class=\"lane\" data-agent=\"{}\" data-input=\"{}\" data-cached-input=\"{}\" data-output=\"{}\">",
        esc(&lane.agent_id),
        lane.tokens.input,
        lane.tokens.cached_input,
        lane.tokens.output
    );
    let _ = writeln!(
        out,
        "<rect class=\"lane-bg\" x=\"0\" y=\"{y:.1}\" width=\"{WIDTH}\" height=\"{LANE}\"><title>{} ({}): {} turn(s), {}</title></rect>",
        esc(&lane.name),
        esc(&lane.role),
        lane.turns.len(),
        esc(&tokens_text(&lane.tokens))
    );
    let _ = writeln!(
        out,
        "<text class=\"label\" x=\"8\" y=\"{:.1}\">{}</text><text class=\"role\" x=\"8\" y=\"{:.1}\">{}</text>",
        y + 17.0,
        esc(&lane.name),
        y + 31.0,
        esc(&lane.role)
    );
    for turn in &lane.turns {
        let x1 = scale.x(turn.start_ms);
        let x2 = scale.x(turn.end_ms.unwrap_or(t.duration_ms)).max(x1 + 2.0);
        let _ = writeln!(
            out,
            "<rect class=\"turn {}\" x=\"{x1:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"3\"><title>turn {} {} ({}, {} .. {}): {}</title></rect>",
            turn.outcome.as_str(),
            y + 9.0,
            x2 - x1,
            LANE - 18.0,
            turn.number,
            turn.outcome.as_str(),
            duration(turn.end_ms.unwrap_or(t.duration_ms) - turn.start_ms),
            clock(turn.start_ms),
            turn.end_ms.map(clock).unwrap_or_else(|| "end".into()),
            esc(&tokens_text(&turn.tokens))
        );
    }
    let mine = t.entries.iter().filter(|e| {
        e.agent_id.as_deref() == Some(lane.agent_id.as_str())
            && !matches!(e.category, Category::Detail | Category::Turn)
    });
    for e in mine {
        let _ = writeln!(
            out,
            "<circle class=\"ev c-{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\"><title>{}</title></circle>",
            e.category.word(),
            scale.x(e.t_ms),
            y + LANE / 2.0,
            esc(&hover(e))
        );
    }
    out.push_str("</g>\n");
    out
}

/// A line per delivery: from the sender's lane when sent to the recipient's when delivered.
fn message_lines(t: &Timeline, scale: &Scale) -> String {
    let row = |id: &str| t.lanes.iter().position(|l| l.agent_id == id);
    let name = |id: &str| {
        t.lanes
            .iter()
            .find(|l| l.agent_id == id)
            .map_or(id.to_string(), |l| l.name.clone())
    };
    let mut out = String::from("<g class=\"messages\">\n");
    for f in &t.messages {
        let Some(from) = row(&f.from) else { continue };
        for (to_id, at) in &f.delivered {
            let Some(to) = row(to_id) else { continue };
            let acked = f.acked.iter().any(|(who, _)| who == to_id);
            let _ = writeln!(
                out,
                "<line class=\"msg\" data-message=\"{}\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"><title>{} {} -> {} ({} B) sent {} delivered {}{}</title></line>",
                esc(&f.message_id),
                scale.x(f.sent_ms),
                lane_y(from) + LANE / 2.0,
                scale.x(*at),
                lane_y(to) + LANE / 2.0,
                esc(&f.message_id),
                esc(&name(&f.from)),
                esc(&name(to_id)),
                f.bytes,
                clock(f.sent_ms),
                clock(*at),
                if acked { ", acked" } else { ", not acked" }
            );
        }
    }
    out.push_str("</g>\n");
    out
}

/// The token totals per agent, as `status --json` counts them.
fn totals_table(t: &Timeline) -> String {
    let mut out = String::from(
        "<table id=\"totals\">\n<tr><th>agent</th><th>role</th><th>turns</th><th>input</th><th>cached input</th><th>output</th></tr>\n",
    );
    for l in &t.lanes {
        let _ = writeln!(
            out,
            "<tr class=\"agent\" data-agent=\"{}\"><td>{}</td><td class=\"role\">{}</td><td class=\"turns\">{}</td><td class=\"input\">{}</td><td class=\"cached-input\">{}</td><td class=\"output\">{}</td></tr>",
            esc(&l.agent_id),
            esc(&l.name),
            esc(&l.role),
            l.turns.len(),
            l.tokens.input,
            l.tokens.cached_input,
            l.tokens.output
        );
    }
    let turns: usize = t.lanes.iter().map(|l| l.turns.len()).sum();
    let _ = writeln!(
        out,
        "<tr class=\"total\"><td>total</td><td class=\"role\"></td><td class=\"turns\">{turns}</td><td class=\"input\">{}</td><td class=\"cached-input\">{}</td><td class=\"output\">{}</td></tr>\n</table>",
        t.totals.input, t.totals.cached_input, t.totals.output
    );
    out
}

fn event_list(t: &Timeline) -> String {
    let shown: Vec<&Entry> = t
        .entries
        .iter()
        .filter(|e| e.category != Category::Detail)
        .collect();
    let mut out = format!(
        "<details><summary>Events ({})</summary>\n<pre>",
        shown.len()
    );
    for e in shown {
        out.push_str(&esc(&hover(e)));
        out.push('\n');
    }
    out.push_str("</pre></details>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_xml() {
        assert_eq!(
            esc("a<b & \"c\" 'd'>\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt; "
        );
    }

    #[test]
    fn times_map_inside_the_plot() {
        let s = Scale { span: 1000.0 };
        assert_eq!(s.x(0), LABEL);
        assert_eq!(s.x(1000), WIDTH - RIGHT);
        assert_eq!(s.x(5000), WIDTH - RIGHT);
        assert_eq!(s.x(-5), LABEL);
    }
}

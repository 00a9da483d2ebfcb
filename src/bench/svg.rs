//! Hand-written SVG bar charts for the report: grouped bars (one group per task, one bar per
//! arm) and plain bars (one per arm). No plotting crate: a chart is a few dozen elements.

use std::fmt::Write;

/// Bar colours, one per arm in order.
const COLOURS: [&str; 6] = [
    "#8c8c8c", "#d9534f", "#2e7d32", "#1f77b4", "#ff7f0e", "#9467bd",
];

/// Escapes text for SVG.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A short form of a value: 123456 -> 123K.
pub fn short(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}K", v / 1000.0)
    } else if v >= 1000.0 {
        format!("{:.1}K", v / 1000.0)
    } else {
        format!("{v:.0}")
    }
}

/// Grouped bars: `groups[i]` is (label, one value per series).
pub fn grouped_bars(
    title: &str,
    unit: &str,
    series: &[String],
    groups: &[(String, Vec<f64>)],
) -> String {
    let n = series.len().max(1);
    let (bar, gap, left, top, h) = (14.0, 18.0, 70.0, 40.0, 260.0);
    let gw = bar * n as f64 + gap;
    let w = left + gw * groups.len() as f64 + 20.0;
    let max = groups
        .iter()
        .flat_map(|g| g.1.iter().copied())
        .fold(0.0, f64::max)
        .max(1.0);
    let mut s = header(w, top + h + 110.0, title);
    axis(&mut s, left, top, h, w, max, unit);
    for (gi, (label, vals)) in groups.iter().enumerate() {
        let x0 = left + 10.0 + gi as f64 * gw;
        for (si, v) in vals.iter().enumerate() {
            let bh = v / max * h;
            let _ = write!(
                s,
                r#"<rect x="{:.1}" y="{:.1}" width="{bar}" height="{:.1}" fill="{}"><title>{} {}: {}</title></rect>"#,
                x0 + si as f64 * bar,
                top + h - bh,
                bh,
                COLOURS[si % COLOURS.len()],
                esc(label),
                esc(&series[si]),
                short(*v)
            );
        }
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" font-size="10" transform="rotate(45 {:.1} {:.1})">{}</text>"#,
            x0,
            top + h + 14.0,
            x0,
            top + h + 14.0,
            esc(label)
        );
    }
    legend(&mut s, series, left, 22.0);
    s.push_str("</svg>\n");
    s
}

/// One bar per series, value printed on top.
pub fn bars(title: &str, unit: &str, series: &[String], vals: &[f64]) -> String {
    let (bar, gap, left, top, h) = (60.0, 30.0, 70.0, 40.0, 220.0);
    let w = left + (bar + gap) * series.len() as f64 + 20.0;
    let max = vals.iter().copied().fold(0.0, f64::max).max(1.0);
    let mut s = header(w, top + h + 40.0, title);
    axis(&mut s, left, top, h, w, max, unit);
    for (i, v) in vals.iter().enumerate() {
        let x = left + gap / 2.0 + i as f64 * (bar + gap);
        let bh = v / max * h;
        let _ = write!(
            s,
            r#"<rect x="{x:.1}" y="{:.1}" width="{bar}" height="{bh:.1}" fill="{}"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"#,
            top + h - bh,
            COLOURS[i % COLOURS.len()],
            x + bar / 2.0,
            top + h - bh - 4.0,
            short(*v),
            x + bar / 2.0,
            top + h + 16.0,
            esc(&series[i])
        );
    }
    s.push_str("</svg>\n");
    s
}

fn header(w: f64, h: f64, title: &str) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/><text x="10" y="16" font-size="13" font-weight="bold">{}</text>"#,
        esc(title)
    )
}

fn axis(s: &mut String, left: f64, top: f64, h: f64, w: f64, max: f64, unit: &str) {
    for i in 0..=4 {
        let v = max * i as f64 / 4.0;
        let y = top + h - h * i as f64 / 4.0;
        let _ = write!(
            s,
            r##"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end">{}</text>"##,
            w - 10.0,
            left - 4.0,
            y + 3.0,
            short(v)
        );
    }
    let _ = write!(
        s,
        r#"<text x="12" y="{:.1}" font-size="10" transform="rotate(-90 12 {:.1})">{}</text>"#,
        top + h / 2.0,
        top + h / 2.0,
        esc(unit)
    );
}

fn legend(s: &mut String, series: &[String], x: f64, y: f64) {
    for (i, name) in series.iter().enumerate() {
        let lx = x + 200.0 + i as f64 * 100.0;
        let _ = write!(
            s,
            r#"<rect x="{lx:.1}" y="{:.1}" width="10" height="10" fill="{}"/><text x="{:.1}" y="{:.1}" font-size="11">{}</text>"#,
            y - 9.0,
            COLOURS[i % COLOURS.len()],
            lx + 14.0,
            y,
            esc(name)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_well_formed_svg_with_every_label() {
        let series = vec!["solo".to_string(), "fixed-6".to_string()];
        let g = grouped_bars("t", "tokens", &series, &[("a<b".into(), vec![1.0, 2.0])]);
        assert!(g.starts_with("<svg") && g.trim_end().ends_with("</svg>"));
        assert!(g.contains("a&lt;b") && g.contains("fixed-6"));
        let b = bars("t", "tokens", &series, &[10_000.0, 25_000.0]);
        assert!(b.contains(">25K<") && b.contains(">solo<"));
        assert_eq!(short(1234.0), "1.2K");
    }
}

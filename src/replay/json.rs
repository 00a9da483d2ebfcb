//! `replay --json`: the timeline as one JSON object, for programs.

use super::timeline::Timeline;

/// The timeline as pretty JSON: team, lanes with turns and tokens, every entry (details
/// included) with its trace ids, message paths and totals.
pub fn render(t: &Timeline) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(t)?)
}

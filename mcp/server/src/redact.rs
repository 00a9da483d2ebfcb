//! Secret stripping for everything this crate logs: the store's rule set
//! ([`codex_teams_store::redact`]), re-exported so there is one set of rules for the event
//! log, the JSON logs and the supervisor's summaries.

pub use codex_teams_store::redact::*;

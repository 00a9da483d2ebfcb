//! How the model's enums are spelled in SQLite: the same snake_case words as in JSON, so a
//! row read with the `sqlite3` shell matches what the MCP tools show.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::{AgentState, DecisionStatus, Strategy, TaskStatus, TeamStatus};

macro_rules! sql_words {
    ($ty:ty, $what:literal, { $($variant:ident => $word:literal),+ $(,)? }) => {
        impl $ty {
            /// The word stored in the database and shown to users.
            pub fn as_str(self) -> &'static str {
                match self { $(<$ty>::$variant => $word),+ }
            }
        }
        impl std::str::FromStr for $ty {
            type Err = crate::StoreError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($word => Ok(<$ty>::$variant),)+
                    other => Err(crate::StoreError::Invalid(format!(
                        concat!("unknown ", $what, " '{}'; expected one of: ", $($word, " "),+),
                        other
                    ))),
                }
            }
        }
        impl ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }
        impl FromSql for $ty {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let s = value.as_str()?;
                s.parse().map_err(|e: crate::StoreError| FromSqlError::Other(Box::new(e)))
            }
        }
    };
}

sql_words!(TeamStatus, "team status", {
    Running => "running",
    Finalized => "finalized",
    Failed => "failed",
    Stopped => "stopped",
});

sql_words!(AgentState, "agent state", {
    Pending => "pending",
    Running => "running",
    Idle => "idle",
    Stopped => "stopped",
    Failed => "failed",
});

sql_words!(TaskStatus, "task status", {
    Open => "open",
    Claimed => "claimed",
    Done => "done",
    Failed => "failed",
});

sql_words!(Strategy, "strategy", {
    Consensus => "consensus",
    Lead => "lead",
    StrictVote => "strict_vote",
});

sql_words!(DecisionStatus, "decision status", {
    Open => "open",
    Decided => "decided",
    NoDecision => "no_decision",
});

/// Reads a JSON column stored as text.
pub(crate) fn json_column(text: String) -> rusqlite::Result<serde_json::Value> {
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_match_serde() {
        for s in [
            TaskStatus::Open,
            TaskStatus::Claimed,
            TaskStatus::Done,
            TaskStatus::Failed,
        ] {
            assert_eq!(s.as_str().parse::<TaskStatus>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in [AgentState::Pending, AgentState::Idle, AgentState::Stopped] {
            assert_eq!(s.as_str().parse::<AgentState>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in [Strategy::Consensus, Strategy::Lead, Strategy::StrictVote] {
            assert_eq!(s.as_str().parse::<Strategy>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in [
            DecisionStatus::Open,
            DecisionStatus::Decided,
            DecisionStatus::NoDecision,
        ] {
            assert_eq!(s.as_str().parse::<DecisionStatus>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(
            "finalized".parse::<TeamStatus>().unwrap(),
            TeamStatus::Finalized
        );
    }

    #[test]
    fn unknown_word_is_a_clear_error() {
        let err = "paused".parse::<TaskStatus>().unwrap_err().to_string();
        assert!(err.contains("unknown task status 'paused'"), "{err}");
        assert!(err.contains("open"), "{err}");
    }
}

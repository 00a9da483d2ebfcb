//! How store errors and access refusals reach the client: as JSON-RPC errors whose message
//! names the problem and whose `data.error` is a stable machine word.

use codex_teams_store::StoreError;
use rmcp::ErrorData;
use rmcp::model::ErrorCode;
use serde_json::json;

/// Implementation-defined JSON-RPC codes (the -32000..-32099 range) for what the standard
/// codes do not cover.
pub mod codes {
    use rmcp::model::ErrorCode;
    /// A write lost a race or broke a state rule (stale version, task not ready, held by
    /// another agent, idempotency key reused with a different body).
    pub const CONFLICT: ErrorCode = ErrorCode(-32010);
    /// The caller may not do this (a worker calling a lead-only tool; no team yet).
    pub const FORBIDDEN: ErrorCode = ErrorCode(-32011);
    /// The database stayed busy; retrying later may succeed.
    pub const BUSY: ErrorCode = ErrorCode(-32012);
}

fn err(code: ErrorCode, kind: &str, message: String) -> ErrorData {
    ErrorData::new(code, message, Some(json!({ "error": kind })))
}

/// Maps a store error to the MCP error the caller sees. Bad ids and bad input are
/// `invalid_params` (the model can fix its arguments); nothing here panics.
pub fn store_error(e: StoreError) -> ErrorData {
    match e {
        StoreError::NotFound { kind, id } => err(
            ErrorCode::INVALID_PARAMS,
            "not_found",
            format!("not found: {kind} {id}"),
        ),
        StoreError::Invalid(m) => err(
            ErrorCode::INVALID_PARAMS,
            "invalid",
            format!("invalid: {m}"),
        ),
        e @ StoreError::TooLarge { .. } => {
            err(ErrorCode::INVALID_PARAMS, "too_large", e.to_string())
        }
        StoreError::Conflict(m) => err(codes::CONFLICT, "conflict", format!("conflict: {m}")),
        e @ StoreError::Busy { .. } => err(codes::BUSY, "busy", e.to_string()),
        e @ StoreError::Sqlite(_) => err(
            ErrorCode::INTERNAL_ERROR,
            "internal",
            format!("store error: {e}"),
        ),
    }
}

/// A refusal on grounds of who the caller is.
pub(crate) fn forbidden(message: impl Into<String>) -> ErrorData {
    err(codes::FORBIDDEN, "forbidden", message.into())
}

/// A tool outside the caller's role: lead-only for a worker, or not in the tool list its
/// role was given. `data` names the tool and the role, so a client can tell it apart.
pub(crate) fn not_your_tool(tool: &str, caller: &crate::hub::Caller) -> ErrorData {
    let message = if crate::tool_names::is_lead_only(tool) && !caller.is_lead() {
        format!(
            "{tool} is lead-only; you are agent {} with role {}",
            caller.agent_id, caller.role
        )
    } else {
        format!(
            "{tool} is not a tool of role {}; you are agent {} (your tools: {})",
            caller.role,
            caller.agent_id,
            caller.tools.as_deref().unwrap_or_default().join(", ")
        )
    };
    ErrorData::new(
        codes::FORBIDDEN,
        message,
        Some(json!({ "error": "forbidden", "tool": tool, "role": caller.role })),
    )
}

/// Arguments that parse but make no sense.
pub(crate) fn invalid(message: impl Into<String>) -> ErrorData {
    err(ErrorCode::INVALID_PARAMS, "invalid", message.into())
}

/// Something broke inside this process (a panicked blocking task).
pub(crate) fn internal(message: impl Into<String>) -> ErrorData {
    err(ErrorCode::INTERNAL_ERROR, "internal", message.into())
}

/// An error and its causes as one line (`what: cause: cause`), for texts that go to a caller.
pub(crate) fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl From<crate::pool::HubError> for ErrorData {
    fn from(e: crate::pool::HubError) -> Self {
        match e {
            crate::pool::HubError::Store(e) => store_error(e),
            crate::pool::HubError::Unfinished(e) => {
                internal(format!("store call did not finish: {e}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::SpawnError;

    #[test]
    fn causes_are_kept_in_order() {
        let io = std::io::Error::other("disk on fire");
        let err = SpawnError::Failed {
            what: "cannot admit agt-1".into(),
            source: Box::new(io),
        };
        assert_eq!(with_causes(&err), "cannot admit agt-1: disk on fire");
        let refused = SpawnError::Refused("budget spent".into());
        assert_eq!(with_causes(&refused), "budget spent");
    }
}

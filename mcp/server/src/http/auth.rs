//! Bearer-token authentication of the per-agent endpoints, with one answer for every
//! refusal.
//!
//! Missing, malformed, unknown, another agent's and another team's tokens all get the same
//! 401 with the same body, so a refusal never tells a prober that a token is valid
//! somewhere. The detailed reason is logged at debug, without the token. The scheme is
//! case-insensitive (RFC 7235): `Bearer`, `bearer` and `BEARER` are one.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use codex_teams_store::StoreError;

use crate::hub::{Caller, HubError, TeamHub};
use crate::token::hash_token;

/// The body of every 401, whatever was wrong with the token (tests compare against it).
pub const UNAUTHORIZED_BODY: &str =
    "unauthorized: send 'Authorization: Bearer <token>' with this agent's token\n";

/// The one 401 answer.
pub(crate) fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [
            (header::WWW_AUTHENTICATE, "Bearer realm=\"codex-teams\""),
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
        ],
        UNAUTHORIZED_BODY,
    )
        .into_response()
}

/// The token of an `Authorization: <scheme> <token>` value whose scheme is `bearer` in any
/// case.
pub(crate) fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, rest) = value.trim_start().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = rest.trim();
    (!token.is_empty() && !token.contains(' ')).then_some(token)
}

fn refuse(path_agent_id: &str, reason: &str) -> Response {
    tracing::debug!(target: "codex_teams::http", event = "auth.rejected", path_agent_id, reason);
    unauthorized()
}

/// The caller whose token this is, if it is the agent in the path and of a team this hub
/// serves; otherwise the uniform 401 (503 when the store cannot be read).
pub(crate) async fn authenticate(
    hub: &TeamHub,
    path_agent_id: &str,
    headers: &HeaderMap,
) -> Result<Caller, Response> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(refuse(path_agent_id, "missing Authorization header"));
    };
    let Some(token) = value.to_str().ok().and_then(bearer_token) else {
        return Err(refuse(path_agent_id, "malformed Authorization header"));
    };
    let hash = hash_token(token);
    let agent = match hub.with_store(move |s| s.agent_by_token_hash(&hash)).await {
        Ok(a) => a,
        Err(HubError::Store(StoreError::NotFound { .. })) => {
            return Err(refuse(path_agent_id, "unknown token"));
        }
        Err(e) => {
            tracing::error!(target: "codex_teams::http", event = "auth.error", error = %e);
            return Err((
                StatusCode::SERVICE_UNAVAILABLE,
                format!("cannot check token: {e}\n"),
            )
                .into_response());
        }
    };
    if agent.agent_id != path_agent_id {
        return Err(refuse(path_agent_id, "token of another agent"));
    }
    if !hub.serves(&agent.team_id) {
        return Err(refuse(
            path_agent_id,
            "token of a team this process does not serve",
        ));
    }
    Ok(Caller::of(&agent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_is_case_insensitive() {
        for v in ["Bearer abc", "bearer abc", "BEARER abc", "bEaReR   abc  "] {
            assert_eq!(bearer_token(v), Some("abc"), "{v}");
        }
        for v in [
            "Basic abc",
            "Bearer",
            "Bearer ",
            "Bearerabc",
            "Bearer a b",
            "",
        ] {
            assert_eq!(bearer_token(v), None, "{v}");
        }
    }
}

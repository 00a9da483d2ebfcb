//! Streamable HTTP on 127.0.0.1: one MCP endpoint per agent, `/agents/<agent_id>/mcp`,
//! guarded by that agent's bearer token; `/healthz` for liveness.
//!
//! The auth layer turns the token into a [`Caller`] and puts it in the request's
//! extensions; rmcp hands the request parts to the tool handler, which reads the caller from
//! there. So identity is per request: a session id cannot carry one agent's rights to
//! another.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use codex_teams_store::StoreError;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use crate::hub::{Caller, HubError, TeamHub};
use crate::server::TeamServer;
use crate::token::hash_token;

/// A running HTTP server. Dropping it does not stop it; call [`HttpServer::shutdown`].
#[derive(Debug)]
pub struct HttpServer {
    /// The bound address (the port is chosen by the OS when asked for port 0).
    pub addr: SocketAddr,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl HttpServer {
    /// The endpoint URL to give an agent's codex (`mcp_servers.<name>.url`).
    pub fn agent_url(&self, agent_id: &str) -> String {
        agent_url(self.addr, agent_id)
    }

    /// Stops accepting, ends open sessions, and waits for the server task.
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.cancel.cancel();
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }
}

/// `http://<addr>/agents/<agent_id>/mcp`.
pub fn agent_url(addr: SocketAddr, agent_id: &str) -> String {
    format!("http://{addr}/agents/{agent_id}/mcp")
}

fn unauthorized(message: String) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [
            (header::WWW_AUTHENTICATE, "Bearer realm=\"codex-teams\""),
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
        ],
        message,
    )
        .into_response()
}

/// Resolves the bearer token to the agent named in the path, or answers 401.
async fn authenticate(
    State(hub): State<Arc<TeamHub>>,
    Path(agent_id): Path<String>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(auth) = req.headers().get(header::AUTHORIZATION) else {
        return unauthorized(format!(
            "missing bearer token: send 'Authorization: Bearer <token>' for agent {agent_id}\n"
        ));
    };
    let token = auth
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return unauthorized("malformed Authorization header: expected 'Bearer <token>'\n".into());
    };
    let hash = hash_token(token);
    let found = hub.with_store(move |s| s.agent_by_token_hash(&hash)).await;
    let agent = match found {
        Ok(a) => a,
        Err(HubError::Store(StoreError::NotFound { .. })) => {
            tracing::warn!(target: "codex_teams::http", event = "auth.rejected", path_agent_id = %agent_id, reason = "unknown token");
            return unauthorized(format!("invalid bearer token for agent {agent_id}\n"));
        }
        Err(e) => {
            tracing::error!(target: "codex_teams::http", event = "auth.error", error = %e);
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("cannot check token: {e}\n"),
            )
                .into_response();
        }
    };
    if agent.agent_id != agent_id {
        tracing::warn!(target: "codex_teams::http", event = "auth.rejected", path_agent_id = %agent_id, token_agent_id = %agent.agent_id, reason = "token of another agent");
        return unauthorized(format!(
            "bearer token does not belong to agent {agent_id}\n"
        ));
    }
    req.extensions_mut().insert(Caller::of(&agent));
    next.run(req).await
}

/// The axum app: `/healthz` and `/agents/{agent_id}/mcp`. Exposed so a supervisor can
/// mount it next to routes of its own.
pub fn router(hub: Arc<TeamHub>, cancel: CancellationToken) -> Router {
    let config = StreamableHttpServerConfig::default()
        .with_max_request_body_bytes(hub.options().max_http_body)
        .with_cancellation_token(cancel);
    let factory_hub = hub.clone();
    let mcp = StreamableHttpService::new(
        move || Ok(TeamServer::http(factory_hub.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    Router::new()
        .route_service("/agents/{agent_id}/mcp", mcp)
        .route_layer(middleware::from_fn_with_state(hub, authenticate))
        .route("/healthz", get(|| async { "ok\n" }))
}

/// Binds `addr` (loopback only; port 0 picks a free port) and serves in a background task.
pub async fn serve_http(hub: Arc<TeamHub>, addr: SocketAddr) -> std::io::Result<HttpServer> {
    if !addr.ip().is_loopback() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("refusing to serve on {addr}: only loopback addresses are allowed"),
        ));
    }
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let cancel = CancellationToken::new();
    let app = router(hub, cancel.clone());
    let stop = cancel.clone();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
    });
    tracing::info!(target: "codex_teams::http", event = "http.listening", %addr);
    Ok(HttpServer { addr, cancel, task })
}

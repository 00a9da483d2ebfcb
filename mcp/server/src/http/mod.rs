//! Streamable HTTP on 127.0.0.1: one MCP endpoint per agent, `/agents/<agent_id>/mcp`,
//! guarded by that agent's bearer token; `/healthz` for liveness.
//!
//! A request passes, in order: the connection bounds ([`conns`]: how many, header and idle
//! timeouts), the loopback `Host`/`Origin` check ([`guard`], 403), the token ([`auth`], one
//! uniform 401; only teams this process serves), the session binding ([`sessions`], 404 for
//! a session that is not the caller's), the per-agent bound on open requests
//! ([`agent_slots`], 429), and a bounded, timed body read (413, 408). Only then does rmcp
//! see it. The caller goes into the request's extensions; rmcp hands the request parts to
//! the tool handler, which reads the caller from there, so identity is per request.

mod agent_slots;
mod auth;
mod conns;
mod guard;
mod sessions;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use crate::hub::TeamHub;
use crate::server::TeamServer;
use agent_slots::AgentSlots;
use sessions::{SESSION_HEADER, SessionBindings, session_not_found};

pub use auth::UNAUTHORIZED_BODY;

/// Bounds that keep silent, slow or greedy clients from starving real ones.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Open connections in total; past it, an idle one is closed to make room.
    pub max_connections: usize,
    /// Requests one agent may have open at once (long-polls and SSE streams included).
    pub max_requests_per_agent: usize,
    /// MCP sessions one agent may hold; opening one more closes its oldest.
    pub max_sessions_per_agent: usize,
    /// Time to send a request's headers; also how long a keep-alive connection may idle.
    pub header_timeout: Duration,
    /// Time to send a request's body.
    pub body_timeout: Duration,
    /// How long open connections may finish after shutdown.
    pub shutdown_grace: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_connections: 256,
            max_requests_per_agent: 8,
            max_sessions_per_agent: 8,
            header_timeout: Duration::from_secs(15),
            body_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

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

/// What the agent endpoint's middleware needs.
struct Endpoint {
    hub: Arc<TeamHub>,
    sessions: SessionBindings,
    slots: Arc<AgentSlots>,
    max_body: usize,
    body_timeout: Duration,
}

fn plain(status: StatusCode, text: String) -> Response {
    (status, text).into_response()
}

/// Authenticates, checks the session, takes a request slot and reads the body; then rmcp.
async fn agent_endpoint(
    State(ep): State<Arc<Endpoint>>,
    Path(agent_id): Path<String>,
    req: Request,
    next: Next,
) -> Response {
    let caller = match auth::authenticate(&ep.hub, &agent_id, req.headers()).await {
        Ok(c) => c,
        Err(refused) => return refused,
    };
    let session = req
        .headers()
        .get(SESSION_HEADER)
        .map(|v| v.to_str().unwrap_or("").to_string());
    if let Some(id) = &session
        && !ep.sessions.owned_by(id, &caller)
    {
        tracing::debug!(target: "codex_teams::http", event = "session.refused", agent_id = %caller.agent_id, reason = "not this agent's session");
        return session_not_found();
    }
    let Some(slot) = ep.slots.try_take(&caller.agent_id) else {
        return plain(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many open requests for agent {}: at most {}; retry when one ends\n",
                caller.agent_id,
                ep.slots.max()
            ),
        );
    };
    let (parts, body) = req.into_parts();
    let read =
        tokio::time::timeout(ep.body_timeout, Limited::new(body, ep.max_body).collect()).await;
    let body = match read {
        Err(_) => {
            return plain(
                StatusCode::REQUEST_TIMEOUT,
                format!("request body not received within {:?}\n", ep.body_timeout),
            );
        }
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body over the limit of {} bytes\n", ep.max_body),
            );
        }
        Ok(Err(e)) => {
            return plain(
                StatusCode::BAD_REQUEST,
                format!("cannot read request body: {e}\n"),
            );
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    let method = parts.method.clone();
    let mut req = Request::from_parts(parts, Body::from(body));
    req.extensions_mut().insert(caller.clone());
    let mut resp = next.run(req).await;
    match &session {
        None => {
            if let Some(id) = resp
                .headers()
                .get(SESSION_HEADER)
                .and_then(|v| v.to_str().ok())
            {
                ep.sessions.bind(id.to_string(), &caller).await;
            }
        }
        Some(id) if method == Method::DELETE && resp.status().is_success() => {
            ep.sessions.unbind(id);
        }
        Some(_) => {}
    }
    resp.extensions_mut().insert(conns::Authenticated);
    // The slot is held until the response body (maybe a long stream) is done.
    resp.map(|b| {
        Body::new(b.map_frame(move |f| {
            let _ = &slot;
            f
        }))
    })
}

/// The axum app: `/healthz` and `/agents/{agent_id}/mcp`, with the loopback guard, auth,
/// session binding and per-agent bounds (connection bounds are [`serve_http_with`]'s).
pub fn router(hub: Arc<TeamHub>, cancel: CancellationToken, limits: &HttpLimits) -> Router {
    let max_body = hub.options().max_http_body;
    let config = StreamableHttpServerConfig::default()
        .with_max_request_body_bytes(max_body)
        .with_cancellation_token(cancel);
    let manager = Arc::new(LocalSessionManager::default());
    let factory_hub = hub.clone();
    let mcp = StreamableHttpService::new(
        move || Ok(TeamServer::http(factory_hub.clone())),
        manager.clone(),
        config,
    );
    let endpoint = Arc::new(Endpoint {
        hub,
        sessions: SessionBindings::new(manager, limits.max_sessions_per_agent),
        slots: AgentSlots::new(limits.max_requests_per_agent),
        max_body,
        body_timeout: limits.body_timeout,
    });
    Router::new()
        .route_service("/agents/{agent_id}/mcp", mcp)
        .route_layer(middleware::from_fn_with_state(endpoint, agent_endpoint))
        .route("/healthz", get(|| async { "ok\n" }))
        .layer(middleware::from_fn(guard::loopback_only))
}

/// [`serve_http_with`] with the default [`HttpLimits`].
pub async fn serve_http(hub: Arc<TeamHub>, addr: SocketAddr) -> std::io::Result<HttpServer> {
    serve_http_with(hub, addr, HttpLimits::default()).await
}

/// Binds `addr` (loopback only; port 0 picks a free port) and serves in a background task
/// within `limits`.
pub async fn serve_http_with(
    hub: Arc<TeamHub>,
    addr: SocketAddr,
    limits: HttpLimits,
) -> std::io::Result<HttpServer> {
    if !addr.ip().is_loopback() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("refusing to serve on {addr}: only loopback addresses are allowed"),
        ));
    }
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let cancel = CancellationToken::new();
    let app = router(hub, cancel.clone(), &limits);
    let task = tokio::spawn(conns::serve(listener, app, limits, cancel.clone()));
    tracing::info!(target: "codex_teams::http", event = "http.listening", %addr);
    Ok(HttpServer { addr, cancel, task })
}

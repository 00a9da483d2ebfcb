//! The HTTP side of the meter: `/m/{key}/{*rest}` forwards to the route's upstream with the
//! same method, headers and body, and streams the answer back while scanning it for usage.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderName, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use super::scan::{BodyKind, UsageScan};
use super::{Inner, OpenRequest, Route};
use crate::policy::spend::Limit;

/// Requests larger than this are refused (a codex request is a few hundred KB at most).
const MAX_REQUEST: usize = 64 << 20;

pub(super) fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route("/m/{key}/{*rest}", axum::routing::any(forward))
        .layer(DefaultBodyLimit::max(MAX_REQUEST))
        .with_state(inner)
}

/// Hop-by-hop and framing headers are not forwarded; the rest (credentials included) is.
fn forwardable(name: &HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "host"
            | "content-length"
            | "connection"
            | "keep-alive"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "proxy-authorization"
            | "proxy-connection"
            | "accept-encoding"
    )
}

fn error(status: StatusCode, kind: &str, message: String) -> Response {
    let body = serde_json::json!({ "error": { "message": message, "type": kind, "code": kind } });
    (status, axum::Json(body)).into_response()
}

fn refused(limit: Limit) -> Response {
    // 400, not 429/5xx: codex retries those, and the limit will not go away.
    error(
        StatusCode::BAD_REQUEST,
        "codex_teams_budget",
        format!("codex-teams refused this model request: {limit}"),
    )
}

/// `scheme://host[:port]` of a base URL.
fn origin(base: &str) -> &str {
    match base.split_once("://") {
        Some((scheme, rest)) => {
            let host_end = rest.find('/').unwrap_or(rest.len());
            &base[..scheme.len() + 3 + host_end]
        }
        None => base,
    }
}

/// Gives back a request's reservation however its response ends.
struct Reservation {
    inner: Arc<Inner>,
    team_id: String,
    estimate: u64,
    held: bool,
}

impl Reservation {
    fn release(&mut self) {
        if std::mem::take(&mut self.held) {
            self.inner.release(&self.team_id, self.estimate);
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.release();
    }
}

struct Pump {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<Bytes>>,
    scan: UsageScan,
    route: Arc<Route>,
    reservation: Reservation,
    body_bytes: usize,
    /// Dropped when the pump ends: the request is no longer open.
    _open: OpenRequest,
}

async fn forward(
    State(inner): State<Arc<Inner>>,
    Path((key, rest)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let route = inner
        .routes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key)
        .cloned();
    let Some(route) = route else {
        return error(
            StatusCode::NOT_FOUND,
            "codex_teams_no_route",
            "no such metered turn (it ended, or the address is wrong)".into(),
        );
    };
    let body_bytes = body.len();
    let estimate = inner.estimate(body_bytes);
    if let Err(limit) = inner.admit(&route, estimate) {
        tracing::info!(target: "codex_teams::meter", event = "meter.refused", team_id = %route.team_id, agent_id = %route.agent_id, estimate, limit = %limit);
        return refused(limit);
    }
    let open = inner.opened(&route.team_id);
    let reservation = Reservation {
        inner: inner.clone(),
        team_id: route.team_id.clone(),
        estimate,
        held: true,
    };
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    let url = format!("{}/{rest}{query}", origin(&route.upstream.base_url));
    let mut req = inner.client.request(method, &url).body(body);
    for (name, value) in headers.iter().filter(|(n, _)| forwardable(n)) {
        req = req.header(name, value);
    }
    req = req.header(header::ACCEPT_ENCODING, "identity");
    // The exchange with the provider runs on a task of its own: if codex goes away before the
    // answer starts (its turn was stopped), the request was still sent and the provider still
    // serves it, so its usage is still read (and the open count still covers it).
    let (head_tx, head_rx) = tokio::sync::oneshot::channel::<Result<Response, Response>>();
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(16);
    let exchange = Exchange {
        route,
        reservation,
        body_bytes,
        open,
    };
    inner.tasks.spawn(exchange.run(req, head_tx, tx));
    let head = match head_rx.await {
        Ok(Ok(head)) => head,
        Ok(Err(refusal)) => return refusal,
        Err(_) => {
            return error(
                StatusCode::BAD_GATEWAY,
                "codex_teams_upstream",
                "codex-teams metering proxy: the exchange with the provider ended early".into(),
            );
        }
    };
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let (parts, _) = head.into_parts();
    Response::from_parts(parts, Body::from_stream(stream))
}

/// One forwarded request, from sending it to reading its usage.
struct Exchange {
    route: Arc<Route>,
    reservation: Reservation,
    body_bytes: usize,
    open: OpenRequest,
}

impl Exchange {
    /// Sends the request; hands codex the answer's status and headers (or the error), then
    /// pumps the body.
    async fn run(
        self,
        req: reqwest::RequestBuilder,
        head: tokio::sync::oneshot::Sender<Result<Response, Response>>,
        tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
    ) {
        let route = self.route;
        let upstream = origin(&route.upstream.base_url).to_string();
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(target: "codex_teams::meter", event = "meter.upstream_error", team_id = %route.team_id, agent_id = %route.agent_id, upstream = %upstream, error = %e);
                let _ = head.send(Err(error(
                    StatusCode::BAD_GATEWAY,
                    "codex_teams_upstream",
                    format!(
                        "codex-teams metering proxy could not reach the provider at {upstream}: {e}"
                    ),
                )));
                return;
            }
        };
        let kind = BodyKind::of(
            resp.headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
        );
        let mut out = Response::builder().status(resp.status().as_u16());
        for (name, value) in resp.headers().iter().filter(|(n, _)| forwardable(n)) {
            out = out.header(name, value);
        }
        let out = out.body(Body::empty()).unwrap_or_else(|e| {
            error(
                StatusCode::BAD_GATEWAY,
                "codex_teams_upstream",
                e.to_string(),
            )
        });
        // Codex may be gone already: the pump then only drains for the usage.
        let _ = head.send(Ok(out));
        let pump = Pump {
            body: resp.bytes_stream().boxed(),
            scan: UsageScan::new(kind),
            route,
            reservation: self.reservation,
            body_bytes: self.body_bytes,
            _open: self.open,
        };
        pump.run(tx).await;
    }
}

/// How long the upstream is still read for its usage after codex went away.
const DRAIN_AFTER_DISCONNECT: std::time::Duration = std::time::Duration::from_secs(30);

impl Pump {
    fn inner(&self) -> Arc<Inner> {
        self.reservation.inner.clone()
    }

    /// Copies the upstream body to codex, recording the usage before the chunk that carries
    /// it is passed on. If codex goes away first (its turn was killed), the rest is still
    /// read, for a bounded time, until the usage arrives: the provider serves (and bills)
    /// the response either way, and this is the only place that learns what it cost.
    async fn run(mut self, tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>) {
        let mut gone_at: Option<tokio::time::Instant> = None;
        loop {
            let next = match gone_at {
                None => self.body.next().await,
                Some(t) => {
                    match tokio::time::timeout_at(t + DRAIN_AFTER_DISCONNECT, self.body.next())
                        .await
                    {
                        Ok(n) => n,
                        Err(_) => break,
                    }
                }
            };
            match next {
                Some(Ok(chunk)) => {
                    if let Some(u) = self.scan.feed(&chunk) {
                        self.reservation.release();
                        self.inner().settle(&self.route, u, self.body_bytes).await;
                        if gone_at.is_some() {
                            break;
                        }
                    }
                    if gone_at.is_none() && tx.send(Ok(chunk)).await.is_err() {
                        gone_at = Some(tokio::time::Instant::now());
                    }
                }
                Some(Err(e)) => {
                    let _ = tx.send(Err(std::io::Error::other(e))).await;
                    break;
                }
                None => {
                    if let Some(u) = self.scan.finish() {
                        self.reservation.release();
                        self.inner().settle(&self.route, u, self.body_bytes).await;
                    }
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_headers() {
        assert_eq!(origin("http://127.0.0.1:9/v1"), "http://127.0.0.1:9");
        assert_eq!(origin("https://h.example/a/b"), "https://h.example");
        assert_eq!(origin("https://h.example"), "https://h.example");
        assert!(forwardable(&header::AUTHORIZATION));
        assert!(!forwardable(&header::HOST));
        assert!(!forwardable(&header::ACCEPT_ENCODING));
    }
}

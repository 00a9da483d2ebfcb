//! The accept loop: bounded connections, timeouts, and room kept for real callers.
//!
//! `axum::serve` accepts every connection and never times out a silent one, so a local
//! process opening thousands of idle sockets exhausted the file descriptors and every
//! legitimate call (and `/healthz`) hung. Here:
//! - at most `max_connections` are open; when one more arrives, an idle connection is
//!   closed to make room (one that never carried an authenticated request first, then the
//!   longest idle), and if every connection is busy the newcomer is closed at once;
//! - a request's headers must arrive within `header_timeout`, which also closes a
//!   keep-alive connection idle that long (hyper's header-read timer covers both);
//! - body reads are bounded in the endpoint ([`super::HttpLimits::body_timeout`]);
//! - a connection with a request in flight (a long-poll, an SSE stream) is never closed
//!   to make room: those are bounded per agent instead ([`super::agent_slots`]).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::HttpLimits;

/// Put in a response's extensions by the endpoint once the caller authenticated, so the
/// connection is known to carry a real client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Authenticated;

struct Conn {
    evict: CancellationToken,
    in_flight: usize,
    authenticated: bool,
    idle_since: Instant,
}

/// The open connections.
struct Conns {
    max: usize,
    table: Mutex<(u64, HashMap<u64, Conn>)>,
}

impl Conns {
    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, HashMap<u64, Conn>)> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Closes the idle connection least likely to be missed; false if all are busy.
    fn evict_one(table: &mut HashMap<u64, Conn>) -> bool {
        let victim = table
            .iter()
            .filter(|(_, c)| c.in_flight == 0)
            .min_by_key(|(_, c)| (c.authenticated, c.idle_since))
            .map(|(id, _)| *id);
        match victim.and_then(|id| table.remove(&id)) {
            Some(c) => {
                c.evict.cancel();
                true
            }
            None => false,
        }
    }

    /// Room for one more connection: its id and eviction token, or `None` (then close it).
    fn admit(&self) -> Option<(u64, CancellationToken)> {
        let mut g = self.lock();
        let (next, table) = &mut *g;
        if table.len() >= self.max && !Self::evict_one(table) {
            return None;
        }
        *next += 1;
        let evict = CancellationToken::new();
        table.insert(
            *next,
            Conn {
                evict: evict.clone(),
                in_flight: 0,
                authenticated: false,
                idle_since: Instant::now(),
            },
        );
        Some((*next, evict))
    }

    fn shed(&self) {
        Self::evict_one(&mut self.lock().1);
    }

    fn begin(&self, id: u64) {
        if let Some(c) = self.lock().1.get_mut(&id) {
            c.in_flight += 1;
        }
    }

    fn end(&self, id: u64, authenticated: bool) {
        if let Some(c) = self.lock().1.get_mut(&id) {
            c.in_flight = c.in_flight.saturating_sub(1);
            c.authenticated |= authenticated;
            c.idle_since = Instant::now();
        }
    }

    fn close(&self, id: u64) {
        self.lock().1.remove(&id);
    }
}

/// One request on one connection; dropped when its response body ends.
struct InFlight {
    conns: Arc<Conns>,
    id: u64,
    authenticated: bool,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.conns.end(self.id, self.authenticated);
    }
}

/// Serves `app` on `listener` until `shutdown`, then lets open connections finish for a
/// short grace and closes the rest.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let conns = Arc::new(Conns {
        max: limits.max_connections.max(1),
        table: Mutex::new((0, HashMap::new())),
    });
    let mut tasks = JoinSet::new();
    loop {
        while tasks.try_join_next().is_some() {}
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = shutdown.cancelled() => break,
        };
        let stream = match accepted {
            Ok((s, _)) => s,
            Err(e) => {
                // Out of descriptors (or a transient error): make room and go on.
                tracing::warn!(target: "codex_teams::http", event = "http.accept_error", error = %e);
                conns.shed();
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let Some((id, evict)) = conns.admit() else {
            tracing::debug!(target: "codex_teams::http", event = "http.connection_refused", reason = "every connection is busy");
            drop(stream);
            continue;
        };
        tasks.spawn(serve_connection(
            stream,
            id,
            evict,
            conns.clone(),
            app.clone(),
            limits.clone(),
            shutdown.clone(),
        ));
    }
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(limits.shutdown_grace, drain)
        .await
        .is_err()
    {
        tasks.abort_all();
    }
    Ok(())
}

async fn serve_connection(
    stream: TcpStream,
    id: u64,
    evict: CancellationToken,
    conns: Arc<Conns>,
    app: Router,
    limits: HttpLimits,
    shutdown: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let svc_conns = conns.clone();
    let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        svc_conns.begin(id);
        let mut guard = InFlight {
            conns: svc_conns.clone(),
            id,
            authenticated: false,
        };
        let app = app.clone();
        async move {
            let resp = app
                .oneshot(req.map(Body::new))
                .await
                .unwrap_or_else(|e: Infallible| match e {});
            guard.authenticated = resp.extensions().get::<Authenticated>().is_some();
            // The request counts as in flight until its body (maybe a stream) is done.
            Ok::<_, Infallible>(resp.map(|b| {
                Body::new(b.map_frame(move |f| {
                    let _ = &guard;
                    f
                }))
            }))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(64 * 1024);
    let conn = builder.serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = evict.cancelled() => {}
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(limits.shutdown_grace, conn.as_mut()).await;
        }
    }
    conns.close(id);
}

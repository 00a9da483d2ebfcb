//! The metering proxy: every model request of our codex children passes through a loopback
//! pass-through in front of the provider, which records each response's usage in the store the
//! moment the provider reports it (before codex sees the end of the response) and asks the
//! spend gate ([`crate::policy::spend`]) before forwarding each request. So a killed turn's
//! spend is never lost, and a turn or a run stops within one response of its limit.
//!
//! Used for the scripted model and for every provider with a `base_url` of its own (the
//! user's `[model_providers.X]`); the request and its headers (the user's credentials) pass
//! through untouched. Codex's built-in `openai` provider is metered from the session rollout
//! instead (`supervisor::rollout`), see docs/architecture.md ("Token metering and the budget") for why and what that costs.

mod proxy;
pub mod scan;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};

use codex_teams_codex_exec::Usage;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::policy::Profile;
use crate::policy::spend::{self, Ledger, Limit, Turn};

/// A future the sink returns; boxed so the sink can be a trait object.
pub type SinkFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Where the meter reports to: the store (usage) and the supervisor (limits).
pub trait MeterSink: Send + Sync + 'static {
    /// Writes one response's usage for the agent; awaited before codex sees the response end.
    fn record(&self, team_id: String, agent_id: String, usage: Usage) -> SinkFuture;
    /// A request was refused or a response crossed a limit: stop the turn (or the team's
    /// workers, or the run). Called at most once per turn.
    fn limit(&self, team_id: &str, agent_id: &str, limit: Limit);
}

/// Where one route's requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// The provider's base URL (`https://host/v1`); the path codex adds after its own base
    /// URL is appended.
    pub base_url: String,
}

/// One turn's tally, shared by the proxy and the turn's owner.
#[derive(Debug, Default)]
struct Tally {
    /// input + output served to this turn.
    spent: u64,
    recorded: Usage,
    /// The limit that stopped this turn; later requests are refused with it.
    stopped: Option<Limit>,
}

#[derive(Debug)]
struct Route {
    team_id: String,
    agent_id: String,
    is_lead: bool,
    upstream: Upstream,
    tally: Mutex<Tally>,
}

struct Inner {
    profile: Profile,
    routes: Mutex<HashMap<String, Arc<Route>>>,
    ledgers: Mutex<HashMap<String, Ledger>>,
    /// Tokens per request byte, as the provider last counted them (for estimates).
    ratio: Mutex<Option<f64>>,
    client: reqwest::Client,
    sink: Arc<dyn MeterSink>,
    /// Requests forwarded and not yet finished (their usage read or given up), per team.
    open: Mutex<HashMap<String, usize>>,
    /// Woken whenever a forwarded request finishes.
    finished: tokio::sync::Notify,
    /// The owner's tasks: every response pump runs on it, so the owner's shutdown waits for
    /// them.
    tasks: TaskTracker,
}

/// The running proxy. Its server stops when the owner's cancellation token fires (or the
/// proxy is dropped).
pub struct Meter {
    inner: Arc<Inner>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Meter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Meter").field("addr", &self.addr).finish()
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The proxy's side of one turn: its base URL for codex and what it recorded. Dropping it
/// closes the route: a straggling request of a finished turn is refused.
pub struct MeterTurn {
    key: String,
    base_url: String,
    route: Arc<Route>,
    inner: Weak<Inner>,
}

impl std::fmt::Debug for MeterTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeterTurn")
            .field("agent_id", &self.route.agent_id)
            .finish_non_exhaustive()
    }
}

impl MeterTurn {
    /// The base URL codex is given for this turn (`http://127.0.0.1:PORT/m/KEY/v1` style:
    /// the upstream's path is kept after the key).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Usage recorded for this turn so far.
    pub fn recorded(&self) -> Usage {
        self.route
            .tally
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .recorded
    }

    /// The limit that stopped this turn, if one did.
    pub fn stopped(&self) -> Option<Limit> {
        self.route
            .tally
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .stopped
    }
}

impl Drop for MeterTurn {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.upgrade() {
            inner
                .routes
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&self.key);
        }
    }
}

impl Meter {
    /// Starts the proxy on a free loopback port; its server and response pumps run on the
    /// owner's `tasks` and stop when `cancel` fires.
    pub async fn start(
        profile: Profile,
        sink: Arc<dyn MeterSink>,
        cancel: CancellationToken,
        tasks: TaskTracker,
    ) -> anyhow::Result<Meter> {
        let client = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(30))
            .build()?;
        let inner = Arc::new(Inner {
            profile,
            routes: Mutex::new(HashMap::new()),
            ledgers: Mutex::new(HashMap::new()),
            ratio: Mutex::new(None),
            client,
            sink,
            open: Mutex::new(HashMap::new()),
            finished: tokio::sync::Notify::new(),
            tasks: tasks.clone(),
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| anyhow::anyhow!("metering proxy: cannot bind 127.0.0.1: {e}"))?;
        let addr = listener.local_addr()?;
        let app = proxy::router(inner.clone());
        let server = tasks.spawn(async move {
            let stop = cancel.cancelled_owned();
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
                tracing::error!(target: "codex_teams::meter", event = "meter.server_error", error = %e);
            }
        });
        Ok(Meter {
            inner,
            addr,
            server,
        })
    }

    /// Where the proxy listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Opens a route for one turn. `team_spent` is what the store holds for the team now;
    /// the meter's own count never goes below it.
    pub fn open_turn(
        &self,
        team_id: &str,
        agent_id: &str,
        is_lead: bool,
        upstream: Upstream,
        team_spent: u64,
    ) -> MeterTurn {
        {
            let mut l = self.inner.ledgers.lock().unwrap_or_else(|p| p.into_inner());
            let e = l.entry(team_id.to_string()).or_default();
            e.spent = e.spent.max(team_spent);
        }
        let key = uuid::Uuid::new_v4().simple().to_string();
        let route = Arc::new(Route {
            team_id: team_id.to_string(),
            agent_id: agent_id.to_string(),
            is_lead,
            upstream: upstream.clone(),
            tally: Mutex::new(Tally::default()),
        });
        self.inner
            .routes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), route.clone());
        let path = url_path(&upstream.base_url);
        MeterTurn {
            base_url: format!("http://{}/m/{key}{path}", self.addr),
            key,
            route,
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// Waits (at most `limit`) until every request of the team the proxy forwarded has
    /// finished: its usage recorded, or given up on. A run's summary is read after this, so a
    /// response the provider was still serving when the children were stopped is counted.
    /// Returns how many were still open when the wait gave up.
    pub async fn settle_team(&self, team_id: &str, limit: std::time::Duration) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let woken = self.inner.finished.notified();
            let open = self.inner.open_requests(team_id);
            if open == 0 {
                return 0;
            }
            if tokio::time::timeout_at(deadline, woken).await.is_err() {
                return self.inner.open_requests(team_id);
            }
        }
    }

    /// Forgets a team's ledger (its run ended); a later resume seeds it from the store.
    pub fn close_team(&self, team_id: &str) {
        self.inner
            .ledgers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(team_id);
    }
}

/// The path part of a base URL (`/v1` of `https://host/v1`), without a trailing slash.
fn url_path(base: &str) -> String {
    let rest = base.split_once("://").map_or(base, |(_, r)| r);
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    path.trim_end_matches('/').to_string()
}

impl Inner {
    fn open_requests(&self, team_id: &str) -> usize {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.get(team_id).copied().unwrap_or(0)
    }

    /// Counts one forwarded request of the team as open until the guard drops.
    fn opened(self: &Arc<Self>, team_id: &str) -> OpenRequest {
        *self
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(team_id.to_string())
            .or_default() += 1;
        OpenRequest {
            inner: self.clone(),
            team_id: team_id.to_string(),
        }
    }

    /// What a request of `body_bytes` is expected to cost.
    fn estimate(&self, body_bytes: usize) -> u64 {
        spend::estimate_request(
            body_bytes,
            *self.ratio.lock().unwrap_or_else(|p| p.into_inner()),
        )
    }

    /// The spend gate for one request; on a refusal the turn is marked stopped and the
    /// supervisor told (once).
    fn admit(&self, route: &Route, estimate: u64) -> Result<(), Limit> {
        let mut tally = route.tally.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(limit) = tally.stopped {
            return Err(limit);
        }
        let mut ledgers = self.ledgers.lock().unwrap_or_else(|p| p.into_inner());
        let ledger = ledgers.entry(route.team_id.clone()).or_default();
        let turn = Turn {
            is_lead: route.is_lead,
            spent: tally.spent,
        };
        match spend::admit(&self.profile, *ledger, turn, estimate) {
            Ok(()) => {
                ledger.in_flight += estimate;
                Ok(())
            }
            Err(limit) => {
                tally.stopped = Some(limit);
                drop(ledgers);
                drop(tally);
                self.sink.limit(&route.team_id, &route.agent_id, limit);
                Err(limit)
            }
        }
    }

    /// A request's reservation ends (answered, failed or dropped).
    fn release(&self, team_id: &str, estimate: u64) {
        let mut l = self.ledgers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = l.get_mut(team_id) {
            e.in_flight = e.in_flight.saturating_sub(estimate);
        }
    }

    /// One response's usage arrived: count it, store it, and stop the turn if it crossed.
    async fn settle(&self, route: &Route, usage: Usage, body_bytes: usize) {
        if let Some(r) = spend::measured_ratio(body_bytes, usage.input_tokens) {
            *self.ratio.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
        }
        let tokens = usage.input_tokens + usage.output_tokens;
        let (ledger, turn) = {
            let mut tally = route.tally.lock().unwrap_or_else(|p| p.into_inner());
            tally.spent += tokens;
            tally.recorded += usage;
            let mut l = self.ledgers.lock().unwrap_or_else(|p| p.into_inner());
            let e = l.entry(route.team_id.clone()).or_default();
            e.spent += tokens;
            (
                *e,
                Turn {
                    is_lead: route.is_lead,
                    spent: tally.spent,
                },
            )
        };
        self.sink
            .record(route.team_id.clone(), route.agent_id.clone(), usage)
            .await;
        if let Some(limit) = spend::crossed(&self.profile, ledger, turn) {
            let first = {
                let mut tally = route.tally.lock().unwrap_or_else(|p| p.into_inner());
                let first = tally.stopped.is_none();
                tally.stopped.get_or_insert(limit);
                first
            };
            if first {
                self.sink.limit(&route.team_id, &route.agent_id, limit);
            }
        }
    }
}

/// One forwarded request, open until dropped (see [`Meter::settle_team`]).
struct OpenRequest {
    inner: Arc<Inner>,
    team_id: String,
}

impl Drop for OpenRequest {
    fn drop(&mut self) {
        {
            let mut open = self.inner.open.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = open.get_mut(&self.team_id) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    open.remove(&self.team_id);
                }
            }
        }
        self.inner.finished.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_upstream_path() {
        assert_eq!(url_path("http://127.0.0.1:9/v1"), "/v1");
        assert_eq!(url_path("https://h.example/openai/v1/"), "/openai/v1");
        assert_eq!(url_path("https://h.example"), "");
    }
}

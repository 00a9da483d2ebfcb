//! Who owns what runs in the background: the ticker, every turn and stop task (one
//! [`TaskTracker`](tokio_util::task::TaskTracker)), and the bus's HTTP server. The ticker
//! runs only while a team is left to tick; [`Supervisor::shutdown`] stops all of it and waits.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use codex_teams_mcp::serve_http;

use super::Supervisor;

/// How long [`Supervisor::shutdown`] waits for owned tasks before it gives up on them.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(10);

impl Supervisor {
    /// Spawns `fut` as a task this supervisor owns (counted by [`Supervisor::live_tasks`],
    /// waited for by [`Supervisor::shutdown`]). Outside a tokio runtime nothing is spawned.
    pub(super) fn spawn_owned<F>(&self, fut: F) -> bool
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                self.tasks.spawn_on(fut, &handle);
                true
            }
            Err(_) => false,
        }
    }

    /// Tasks of this supervisor still running (ticker, turns, stops).
    pub fn live_tasks(&self) -> usize {
        self.tasks.len()
    }

    /// Starts the ticker unless one runs. It exits once no team is left to tick (a later
    /// team starts it again) or at shutdown.
    pub(super) fn ensure_ticker(&self) {
        if self.cancel.is_cancelled() || self.ticker.swap(true, Ordering::SeqCst) {
            return;
        }
        let me = self.arc();
        let started = self.spawn_owned(async move {
            loop {
                if let Err(e) = me.tick().await {
                    tracing::warn!(target: "codex_teams::supervisor", event = "tick.error", error = %e);
                }
                if !me.keep_ticking() {
                    break;
                }
                tokio::select! {
                    _ = me.cancel.cancelled() => break,
                    _ = me.kick.notified() => {}
                    _ = tokio::time::sleep(me.opts.tick) => {}
                }
            }
        });
        if !started {
            self.ticker.store(false, Ordering::SeqCst);
        }
    }

    /// Whether a team is left to tick; if not, the ticker flag is cleared under the state
    /// lock, so a team adopted at the same moment starts a new ticker.
    fn keep_ticking(&self) -> bool {
        let st = self.lock();
        if !st.live_teams().is_empty() && !self.cancel.is_cancelled() {
            return true;
        }
        self.ticker.store(false, Ordering::SeqCst);
        false
    }

    /// The bus's HTTP server on 127.0.0.1 (started on first use, stopped by `shutdown`).
    pub async fn http_addr(&self) -> anyhow::Result<SocketAddr> {
        let hub = self.hub()?;
        let addr = self
            .http_addr
            .get_or_try_init(|| async move {
                let server = serve_http(hub, SocketAddr::from(([127, 0, 0, 1], 0))).await?;
                let addr = server.addr;
                *self.http.lock().unwrap_or_else(|p| p.into_inner()) = Some(server);
                Ok::<_, std::io::Error>(addr)
            })
            .await
            .map_err(|e| anyhow::anyhow!("cannot serve the team bus on 127.0.0.1: {e}"))?;
        Ok(*addr)
    }

    /// Stops the ticker and the HTTP server and waits (bounded) for every owned task. Call it
    /// after the teams are stopped: a turn still running is waited for, not killed.
    pub async fn shutdown(&self) {
        self.cancel.cancel();
        self.kick();
        self.tasks.close();
        let server = self.http.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(server) = server
            && let Err(e) = server.shutdown().await
        {
            tracing::warn!(target: "codex_teams::supervisor", event = "http.shutdown_error", error = %e);
        }
        if tokio::time::timeout(SHUTDOWN_WAIT, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(target: "codex_teams::supervisor", event = "shutdown.tasks_left", live = self.tasks.len());
        }
    }
}

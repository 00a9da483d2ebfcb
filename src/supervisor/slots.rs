//! The worker cap (SPEC §4.8): at most six worker processes at once, enforced by a
//! semaphore, with a tracker of how many are live and the highest number ever reached so the
//! run summary can report `peak_threads` from what actually happened.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

use crate::policy::MAX_WORKERS;

/// A cap outside 1..=6.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlotError {
    /// More than [`MAX_WORKERS`] was asked for.
    #[error(
        "--max-threads {requested} is above the limit of {MAX_WORKERS} concurrent workers; use a value from 1 to {MAX_WORKERS}"
    )]
    AboveLimit {
        /// The value given.
        requested: usize,
    },
    /// Zero slots would never run anything.
    #[error("--max-threads 0 would never run a worker; use a value from 1 to {MAX_WORKERS}")]
    Zero,
}

/// The shared pool of worker slots. Cheap to clone; all clones share the same slots.
#[derive(Debug, Clone)]
pub struct WorkerSlots {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    semaphore: Arc<Semaphore>,
    /// Where the machine-wide slots live (`$CODEX_TEAMS_HOME/slots`): one lock file per
    /// slot, so every supervisor on this home (runs, resumes, `codex-teams mcp` servers)
    /// shares the same six. The kernel drops a lock when its holder dies, SIGKILL included.
    machine: Option<std::path::PathBuf>,
    capacity: usize,
    live: AtomicUsize,
    peak: AtomicUsize,
}

impl WorkerSlots {
    /// A pool of `capacity` slots; anything outside 1..=6 is refused with a clear error.
    pub fn new(capacity: usize) -> Result<Self, SlotError> {
        if capacity == 0 {
            return Err(SlotError::Zero);
        }
        if capacity > MAX_WORKERS {
            return Err(SlotError::AboveLimit {
                requested: capacity,
            });
        }
        Ok(WorkerSlots {
            inner: Arc::new(Inner {
                semaphore: Arc::new(Semaphore::new(capacity)),
                machine: None,
                capacity,
                live: AtomicUsize::new(0),
                peak: AtomicUsize::new(0),
            }),
        })
    }

    /// Also holds one of the six machine-wide slots in `dir` for every worker slot, so
    /// that all supervisors sharing `dir` never run more than six workers together.
    pub fn with_machine_dir(capacity: usize, dir: std::path::PathBuf) -> Result<Self, SlotError> {
        let mut me = Self::new(capacity)?;
        Arc::get_mut(&mut me.inner).expect("just made").machine = Some(dir);
        Ok(me)
    }

    /// Waits for a free slot. Requests are served in arrival order (tokio's semaphore is
    /// fair), so a spawn request never starves behind later ones; then, with a machine
    /// directory, for one of the machine's six (polled: other processes hold them).
    pub async fn acquire(&self) -> SlotGuard {
        let permit = self
            .inner
            .semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("the worker semaphore is never closed");
        let mut waited = false;
        let machine = loop {
            match self.try_machine() {
                Ok(held) => break held,
                Err(()) => {
                    if !waited {
                        waited = true;
                        tracing::info!(target: "codex_teams::supervisor", event = "slot.machine_wait",
                            reason = "six workers already run on this machine; waiting for one to end");
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        };
        self.guard(permit, machine)
    }

    /// Takes a slot only if one is free now.
    pub fn try_acquire(&self) -> Option<SlotGuard> {
        match self.inner.semaphore.clone().try_acquire_owned() {
            Ok(permit) => {
                let machine = self.try_machine().ok()?;
                Some(self.guard(permit, machine))
            }
            Err(TryAcquireError::NoPermits) => None,
            Err(TryAcquireError::Closed) => unreachable!("the worker semaphore is never closed"),
        }
    }

    /// `Ok(None)` without a machine directory; `Ok(Some(lock))` for a free machine slot;
    /// `Err(())` when all six are held. A directory we cannot use does not stop the run
    /// (the in-process cap still holds); it is logged.
    fn try_machine(&self) -> Result<Option<std::fs::File>, ()> {
        let Some(dir) = &self.inner.machine else {
            return Ok(None);
        };
        if let Err(e) = std::fs::create_dir_all(dir) {
            tracing::warn!(target: "codex_teams::supervisor", event = "slot.machine_dir_error", dir = %dir.display(), error = %e);
            return Ok(None);
        }
        for i in 0..MAX_WORKERS {
            let path = dir.join(format!("slot-{i}.lock"));
            let file = {
                use std::os::unix::fs::OpenOptionsExt;
                std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .mode(0o600)
                    .open(&path)
            };
            match file {
                Ok(f) => {
                    if f.try_lock().is_ok() {
                        return Ok(Some(f));
                    }
                }
                Err(e) => {
                    tracing::warn!(target: "codex_teams::supervisor", event = "slot.machine_dir_error", dir = %path.display(), error = %e);
                    return Ok(None);
                }
            }
        }
        Err(())
    }

    fn guard(&self, permit: OwnedSemaphorePermit, machine: Option<std::fs::File>) -> SlotGuard {
        let now = self.inner.live.fetch_add(1, Ordering::SeqCst) + 1;
        self.inner.peak.fetch_max(now, Ordering::SeqCst);
        SlotGuard {
            _permit: permit,
            _machine: machine,
            inner: self.inner.clone(),
        }
    }

    /// The configured cap.
    pub fn capacity(&self) -> usize {
        self.inner.capacity
    }

    /// Slots held right now.
    pub fn live(&self) -> usize {
        self.inner.live.load(Ordering::SeqCst)
    }

    /// The most slots ever held at once: the summary's `peak_threads`.
    pub fn peak(&self) -> usize {
        self.inner.peak.load(Ordering::SeqCst)
    }

    /// Requests could be served right now without waiting.
    pub fn available(&self) -> usize {
        self.inner.semaphore.available_permits()
    }
}

/// One held slot. Keep it for as long as the worker's process runs; dropping it frees the
/// slot for the next waiting request.
#[derive(Debug)]
pub struct SlotGuard {
    _permit: OwnedSemaphorePermit,
    /// The machine-wide slot's locked file; closing it releases the lock.
    _machine: Option<std::fs::File>,
    inner: Arc<Inner>,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        // Decrement before the permit (a field) is released, so `live` never exceeds the cap.
        self.inner.live.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Two supervisors (here two pools, as two processes would be) on one home share six
    /// slots: the seventh waits until one is freed.
    #[tokio::test]
    async fn pools_sharing_a_machine_dir_share_six_slots() {
        let dir = tempfile::tempdir().unwrap();
        let a = WorkerSlots::with_machine_dir(6, dir.path().join("slots")).unwrap();
        let b = WorkerSlots::with_machine_dir(6, dir.path().join("slots")).unwrap();
        let mut held: Vec<SlotGuard> = (0..4).map(|_| a.try_acquire().unwrap()).collect();
        held.push(b.try_acquire().unwrap());
        held.push(b.try_acquire().unwrap());
        assert!(
            b.try_acquire().is_none(),
            "a seventh worker on this machine"
        );
        assert!(a.try_acquire().is_none());
        let waiter = tokio::spawn({
            let b = b.clone();
            async move { b.acquire().await }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!waiter.is_finished(), "queued, not refused, while six run");
        held.remove(0);
        let got = tokio::time::timeout(Duration::from_secs(5), waiter).await;
        assert!(got.is_ok(), "the waiter got the freed slot");
        assert_eq!(a.live() + b.live(), 6);
    }

    #[test]
    fn caps_outside_one_to_six_are_refused_by_value() {
        for n in 1..=6 {
            assert_eq!(WorkerSlots::new(n).unwrap().capacity(), n);
        }
        let err = WorkerSlots::new(7).unwrap_err();
        assert_eq!(err, SlotError::AboveLimit { requested: 7 });
        let text = err.to_string();
        assert!(text.contains("7") && text.contains("limit of 6"), "{text}");
        let err = WorkerSlots::new(100).unwrap_err().to_string();
        assert!(err.contains("100") && err.contains('6'), "{err}");
        let err = WorkerSlots::new(0).unwrap_err().to_string();
        assert!(err.contains("0") && err.contains("1 to 6"), "{err}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn many_acquirers_never_exceed_the_cap_and_all_run() {
        for cap in [1, 3, 6] {
            let slots = WorkerSlots::new(cap).unwrap();
            let observed_max = Arc::new(AtomicUsize::new(0));
            let ran = Arc::new(AtomicUsize::new(0));
            let mut tasks = Vec::new();
            for i in 0..40 {
                let slots = slots.clone();
                let observed_max = observed_max.clone();
                let ran = ran.clone();
                tasks.push(tokio::spawn(async move {
                    let _slot = slots.acquire().await;
                    observed_max.fetch_max(slots.live(), Ordering::SeqCst);
                    assert!(slots.live() <= cap);
                    tokio::time::sleep(Duration::from_millis(2 + (i % 5))).await;
                    ran.fetch_add(1, Ordering::SeqCst);
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(ran.load(Ordering::SeqCst), 40, "cap {cap}");
            assert!(observed_max.load(Ordering::SeqCst) <= cap);
            assert!(slots.peak() <= cap, "cap {cap}: peak {}", slots.peak());
            // 40 sleepers over `cap` slots do fill them.
            assert_eq!(slots.peak(), cap, "cap {cap}");
            assert_eq!(slots.live(), 0);
            assert_eq!(slots.available(), cap);
        }
    }

    #[tokio::test]
    async fn a_waiter_runs_when_a_slot_is_freed() {
        let slots = WorkerSlots::new(2).unwrap();
        let a = slots.acquire().await;
        let _b = slots.acquire().await;
        assert!(slots.try_acquire().is_none());
        let waiter = {
            let slots = slots.clone();
            tokio::spawn(async move {
                let _c = slots.acquire().await;
                slots.live()
            })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(a);
        assert_eq!(waiter.await.unwrap(), 2);
        assert_eq!(slots.peak(), 2);
    }
}

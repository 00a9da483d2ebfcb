//! The worker cap (SPEC §4.8): at most six worker processes at once, enforced by a
//! semaphore, with a tracker of how many are live and the highest number ever reached so the
//! run summary can report `peak_threads` from what actually happened.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

/// The hard limit on concurrently running workers. The lead is not a worker.
pub const MAX_WORKERS: usize = 6;

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
                capacity,
                live: AtomicUsize::new(0),
                peak: AtomicUsize::new(0),
            }),
        })
    }

    /// Waits for a free slot. Requests are served in arrival order (tokio's semaphore is
    /// fair), so a spawn request never starves behind later ones.
    pub async fn acquire(&self) -> SlotGuard {
        let permit = self
            .inner
            .semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("the worker semaphore is never closed");
        self.guard(permit)
    }

    /// Takes a slot only if one is free now.
    pub fn try_acquire(&self) -> Option<SlotGuard> {
        match self.inner.semaphore.clone().try_acquire_owned() {
            Ok(permit) => Some(self.guard(permit)),
            Err(TryAcquireError::NoPermits) => None,
            Err(TryAcquireError::Closed) => unreachable!("the worker semaphore is never closed"),
        }
    }

    fn guard(&self, permit: OwnedSemaphorePermit) -> SlotGuard {
        let now = self.inner.live.fetch_add(1, Ordering::SeqCst) + 1;
        self.inner.peak.fetch_max(now, Ordering::SeqCst);
        SlotGuard {
            _permit: permit,
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

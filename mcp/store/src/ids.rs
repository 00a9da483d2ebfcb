//! Ids and the clock: the two things every row gets when it is written.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::Millis;

/// A fresh id such as `msg-0193…`: a short type prefix so a bare id in a log line says what
/// it names, and a UUID v7 so ids sort by creation time.
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}

/// Prefixes of the id kinds the store hands out.
pub(crate) mod prefix {
    pub const TEAM: &str = "team";
    pub const AGENT: &str = "agt";
    pub const MESSAGE: &str = "msg";
    pub const TASK: &str = "tsk";
    pub const ARTIFACT: &str = "art";
    pub const DECISION: &str = "dec";
    pub const CANDIDATE: &str = "cnd";
}

/// Now, in the store's clock unit.
pub(crate) fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

/// The longest lease the store records: ten years. Longer asks are cut to it, so that
/// `now + lease` can never overflow (found by fuzzing: a `u64::MAX` ms claim panicked).
pub(crate) const MAX_LEASE_MS: Millis = 10 * 366 * 24 * 3600 * 1000;

/// A lease length in milliseconds, at least 1 so a lease never starts out expired, at most
/// [`MAX_LEASE_MS`].
pub(crate) fn lease_ms(lease: std::time::Duration) -> Millis {
    (lease.as_millis().min(MAX_LEASE_MS as u128) as Millis).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_are_bounded_both_ways() {
        use std::time::Duration;
        assert_eq!(lease_ms(Duration::ZERO), 1);
        assert_eq!(lease_ms(Duration::from_millis(1500)), 1500);
        assert_eq!(lease_ms(Duration::MAX), MAX_LEASE_MS);
        assert!(now_ms().checked_add(lease_ms(Duration::MAX)).is_some());
    }

    #[test]
    fn ids_carry_their_prefix_and_sort_by_time() {
        let a = new_id(prefix::MESSAGE);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_id(prefix::MESSAGE);
        assert!(a.starts_with("msg-") && a.len() == 4 + 32, "{a}");
        assert!(a < b, "{a} !< {b}");
    }
}

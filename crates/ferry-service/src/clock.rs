//! One monotonic clock for every machine this crate drives.
//!
//! The machines take time as a [`ferry_time::Instant`] (microseconds since an
//! arbitrary epoch); this crate's epoch is the first time the clock is read.

use std::sync::OnceLock;
use std::time::Duration;

use ferry_time::Instant;

fn epoch() -> std::time::Instant {
    static EPOCH: OnceLock<std::time::Instant> = OnceLock::new();
    *EPOCH.get_or_init(std::time::Instant::now)
}

/// The current time as the machines see it.
pub fn now() -> Instant {
    let micros = epoch().elapsed().as_micros();
    Instant::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
}

/// How long from `now` until `deadline` (zero if it has passed).
pub fn until(now: Instant, deadline: Instant) -> Duration {
    deadline.saturating_duration_since(now)
}

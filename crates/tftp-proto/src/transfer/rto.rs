//! Retransmission timeout: adapts to the measured round trip (the smoothed
//! estimator of RFC 6298 §2), backs off on repeated loss, and is fixed when
//! the peers agreed on one with the RFC 2349 `timeout` option.

use core::time::Duration;

use super::TransferConfig;

/// Backoff stops doubling after this many consecutive timeouts.
const MAX_BACKOFF_SHIFT: u32 = 6;

#[derive(Debug, Clone)]
pub(crate) struct Rto {
    min: Duration,
    max: Duration,
    base: Duration,
    srtt: Option<Duration>,
    rttvar: Duration,
    backoff: u32,
    fixed: bool,
}

impl Rto {
    pub(crate) fn new(config: &TransferConfig) -> Self {
        Rto {
            min: config.min_rto,
            max: config.max_rto.max(config.min_rto),
            base: config.initial_rto,
            srtt: None,
            rttvar: Duration::ZERO,
            backoff: 0,
            fixed: false,
        }
    }

    /// RFC 2349: the peers agreed to wait exactly `seconds` between
    /// retransmissions, so measurement and backoff no longer apply.
    pub(crate) fn fix(&mut self, seconds: u8) {
        self.base = Duration::from_secs(u64::from(seconds));
        self.fixed = true;
        self.backoff = 0;
    }

    pub(crate) fn current(&self) -> Duration {
        if self.fixed {
            return self.base;
        }
        // RFC 6298 §5.5: back off from the timeout in force, floor included,
        // so each timeout really doubles the wait.
        let scaled = self
            .base
            .max(self.min)
            .checked_mul(1 << self.backoff)
            .unwrap_or(self.max);
        scaled.clamp(self.min, self.max)
    }

    /// A round trip measured on a packet that was not retransmitted (Karn).
    pub(crate) fn sample(&mut self, rtt: Duration) {
        self.backoff = 0;
        if self.fixed {
            return;
        }
        match self.srtt {
            None => {
                self.srtt = Some(rtt);
                self.rttvar = rtt / 2;
            }
            Some(srtt) => {
                let delta = if srtt > rtt { srtt - rtt } else { rtt - srtt };
                self.rttvar = (self.rttvar * 3 + delta) / 4;
                self.srtt = Some((srtt * 7 + rtt) / 8);
            }
        }
        let srtt = self.srtt.unwrap_or(rtt);
        self.base = srtt + (self.rttvar * 4).max(Duration::from_millis(1));
    }

    /// Progress without a usable sample still ends the backoff.
    pub(crate) fn reset_backoff(&mut self) {
        self.backoff = 0;
    }

    pub(crate) fn on_timeout(&mut self) {
        if !self.fixed {
            self.backoff = (self.backoff + 1).min(MAX_BACKOFF_SHIFT);
        }
    }
}

//! Transfer rate limits (`--rate-limit`, `--anon-rate-limit`): a token
//! bucket per transfer, pure arithmetic on a time value, so that both
//! drivers pace alike. The blocking driver sleeps its own thread until
//! [`Pacer::ready_at`]; the event loop arms a timer for it and leaves the
//! transfer alone until then.
//!
//! The bucket fills at the limit's rate up to a burst of a tenth of a
//! second's worth (at least [`MIN_BURST`]), and starts full. A transfer may
//! take more than the bucket holds in one go (a TFTP block larger than the
//! burst): the bucket then goes into debt, and nothing more may go until
//! the debt is paid. So over any stretch a transfer moves at most its
//! rate's worth plus one burst and one piece.

use std::fmt;
use std::num::NonZeroU64;
use std::str::FromStr;

use ferry_time::Instant;

/// The smallest burst: a few TFTP blocks or TCP segments, so that a low
/// limit does not cut a transfer into tiny writes.
pub const MIN_BURST: u64 = 4096;

/// Microseconds in a second: the bucket counts in byte-microseconds per
/// second, so no rounding drifts.
const MICROS: i128 = 1_000_000;

/// A transfer rate limit, in bytes per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimit(NonZeroU64);

impl RateLimit {
    /// A limit of `bytes` a second (`None` for 0: no limit).
    pub fn new(bytes: u64) -> Option<RateLimit> {
        NonZeroU64::new(bytes).map(RateLimit)
    }

    /// Bytes a second.
    pub fn bytes_per_second(self) -> u64 {
        self.0.get()
    }

    /// The bucket's size: a tenth of a second's worth, at least [`MIN_BURST`].
    pub fn burst(self) -> u64 {
        (self.0.get() / 10).max(MIN_BURST)
    }
}

/// Why a rate limit did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a rate: give bytes a second, such as 524288, 512K or 10M (K = 1024), above 0"
)]
pub struct RateParseError(String);

impl FromStr for RateLimit {
    type Err = RateParseError;

    /// Bytes a second, with an optional binary suffix (`K`, `M`, `G`:
    /// 1024, 1024², 1024³) and an optional `/s` or `B/s`: `524288`,
    /// `512K`, `512KiB/s`, `1M`, `10MB/s`.
    fn from_str(text: &str) -> Result<RateLimit, RateParseError> {
        let error = || RateParseError(text.to_owned());
        let trimmed = text.trim();
        let unit = trimmed
            .strip_suffix("/s")
            .unwrap_or(trimmed)
            .trim_end_matches(['B', 'b']);
        let unit = unit.strip_suffix(['i', 'I']).unwrap_or(unit);
        let (digits, scale) = match unit.char_indices().last() {
            Some((at, c)) if c.is_ascii_alphabetic() => {
                let scale: u64 = match c.to_ascii_uppercase() {
                    'K' => 1 << 10,
                    'M' => 1 << 20,
                    'G' => 1 << 30,
                    _ => return Err(error()),
                };
                (&unit[..at], scale)
            }
            _ => (unit, 1),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(error());
        }
        let value: u64 = digits.parse().map_err(|_| error())?;
        value
            .checked_mul(scale)
            .and_then(RateLimit::new)
            .ok_or_else(error)
    }
}

impl fmt::Display for RateLimit {
    /// The shortest exact form that [`FromStr`] reads back: `512K`, `3M`,
    /// or plain bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0.get();
        for (scale, suffix) in [(1u64 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")] {
            if bytes % scale == 0 {
                return write!(f, "{}{suffix}", bytes / scale);
            }
        }
        write!(f, "{bytes}")
    }
}

/// Which limit a transfer gets: the anonymous one for anonymous FTP
/// logins and for TFTP (which has no login), when there is one; the
/// general one otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimits {
    /// Every transfer (`--rate-limit`).
    pub all: Option<RateLimit>,
    /// Anonymous transfers instead (`--anon-rate-limit`).
    pub anonymous: Option<RateLimit>,
}

impl RateLimits {
    /// The limit for a transfer by an anonymous client or a named user.
    pub fn for_client(self, anonymous: bool) -> Option<RateLimit> {
        if anonymous {
            self.anonymous.or(self.all)
        } else {
            self.all
        }
    }
}

/// One transfer's token bucket.
#[derive(Debug, Clone)]
pub struct Pacer {
    /// Bytes a second.
    rate: i128,
    /// Most tokens held, in byte-microseconds per second.
    burst: i128,
    /// Tokens held (negative: debt), in byte-microseconds per second.
    tokens: i128,
    /// When `tokens` was last brought up to date.
    at: Instant,
}

impl Pacer {
    /// A full bucket for `limit`, at `now`.
    pub fn new(limit: RateLimit, now: Instant) -> Pacer {
        let burst = i128::from(limit.burst()) * MICROS;
        Pacer {
            rate: i128::from(limit.bytes_per_second()),
            burst,
            tokens: burst,
            at: now,
        }
    }

    /// A bucket for `limit` if there is one.
    pub fn maybe(limit: Option<RateLimit>, now: Instant) -> Option<Pacer> {
        limit.map(|limit| Pacer::new(limit, now))
    }

    fn refill(&mut self, now: Instant) {
        if now > self.at {
            let elapsed = i128::from(now.as_micros() - self.at.as_micros());
            self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
            self.at = now;
        }
    }

    /// Bytes that may go at `now` (0 while in debt).
    pub fn available(&mut self, now: Instant) -> u64 {
        self.refill(now);
        u64::try_from(self.tokens.max(0) / MICROS).unwrap_or(u64::MAX)
    }

    /// Whether a piece of `want` bytes may go at `now`: the bucket holds
    /// that much, or as much as it can hold at all (a piece larger than
    /// the burst goes on a full bucket, and leaves a debt).
    pub fn may_send(&mut self, now: Instant, want: u64) -> bool {
        self.refill(now);
        self.tokens >= self.need(want)
    }

    /// How much of a piece of at most `max` bytes may go at `now`: `Ok`
    /// with the bytes (a whole burst, or `max` if less: no trickle of
    /// tiny pieces), or `Err` with when to ask again.
    pub fn grant(&mut self, now: Instant, max: u64) -> Result<u64, Instant> {
        if self.may_send(now, max) {
            Ok(self.available(now).min(max).max(1))
        } else {
            Err(self.ready_at(now, max))
        }
    }

    /// `n` bytes went (perhaps more than [`available`](Self::available)).
    pub fn spend(&mut self, n: u64) {
        self.tokens -= i128::from(n) * MICROS;
    }

    /// When a piece of `want` bytes may go (see [`may_send`](Self::may_send)):
    /// `now` or later. `want` 1 gives the end of a debt.
    pub fn ready_at(&mut self, now: Instant, want: u64) -> Instant {
        self.refill(now);
        let missing = self.need(want) - self.tokens;
        if missing <= 0 {
            return now;
        }
        // Rounded up: at that microsecond the tokens are there. Counted
        // from the bucket's own time, should `now` be older.
        let micros = (missing + self.rate - 1) / self.rate;
        let base = now.as_micros().max(self.at.as_micros());
        Instant::from_micros(base.saturating_add(micros as u64))
    }

    fn need(&self, want: u64) -> i128 {
        (i128::from(want.max(1)) * MICROS).min(self.burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_ms(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn limit(bytes: u64) -> RateLimit {
        RateLimit::new(bytes).unwrap()
    }

    #[test]
    fn a_full_bucket_gives_its_burst_then_the_rate() {
        let rate = limit(100_000);
        assert_eq!(rate.burst(), 10_000);
        let mut pacer = Pacer::new(rate, at_ms(0));
        assert_eq!(pacer.available(at_ms(0)), 10_000);
        pacer.spend(10_000);
        assert_eq!(pacer.available(at_ms(0)), 0);
        // 100 bytes a millisecond.
        assert_eq!(pacer.available(at_ms(25)), 2_500);
        assert_eq!(pacer.ready_at(at_ms(25), 5_000), at_ms(50));
        // Never more than the burst, however long it waited.
        assert_eq!(pacer.available(at_ms(10_000)), 10_000);
    }

    #[test]
    fn a_piece_larger_than_the_burst_leaves_a_debt() {
        let mut pacer = Pacer::new(limit(100_000), at_ms(0));
        // A 65464-byte TFTP block on a 10,000-byte bucket: it goes on a
        // full bucket, and the debt takes 554.64 ms to pay.
        assert!(pacer.may_send(at_ms(0), 65_464));
        pacer.spend(65_464);
        assert_eq!(pacer.available(at_ms(100)), 0);
        assert!(!pacer.may_send(at_ms(100), 65_464));
        assert_eq!(pacer.ready_at(at_ms(100), 1), Instant::from_micros(554_650));
        // The next block waits for the bucket to be full again.
        assert_eq!(
            pacer.ready_at(at_ms(100), 65_464),
            Instant::from_micros(654_640)
        );
        assert!(pacer.may_send(Instant::from_micros(654_640), 65_464));
    }

    #[test]
    fn over_a_long_run_the_rate_holds() {
        // 512 KiB at 256 KiB/s in 64 KiB pieces: every wait as told.
        let mut pacer = Pacer::new(limit(256 * 1024), at_ms(0));
        let (mut now, mut sent) = (at_ms(0), 0u64);
        while sent < 512 * 1024 {
            let want = (512 * 1024 - sent).min(64 * 1024);
            let n = pacer.available(now).min(want);
            if n == 0 {
                now = pacer.ready_at(now, want);
                continue;
            }
            pacer.spend(n);
            sent += n;
        }
        // All but the first burst (26,214 bytes) at the rate: 1.9 s.
        let took = now.as_micros();
        assert!((1_890_000..=1_910_000).contains(&took), "{took}");
    }

    #[test]
    fn a_grant_is_a_whole_burst_or_a_time() {
        let mut pacer = Pacer::new(limit(100_000), at_ms(0));
        assert_eq!(pacer.grant(at_ms(0), 256 * 1024), Ok(10_000));
        pacer.spend(10_000);
        // 2,500 bytes are there after 25 ms: not enough for a burst.
        assert_eq!(pacer.grant(at_ms(25), 256 * 1024), Err(at_ms(100)));
        // A small piece goes as soon as its bytes are there.
        assert_eq!(pacer.grant(at_ms(25), 1_000), Ok(1_000));
        assert_eq!(pacer.grant(at_ms(100), 256 * 1024), Ok(10_000));
    }

    proptest::proptest! {
        #[test]
        fn no_run_of_grants_beats_the_rate(
            rate in 1u64..10_000_000,
            steps in proptest::collection::vec((0u64..200_000, 1u64..300_000), 1..200),
        ) {
            let limit = limit(rate);
            let mut pacer = Pacer::new(limit, Instant::ZERO);
            let (mut now, mut sent, mut largest) = (0u64, 0u64, 0u64);
            for (advance, want) in steps {
                now += advance;
                match pacer.grant(Instant::from_micros(now), want) {
                    Ok(n) => {
                        proptest::prop_assert!(n >= 1 && n <= want);
                        pacer.spend(n);
                        sent += n;
                        largest = largest.max(n);
                    }
                    Err(at) => {
                        // At the time given, the piece may go.
                        proptest::prop_assert!(at.as_micros() > now);
                        proptest::prop_assert!(pacer.clone().grant(at, want).is_ok());
                    }
                }
                // The burst, the rate's worth since the start, and no more.
                let allowed = u128::from(limit.burst()) + u128::from(rate) * u128::from(now) / 1_000_000;
                proptest::prop_assert!(u128::from(sent) <= allowed + u128::from(largest));
            }
        }
    }

    #[test]
    fn time_going_backwards_changes_nothing() {
        let mut pacer = Pacer::new(limit(10_000), at_ms(1_000));
        pacer.spend(4_096);
        assert_eq!(pacer.available(at_ms(500)), 0);
        assert_eq!(pacer.available(at_ms(1_100)), 1_000);
    }

    #[test]
    fn rates_parse_with_binary_suffixes_and_print_back() {
        for (text, bytes) in [
            ("524288", 524_288),
            ("512K", 524_288),
            ("512k", 524_288),
            ("512KiB/s", 524_288),
            ("512KB/s", 524_288),
            ("1M", 1 << 20),
            ("10MB/s", 10 << 20),
            ("2G", 2 << 30),
            ("1000/s", 1000),
            ("1000B/s", 1000),
        ] {
            let rate: RateLimit = text.parse().unwrap();
            assert_eq!(rate.bytes_per_second(), bytes, "{text}");
            assert_eq!(rate.to_string().parse::<RateLimit>().unwrap(), rate);
        }
        assert_eq!(limit(524_288).to_string(), "512K");
        assert_eq!(limit(1000).to_string(), "1000");
        for bad in [
            "",
            "0",
            "0K",
            "K",
            "-5",
            "1.5M",
            "12T",
            "1 M x",
            "99999999999999G",
        ] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad}");
        }
    }

    #[test]
    fn anonymous_clients_get_their_own_limit_or_the_general_one() {
        let limits = RateLimits {
            all: Some(limit(1000)),
            anonymous: Some(limit(10)),
        };
        assert_eq!(limits.for_client(true), Some(limit(10)));
        assert_eq!(limits.for_client(false), Some(limit(1000)));
        let only_all = RateLimits {
            anonymous: None,
            ..limits
        };
        assert_eq!(only_all.for_client(true), Some(limit(1000)));
        let only_anon = RateLimits {
            all: None,
            ..limits
        };
        assert_eq!(only_anon.for_client(false), None);
    }
}

//! The options of RFC 2347 as typed values: blksize (RFC 2348), timeout and
//! tsize (RFC 2349), windowsize (RFC 7440).

/// Smallest block size RFC 2348 allows.
pub const MIN_BLKSIZE: u16 = 8;
/// Largest block size RFC 2348 allows (fits an IPv4 datagram of 65535 bytes).
pub const MAX_BLKSIZE: u16 = 65464;
/// Block size when none is negotiated (RFC 1350).
pub const DEFAULT_BLKSIZE: u16 = 512;

/// The options a request, or an OACK, carries.
///
/// Unknown options are counted, not kept: a server ignores them (RFC 2347),
/// and a client treats any in an OACK as a negotiation failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Options {
    /// Block size in bytes, 8..=65464.
    pub blksize: Option<u16>,
    /// Retransmission timeout in seconds, 1..=255.
    pub timeout: Option<u8>,
    /// Transfer size in bytes (0 in a read request asks the server for it).
    pub tsize: Option<u64>,
    /// Blocks per window, 1..=65535.
    pub windowsize: Option<u16>,
    /// How many options with names this crate does not know were present.
    pub unknown: u16,
}

impl Options {
    /// True when no known option is present.
    pub fn is_empty(&self) -> bool {
        self.blksize.is_none()
            && self.timeout.is_none()
            && self.tsize.is_none()
            && self.windowsize.is_none()
    }

    /// The known options as (name, value) pairs, in wire order.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&str, u64)) {
        if let Some(v) = self.blksize {
            f("blksize", u64::from(v));
        }
        if let Some(v) = self.timeout {
            f("timeout", u64::from(v));
        }
        if let Some(v) = self.tsize {
            f("tsize", v);
        }
        if let Some(v) = self.windowsize {
            f("windowsize", u64::from(v));
        }
    }

    /// Record one option from the wire. Names are case-insensitive.
    pub(crate) fn set(&mut self, name: &[u8], value: &[u8]) -> Result<(), OptionError> {
        let known = ["blksize", "timeout", "tsize", "windowsize"]
            .iter()
            .position(|k| name.eq_ignore_ascii_case(k.as_bytes()));
        let Some(which) = known else {
            self.unknown = self.unknown.saturating_add(1);
            return Ok(());
        };
        let number = parse_decimal(value).ok_or(OptionError::Malformed)?;
        let duplicate = match which {
            0 => self
                .blksize
                .replace(in_range(number, MIN_BLKSIZE.into(), MAX_BLKSIZE.into())? as u16)
                .is_some(),
            1 => self
                .timeout
                .replace(in_range(number, 1, 255)? as u8)
                .is_some(),
            2 => self.tsize.replace(number).is_some(),
            _ => self
                .windowsize
                .replace(in_range(number, 1, 65535)? as u16)
                .is_some(),
        };
        if duplicate {
            Err(OptionError::Duplicate)
        } else {
            Ok(())
        }
    }
}

/// Why one option could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OptionError {
    Malformed,
    Duplicate,
}

fn in_range(n: u64, lo: u64, hi: u64) -> Result<u64, OptionError> {
    if (lo..=hi).contains(&n) {
        Ok(n)
    } else {
        Err(OptionError::Malformed)
    }
}

/// Plain ASCII decimal, 1 to 20 digits, no sign, no spaces.
fn parse_decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 20 {
        return None;
    }
    text.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

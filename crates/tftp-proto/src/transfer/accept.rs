//! The server's request port: classify the first datagram of a transfer
//! and decide which options to accept.

use alloc::boxed::Box;
use core::net::SocketAddr;

use super::{windows_within, Transfer, TransferConfig, MAX_WINDOW_BYTES};
use crate::error_code::ErrorCode;
use crate::options::{Options, DEFAULT_BLKSIZE, MAX_BLKSIZE, MIN_BLKSIZE};
use crate::packet::{opcode, Mode, Packet, ParseError, Request};
use crate::time::Instant;

/// Default [`ServerPolicy::window_budget`]: the receive buffer a Linux UDP
/// socket gets unless its owner asks for more (`net.core.rmem_default`).
pub const DEFAULT_WINDOW_BUDGET: usize = 212_992;

/// What one DATA datagram of `blksize` payload bytes costs a Linux
/// receiver's socket buffer: the kernel charges the buffer it allocated
/// (the skb's truesize), not the payload.
///
/// Measured on Linux 6.x loopback by filling a socket with a default
/// buffer without reading it: 516-byte datagrams cost 1,280 bytes each,
/// 1,472 cost 2,304, 8,196 cost 16,640 (the buffer is one allocation,
/// rounded up to a power of two, plus the 256-byte `sk_buff`); from about
/// 16 KiB the payload goes to pages and costs its size plus 832. A socket
/// holds datagrams while their total stays within its buffer size.
pub fn datagram_cost(blksize: u16) -> usize {
    // The UDP payload: a 4-byte DATA header, then the block.
    let payload = usize::from(blksize) + 4;
    // UDP and IPv4 headers plus link-layer headroom, in the buffer itself.
    let in_buffer = payload + 8 + 20 + 31;
    // Below this the datagram is one allocation holding the headers and
    // `skb_shared_info` (320 bytes); above it the payload goes to pages.
    const SINGLE_ALLOCATION: usize = 16 * 1024 - 320;
    if in_buffer < SINGLE_ALLOCATION {
        (in_buffer + 320).next_power_of_two() + 256
    } else {
        payload + 832
    }
}

/// What the embedder allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerPolicy {
    /// Accept write requests at all.
    pub allow_write: bool,
    /// Largest block size granted (RFC 2348 caps it at 65464).
    pub max_blksize: u16,
    /// Largest window granted (RFC 7440).
    pub max_windowsize: u16,
    /// Receive-buffer memory one window of a read may take at the client,
    /// counted as a kernel counts it (see [`datagram_cost`]), not as
    /// payload. A read request whose window would need more is granted a
    /// smaller windowsize in the OACK (RFC 7440 §3 lets the server answer a
    /// smaller value): a window that overflows the client's buffer loses
    /// its tail, and a lost tail is only noticed when a timer expires.
    /// The default is Linux's `net.core.rmem_default` (212,992 bytes);
    /// `usize::MAX` grants whatever `max_windowsize` allows.
    pub window_budget: usize,
    /// Timing of every transfer this server runs.
    pub transfer: TransferConfig,
}

impl Default for ServerPolicy {
    fn default() -> Self {
        ServerPolicy {
            allow_write: false,
            max_blksize: MAX_BLKSIZE,
            max_windowsize: 64,
            window_budget: DEFAULT_WINDOW_BUDGET,
            transfer: TransferConfig::default(),
        }
    }
}

/// Read or write, from the client's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// RRQ: the client reads, the server sends.
    Read,
    /// WRQ: the client writes, the server receives.
    Write,
}

/// A request the server may serve once the file is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted<'a> {
    /// Read or write.
    pub kind: RequestKind,
    /// The request itself.
    pub request: Request<'a>,
}

/// Classify the first datagram from `peer` on the request port.
///
/// - `Ok(accepted)`: open the file (or create the upload), then build
///   [`Transfer::server_read`] or [`Transfer::server_write`].
/// - `Err(Some(transfer))`: refused; run the returned transfer, which sends
///   one ERROR to the peer and closes.
/// - `Err(None)`: not a request (a stray DATA, ACK...): ignore it.
pub fn accept_request<'a>(
    policy: &ServerPolicy,
    peer: SocketAddr,
    bytes: &'a [u8],
    now: Instant,
) -> Result<Accepted<'a>, Option<Box<Transfer>>> {
    let refuse = |code, text: &str| Err(Some(Box::new(Transfer::refusal(peer, code, text, now))));
    let (kind, request) = match Packet::parse(bytes) {
        Ok(Packet::Rrq(r)) => (RequestKind::Read, r),
        Ok(Packet::Wrq(r)) => (RequestKind::Write, r),
        Ok(_) => return Err(None),
        Err(e) => {
            let op = bytes.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]]));
            if !matches!(op, Some(opcode::RRQ | opcode::WRQ)) {
                return Err(None);
            }
            return match e {
                // RFC 2347: a request with options the server cannot accept
                // is answered with error 8.
                ParseError::DuplicateOption | ParseError::MalformedOption => {
                    refuse(ErrorCode::OptionNegotiation, "Invalid or duplicate option")
                }
                ParseError::UnknownMode => {
                    refuse(ErrorCode::IllegalOperation, "Unknown transfer mode")
                }
                _ => refuse(ErrorCode::IllegalOperation, "Malformed request"),
            };
        }
    };
    if request.mode == Mode::Mail {
        return refuse(ErrorCode::IllegalOperation, "Mail mode is not supported");
    }
    if kind == RequestKind::Write && !policy.allow_write {
        return refuse(
            ErrorCode::AccessViolation,
            "Writes are not allowed on this server",
        );
    }
    Ok(Accepted { kind, request })
}

impl ServerPolicy {
    /// The options this server acknowledges for `request`; unknown options
    /// are ignored (RFC 2347), values are only ever narrowed.
    pub(crate) fn negotiate(
        &self,
        kind: RequestKind,
        request: &Request<'_>,
        file_size: Option<u64>,
    ) -> Options {
        let asked = &request.options;
        let granted_blksize = asked
            .blksize
            .map(|b| b.min(self.max_blksize.max(MIN_BLKSIZE)));
        let blksize = granted_blksize.unwrap_or(DEFAULT_BLKSIZE);
        Options {
            blksize: granted_blksize,
            windowsize: asked.windowsize.map(|w| {
                let w = w.min(self.max_windowsize.max(1));
                match kind {
                    RequestKind::Read => w
                        .min(self.windows_within_budget(blksize))
                        .min(windows_within(MAX_WINDOW_BYTES, blksize)),
                    // This side receives: its own socket buffer is its
                    // driver's business, not the peer's limit.
                    RequestKind::Write => w,
                }
            }),
            timeout: asked.timeout,
            tsize: match kind {
                // RFC 2349: the reader asks with 0; the size is only known
                // in advance for octet transfers.
                // An empty file's size is left out: curl rejects an OACK
                // with tsize 0 as invalid, and the option is optional.
                RequestKind::Read => asked
                    .tsize
                    .and(file_size)
                    .filter(|&size| size > 0 && request.mode == Mode::Octet),
                RequestKind::Write => asked.tsize,
            },
            unknown: 0,
        }
    }

    /// The largest window of `blksize` blocks whose datagrams all fit
    /// [`ServerPolicy::window_budget`] at once; never less than one block.
    fn windows_within_budget(&self, blksize: u16) -> u16 {
        let blocks = self.window_budget / datagram_cost(blksize);
        u16::try_from(blocks).unwrap_or(u16::MAX).max(1)
    }
}

//! The server's request port: classify the first datagram of a transfer
//! and decide which options to accept.

use alloc::boxed::Box;
use core::net::SocketAddr;

use super::{Transfer, TransferConfig};
use crate::error_code::ErrorCode;
use crate::options::{Options, MAX_BLKSIZE, MIN_BLKSIZE};
use crate::packet::{opcode, Mode, Packet, ParseError, Request};
use crate::time::Instant;

/// What the embedder allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerPolicy {
    /// Accept write requests at all.
    pub allow_write: bool,
    /// Largest block size granted (RFC 2348 caps it at 65464).
    pub max_blksize: u16,
    /// Largest window granted (RFC 7440).
    pub max_windowsize: u16,
    /// Timing of every transfer this server runs.
    pub transfer: TransferConfig,
}

impl Default for ServerPolicy {
    fn default() -> Self {
        ServerPolicy {
            allow_write: false,
            max_blksize: MAX_BLKSIZE,
            max_windowsize: 64,
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
        Options {
            blksize: asked
                .blksize
                .map(|b| b.min(self.max_blksize.max(MIN_BLKSIZE))),
            windowsize: asked.windowsize.map(|w| w.min(self.max_windowsize.max(1))),
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
}

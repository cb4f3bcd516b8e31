//! The one loop that runs a [`Transfer`] over a blocking UDP socket.
//!
//! Server and client share it; what differs is the [`Local`] end (a file
//! from storage, an upload, a download target). The loop only moves bytes:
//! datagrams in, transmits out, file bytes to and from the machine, and it
//! sleeps until the machine's next deadline.

use std::io;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tftp_proto::transfer::{Event, LocalError, Negotiated, Summary, Transfer, TransferError};

use super::outbox::Outbox;
use crate::clock;

/// Largest datagram a TFTP peer may send us: a DATA of the largest block
/// size (RFC 2348: 65464) plus its 4-byte header, rounded up.
pub(crate) const RECV_BUFFER: usize = 65536;

/// Longest single sleep, so a stop request is noticed promptly even while
/// the machine waits out a long retransmission timeout.
const MAX_SLEEP: Duration = Duration::from_millis(250);

/// A local failure, told to the machine (which tells the peer) and kept
/// for the caller.
#[derive(Debug)]
pub(crate) struct LocalFailure {
    /// What the peer is told, as a TFTP error code class.
    pub error: LocalError,
    /// The ERROR packet's text.
    pub message: String,
    /// The local cause, for our own report.
    pub cause: Option<io::Error>,
}

impl LocalFailure {
    pub(crate) fn new(error: LocalError, message: impl Into<String>) -> Self {
        LocalFailure {
            error,
            message: message.into(),
            cause: None,
        }
    }
}

/// The local end of a transfer: where data comes from or goes to.
pub(crate) trait Local {
    /// The options in force are known.
    fn negotiated(&mut self, _negotiated: &Negotiated) {}

    /// Fill `buf` completely from the source; fewer bytes only at its end.
    fn read_block(&mut self, _buf: &mut [u8]) -> Result<usize, LocalFailure> {
        Err(LocalFailure::new(LocalError::Other, "nothing to send"))
    }

    /// Append the next bytes of the file.
    fn write_data(&mut self, _data: &[u8]) -> Result<(), LocalFailure> {
        Err(LocalFailure::new(LocalError::Other, "nothing to receive"))
    }

    /// The transfer completed: make the result durable (commit an upload).
    fn finish(&mut self) -> Result<(), LocalFailure> {
        Ok(())
    }

    /// The transfer failed: throw partial data away.
    fn discard(&mut self) {}
}

/// How a transfer ended.
#[derive(Debug)]
pub(crate) struct Report {
    /// The options in force, if negotiation got that far.
    pub negotiated: Option<Negotiated>,
    /// The machine's verdict.
    pub result: Result<Summary, TransferError>,
    /// A local failure that caused (or, after completion, spoiled) it.
    pub local: Option<LocalFailure>,
}

/// Sets the socket's receive timeout only when the wanted sleep differs
/// enough from the one in force: a `setsockopt` per packet would cost as
/// much as the packet. Waking a little early is harmless (the loop checks
/// the deadline again); waking a little late only delays a retransmission.
struct ReadTimeout {
    current: Option<Duration>,
}

impl ReadTimeout {
    fn arm(&mut self, socket: &UdpSocket, wait: Duration) -> io::Result<()> {
        let wait = wait.clamp(Duration::from_micros(100), MAX_SLEEP);
        let acceptable = match self.current {
            Some(current) => {
                let slack = (wait / 8).max(Duration::from_millis(1));
                current >= wait / 2 && current <= wait + slack
            }
            None => false,
        };
        if !acceptable {
            socket.set_read_timeout(Some(wait))?;
            self.current = Some(wait);
        }
        Ok(())
    }
}

/// A request, from another thread, to end a transfer early.
#[derive(Clone, Copy)]
pub(crate) struct Stop<'a> {
    /// Set to stop.
    pub flag: &'a AtomicBool,
    /// The ERROR text the peer gets.
    pub message: &'static str,
}

/// Buffers one transfer needs, allocated once.
pub(crate) struct Buffers {
    recv: Vec<u8>,
    block: Vec<u8>,
    outbox: Outbox,
}

impl Buffers {
    pub(crate) fn new() -> Self {
        Buffers {
            recv: vec![0; RECV_BUFFER],
            block: Vec::new(),
            outbox: Outbox::new(),
        }
    }
}

/// Run `transfer` to its end over `socket`, with `local` as the file side.
///
/// `stop`, once its flag is set, makes the transfer abort cleanly (the peer
/// gets an ERROR, partial data is discarded).
pub(crate) fn drive<L: Local>(
    socket: &UdpSocket,
    transfer: &mut Transfer,
    local: &mut L,
    buffers: &mut Buffers,
    stop: Option<Stop<'_>>,
) -> io::Result<Report> {
    let mut timeout = ReadTimeout { current: None };
    let mut negotiated = None;
    let mut result = None;
    let mut local_failure: Option<LocalFailure> = None;
    let mut stopping = false;

    loop {
        // 1. Events: every input may produce some; answer them at once.
        //    Drain events and transmits until neither has anything left:
        //    a sender asks for read-ahead data only once its round is sent.
        let mut busy = true;
        while busy {
            busy = false;
            while let Some(event) = transfer.poll_event() {
                busy = true;
                match event {
                    Event::Negotiated(n) => {
                        local.negotiated(&n);
                        negotiated = Some(n);
                    }
                    Event::NeedData { max_len } => {
                        if buffers.block.len() < max_len {
                            buffers.block.resize(max_len, 0);
                        }
                        let now = clock::now();
                        match local.read_block(&mut buffers.block[..max_len]) {
                            Ok(n) => transfer.provide_data(now, &buffers.block[..n]),
                            Err(failure) => {
                                transfer.abort(now, failure.error, &failure.message);
                                local_failure.get_or_insert(failure);
                            }
                        }
                    }
                    Event::Data(bytes) => {
                        if let Err(failure) = local.write_data(bytes) {
                            transfer.abort(clock::now(), failure.error, &failure.message);
                            local_failure.get_or_insert(failure);
                        }
                    }
                    Event::Finished(summary) if result.is_none() => {
                        if let Err(failure) = local.finish() {
                            transfer.abort(clock::now(), failure.error, &failure.message);
                            local_failure.get_or_insert(failure);
                        }
                        result = Some(Ok(summary));
                    }
                    Event::Failed(error) => {
                        local.discard();
                        if result.is_none() {
                            result = Some(Err(error));
                        }
                    }
                    // A second verdict, or events this driver does not know.
                    _ => {}
                }
            }

            // 2. Transmits, a window's worth sent together where possible.
            while let Some(transmit) = transfer.poll_transmit() {
                busy = true;
                buffers.outbox.push(socket, transmit.to, transmit.payload);
            }
            buffers.outbox.flush(socket);
        }

        if transfer.is_closed() {
            break;
        }
        if let Some(stop) = stop.filter(|s| !stopping && s.flag.load(Ordering::Relaxed)) {
            stopping = true;
            transfer.abort(clock::now(), LocalError::Other, stop.message);
            continue;
        }

        // 3. Sleep until the next datagram or the machine's deadline.
        let Some(deadline) = transfer.poll_timeout() else {
            break;
        };
        let now = clock::now();
        if now >= deadline {
            transfer.handle_timeout(now);
            continue;
        }
        if let Err(err) = timeout.arm(socket, clock::until(now, deadline)) {
            local.discard();
            return Err(err);
        }
        match socket.recv_from(&mut buffers.recv) {
            Ok((len, from)) => {
                transfer.handle_datagram(clock::now(), from, &buffers.recv[..len]);
            }
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                let now = clock::now();
                if now >= deadline {
                    transfer.handle_timeout(now);
                }
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            // An ICMP error reported on the socket (port unreachable...):
            // the peer may still come back; let the timers decide.
            Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => {}
            Err(err) => {
                local.discard();
                return Err(err);
            }
        }
    }

    // A machine closes only after Finished or Failed; if it somehow did
    // not say which, the transfer did not complete.
    let result = result.unwrap_or(Err(TransferError::Protocol(
        "transfer closed without an outcome",
    )));
    if result.is_err() {
        local.discard();
    }
    Ok(Report {
        negotiated,
        result,
        local: local_failure,
    })
}

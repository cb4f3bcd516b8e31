//! A TFTP download over a smoltcp UDP socket, with no `std`: how a
//! firmware updater fetches its image with `tftp-proto`.
//!
//! [`Download`] owns one [`Transfer`] (`client_get`) and the image as it
//! arrives. The application polls smoltcp's interface as usual and calls
//! [`Download::poll`] after each interface poll: it feeds every datagram
//! waiting on the socket and the timer to the machine, then drains events
//! and transmits until both are empty (the drive rule). It sleeps until
//! the interface has work or [`Download::poll_at`].
//!
//! The socket must be bound to a local port: that port is the client's
//! transfer ID (RFC 1350 §4). Datagrams the socket cannot queue are lost
//! like any other, and the machine's retransmission covers them.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr, SocketAddrV4};

use smoltcp::socket::udp;
use smoltcp::wire::IpEndpoint;
use tftp_proto::transfer::{Event, LocalError, Summary, Transfer, TransferConfig, TransferError};
use tftp_proto::{Mode, Options};

/// smoltcp's time as the machine's: microseconds, with smoltcp's epoch.
/// (smoltcp allows instants before its epoch; the machine does not.)
pub fn to_proto(now: smoltcp::time::Instant) -> tftp_proto::Instant {
    tftp_proto::Instant::from_micros(now.total_micros().max(0) as u64)
}

/// The machine's time as smoltcp's.
pub fn to_smoltcp(at: tftp_proto::Instant) -> smoltcp::time::Instant {
    smoltcp::time::Instant::from_micros(at.as_micros().min(i64::MAX as u64) as i64)
}

fn to_socket_addr(endpoint: IpEndpoint) -> SocketAddr {
    SocketAddr::new(IpAddr::from(endpoint.addr), endpoint.port)
}

/// One file fetched into memory (a real updater would write each block
/// to flash as it comes: see [`Event::Data`]).
#[derive(Debug)]
pub struct Download {
    transfer: Transfer,
    image: Vec<u8>,
    max_len: usize,
    result: Option<Result<Summary, TransferError>>,
}

impl Download {
    /// Starts fetching `filename` from the TFTP server at `server`
    /// (its request port, usually 69). An image longer than `max_len`
    /// bytes is refused part-way with TFTP error 3 (disk full).
    pub fn new(
        server: SocketAddrV4,
        filename: &str,
        options: Options,
        max_len: usize,
        now: smoltcp::time::Instant,
    ) -> Download {
        let transfer = Transfer::client_get(
            &TransferConfig::default(),
            SocketAddr::V4(server),
            filename,
            Mode::Octet,
            options,
            to_proto(now),
        );
        Download {
            transfer,
            image: Vec::new(),
            max_len,
            result: None,
        }
    }

    /// Runs the machine on what `socket` holds and what time it is, then
    /// queues whatever it has to send on `socket`. Call after every
    /// `Interface::poll`.
    pub fn poll(&mut self, now: smoltcp::time::Instant, socket: &mut udp::Socket<'_>) {
        let at = to_proto(now);
        if self.transfer.poll_timeout().is_some_and(|t| at >= t) {
            self.transfer.handle_timeout(at);
            self.drain(at, socket);
        }
        while let Ok((bytes, meta)) = socket.recv() {
            self.transfer
                .handle_datagram(at, to_socket_addr(meta.endpoint), bytes);
            self.drain(at, socket);
        }
        self.drain(at, socket);
    }

    /// Events, then transmits, until neither has anything.
    fn drain(&mut self, now: tftp_proto::Instant, socket: &mut udp::Socket<'_>) {
        loop {
            let mut busy = false;
            let mut overflow = false;
            while let Some(event) = self.transfer.poll_event() {
                busy = true;
                match event {
                    Event::Data(bytes) if self.image.len() + bytes.len() > self.max_len => {
                        overflow = true;
                    }
                    Event::Data(bytes) => self.image.extend_from_slice(bytes),
                    Event::Finished(summary) => self.result = Some(Ok(summary)),
                    Event::Failed(error) => self.result = Some(Err(error)),
                    _ => {}
                }
                if overflow {
                    break;
                }
            }
            if overflow {
                self.image.clear();
                self.transfer
                    .abort(now, LocalError::DiskFull, "image too large");
            }
            while let Some(transmit) = self.transfer.poll_transmit() {
                busy = true;
                let to = IpEndpoint::from(match transmit.to {
                    SocketAddr::V4(v4) => v4,
                    // An IPv4-only stack never learns an IPv6 peer.
                    SocketAddr::V6(_) => continue,
                });
                // A full buffer loses the datagram; the timer resends it.
                let _ = socket.send_slice(transmit.payload, to);
            }
            if !busy {
                return;
            }
        }
    }

    /// When to poll again at the latest, if nothing arrives first.
    pub fn poll_at(&self) -> Option<smoltcp::time::Instant> {
        self.transfer.poll_timeout().map(to_smoltcp)
    }

    /// True when the transfer has nothing left to send or wait for (a
    /// finished download still dallies a moment to re-acknowledge a
    /// repeated last block).
    pub fn is_closed(&self) -> bool {
        self.transfer.is_closed()
    }

    /// How the transfer ended, once it has.
    pub fn result(&self) -> Option<&Result<Summary, TransferError>> {
        self.result.as_ref()
    }

    /// The image so far; complete once [`Download::result`] is `Ok`.
    pub fn image(&self) -> &[u8] {
        &self.image
    }
}

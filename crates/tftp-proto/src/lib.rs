//! Sans-IO TFTP (RFC 1350, with options: RFC 2347, 2348, 2349, 7440).
//!
//! Nothing here touches a socket, a file or a clock. A
//! [`Transfer`](transfer::Transfer) is one transfer, in either role and
//! either direction: it takes datagrams and the time in, and hands out
//! datagrams to send, events for the driver, and its next deadline. The
//! driver owns the sockets, the files and the clock.
//!
//! # The drive loop
//!
//! Both ends of a download, in one process, with the network a queue
//! and time a number: the same loop runs a transfer over blocking
//! sockets, tokio, mio or smoltcp (the workspace's `examples/` has each).
//!
//! ```
//! use std::collections::VecDeque;
//! use core::net::SocketAddr;
//! use tftp_proto::transfer::{accept_request, Event, ServerPolicy, Transfer, TransferConfig};
//! use tftp_proto::{Instant, Mode, Options};
//!
//! type Wire = VecDeque<(SocketAddr, SocketAddr, Vec<u8>)>; // (from, to, datagram)
//!
//! /// The drive rule, for either role: drain events and transmits until
//! /// both are empty. A sender reads from `file`, a receiver appends to `got`.
//! fn drain(t: &mut Transfer, now: Instant, me: SocketAddr,
//!          file: &mut &[u8], got: &mut Vec<u8>, wire: &mut Wire) {
//!     loop {
//!         let mut busy = false;
//!         while let Some(event) = t.poll_event() {
//!             busy = true;
//!             match event {
//!                 Event::NeedData { max_len } => {
//!                     let (chunk, rest) = file.split_at(max_len.min(file.len()));
//!                     *file = rest;
//!                     t.provide_data(now, chunk); // short: the file ends here
//!                 }
//!                 Event::Data(bytes) => got.extend_from_slice(bytes),
//!                 Event::Finished(_) => { /* a receiver commits its file */ }
//!                 Event::Failed(_) => { /* a receiver discards its file */ }
//!                 _ => {}
//!             }
//!         }
//!         while let Some(datagram) = t.poll_transmit() {
//!             busy = true;
//!             wire.push_back((me, datagram.to, datagram.payload.to_vec()));
//!         }
//!         if !busy {
//!             return;
//!         }
//!     }
//! }
//!
//! let client: SocketAddr = "192.0.2.10:40000".parse().unwrap();
//! let request_port: SocketAddr = "192.0.2.1:69".parse().unwrap();
//! let server_tid: SocketAddr = "192.0.2.1:50001".parse().unwrap(); // a new socket
//! let image: Vec<u8> = (0..1500u32).map(|i| i as u8).collect();
//! let policy = ServerPolicy::default();
//! let mut now = Instant::ZERO;
//!
//! let options = Options { blksize: Some(1024), tsize: Some(0), ..Options::default() };
//! let mut get = Transfer::client_get(&TransferConfig::default(), request_port,
//!                                    "image.bin", Mode::Octet, options, now);
//! let mut serve: Option<Transfer> = None;
//! let (mut file, mut got, mut wire) = (&image[..], Vec::new(), Wire::new());
//! loop {
//!     drain(&mut get, now, client, &mut &[][..], &mut got, &mut wire);
//!     if let Some(serve) = serve.as_mut() {
//!         drain(serve, now, server_tid, &mut file, &mut Vec::new(), &mut wire);
//!     }
//!     // Sleep until the next datagram or the earliest poll_timeout.
//!     if let Some((from, to, bytes)) = wire.pop_front() {
//!         if to == request_port {
//!             // The request port only classifies; the transfer gets a socket
//!             // of its own, whose port is its transfer ID (RFC 1350 §4).
//!             let accepted = accept_request(&policy, from, &bytes, now).expect("an RRQ");
//!             let size = Some(image.len() as u64);
//!             serve = Some(Transfer::server_read(&policy, from, &accepted.request, size, now));
//!         } else if to == server_tid {
//!             serve.as_mut().unwrap().handle_datagram(now, from, &bytes);
//!         } else {
//!             get.handle_datagram(now, from, &bytes);
//!         }
//!         continue;
//!     }
//!     if get.is_closed() && serve.as_ref().map_or(true, Transfer::is_closed) {
//!         break;
//!     }
//!     now = [get.poll_timeout(), serve.as_ref().and_then(Transfer::poll_timeout)]
//!         .into_iter().flatten().min().expect("an open transfer has a deadline");
//!     get.handle_timeout(now);
//!     if let Some(serve) = serve.as_mut() {
//!         serve.handle_timeout(now);
//!     }
//! }
//! assert_eq!(got, image);
//! ```
//!
//! The rule, exactly: after every input (`handle_datagram`,
//! `handle_timeout`, `provide_data`, `abort`), drain
//! [`poll_event`](transfer::Transfer::poll_event) and
//! [`poll_transmit`](transfer::Transfer::poll_transmit) until both return
//! `None`, answering events as they come (an answer is an input too); then
//! sleep until the next datagram on the transfer's socket or
//! [`poll_timeout`](transfer::Transfer::poll_timeout), and call
//! `handle_timeout(now)` when that passes. Stop once
//! [`is_closed`](transfer::Transfer::is_closed). One pass over each is
//! not enough: a sender asks for read-ahead data only once its current
//! round has been sent, and the data provided queues more datagrams.
//!
//! # What each event obliges the driver to do
//!
//! - [`Negotiated`](transfer::Event::Negotiated): nothing; the options in
//!   force (block size for buffers, `tsize` for a progress bar).
//! - [`NeedData { max_len }`](transfer::Event::NeedData) (sender): call
//!   [`provide_data`](transfer::Transfer::provide_data) with exactly the
//!   next `max_len` bytes of the file in local form, or fewer where the
//!   file ends (fewer means the end, so fill the buffer: a short read from
//!   a file is not its end). If the file cannot be read, call
//!   [`abort`](transfer::Transfer::abort).
//! - [`Data(bytes)`](transfer::Event::Data) (receiver): the next bytes of
//!   the file, in order, netascii already undone. Store them, not yet
//!   under the final name; on a local failure (disk full),
//!   [`abort`](transfer::Transfer::abort).
//! - [`Finished`](transfer::Event::Finished): the transfer is complete. A
//!   receiver commits its file now. Keep driving until `is_closed`: a
//!   receiver dallies to answer a repeated last DATA (RFC 1350 §6).
//! - [`Failed`](transfer::Event::Failed): discard what was received. Keep
//!   driving until `is_closed`: an ERROR for the peer may be queued.
//!
//! What the machine leaves to a server's driver: a request port that
//! hands each datagram to [`accept_request`](transfer::accept_request),
//! opens the file, and starts [`server_read`](transfer::Transfer::server_read),
//! [`server_write`](transfer::Transfer::server_write) or, when storage
//! says no, [`server_refuse`](transfer::Transfer::server_refuse), each
//! on a new socket (a refusal from `accept_request` is a transfer too,
//! driven the same way until it has sent its ERROR); how many transfers
//! run at once; and repeated requests. A request from a peer whose
//! transfer runs and has not said `Finished` is that client resending it
//! before our first answer arrived: ignore it, do not serve it twice.
//! Once the transfer has said `Finished` (a receiver only dallies), a
//! request from the same peer is a new one: end the old transfer and
//! admit it. A client's driver binds one socket and sends every transmit
//! to its `to`: the machine learns the server's transfer ID from its
//! first answer and answers strangers itself.
//!
//! # Layers
//!
//! - codec: [`packet`] (the six packets, typed), [`options`] (RFC 2347
//!   options), [`error_code`], [`netascii`];
//! - the machines: [`transfer`].
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod error_code;
pub mod netascii;
pub mod options;
pub mod packet;
/// Time as a plain value (the `ferry-time` crate, shared with `ftp-proto`).
pub mod time {
    pub use ferry_time::Instant;
}
pub mod transfer;

pub use error_code::ErrorCode;
pub use options::Options;
pub use packet::{BlockNumber, EncodeError, Mode, Packet, ParseError, Request};
pub use time::Instant;

//! Sans-IO FTP: RFC 959 and the extensions clients expect (FEAT/OPTS,
//! RFC 2389; EPRT/EPSV, RFC 2428; SIZE, MDTM, MLST/MLSD, REST STREAM,
//! RFC 3659; UTF-8 paths, RFC 2640; AUTH/PBSZ/PROT recognised, RFC 4217).
//!
//! Nothing here touches a socket, a file or a clock. A
//! [`server::Session`] or a [`client::Client`] takes control-connection
//! bytes and the time in, and hands out reply bytes, requests for the
//! outside world and its next deadline. A driver runs the same loop for
//! every machine: feed input, do what the events ask and report back,
//! write what `transmit()` holds, sleep until the next input or
//! `poll_timeout()`.
//!
//! ```
//! use ftp_proto::server::{Access, Config, Event, Session};
//! use ftp_proto::Instant;
//!
//! let config = Config { anonymous: Some(Access { write: false }), ..Config::default() };
//! let now = Instant::ZERO;
//! let peer = "192.0.2.7:50000".parse().unwrap();
//! let local = "192.0.2.1:21".parse().unwrap();
//! let mut session = Session::new(&config, peer, local, now);
//!
//! let mut input: &[u8] = b"USER anonymous\r\nPASS guest@\r\nSYST\r\nQUIT\r\n";
//! let mut wire = Vec::new();
//! while !session.is_closed() {
//!     let taken = session.handle_input(now, input);
//!     input = &input[taken..];
//!     while let Some(event) = session.poll_event() {
//!         // A real driver performs Event::Request and calls
//!         // session.complete(now, id, outcome); this dialogue needs none.
//!         assert!(!matches!(event, Event::Request { .. }));
//!     }
//!     wire.extend_from_slice(session.transmit());
//!     session.transmitted(session.transmit().len());
//! }
//! let replies = String::from_utf8(wire).unwrap();
//! let codes: Vec<&str> = replies.lines().map(|l| &l[..3]).collect();
//! assert_eq!(codes, ["220", "331", "230", "215", "221"]);
//! ```
//!
//! The layers, bottom up:
//!
//! - codec: [`command`] (one control line to a typed [`Command`]),
//!   [`reply`] (replies written and read, multi-line included), [`line`](mod@line)
//!   (the server's line reader: Telnet sequences, length limit);
//! - data formats the drivers apply on data connections: [`ascii`]
//!   (TYPE A conversion) and [`listing`] (LIST, NLST and MLSD lines);
//! - [`path`]: [`RootPath`], a path relative to the served root that
//!   cannot name anything outside it;
//! - the machines: [`server`] and [`client`].
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod ascii;
pub mod client;
pub mod command;
pub mod glob;
pub mod line;
pub mod listing;
pub mod path;
pub mod reply;
pub mod server;

pub use command::Command;
pub use ferry_time::Instant;
pub use path::RootPath;
pub use reply::{Reply, ReplyCode};

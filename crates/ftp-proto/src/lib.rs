//! Sans-IO FTP: RFC 959 and the extensions clients expect (FEAT/OPTS,
//! RFC 2389; EPRT/EPSV, RFC 2428; SIZE, MDTM, MLST/MLSD, REST STREAM,
//! RFC 3659; UTF-8 paths, RFC 2640; AUTH/PBSZ/PROT/CCC, RFC 4217, with the TLS
//! itself left to the driver).
//!
//! Nothing here touches a socket, a file or a clock. A
//! [`server::Session`] or a [`client::Client`] is one control connection:
//! it takes control bytes, the driver's reports and the time in, and
//! hands out control bytes to write, events for the driver and its next
//! deadline. Data-connection bytes never pass through a machine: the
//! driver moves them (with `sendfile`, TLS, anything) and reports the end.
//!
//! # The drive loop
//!
//! A client and a server talking to each other in memory, the control
//! connection a pair of byte buffers: the same loop runs each end over
//! blocking sockets, tokio or mio (the workspace's `examples/` has a
//! tokio client).
//!
//! ```
//! use ftp_proto::client::{self, Client, ClientConfig, Op, Outcome};
//! use ftp_proto::server::{self, Access, Completion, Config, Operation, Session};
//! use ftp_proto::{Instant, RootPath};
//!
//! let client_addr = "192.0.2.7:50000".parse().unwrap();
//! let server_addr = "192.0.2.1:21".parse().unwrap();
//! let now = Instant::ZERO;
//! let mut session = Session::new(&Config::default(), client_addr, server_addr, now);
//! let mut client = Client::new(&ClientConfig::default(), server_addr, now);
//! let login = Op::Login { user: "alice".into(), password: "secret".into(), account: None };
//! let mut ops = vec![Op::Quit, Op::Pwd]; // after the login, popped from the end
//! client.start(now, login).unwrap();
//!
//! let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
//! let mut outcomes = Vec::new();
//! while !(client.is_closed() && session.is_closed()) {
//!     // Server: offer the bytes it has not taken yet (it takes fewer
//!     // while a request is outstanding), then drain events and
//!     // transmit until both are empty.
//!     let taken = session.handle_input(now, &to_server);
//!     to_server.drain(..taken);
//!     loop {
//!         while let Some(event) = session.poll_event() {
//!             if let server::Event::Request { id, op } = event {
//!                 let done = match op {
//!                     Operation::Authenticate { password, .. } if password == "secret" => {
//!                         Completion::LoggedIn { home: RootPath::ROOT, access: Access { write: false } }
//!                     }
//!                     Operation::Authenticate { .. } => Completion::LoginRefused,
//!                     _ => unreachable!("this dialogue asks for nothing else"),
//!                 };
//!                 session.complete(now, id, done); // an input: drain again
//!             }
//!         }
//!         let n = session.transmit().len();
//!         if n == 0 {
//!             break;
//!         }
//!         to_client.extend_from_slice(session.transmit());
//!         session.transmitted(n);
//!     }
//!     // Client: the same, with replies in and commands out.
//!     client.handle_input(now, &to_client);
//!     to_client.clear();
//!     loop {
//!         while let Some(event) = client.poll_event() {
//!             if let client::Event::Done(result) = event {
//!                 outcomes.push(result.unwrap());
//!                 if let Some(op) = ops.pop() {
//!                     client.start(now, op).unwrap();
//!                 }
//!             }
//!         }
//!         let n = client.transmit().len();
//!         if n == 0 {
//!             break;
//!         }
//!         to_server.extend_from_slice(client.transmit());
//!         client.transmitted(n);
//!     }
//!     // A real driver sleeps here until control input arrives, a data
//!     // task ends, or the earliest poll_timeout (then handle_timeout).
//! }
//! assert_eq!(outcomes, [Outcome::Ok, Outcome::Path("/".into()), Outcome::Ok]);
//! ```
//!
//! The rule, exactly: after every input — control bytes
//! (`handle_input`, and the client's `handle_eof`), a report of what the
//! driver did (the server's `complete`, the client's `data_*`,
//! `listening`, `control_secured`...), `handle_timeout`, `transmitted` —
//! drain `poll_event` and `transmit` until both are empty, acting on
//! every event (an answer is an input too); then sleep until control
//! input, the end of the driver's own work (a data connection, a storage
//! call), or `poll_timeout`, and call `handle_timeout(now)` once that
//! passes. A server's `handle_input` may take fewer bytes than offered:
//! keep the rest and offer it again after the next input. When
//! `is_closed`, write what `transmit` still holds and close the control
//! connection and any data connection.
//!
//! # What each event obliges the driver to do
//!
//! Server ([`server::Event`]):
//!
//! - `Request { id, op }`: do the [`server::Operation`] (check a
//!   password, stat, list, make or remove a directory, bind a passive
//!   listener, run a transfer over the data connection) and report with
//!   [`Session::complete`](server::Session::complete)`(now, id, ..)`; a
//!   transfer is completed twice, `Started` once the file is open and
//!   `Finished` (or `Failed`) once the data connection is closed, with
//!   [`transfer_progress`](server::Session::transfer_progress) as bytes
//!   move, and an upload's restart markers (MODE B and C, what its
//!   [`format::Decoder`] finds) given to
//!   [`restart_marker`](server::Session::restart_marker) before the
//!   completion, which answers them with 110. Failures are reported as a
//!   [`server::Failure`]; the session chooses the reply.
//! - `Abort { id }`: stop that transfer and complete it with
//!   `Failed(Failure::Aborted)` (or as usual, if it finished first).
//! - `SecureControl`: write what `transmit` holds in clear, drop unread
//!   control bytes, run the TLS server handshake, then
//!   [`control_secured`](server::Session::control_secured) or
//!   [`control_tls_failed`](server::Session::control_tls_failed).
//! - `ReleaseData`: drop the passive listener, if one is held.
//! - `Log`: nothing; a line for the log.
//!
//! Client ([`client::Event`]):
//!
//! - `Connected`: nothing; the greeting arrived.
//! - `Connect(addr)` (passive): open a TCP connection to `addr`, then
//!   [`data_connected`](client::Client::data_connected) or
//!   [`data_failed`](client::Client::data_failed).
//! - `Listen` (active): bind a listener on the control connection's local
//!   address, then [`listening`](client::Client::listening); `Accept`:
//!   accept one connection (check it with
//!   [`accept_data_peer`](client::Client::accept_data_peer)), then
//!   `data_connected`.
//! - `TransferStarted { .. }`: move the data (read to the end, or write
//!   the file and close), converting TYPE A when `ascii` and running TLS
//!   when `protected`, calling [`data_progress`](client::Client::data_progress)
//!   as bytes move; then [`data_finished`](client::Client::data_finished)
//!   or `data_failed`.
//! - `StartTls`: write nothing more in clear, feed nothing more, run the
//!   TLS client handshake, then
//!   [`control_secured`](client::Client::control_secured) or
//!   [`control_tls_failed`](client::Client::control_tls_failed).
//! - `CloseData`: close the data connection and listener now.
//! - `RestartMarker { text }`: nothing; the server's 110 for a restart
//!   marker of an upload, to report if the driver likes.
//! - `Done(result)`: the operation ended; the next may
//!   [`start`](client::Client::start). `Disconnected`: the session ended
//!   between operations.
//!
//! The layers, bottom up:
//!
//! - codec: [`command`] (one control line to a typed [`Command`]),
//!   [`reply`] (replies written and read, multi-line included), [`line`](mod@line)
//!   (the server's line reader: Telnet sequences, length limit);
//! - data formats the drivers apply on data connections: [`ascii`]
//!   (TYPE A conversion), [`ebcdic`] (TYPE E), [`format`] (every TYPE,
//!   STRU and MODE together: STRU R, MODE B and C) and [`listing`] (LIST,
//!   NLST and MLSD lines);
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
pub mod ebcdic;
pub mod format;
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

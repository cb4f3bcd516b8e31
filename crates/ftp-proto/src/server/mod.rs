//! The server session machine: one [`Session`] per control connection.
//!
//! A session reads command lines, answers each exactly once and in order
//! (RFC 959 §5.4), and asks its driver, through [`Event::Request`], for
//! everything it cannot decide alone: checking a password, stat-ing,
//! creating, removing and renaming files, binding a passive listener,
//! running a transfer. The driver feeds each [`Completion`] back and the
//! session chooses the reply. Data bytes never pass through the session.
//!
//! ```
//! use core::net::SocketAddr;
//! use ftp_proto::server::{Access, Completion, Config, Event, Operation, Session};
//! use ftp_proto::{Instant, RootPath};
//!
//! let config = Config { anonymous: Some(Access { write: false }), ..Config::default() };
//! let peer: SocketAddr = "192.0.2.7:50000".parse().unwrap();
//! let local: SocketAddr = "192.0.2.1:21".parse().unwrap();
//! let mut now = Instant::ZERO;
//! let mut session = Session::new(&config, peer, local, now);
//! let mut written = Vec::new(); // stands for the control connection
//! let mut input: &[u8] = b"USER alice\r\nPASS secret\r\nPWD\r\nQUIT\r\n";
//!
//! // The drive loop, as every driver runs it.
//! while !session.is_closed() {
//!     // Feed what the client sent; the session may take only part of it.
//!     let taken = session.handle_input(now, input);
//!     input = &input[taken..];
//!     // Do what it asks; each completion may let it take more input.
//!     while let Some(event) = session.poll_event() {
//!         if let Event::Request { id, op } = event {
//!             let done = match op {
//!                 Operation::Authenticate { user, password } if password == "secret" => {
//!                     Completion::LoggedIn { home: RootPath::ROOT.resolve(&user).unwrap(),
//!                                            access: Access { write: true } }
//!                 }
//!                 Operation::Authenticate { .. } => Completion::LoginRefused,
//!                 _ => unimplemented!("a real driver does the work"),
//!             };
//!             session.complete(now, id, done);
//!         }
//!     }
//!     // Write the replies.
//!     written.extend_from_slice(session.transmit());
//!     let n = session.transmit().len();
//!     session.transmitted(n);
//!     // Then sleep until input arrives or `poll_timeout`, and on waking
//!     // by the clock call `handle_timeout`.
//!     if let Some(deadline) = session.poll_timeout() {
//!         if input.is_empty() {
//!             now = deadline;
//!             session.handle_timeout(now);
//!         }
//!     }
//! }
//! let written = String::from_utf8(written).unwrap();
//! assert_eq!(
//!     written,
//!     "220 ferry FTP server ready\r\n\
//!      331 Please specify the password.\r\n\
//!      230 Login successful.\r\n\
//!      257 \"/\" is the current directory.\r\n\
//!      221 Goodbye.\r\n"
//! );
//! ```
//!
//! Paths: a session keeps the user's home (from [`Completion::LoggedIn`];
//! the root for anonymous users) and current directory; every path it
//! hands out is the home joined with the argument resolved against the
//! current directory, `..` clamped, as a [`RootPath`](crate::RootPath),
//! which cannot name anything outside the served root.

mod commands;
mod config;
mod event;
mod ops;
mod session;
mod text;

pub use config::{Access, Config, Tls};
pub use event::{CloseReason, Event, LogEvent};
pub use ops::{
    Completion, DataChannel, Failure, HashAlgorithm, Operation, Pattern, RequestId, StoreMode,
    Transfer, TransferKind,
};
pub use session::Session;

/// Bytes a [`Session`] occupies inline (its heap use when idle is a few
/// short strings: user name and paths, and the line and reply buffers).
pub const SESSION_SIZE: usize = core::mem::size_of::<Session>();

/// What a server writes to a connection it will not serve because it
/// already runs as many sessions as it may, before closing it (RFC 959
/// §5.4: 421 may answer the connection itself). No session is made for it.
pub const TOO_MANY_SESSIONS: &[u8] = b"421 Too many connections; try again later.\r\n";

/// What a server writes, before closing it, to a connection from an
/// address that already holds as many sessions as one address may.
pub const TOO_MANY_FROM_ADDRESS: &[u8] =
    b"421 Too many connections from your address; try again later.\r\n";

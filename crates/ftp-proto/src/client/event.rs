//! What the client asks of its driver, and what it reports.

use alloc::string::String;
use core::net::SocketAddr;

use super::error::ClientError;
use super::op::Outcome;
use crate::format::Format;

/// Something the driver must act on or may report.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The server's greeting (220) arrived, with its text. Operations
    /// started before it run from now on.
    Connected {
        /// The greeting's text.
        greeting: String,
    },
    /// Passive mode: open a TCP connection to this address (the control
    /// connection's peer, at the port the server named), then call
    /// [`Client::data_connected`](super::Client::data_connected), or
    /// [`Client::data_failed`](super::Client::data_failed) if it cannot
    /// be opened.
    Connect(SocketAddr),
    /// Active mode: bind a TCP listener on the control connection's local
    /// address, any port, and report it with
    /// [`Client::listening`](super::Client::listening) (or
    /// [`Client::data_failed`](super::Client::data_failed)).
    Listen,
    /// Active mode: the server is about to connect: accept one connection
    /// on the listener, close the listener, then call
    /// [`Client::data_connected`](super::Client::data_connected). It comes
    /// just before [`Event::TransferStarted`]. A
    /// driver that accepts without waiting for this may report the
    /// connection as soon as it has it.
    Accept,
    /// The server started the transfer (125/150): a download reads the
    /// data connection to its end, an upload writes the file and closes
    /// it; then [`Client::data_finished`](super::Client::data_finished).
    TransferStarted {
        /// The size the server announced as `(N bytes)`, if it did.
        size: Option<u64>,
        /// STOU: the name the server chose, from its `FILE: name`
        /// (RFC 1123 §4.1.2.9), if it said.
        name: Option<String>,
        /// The data is in TYPE A (the session's type, RFC 959 §3.1.1.5:
        /// A until an [`Op::SetType`](super::Op::SetType) succeeds): apply
        /// [`ascii::Encoder`](crate::ascii::Encoder) to an upload and
        /// [`ascii::Decoder`](crate::ascii::Decoder) to a download. Always
        /// false for listings, whose lines already end in CR LF. The same
        /// as `format` being [`Format::ASCII`](crate::format::Format::ASCII).
        ascii: bool,
        /// TYPE, STRU and MODE of the data: unless
        /// [`is_plain`](crate::format::Format::is_plain), run a
        /// [`format::Decoder`](crate::format::Decoder) on a download and a
        /// [`format::Encoder`](crate::format::Encoder) on an upload.
        /// Listings are TYPE I, STRU F in the session's MODE.
        format: Format,
        /// `PROT P` is in force (RFC 4217 §9): the driver runs a TLS
        /// client handshake on the data connection, resuming the control
        /// connection's session, before any data byte, and ends an
        /// upload with close_notify. A failed handshake is
        /// [`Client::data_failed`](super::Client::data_failed).
        protected: bool,
    },
    /// The server accepted `AUTH TLS` (234): write nothing more in clear,
    /// run the TLS client handshake on the control connection, then call
    /// [`Client::control_secured`](super::Client::control_secured) (all
    /// control bytes go through TLS from then on) or
    /// [`Client::control_tls_failed`](super::Client::control_tls_failed).
    /// Control bytes that came after the 234 in clear were dropped by the
    /// machine (RFC 4217 §4: nothing received before the handshake counts
    /// after it); the driver must not feed it until it reports.
    StartTls,
    /// Close the data connection and the listener, if any, now: the
    /// transfer will not finish (it failed or was aborted).
    CloseData,
    /// During a transfer the server reported a restart marker it
    /// received (RFC 959 §3.5, MODE B and C uploads): a 110 reply, whose
    /// text RFC 959 §4.2 fixes as `MARK yyyy = mmmm` (the marker sent,
    /// then the server's own, which `REST` takes). For the driver to
    /// report; the transfer goes on.
    RestartMarker {
        /// The reply's text, as the server wrote it.
        text: String,
    },
    /// The running operation ended; the next one may start.
    Done(Result<Outcome, ClientError>),
    /// The session ended while no operation was running (greeting
    /// refused, an unsolicited 421, the connection closed, ...).
    Disconnected(ClientError),
}

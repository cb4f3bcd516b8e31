//! The client's knobs.

use core::time::Duration;

/// How a [`Client`](super::Client) waits and which data-connection
/// commands it tries first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// How long to wait for a reply, for the driver to connect, bind or
    /// accept a data connection, before the session fails with
    /// [`ClientError::Timeout`](super::ClientError::Timeout). Default 60 s.
    pub reply_timeout: Duration,
    /// How long a data connection may stay silent while a transfer runs:
    /// the driver resets the clock with
    /// [`Client::data_progress`](super::Client::data_progress). Default 60 s.
    pub data_timeout: Duration,
    /// Longest reply accepted, multi-line replies included, in bytes.
    /// Default 64 KiB.
    pub max_reply: usize,
    /// Passive transfers try EPSV (RFC 2428 §3) before PASV. Default true.
    /// With an IPv6 server EPSV is always used: PASV cannot name one.
    pub prefer_epsv: bool,
    /// Active transfers to an IPv4 server try EPRT (RFC 2428 §2) before
    /// PORT. Default true. An IPv6 listener always goes by EPRT.
    pub prefer_eprt: bool,
    /// Send Telnet IP and Synch (`IAC IP IAC DM`) before ABOR, as RFC 959
    /// §4.1.3 asks, for servers that only read commands between
    /// transfers when so interrupted. Default true.
    pub telnet_abort: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            reply_timeout: Duration::from_secs(60),
            data_timeout: Duration::from_secs(60),
            max_reply: 64 * 1024,
            prefer_epsv: true,
            prefer_eprt: true,
            telnet_abort: true,
        }
    }
}

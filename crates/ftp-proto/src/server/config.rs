//! What an embedder decides about a server: who may log in, how long a
//! session may idle, how long a control line may be.

use alloc::string::String;
use core::time::Duration;

/// What a logged-in user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Access {
    /// May store, append, rename, delete and make or remove directories.
    /// Without it the session refuses those commands itself (550) and never
    /// asks the driver.
    pub write: bool,
}

/// What a server offers and demands of TLS (RFC 4217). The session
/// decides every reply; the driver only runs the handshakes it is told to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Tls {
    /// The driver has a certificate: `AUTH TLS` is accepted and FEAT
    /// lists `AUTH TLS`, `PBSZ` and `PROT`.
    pub offered: bool,
    /// No login and no data transfer in clear: USER/PASS on a clear
    /// control connection get 530, and a transfer under `PROT C` gets
    /// 521 without a data connection (anonymous users too).
    pub required: bool,
}

/// Server-wide settings, shared by every session (each [`Session`] copies
/// what it needs).
///
/// [`Session`]: super::Session
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Anonymous login (`anonymous` or `ftp`, any password) and what such a
    /// user may do; `None` refuses it: the names are then ordinary user
    /// names, checked by the driver like any other.
    pub anonymous: Option<Access>,
    /// Failed logins allowed per session: the Nth failure answers 530 and
    /// closes the control connection (RFC 2577 §4: limit password guessing).
    /// The count is per connection and a successful login does not reset
    /// it, so logging in as anonymous between guesses gains nothing.
    pub max_login_failures: u32,
    /// How long a failed login's 530 is held back (RFC 2577 §4); the
    /// session reports the release time through `poll_timeout`.
    pub login_failure_delay: Duration,
    /// A session that receives nothing for this long while no transfer is
    /// running answers 421 and closes.
    pub idle_timeout: Duration,
    /// A transfer that makes no progress for this long (its data
    /// connection never comes, or stops moving) is stopped; its reply is
    /// followed by 421 and the session closes. Progress is what the driver
    /// reports through `Session::transfer_progress`.
    pub data_timeout: Duration,
    /// Longest command line, without its CR LF. RFC 959 sets no limit;
    /// a longer line is answered 500 and skipped.
    pub max_line: usize,
    /// Most entries a LIST or NLST pattern (`NLST *.bin`) may list; past
    /// this the command fails with 550 before any data connection, so a
    /// pattern over a huge directory cannot make one reply without end.
    pub max_matches: usize,
    /// Text of the 220 greeting.
    pub greeting: String,
    /// FTPS (RFC 4217).
    pub tls: Tls,
    /// How long a control connection's TLS handshake (after `AUTH TLS`'s
    /// 234) may take before the session gives up and closes.
    pub tls_handshake_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            anonymous: None,
            max_login_failures: 3,
            login_failure_delay: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(300),
            max_line: 4096,
            max_matches: 10_000,
            greeting: String::from("ferry FTP server ready"),
            tls: Tls::default(),
            tls_handshake_timeout: Duration::from_secs(30),
        }
    }
}

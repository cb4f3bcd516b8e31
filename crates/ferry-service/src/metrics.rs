//! Counters of what the servers did, for monitoring (`ferry serve
//! --metrics`): counted where the session and transfer log lines are
//! written, so both drivers count alike, and encoded in the Prometheus /
//! OpenMetrics text format by `prometheus-client`.
//!
//! Nothing is counted until [`Metrics::enable`] (`--metrics`): a server
//! nobody scrapes pays one relaxed load per event.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use std::fmt::Write;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Which protocol moved a file.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Protocol {
    /// FTP (and FTPS).
    Ftp,
    /// TFTP.
    Tftp,
}

/// Which way it went, as the server sees it.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Direction {
    /// From the server (FTP RETR, TFTP RRQ).
    Download,
    /// To the server (FTP STOR, APPE, STOU; TFTP WRQ).
    Upload,
    /// A directory listing (FTP LIST, NLST, MLSD).
    Listing,
}

/// How it ended.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Outcome {
    /// Complete.
    Ok,
    /// Refused, aborted or failed.
    Failed,
    /// TFTP: the client declined the options offered, before any data
    /// (UEFI firmware's size probe); neither complete nor failed.
    Declined,
}

/// What kind of error a session or transfer met, for
/// `ferry_errors_total{protocol,class}`. Each is counted where ferry
/// already tells the causes apart (the storage's error, the machine's
/// verdict, the TLS handshake), once per error.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum ErrorClass {
    /// No such file or directory (FTP: the storage said so; TFTP: ERROR 1).
    NotFound,
    /// The storage refused access (TFTP: ERROR 2, access violation,
    /// and ERROR 6, file exists).
    Permission,
    /// A client stopped answering: FTP's idle or data timeout, TFTP's
    /// retransmissions used up.
    Timeout,
    /// The client broke the protocol: FTP commands answered 500, 501 or
    /// 503; TFTP ERROR 4, 5 or 8, or a machine's protocol verdict.
    Protocol,
    /// Reading or writing failed: the storage (disk full included), an
    /// FTP data connection that could not be opened or broke, a TFTP
    /// socket.
    Io,
    /// A TLS handshake failed (FTPS control or data connection).
    Tls,
}

impl ErrorClass {
    /// The class of a TFTP error code this server sent (code 0, which
    /// says nothing of the cause, has none).
    pub fn of_tftp_code(code: tftp_proto::ErrorCode) -> Option<ErrorClass> {
        use tftp_proto::ErrorCode;
        match code {
            ErrorCode::FileNotFound => Some(ErrorClass::NotFound),
            ErrorCode::AccessViolation | ErrorCode::FileExists => Some(ErrorClass::Permission),
            ErrorCode::DiskFull => Some(ErrorClass::Io),
            ErrorCode::IllegalOperation
            | ErrorCode::UnknownTransferId
            | ErrorCode::OptionNegotiation => Some(ErrorClass::Protocol),
            _ => None,
        }
    }

    /// The class of a TFTP transfer's verdict. A peer's own ERROR is the
    /// peer's failure, not one of ours, and declined options no error at
    /// all: none.
    pub fn of_tftp(err: &tftp_proto::transfer::TransferError) -> Option<ErrorClass> {
        use tftp_proto::transfer::TransferError;
        match err {
            TransferError::TimedOut => Some(ErrorClass::Timeout),
            TransferError::Protocol(_) | TransferError::OptionNegotiation(_) => {
                Some(ErrorClass::Protocol)
            }
            TransferError::Refused { code, .. } | TransferError::Aborted { code, .. } => {
                ErrorClass::of_tftp_code(*code)
            }
            TransferError::Declined { .. } | TransferError::Peer { .. } => None,
            _ => None,
        }
    }
}

// Label values in lower case, as Prometheus's own are.
impl EncodeLabelValue for ErrorClass {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(match self {
            ErrorClass::NotFound => "not_found",
            ErrorClass::Permission => "permission",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Protocol => "protocol",
            ErrorClass::Io => "io",
            ErrorClass::Tls => "tls",
        })
    }
}

impl EncodeLabelValue for Protocol {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(match self {
            Protocol::Ftp => "ftp",
            Protocol::Tftp => "tftp",
        })
    }
}

impl EncodeLabelValue for Direction {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(match self {
            Direction::Download => "download",
            Direction::Upload => "upload",
            Direction::Listing => "listing",
        })
    }
}

impl EncodeLabelValue for Outcome {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Declined => "declined",
        })
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransferLabels {
    protocol: Protocol,
    direction: Direction,
    outcome: Outcome,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BytesLabels {
    protocol: Protocol,
    direction: Direction,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    protocol: Protocol,
    class: ErrorClass,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoginLabels {
    outcome: Outcome,
}

/// Every counter, in one registry.
pub struct Metrics {
    enabled: AtomicBool,
    registry: Registry,
    sessions_open: Gauge,
    sessions: Counter,
    sessions_refused: Counter,
    logins: Family<LoginLabels, Counter>,
    transfers: Family<TransferLabels, Counter>,
    bytes: Family<BytesLabels, Counter>,
    retransmits: Counter,
    errors: Family<ErrorLabels, Counter>,
    loop_turns: Histogram,
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("ferry");
        let sessions_open = Gauge::default();
        let sessions = Counter::default();
        let sessions_refused = Counter::default();
        let logins = Family::<LoginLabels, Counter>::default();
        let transfers = Family::<TransferLabels, Counter>::default();
        let bytes = Family::<BytesLabels, Counter>::default();
        let retransmits = Counter::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        // 10 µs to about 1.3 s, doubling.
        let loop_turns = Histogram::new(exponential_buckets(1e-5, 2.0, 18));
        registry.register(
            "ftp_sessions_open",
            "FTP control connections being served",
            sessions_open.clone(),
        );
        registry.register(
            "ftp_sessions",
            "FTP control connections served",
            sessions.clone(),
        );
        registry.register(
            "ftp_sessions_refused",
            "FTP connections refused by --max-sessions or --max-per-ip",
            sessions_refused.clone(),
        );
        registry.register("ftp_logins", "FTP login attempts", logins.clone());
        registry.register(
            "transfers",
            "File transfers and listings ended",
            transfers.clone(),
        );
        registry.register(
            "transfer_bytes",
            "Bytes of file data moved (complete or not)",
            bytes.clone(),
        );
        registry.register(
            "tftp_retransmits",
            "TFTP packets sent again after a timeout, over completed transfers",
            retransmits.clone(),
        );
        registry.register(
            "errors",
            "Errors met, by protocol and class",
            errors.clone(),
        );
        registry.register(
            "mio_loop_turn_seconds",
            "Time the event loop (--driver mio) took to handle one wake-up's events and timers",
            loop_turns.clone(),
        );
        Metrics {
            enabled: AtomicBool::new(false),
            registry,
            sessions_open,
            sessions,
            sessions_refused,
            logins,
            transfers,
            bytes,
            retransmits,
            errors,
            loop_turns,
        }
    }

    /// Start counting (until then every event is ignored).
    pub fn enable(&self) {
        self.enabled.store(true, Ordering::Relaxed);
    }

    /// Whether anything is counted.
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// One turn of the event loop took `took`.
    pub fn loop_turn(&self, took: Duration) {
        if self.enabled() {
            self.loop_turns.observe(took.as_secs_f64());
        }
    }

    /// An error of `class` under `protocol`.
    pub fn error(&self, protocol: Protocol, class: ErrorClass) {
        if self.enabled() {
            self.errors
                .get_or_create(&ErrorLabels { protocol, class })
                .inc();
        }
    }

    /// The process's counters (every server in it adds to them).
    pub fn global() -> &'static Metrics {
        static METRICS: OnceLock<Metrics> = OnceLock::new();
        METRICS.get_or_init(Metrics::new)
    }

    /// The counters in the OpenMetrics text format (which Prometheus
    /// scrapes), ending in `# EOF`.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    pub(crate) fn session_opened(&self) {
        if !self.enabled() {
            return;
        }
        self.sessions.inc();
        self.sessions_open.inc();
    }

    pub(crate) fn session_closed(&self) {
        if !self.enabled() {
            return;
        }
        self.sessions_open.dec();
    }

    pub(crate) fn session_refused(&self) {
        if !self.enabled() {
            return;
        }
        self.sessions_refused.inc();
    }

    pub(crate) fn login(&self, outcome: Outcome) {
        if !self.enabled() {
            return;
        }
        self.logins.get_or_create(&LoginLabels { outcome }).inc();
    }

    pub(crate) fn transfer(
        &self,
        protocol: Protocol,
        direction: Direction,
        outcome: Outcome,
        bytes: u64,
    ) {
        if !self.enabled() {
            return;
        }
        self.transfers
            .get_or_create(&TransferLabels {
                protocol,
                direction,
                outcome,
            })
            .inc();
        self.bytes
            .get_or_create(&BytesLabels {
                protocol,
                direction,
            })
            .inc_by(bytes);
    }

    pub(crate) fn retransmitted(&self, count: u64) {
        if !self.enabled() {
            return;
        }
        self.retransmits.inc_by(count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tftp_proto::transfer::TransferError;
    use tftp_proto::ErrorCode;

    #[test]
    fn tftp_verdicts_fall_in_their_classes() {
        let refused = |code| TransferError::Refused {
            code,
            message: String::new(),
        };
        for (err, class) in [
            (refused(ErrorCode::FileNotFound), Some(ErrorClass::NotFound)),
            (
                refused(ErrorCode::AccessViolation),
                Some(ErrorClass::Permission),
            ),
            (refused(ErrorCode::FileExists), Some(ErrorClass::Permission)),
            (refused(ErrorCode::DiskFull), Some(ErrorClass::Io)),
            (
                refused(ErrorCode::OptionNegotiation),
                Some(ErrorClass::Protocol),
            ),
            // "Server busy" and the like say nothing of a cause.
            (refused(ErrorCode::NotDefined), None),
            (TransferError::TimedOut, Some(ErrorClass::Timeout)),
            (TransferError::Protocol("bad"), Some(ErrorClass::Protocol)),
            // A declined OACK is no error at all.
            (
                TransferError::Declined {
                    code: ErrorCode::OptionNegotiation,
                    message: String::new(),
                },
                None,
            ),
            // The peer's own ERROR is its failure, not ours.
            (
                TransferError::Peer {
                    code: ErrorCode::DiskFull,
                    message: String::new(),
                },
                None,
            ),
        ] {
            assert_eq!(ErrorClass::of_tftp(&err), class, "{err}");
        }
    }

    #[test]
    fn nothing_is_counted_until_enabled_and_then_each_once() {
        let metrics = Metrics::new();
        metrics.error(Protocol::Ftp, ErrorClass::Tls);
        metrics.loop_turn(Duration::from_micros(30));
        metrics.transfer(Protocol::Tftp, Direction::Download, Outcome::Ok, 10);
        let text = metrics.encode();
        assert!(!text.contains("ferry_errors_total{"), "{text}");
        assert!(
            text.contains("ferry_mio_loop_turn_seconds_count 0"),
            "{text}"
        );
        metrics.enable();
        metrics.error(Protocol::Ftp, ErrorClass::Tls);
        metrics.loop_turn(Duration::from_micros(30));
        let text = metrics.encode();
        assert!(
            text.contains("ferry_errors_total{protocol=\"ftp\",class=\"tls\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("ferry_mio_loop_turn_seconds_count 1"),
            "{text}"
        );
        // 30 µs falls in the 40 µs bucket, not the 20 µs one.
        assert!(
            text.contains("ferry_mio_loop_turn_seconds_bucket{le=\"4e-5\"} 1")
                || text.contains("ferry_mio_loop_turn_seconds_bucket{le=\"0.00004\"} 1"),
            "{text}"
        );
    }
}

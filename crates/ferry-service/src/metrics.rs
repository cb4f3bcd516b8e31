//! Counters of what the servers did, for monitoring (`ferry serve
//! --metrics`): counted where the session and transfer log lines are
//! written, so both drivers count alike, and encoded in the Prometheus /
//! OpenMetrics text format by `prometheus-client`.

use std::sync::OnceLock;

use std::fmt::Write;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
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
}

// Label values in lower case, as Prometheus's own are.
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
struct LoginLabels {
    outcome: Outcome,
}

/// Every counter, in one registry.
pub struct Metrics {
    registry: Registry,
    sessions_open: Gauge,
    sessions: Counter,
    sessions_refused: Counter,
    logins: Family<LoginLabels, Counter>,
    transfers: Family<TransferLabels, Counter>,
    bytes: Family<BytesLabels, Counter>,
    retransmits: Counter,
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
        Metrics {
            registry,
            sessions_open,
            sessions,
            sessions_refused,
            logins,
            transfers,
            bytes,
            retransmits,
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
        self.sessions.inc();
        self.sessions_open.inc();
    }

    pub(crate) fn session_closed(&self) {
        self.sessions_open.dec();
    }

    pub(crate) fn session_refused(&self) {
        self.sessions_refused.inc();
    }

    pub(crate) fn login(&self, outcome: Outcome) {
        self.logins.get_or_create(&LoginLabels { outcome }).inc();
    }

    pub(crate) fn transfer(
        &self,
        protocol: Protocol,
        direction: Direction,
        outcome: Outcome,
        bytes: u64,
    ) {
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
        self.retransmits.inc_by(count);
    }
}

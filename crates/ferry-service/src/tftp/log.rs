//! The one log line every TFTP transfer ends with, whichever driver ran it.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tftp_proto::transfer::{LocalError, Negotiated, TransferError};

use super::local::Report;
use crate::metrics::{Direction, ErrorClass, Metrics, Outcome, Protocol};

/// Log how a transfer ended: `info` when it completed or the client
/// declined the options offered (`options declined with error 8: ...`),
/// `warn` otherwise.
/// `op` is `read` or `write`; `bytes` the file bytes moved.
pub fn log_transfer(
    peer: SocketAddr,
    file: &str,
    op: &str,
    report: io::Result<Report>,
    bytes: u64,
    elapsed: Duration,
) {
    let duration_ms = elapsed.as_secs_f64() * 1000.0;
    let counted =
        |outcome| Metrics::global().transfer(Protocol::Tftp, direction(op), outcome, bytes);
    let report = match report {
        Ok(report) => report,
        Err(err) => {
            counted(Outcome::Failed);
            Metrics::global().error(Protocol::Tftp, ErrorClass::Io);
            tracing::warn!(%peer, file, op, bytes, duration_ms, outcome = %format_args!("socket error: {err}"), "tftp transfer");
            return;
        }
    };
    let options = report
        .negotiated
        .as_ref()
        .map_or_else(|| "-".to_owned(), describe_options);
    if let (true, Ok(summary)) = (report.local.is_none(), &report.result) {
        let retransmits = summary.retransmits;
        counted(Outcome::Ok);
        Metrics::global().retransmitted(retransmits);
        tracing::info!(%peer, file, op, options, bytes, retransmits, duration_ms, outcome = "ok", "tftp transfer");
    } else if let (None, Err(declined @ TransferError::Declined { .. })) =
        (&report.local, &report.result)
    {
        // The client's choice (a size probe), not a failure: info, and
        // counted apart from both complete and failed transfers.
        counted(Outcome::Declined);
        tracing::info!(%peer, file, op, options, bytes, duration_ms, outcome = %declined, "tftp transfer");
    } else {
        let outcome = match (&report.local, &report.result) {
            (Some(local), _) => match &local.cause {
                Some(cause) => format!("{}: {cause}", local.message),
                None => local.message.clone(),
            },
            (None, Err(err)) => err.to_string(),
            (None, Ok(_)) => "failed".to_owned(),
        };
        let class = match (&report.local, &report.result) {
            (Some(local), _) => Some(match local.error {
                LocalError::NotFound => ErrorClass::NotFound,
                LocalError::PermissionDenied | LocalError::AlreadyExists => ErrorClass::Permission,
                _ => ErrorClass::Io,
            }),
            (None, Err(err)) => ErrorClass::of_tftp(err),
            (None, Ok(_)) => None,
        };
        if let Some(class) = class {
            Metrics::global().error(Protocol::Tftp, class);
        }
        counted(Outcome::Failed);
        tracing::warn!(%peer, file, op, options, bytes, duration_ms, outcome, "tftp transfer");
    }
}

/// `read` is a download, `write` an upload (a request too malformed to
/// tell, `request`, counts as a download).
fn direction(op: &str) -> Direction {
    match op {
        "write" => Direction::Upload,
        _ => Direction::Download,
    }
}

/// The options in force, as the log shows them.
pub fn describe_options(n: &Negotiated) -> String {
    let mut out = format!("blksize={} windowsize={}", n.blksize, n.windowsize);
    if let Some(timeout) = n.timeout {
        out.push_str(&format!(" timeout={timeout}"));
    }
    if let Some(tsize) = n.tsize {
        out.push_str(&format!(" tsize={tsize}"));
    }
    out
}

/// Log a request answered with an ERROR and nothing else.
pub(crate) fn log_refusal(peer: SocketAddr, file: &str, op: &str, outcome: &str) {
    Metrics::global().transfer(Protocol::Tftp, direction(op), Outcome::Failed, 0);
    tracing::info!(%peer, file, op, outcome = %outcome, "tftp transfer");
}

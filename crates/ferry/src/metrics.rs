//! `--metrics ADDR`: the servers' counters over HTTP at `/metrics`, for
//! Prometheus to scrape. tiny_http speaks HTTP; this only answers.

use std::net::SocketAddr;
use std::thread;

use ferry_service::metrics::Metrics;

use crate::Failure;

/// What Prometheus asks for and prometheus-client writes.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Binds `addr` and answers scrapes on a thread of its own; returns the
/// address bound (the real port when 0 was asked for).
pub fn serve(addr: SocketAddr) -> Result<SocketAddr, Failure> {
    let server = tiny_http::Server::http(addr)
        .map_err(|err| Failure::Failed(format!("metrics: cannot listen on {addr}: {err}")))?;
    let bound = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| Failure::Failed(format!("metrics: {addr} is not an IP address")))?;
    // Counting starts now: without --metrics nothing is counted.
    Metrics::global().enable();
    thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            for request in server.incoming_requests() {
                let response = if request.url() == "/metrics" {
                    let header = tiny_http::Header::from_bytes("Content-Type", CONTENT_TYPE)
                        .expect("a valid header");
                    tiny_http::Response::from_string(Metrics::global().encode()).with_header(header)
                } else {
                    tiny_http::Response::from_string("not found: the metrics are at /metrics\n")
                        .with_status_code(404)
                };
                if let Err(err) = request.respond(response) {
                    tracing::debug!(error = %err, "metrics scrape failed");
                }
            }
        })
        .map_err(|err| Failure::Failed(format!("metrics: cannot start its thread: {err}")))?;
    Ok(bound)
}

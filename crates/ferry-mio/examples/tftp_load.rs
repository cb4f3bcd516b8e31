//! Load generator for `scripts/bench-mio.sh`: many TFTP downloads at once
//! from one server, driven by `tftp-proto` client machines on a few threads
//! (one mio loop each), so the client stays cheap next to the server.
//!
//! ```text
//! tftp_load --server 127.0.0.1:PORT --dir DIR --count 1000 [--blksize N]
//!           [--windowsize N] [--threads T] [--deadline SECS] [--min-rto-ms MS]
//! ```
//!
//! The clients' retransmission timeout never drops below `--min-rto-ms`
//! (default 1000, about what PXE firmware and tftp-hpa wait): with a
//! thousand transfers sharing two cores a round trip takes tens of
//! milliseconds, and clients resending ACKs every 20 ms would measure
//! their own impatience rather than the server.
//!
//! Transfer `i` downloads `load-NNNN.bin` (`NNNN` = `i`, four digits or
//! more) and compares every byte with `DIR/load-NNNN.bin`, the same file
//! read from disk beforehand. All requests are sent at once. Prints one
//! line of `key=value` pairs: how many finished byte-exact, how many
//! failed, the bytes moved, the wall time from the first request to the
//! last transfer's end, aggregate MB/s (10^6 bytes per second), the
//! fastest, median and slowest transfer, and the retransmissions the
//! clients made. Exits non-zero if any transfer failed or was corrupt.
//!
//! A transfer counts as done when its machine reports `Finished` (the
//! final ACK is sent); the client's dally after it is not waited out.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};
use tftp_proto::transfer::{Event, Transfer, TransferConfig};
use tftp_proto::{Instant, Mode, Options};

struct Args {
    server: SocketAddr,
    dir: String,
    count: usize,
    blksize: Option<u16>,
    windowsize: Option<u16>,
    threads: usize,
    deadline: Duration,
    min_rto: Duration,
}

fn usage() -> ! {
    eprintln!(
        "usage: tftp_load --server ADDR --dir DIR --count N [--blksize N] [--windowsize N] \
         [--threads T] [--deadline SECS] [--min-rto-ms MS]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut map: HashMap<String, String> = HashMap::new();
    let mut it = std::env::args().skip(1);
    while let Some(key) = it.next() {
        let Some(name) = key.strip_prefix("--") else {
            usage()
        };
        let Some(value) = it.next() else { usage() };
        map.insert(name.to_owned(), value);
    }
    fn num<T: std::str::FromStr>(map: &HashMap<String, String>, key: &str) -> Option<T> {
        map.get(key).map(|v| v.parse().unwrap_or_else(|_| usage()))
    }
    Args {
        server: num(&map, "server").unwrap_or_else(|| usage()),
        dir: map.get("dir").cloned().unwrap_or_else(|| usage()),
        count: num(&map, "count").unwrap_or_else(|| usage()),
        blksize: num(&map, "blksize"),
        windowsize: num(&map, "windowsize"),
        threads: num(&map, "threads").unwrap_or(1).max(1),
        deadline: Duration::from_secs(num(&map, "deadline").unwrap_or(300)),
        min_rto: Duration::from_millis(num(&map, "min-rto-ms").unwrap_or(1000)),
    }
}

fn name(i: usize) -> String {
    format!("load-{i:04}.bin")
}

/// One download and what it has received so far.
struct Download {
    index: usize,
    socket: UdpSocket,
    machine: Transfer,
    expected: Arc<Vec<u8>>,
    offset: usize,
    /// When its request was sent.
    started: Instant,
    /// Set once the machine reported Finished or Failed.
    outcome: Option<Outcome>,
}

#[derive(Clone, Debug)]
enum Outcome {
    Done {
        started: Instant,
        finished: Instant,
        retransmits: u64,
    },
    Failed(String),
}

/// What one thread reports.
struct Report {
    outcomes: Vec<(usize, Outcome)>,
    bytes: u64,
    /// Sends the kernel refused (full socket buffer); the machine resends
    /// on its timer.
    send_drops: u64,
}

fn now(epoch: std::time::Instant) -> Instant {
    Instant::from_micros(epoch.elapsed().as_micros() as u64)
}

impl Download {
    /// Drains the machine's events and datagrams after an input.
    fn drive(&mut self, at: Instant, send_drops: &mut u64) {
        loop {
            let mut progressed = false;
            while let Some(event) = self.machine.poll_event() {
                progressed = true;
                match event {
                    Event::Data(bytes) => {
                        let end = self.offset + bytes.len();
                        if self.outcome.is_none()
                            && self.expected.get(self.offset..end) != Some(bytes)
                        {
                            self.outcome = Some(Outcome::Failed(format!(
                                "{}: wrong bytes at offset {}",
                                name(self.index),
                                self.offset
                            )));
                        }
                        self.offset = end;
                    }
                    Event::Finished(summary) if self.outcome.is_none() => {
                        self.outcome = Some(if self.offset == self.expected.len() {
                            Outcome::Done {
                                started: self.started,
                                finished: at,
                                retransmits: summary.retransmits,
                            }
                        } else {
                            Outcome::Failed(format!(
                                "{}: {} bytes of {}",
                                name(self.index),
                                self.offset,
                                self.expected.len()
                            ))
                        });
                    }
                    Event::Failed(error) if self.outcome.is_none() => {
                        self.outcome =
                            Some(Outcome::Failed(format!("{}: {error}", name(self.index))));
                    }
                    _ => {}
                }
            }
            while let Some(transmit) = self.machine.poll_transmit() {
                progressed = true;
                match self.socket.send_to(transmit.payload, transmit.to) {
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => *send_drops += 1,
                    Err(e) => {
                        if self.outcome.is_none() {
                            self.outcome =
                                Some(Outcome::Failed(format!("{}: send: {e}", name(self.index))));
                        }
                    }
                }
            }
            if !progressed {
                break;
            }
        }
    }
}

/// Runs `jobs` (index, expected bytes) to their ends on this thread.
fn run(
    args: &Args,
    jobs: Vec<(usize, Arc<Vec<u8>>)>,
    epoch: std::time::Instant,
) -> std::io::Result<Report> {
    let mut poll = Poll::new()?;
    let config = TransferConfig {
        min_rto: args.min_rto,
        initial_rto: args.min_rto.max(TransferConfig::default().initial_rto),
        ..TransferConfig::default()
    };
    let options = Options {
        blksize: args.blksize,
        windowsize: args.windowsize,
        ..Options::default()
    };
    let mut downloads = Vec::with_capacity(jobs.len());
    for (slot, (index, expected)) in jobs.into_iter().enumerate() {
        let mut socket = UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        poll.registry()
            .register(&mut socket, Token(slot), Interest::READABLE)?;
        let machine = Transfer::client_get(
            &config,
            args.server,
            &name(index),
            Mode::Octet,
            options,
            now(epoch),
        );
        downloads.push(Download {
            index,
            socket,
            machine,
            expected,
            offset: 0,
            started: Instant::ZERO,
            outcome: None,
        });
    }
    let mut send_drops = 0;
    for d in &mut downloads {
        let at = now(epoch);
        d.started = at;
        d.drive(at, &mut send_drops);
    }
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 65536];
    let mut open = downloads.len();
    let mut next_scan = now(epoch);
    let give_up = now(epoch) + args.deadline;
    while open > 0 {
        let at = now(epoch);
        if at >= give_up {
            for d in downloads.iter_mut().filter(|d| d.outcome.is_none()) {
                d.outcome = Some(Outcome::Failed(format!(
                    "{}: not done after {:?} ({} bytes)",
                    name(d.index),
                    args.deadline,
                    d.offset
                )));
            }
            break;
        }
        if at >= next_scan {
            // Timers: every millisecond, a pass over the open machines.
            for d in downloads.iter_mut().filter(|d| d.outcome.is_none()) {
                if d.machine.poll_timeout().is_some_and(|t| t <= at) {
                    d.machine.handle_timeout(at);
                    d.drive(at, &mut send_drops);
                    if d.outcome.is_some() {
                        open -= 1;
                    }
                }
            }
            next_scan = at + Duration::from_millis(1);
        }
        poll.poll(&mut events, Some(Duration::from_millis(1)))?;
        for event in events.iter() {
            let d = &mut downloads[event.token().0];
            loop {
                match d.socket.recv_from(&mut buf) {
                    Ok((len, from)) => {
                        let at = now(epoch);
                        let was_open = d.outcome.is_none();
                        d.machine.handle_datagram(at, from, &buf[..len]);
                        d.drive(at, &mut send_drops);
                        if was_open && d.outcome.is_some() {
                            open -= 1;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => {
                        // e.g. ECONNREFUSED from an ICMP error: note it and
                        // let the machine's timer decide.
                        let _ = e;
                        break;
                    }
                }
            }
        }
    }
    let bytes = downloads.iter().map(|d| d.offset as u64).sum();
    let outcomes = downloads
        .into_iter()
        .map(|d| (d.index, d.outcome.expect("every download has an outcome")))
        .collect();
    Ok(Report {
        outcomes,
        bytes,
        send_drops,
    })
}

fn main() -> ExitCode {
    let args = Arc::new(parse_args());
    let mut jobs: Vec<Vec<(usize, Arc<Vec<u8>>)>> = vec![Vec::new(); args.threads];
    for i in 0..args.count {
        let path = format!("{}/{}", args.dir, name(i));
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("tftp_load: {path}: {e}");
                return ExitCode::from(2);
            }
        };
        jobs[i % args.threads].push((i, Arc::new(bytes)));
    }
    let epoch = std::time::Instant::now();
    let handles: Vec<_> = jobs
        .into_iter()
        .map(|jobs| {
            let args = Arc::clone(&args);
            std::thread::spawn(move || run(&args, jobs, epoch))
        })
        .collect();
    let mut outcomes = Vec::new();
    let mut bytes = 0;
    let mut send_drops = 0;
    for h in handles {
        match h.join().expect("load thread panicked") {
            Ok(r) => {
                outcomes.extend(r.outcomes);
                bytes += r.bytes;
                send_drops += r.send_drops;
            }
            Err(e) => {
                eprintln!("tftp_load: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let mut times = Vec::new();
    let mut first_start = None::<Instant>;
    let mut last_end = None::<Instant>;
    let mut retransmits = 0;
    let mut failures = Vec::new();
    for (_, outcome) in &outcomes {
        match outcome {
            Outcome::Done {
                started,
                finished,
                retransmits: r,
            } => {
                times.push(*finished - *started);
                first_start = Some(first_start.map_or(*started, |t| t.min(*started)));
                last_end = Some(last_end.map_or(*finished, |t| t.max(*finished)));
                retransmits += r;
            }
            Outcome::Failed(why) => failures.push(why.clone()),
        }
    }
    times.sort();
    let secs = |d: Option<&Duration>| d.map_or(f64::NAN, Duration::as_secs_f64);
    let wall = match (first_start, last_end) {
        (Some(a), Some(b)) => (b - a).as_secs_f64(),
        _ => f64::NAN,
    };
    let good_bytes: u64 = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Done { .. }))
        .map(|(i, _)| {
            std::fs::metadata(format!("{}/{}", args.dir, name(*i))).map_or(0, |m| m.len())
        })
        .sum();
    println!(
        "ok={} failed={} bytes={} wall_s={:.3} mb_s={:.1} fastest_s={:.3} median_s={:.3} \
         slowest_s={:.3} client_retransmits={} client_send_drops={}",
        times.len(),
        failures.len(),
        bytes,
        wall,
        good_bytes as f64 / wall / 1e6,
        secs(times.first()),
        secs(times.get(times.len() / 2)),
        secs(times.last()),
        retransmits,
        send_drops,
    );
    for why in failures.iter().take(10) {
        eprintln!("tftp_load: {why}");
    }
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

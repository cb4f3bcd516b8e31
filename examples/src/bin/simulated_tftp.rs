//! Both ends of a TFTP download in one process: no sockets, no clock.
//!
//! A `client_get` and a `server_read` trade datagrams through a queue;
//! time is a number that jumps to the next `poll_timeout` whenever the
//! queue is empty. One DATA packet is dropped on the way, so the server's
//! timer fires and `handle_timeout` sends it again. The drive rule is the
//! whole program: after every input, drain events and transmits until
//! both are empty, then wait for the next datagram or the deadline.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::process::ExitCode;

use tftp_proto::transfer::{
    accept_request, Event, ServerPolicy, Transfer, TransferConfig, TransferError,
};
use tftp_proto::{Instant, Mode, Options, Packet};

const CLIENT: &str = "192.0.2.10:40000";
const SERVER_PORT: &str = "192.0.2.1:69";
/// The server's transfer ID: a new port for the transfer (RFC 1350 §4).
const SERVER_TID: &str = "192.0.2.1:50001";

/// One datagram in flight.
struct Datagram {
    from: SocketAddr,
    to: SocketAddr,
    bytes: Vec<u8>,
}

/// Drains one machine: events first (answering NeedData from `file`),
/// then transmits, until both are empty.
fn drain(
    now: Instant,
    machine: &mut Transfer,
    me: SocketAddr,
    file: &[u8],
    offset: &mut usize,
    received: &mut Vec<u8>,
    wire: &mut VecDeque<Datagram>,
) -> Option<Result<u64, TransferError>> {
    let mut ended = None;
    loop {
        let mut busy = false;
        while let Some(event) = machine.poll_event() {
            busy = true;
            match event {
                Event::NeedData { max_len } => {
                    let end = (*offset + max_len).min(file.len());
                    let chunk = &file[*offset..end];
                    *offset = end;
                    machine.provide_data(now, chunk);
                }
                Event::Data(bytes) => received.extend_from_slice(bytes),
                Event::Finished(summary) => ended = Some(Ok(summary.retransmits)),
                Event::Failed(error) => ended = Some(Err(error)),
                _ => {}
            }
        }
        while let Some(t) = machine.poll_transmit() {
            busy = true;
            wire.push_back(Datagram {
                from: me,
                to: t.to,
                bytes: t.payload.to_vec(),
            });
        }
        if !busy {
            return ended;
        }
    }
}

fn main() -> ExitCode {
    let (client_addr, server_port, server_tid): (SocketAddr, SocketAddr, SocketAddr) = (
        CLIENT.parse().unwrap(),
        SERVER_PORT.parse().unwrap(),
        SERVER_TID.parse().unwrap(),
    );
    let file: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    let policy = ServerPolicy::default();
    let mut now = Instant::ZERO;
    let options = Options {
        blksize: Some(1024),
        tsize: Some(0),
        ..Options::default()
    };
    let mut client = Transfer::client_get(
        &TransferConfig::default(),
        server_port,
        "image.bin",
        Mode::Octet,
        options,
        now,
    );
    let mut server: Option<Transfer> = None;
    let (mut sent, mut received) = (0, Vec::new());
    let mut wire = VecDeque::new();
    let (mut client_end, mut server_end) = (None, None);
    let mut data_seen = 0;

    loop {
        // Drain both machines after whatever the last step fed them.
        if let Some(end) = drain(
            now,
            &mut client,
            client_addr,
            &[],
            &mut 0,
            &mut received,
            &mut wire,
        ) {
            client_end = Some(end);
        }
        if let Some(server) = server.as_mut() {
            if let Some(end) = drain(
                now,
                server,
                server_tid,
                &file,
                &mut sent,
                &mut Vec::new(),
                &mut wire,
            ) {
                server_end = Some(end);
            }
        }
        // The next input: a datagram if one is in flight, else the clock.
        if let Some(d) = wire.pop_front() {
            let packet = Packet::parse(&d.bytes).expect("both ends send valid packets");
            if let Packet::Data { block, .. } = packet {
                data_seen += 1;
                if data_seen == 3 {
                    println!("{:>8} us  drop      DATA {}", now.as_micros(), block.0);
                    continue;
                }
            }
            println!(
                "{:>8} us  {} -> {}  {}",
                now.as_micros(),
                d.from,
                d.to,
                describe(&packet)
            );
            if d.to == server_port {
                let accepted = accept_request(&policy, d.from, &d.bytes, now)
                    .unwrap_or_else(|_| panic!("the request is accepted"));
                server = Some(Transfer::server_read(
                    &policy,
                    d.from,
                    &accepted.request,
                    Some(file.len() as u64),
                    now,
                ));
            } else if d.to == server_tid {
                if let Some(server) = server.as_mut() {
                    server.handle_datagram(now, d.from, &d.bytes);
                }
            } else if d.to == client_addr {
                client.handle_datagram(now, d.from, &d.bytes);
            }
            continue;
        }
        let server_closed = server.as_ref().map_or(true, Transfer::is_closed);
        if client.is_closed() && server_closed {
            break;
        }
        // Nothing in flight: jump to the earliest deadline and fire it.
        let deadlines = [
            client.poll_timeout(),
            server.as_ref().and_then(Transfer::poll_timeout),
        ];
        let Some(next) = deadlines.into_iter().flatten().min() else {
            break;
        };
        now = next;
        println!("{:>8} us  timeout", now.as_micros());
        client.handle_timeout(now);
        if let Some(server) = server.as_mut() {
            server.handle_timeout(now);
        }
    }

    let same = received == file;
    let end = |e: &Option<Result<u64, TransferError>>| match e {
        Some(Ok(retransmits)) => format!("finished, {retransmits} retransmitted"),
        Some(Err(error)) => format!("failed: {error}"),
        None => "never ended".into(),
    };
    println!("client: {}", end(&client_end));
    println!("server: {}", end(&server_end));
    println!(
        "received {} of {} bytes, {}",
        received.len(),
        file.len(),
        if same { "identical" } else { "DIFFERENT" }
    );
    if same && matches!(client_end, Some(Ok(_))) && matches!(server_end, Some(Ok(_))) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn describe(packet: &Packet<'_>) -> String {
    match packet {
        Packet::Rrq(r) => format!("RRQ {} {:?}", r.filename, r.options),
        Packet::Data { block, data } => format!("DATA {} ({} bytes)", block.0, data.len()),
        Packet::Ack(block) => format!("ACK {}", block.0),
        Packet::Oack(o) => format!("OACK {o:?}"),
        Packet::Error { code, message } => format!("ERROR {} {message}", code.to_u16()),
        other => format!("{other:?}"),
    }
}

#![no_main]
//! The bytes a server reads right after it answered `AUTH TLS`: the
//! session is sent AUTH with the fuzz bytes pipelined behind it in the
//! same read, then every byte goes, in fuzz-chosen chunks, to the TLS
//! server connection the driver would start. Invariants: no panic; the
//! session takes exactly the AUTH line, answers 234 and asks for the
//! handshake; nothing behind AUTH reaches the session; the TLS connection
//! fails cleanly (an error, an alert to send) or keeps waiting, and its
//! output stays bounded; the session closes when the handshake fails.

use std::net::SocketAddr;
use std::sync::OnceLock;

use ferry_tls::ServerTls;
use ftp_proto::server::{Config, Event, Session, Tls};
use ftp_proto::Instant;
use libfuzzer_sys::fuzz_target;

/// One certificate for every run: generating one per input would be all
/// the fuzzer measured.
fn server() -> &'static ServerTls {
    static TLS: OnceLock<ServerTls> = OnceLock::new();
    TLS.get_or_init(|| {
        let (cert, key, _) = ferry_tls::generate_self_signed(&[]).expect("certificate");
        ServerTls::from_pem(cert.as_bytes(), key.as_bytes(), false).expect("load")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&cuts, data)) = data.split_first() else {
        return;
    };
    let peer: SocketAddr = "10.0.0.2:40000".parse().unwrap();
    let local: SocketAddr = "10.0.0.1:21".parse().unwrap();
    let config = Config {
        tls: Tls {
            offered: true,
            required: cuts & 1 == 0,
        },
        ..Config::default()
    };
    let now = Instant::ZERO;
    let mut session = Session::new(&config, peer, local, now);
    let greeting = session.transmit().len();
    session.transmitted(greeting);

    let auth: &[u8] = b"AUTH TLS\r\n";
    let mut input = auth.to_vec();
    input.extend_from_slice(data);
    let taken = session.handle_input(now, &input);
    assert_eq!(taken, auth.len(), "the session read past AUTH");
    assert!(session.transmit().starts_with(b"234 "));
    let n = session.transmit().len();
    session.transmitted(n);
    let mut asked = false;
    while let Some(event) = session.poll_event() {
        asked |= matches!(event, Event::SecureControl);
    }
    assert!(asked, "234 without SecureControl");
    // Still nothing taken while the handshake runs.
    assert_eq!(session.handle_input(now, &input[taken..]), 0);

    let mut tls = server().accept_control();
    let mut rest = data;
    let mut sent = 0usize;
    let step = usize::from(cuts >> 1) + 1;
    let mut failed = false;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(step.min(rest.len()));
        rest = tail;
        let mut reader = chunk;
        // read_tls reads once; a chunk may take several reads.
        while !reader.is_empty() {
            match tls.read_tls(&mut reader) {
                Ok(0) => break,
                Ok(_) => {}
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        let mut out = Vec::new();
        while tls.wants_write() {
            match tls.write_tls(&mut out) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        sent += out.len();
        // A ServerHello with its certificate, or an alert: never a flood.
        assert!(sent < 64 * 1024, "the server wrote {sent} bytes");
        if failed {
            break;
        }
        let mut plain = [0u8; 512];
        if !tls.is_handshaking() {
            // Random bytes cannot finish a handshake, but if they did the
            // session would go on; what it reads is then TLS plaintext.
            session.control_secured(now);
            let _ = tls.read_plain(&mut plain);
            break;
        }
    }
    if failed {
        session.control_tls_failed(now);
        assert!(session.is_closed());
        assert!(
            session.transmit().is_empty(),
            "a clear reply after a failed handshake"
        );
    }
});

//! Packet traces: one machine at a time, driven by hand on a virtual clock.
//! Each test is the exact exchange the RFCs prescribe, datagram by datagram,
//! with the events the driver must see.

mod trace;

use std::time::Duration;

use tftp_proto::transfer::{
    accept_request, datagram_cost, LocalError, ServerPolicy, TransferConfig, TransferError,
    DEFAULT_WINDOW_BUDGET, MAX_WINDOW_BYTES,
};
use tftp_proto::{ErrorCode, Instant, Mode, Options};
use trace::{
    ack, data, error, file_bytes, negotiated, oack, policy, rrq, write_policy, wrq, Ev, Trace,
    CLIENT, OTHER_HOST, SERVER, SERVER_TID, STRANGER,
};

fn default_negotiated() -> Ev {
    Ev::Negotiated(negotiated(512, 1, None))
}

// 1 -------------------------------------------------------------------------

#[test]
fn server_read_lock_step_without_options() {
    let file = file_bytes(1000);
    let mut t = Trace::server_read(
        &ServerPolicy::default(),
        &rrq("f", Mode::Octet, &[]),
        file.clone(),
    );
    // RFC 1350: no options, so DATA 1 is the answer to the request.
    t.expect_event(default_negotiated());
    t.expect_sent(CLIENT, data(1, &file[..512]));
    t.expect_silent();

    t.advance(5);
    t.recv(CLIENT, ack(1));
    t.expect_sent(CLIENT, data(2, &file[512..]));
    t.expect_silent();
    assert!(!t.machine.is_closed());

    t.advance(5);
    t.recv(CLIENT, ack(2));
    let summary = t.expect_finished();
    assert_eq!((summary.bytes, summary.blocks), (1000, 2));
    assert_eq!(summary.retransmits, 0);
    assert_eq!(summary.elapsed, Duration::from_millis(10));
    t.expect_closed();
    assert_eq!(t.need_data, vec![512, 512]);
}

#[test]
fn server_read_of_a_multiple_of_512_ends_with_an_empty_block() {
    let file = file_bytes(1024);
    let mut t = Trace::server_read(
        &ServerPolicy::default(),
        &rrq("f", Mode::Octet, &[]),
        file.clone(),
    );
    t.expect_event(default_negotiated());
    t.expect_sent(CLIENT, data(1, &file[..512]));
    t.recv(CLIENT, ack(1));
    t.expect_sent(CLIENT, data(2, &file[512..]));
    t.recv(CLIENT, ack(2));
    t.expect_sent(CLIENT, data(3, &[]));
    t.expect_silent();
    t.recv(CLIENT, ack(3));
    assert_eq!(t.expect_finished().blocks, 3);
    t.expect_closed();
}

#[test]
fn server_read_of_an_empty_file_is_one_empty_block() {
    let mut t = Trace::server_read(
        &ServerPolicy::default(),
        &rrq("empty", Mode::Octet, &[]),
        Vec::new(),
    );
    t.expect_event(default_negotiated());
    t.expect_sent(CLIENT, data(1, &[]));
    t.recv(CLIENT, ack(1));
    let summary = t.expect_finished();
    assert_eq!((summary.bytes, summary.blocks), (0, 1));
    t.expect_closed();
}

// 2 -------------------------------------------------------------------------

/// An RRQ of `f` asking blksize 1468 and the size (tsize 0) of `file`:
/// the negotiation and the OACK that carries both, checked.
fn oacked_read(file: &[u8]) -> Trace {
    let mut t = Trace::server_read(
        &ServerPolicy::default(),
        &rrq("f", Mode::Octet, &[("blksize", "1468"), ("tsize", "0")]),
        file.to_vec(),
    );
    let size = file.len() as u64;
    t.expect_event(Ev::Negotiated(negotiated(1468, 1, Some(size))));
    t.expect_sent(
        CLIENT,
        oack(&[("blksize", "1468"), ("tsize", &size.to_string())]),
    );
    t
}

#[test]
fn server_read_oack_carries_exactly_the_accepted_options() {
    let file = file_bytes(2000);
    let mut t = oacked_read(&file);
    t.expect_silent();
    assert!(t.need_data.is_empty(), "no data is read before ACK 0");

    t.recv(CLIENT, ack(0));
    t.expect_sent(CLIENT, data(1, &file[..1468]));
    t.recv(CLIENT, ack(1));
    t.expect_sent(CLIENT, data(2, &file[1468..]));
    t.recv(CLIENT, ack(2));
    let summary = t.expect_finished();
    assert_eq!((summary.bytes, summary.blocks), (2000, 2));
    t.expect_closed();
}

#[test]
fn server_caps_blksize_and_windowsize_and_ignores_unknown_options() {
    let file = file_bytes(5000);
    let mut t = Trace::server_read(
        &policy(1024, 4),
        &rrq(
            "f",
            Mode::Octet,
            &[
                ("windowsize", "16"),
                ("x-vendor", "yes"),
                ("BlkSize", "1468"),
                ("tsize", "0"),
            ],
        ),
        file.clone(),
    );
    t.expect_event(Ev::Negotiated(negotiated(1024, 4, Some(5000))));
    t.expect_sent(
        CLIENT,
        oack(&[("blksize", "1024"), ("tsize", "5000"), ("windowsize", "4")]),
    );
    t.recv(CLIENT, ack(0));
    for block in 1..=4u16 {
        let at = usize::from(block - 1) * 1024;
        t.expect_sent(CLIENT, data(block, &file[at..at + 1024]));
    }
    t.expect_silent();
    t.recv(CLIENT, ack(4));
    t.expect_sent(CLIENT, data(5, &file[4096..]));
    t.recv(CLIENT, ack(5));
    assert_eq!(t.expect_finished().blocks, 5);
    t.expect_closed();
}

#[test]
fn datagram_cost_is_what_a_linux_socket_buffer_is_charged() {
    // Measured on loopback: a socket with the default 212,992-byte buffer
    // filled without reading holds 166, 92, 12, 12, 6 and 3 of these.
    let measured = [
        (512, 1_280),
        (1468, 2_304),
        (8192, 16_640),
        (16384, 17_220),
        (32768, 33_604),
        (65464, 66_300),
    ];
    for (blksize, cost) in measured {
        assert_eq!(datagram_cost(blksize), cost, "blksize {blksize}");
    }
    let fits = |blksize| DEFAULT_WINDOW_BUDGET / datagram_cost(blksize);
    assert_eq!(
        [512, 1468, 8192, 16384, 32768, 65464].map(fits),
        [166, 92, 12, 12, 6, 3]
    );
}

/// The OACK a server answers a read request with, for `blksize` and `windowsize`.
fn granted_read_window(policy: &ServerPolicy, blksize: u16, windowsize: u16) -> u16 {
    let (b, w) = (blksize.to_string(), windowsize.to_string());
    let mut t = Trace::server_read(
        policy,
        &rrq("f", Mode::Octet, &[("blksize", &b), ("windowsize", &w)]),
        file_bytes(10),
    );
    let granted = t.machine.negotiated().windowsize;
    t.expect_event(Ev::Negotiated(negotiated(blksize, granted, None)));
    t.expect_sent(
        CLIENT,
        oack(&[("blksize", &b), ("windowsize", &granted.to_string())]),
    );
    granted
}

#[test]
fn read_window_is_narrowed_to_what_the_clients_buffer_holds() {
    let default = ServerPolicy::default();
    // RFC 7440 §3: the OACK may carry a smaller windowsize than asked.
    assert_eq!(granted_read_window(&default, 65464, 4), 3);
    assert_eq!(granted_read_window(&default, 65464, 64), 3);
    assert_eq!(granted_read_window(&default, 8192, 32), 12);
    assert_eq!(granted_read_window(&default, 8192, 8), 8);
    assert_eq!(granted_read_window(&default, 1468, 64), 64);
    assert_eq!(granted_read_window(&default, 512, 64), 64);
    // A budget below one block still grants one: lock-step always works.
    let tiny = ServerPolicy {
        window_budget: 1_000,
        ..ServerPolicy::default()
    };
    assert_eq!(granted_read_window(&tiny, 65464, 16), 1);
    // The budget is the embedder's: a client known to read from a large
    // buffer may be granted the whole window.
    let unbounded = ServerPolicy {
        window_budget: usize::MAX,
        ..ServerPolicy::default()
    };
    assert_eq!(granted_read_window(&unbounded, 65464, 16), 16);
}

#[test]
fn narrowed_window_sends_only_the_granted_blocks_per_round() {
    let file = file_bytes(4 * 65464 + 10);
    let block = |n: u16| {
        let at = usize::from(n - 1) * 65464;
        data(n, &file[at..(at + 65464).min(file.len())])
    };
    let mut t = Trace::server_read(
        &ServerPolicy::default(),
        &rrq(
            "f",
            Mode::Octet,
            &[("blksize", "65464"), ("windowsize", "8")],
        ),
        file.clone(),
    );
    t.expect_event(Ev::Negotiated(negotiated(65464, 3, None)));
    t.expect_sent(CLIENT, oack(&[("blksize", "65464"), ("windowsize", "3")]));
    t.recv(CLIENT, ack(0));
    for n in 1..=3 {
        t.expect_sent(CLIENT, block(n));
    }
    t.expect_silent();
    t.recv(CLIENT, ack(3));
    t.expect_sent(CLIENT, block(4));
    t.expect_sent(CLIENT, block(5));
    t.expect_silent();
    t.recv(CLIENT, ack(5));
    let summary = t.expect_finished();
    assert_eq!((summary.blocks, summary.retransmits), (5, 0));
    t.expect_closed();
}

#[test]
fn a_window_never_needs_more_than_max_window_bytes_to_resend() {
    // Client put: the request itself asks no more than the sender can hold.
    let options = Options {
        blksize: Some(65464),
        windowsize: Some(65535),
        ..Options::default()
    };
    let mut t = Trace::client_put(&TransferConfig::default(), "up", options, Vec::new());
    let max = (MAX_WINDOW_BYTES / (65464 + 4)).to_string();
    assert_eq!(max, "128");
    t.expect_sent(
        SERVER,
        wrq(
            "up",
            Mode::Octet,
            &[("blksize", "65464"), ("windowsize", &max)],
        ),
    );
    // Server read: an embedder's larger caps still stop there.
    let generous = ServerPolicy {
        max_windowsize: u16::MAX,
        window_budget: usize::MAX,
        ..ServerPolicy::default()
    };
    assert_eq!(granted_read_window(&generous, 65464, 65535), 128);
}

#[test]
fn write_window_is_not_narrowed_by_the_read_budget() {
    let mut t = Trace::server_write(
        &write_policy(),
        &wrq(
            "up",
            Mode::Octet,
            &[("blksize", "65464"), ("windowsize", "8")],
        ),
    );
    t.expect_event(Ev::Negotiated(negotiated(65464, 8, None)));
    t.expect_sent(CLIENT, oack(&[("blksize", "65464"), ("windowsize", "8")]));
}

#[test]
fn server_with_only_unknown_options_answers_as_rfc_1350() {
    let file = file_bytes(100);
    let mut t = Trace::server_read(
        &ServerPolicy::default(),
        &rrq("f", Mode::Octet, &[("multicast", ""), ("x", "1")]),
        file.clone(),
    );
    t.expect_event(default_negotiated());
    t.expect_sent(CLIENT, data(1, &file));
    t.recv(CLIENT, ack(1));
    t.expect_finished();
    t.expect_closed();
}

#[test]
fn server_leaves_tsize_out_of_a_netascii_oack() {
    // The netascii size on the wire is not known before the file is read.
    let mut t = Trace::server_read(
        &ServerPolicy::default(),
        &rrq("f", Mode::Netascii, &[("blksize", "1024"), ("tsize", "0")]),
        b"x".to_vec(),
    );
    t.expect_event(Ev::Negotiated(negotiated(1024, 1, None)));
    t.expect_sent(CLIENT, oack(&[("blksize", "1024")]));
    t.recv(CLIENT, ack(0));
    t.expect_sent(CLIENT, data(1, b"x"));
    t.recv(CLIENT, ack(1));
    t.expect_finished();
    t.expect_closed();
}

#[test]
fn server_leaves_tsize_out_for_an_empty_file() {
    // curl rejects an OACK carrying tsize 0, so an empty file's size is
    // simply not acknowledged.
    let mut t = Trace::server_read(
        &ServerPolicy::default(),
        &rrq("f", Mode::Octet, &[("blksize", "1468"), ("tsize", "0")]),
        Vec::new(),
    );
    t.expect_event(Ev::Negotiated(negotiated(1468, 1, None)));
    t.expect_sent(CLIENT, oack(&[("blksize", "1468")]));
    t.recv(CLIENT, ack(0));
    t.expect_sent(CLIENT, data(1, b""));
    t.recv(CLIENT, ack(1));
    t.expect_finished();
    t.expect_closed();
}

#[test]
fn lost_oack_is_sent_again_on_timeout() {
    let mut t = Trace::server_read(
        &ServerPolicy::default(),
        &rrq("f", Mode::Octet, &[("blksize", "8")]),
        b"hello".to_vec(),
    );
    t.expect_event(Ev::Negotiated(negotiated(8, 1, None)));
    t.expect_sent(CLIENT, oack(&[("blksize", "8")]));
    t.advance(999);
    t.expect_silent();
    t.advance(1);
    t.expect_sent(CLIENT, oack(&[("blksize", "8")]));
    t.recv(CLIENT, ack(0));
    t.expect_sent(CLIENT, data(1, b"hello"));
    t.recv(CLIENT, ack(1));
    assert_eq!(t.expect_finished().retransmits, 1);
    t.expect_closed();
}

#[test]
fn negotiated_timeout_fixes_the_retransmission_interval() {
    let mut t = Trace::server_read(
        &ServerPolicy::default(),
        &rrq("f", Mode::Octet, &[("timeout", "3")]),
        b"abc".to_vec(),
    );
    t.expect_event(Ev::Negotiated(tftp_proto::transfer::Negotiated {
        blksize: 512,
        windowsize: 1,
        timeout: Some(3),
        tsize: None,
    }));
    t.expect_sent(CLIENT, oack(&[("timeout", "3")]));
    t.recv(CLIENT, ack(0));
    t.expect_sent(CLIENT, data(1, b"abc"));
    // RFC 2349: exactly the agreed seconds between retransmissions, no backoff.
    for _ in 0..3 {
        assert_eq!(t.fire_timeout(), Duration::from_secs(3));
        t.expect_sent(CLIENT, data(1, b"abc"));
    }
    t.recv(CLIENT, ack(1));
    t.expect_finished();
    t.expect_closed();
}

// 3 -------------------------------------------------------------------------

#[test]
fn uefi_pxe_size_probe_ends_at_once_without_retransmission() {
    let file = file_bytes(7_340_032);
    // The bytes EDK2's size probe sends: RRQ with tsize 0 and its block size.
    let probe = b"\0\x01bootx64.efi\0octet\0tsize\x000\0blksize\x001468\0".to_vec();
    assert_eq!(
        probe,
        rrq(
            "bootx64.efi",
            Mode::Octet,
            &[("tsize", "0"), ("blksize", "1468")]
        )
    );
    let mut t = Trace::server_read(&ServerPolicy::default(), &probe, file);
    t.expect_event(Ev::Negotiated(negotiated(1468, 1, Some(7_340_032))));
    t.expect_sent(
        CLIENT,
        b"\0\x06blksize\x001468\0tsize\x007340032\0".to_vec(),
    );

    t.advance(3);
    // RFC 2347: the client may refuse the OACK with ERROR 8, ending it.
    t.recv(CLIENT, b"\0\x05\0\x08User aborted the transfer\0".to_vec());
    t.expect_event(Ev::Failed(TransferError::Declined {
        code: ErrorCode::OptionNegotiation,
        message: "User aborted the transfer".into(),
    }));
    // RFC 1350 §7: an ERROR is never answered, and nothing is resent.
    t.expect_silent();
    assert!(t.machine.is_closed());
    assert_eq!(t.machine.poll_timeout(), None);
    t.advance(10 * 60 * 1000);
    t.expect_closed();
    assert!(t.need_data.is_empty(), "the file was never read");
    // A late ACK 0 from the client does not bring it back.
    t.recv(CLIENT, ack(0));
    t.expect_closed();
}

#[test]
fn server_write_oack_answered_by_an_error_is_declined() {
    let mut t = Trace::server_write(
        &write_policy(),
        &wrq("up", Mode::Octet, &[("blksize", "1468"), ("tsize", "3000")]),
    );
    t.expect_event(Ev::Negotiated(negotiated(1468, 1, Some(3000))));
    t.expect_sent(CLIENT, oack(&[("blksize", "1468"), ("tsize", "3000")]));
    t.recv(CLIENT, b"\0\x05\0\x08no\0".to_vec());
    t.expect_event(Ev::Failed(TransferError::Declined {
        code: ErrorCode::OptionNegotiation,
        message: "no".into(),
    }));
    t.expect_silent();
    t.expect_closed();
}

#[test]
fn an_error_once_data_moved_is_the_peers_failure_not_a_decline() {
    let file = file_bytes(3000);
    let mut t = oacked_read(&file);
    t.recv(CLIENT, ack(0));
    t.expect_sent(CLIENT, data(1, &file[..1468]));
    t.recv(CLIENT, error(8, "changed my mind"));
    t.expect_event(Ev::Failed(TransferError::Peer {
        code: ErrorCode::OptionNegotiation,
        message: "changed my mind".into(),
    }));
    t.expect_silent();
    t.expect_closed();
}

#[test]
fn an_error_to_a_request_without_options_is_the_peers_failure() {
    // No OACK was offered, so there was nothing to decline.
    let file = file_bytes(3000);
    let mut t = Trace::server_read(
        &ServerPolicy::default(),
        &rrq("f", Mode::Octet, &[]),
        file.clone(),
    );
    t.expect_event(default_negotiated());
    t.expect_sent(CLIENT, data(1, &file[..512]));
    t.recv(CLIENT, error(0, "stop"));
    t.expect_event(Ev::Failed(TransferError::Peer {
        code: ErrorCode::NotDefined,
        message: "stop".into(),
    }));
    t.expect_silent();
    t.expect_closed();
}

// 4 -------------------------------------------------------------------------

#[test]
fn duplicate_ack_never_triggers_a_retransmission() {
    let file = file_bytes(1500);
    let mut t = Trace::server_read(
        &ServerPolicy::default(),
        &rrq("f", Mode::Octet, &[]),
        file.clone(),
    );
    t.expect_event(default_negotiated());
    t.expect_sent(CLIENT, data(1, &file[..512]));
    t.advance(10);
    t.recv(CLIENT, ack(1));
    t.expect_sent(CLIENT, data(2, &file[512..1024]));

    // The delayed duplicate of ACK 1 (Sorcerer's Apprentice, RFC 1123
    // §4.2.3.1): answering it would double every later DATA.
    t.advance(1);
    t.recv(CLIENT, ack(1));
    t.expect_silent();
    t.recv(CLIENT, ack(1));
    t.expect_silent();
    // An ACK for a block never sent is ignored too.
    t.recv(CLIENT, ack(7));
    t.expect_silent();

    // Only the timeout resends DATA 2.
    let waited = t.fire_timeout();
    assert!(waited > Duration::ZERO);
    t.expect_sent(CLIENT, data(2, &file[512..1024]));
    t.expect_silent();
    t.recv(CLIENT, ack(2));
    t.expect_sent(CLIENT, data(3, &file[1024..]));
    t.recv(CLIENT, ack(2));
    t.expect_silent();
    t.recv(CLIENT, ack(3));
    let summary = t.expect_finished();
    assert_eq!((summary.blocks, summary.retransmits), (3, 1));
    t.expect_closed();
}

// 5 -------------------------------------------------------------------------

#[test]
fn retries_are_bounded_then_error_and_timed_out() {
    let file = file_bytes(700);
    let mut t = Trace::server_read(
        &ServerPolicy::default(),
        &rrq("f", Mode::Octet, &[]),
        file.clone(),
    );
    t.expect_event(default_negotiated());
    let first = t.expect_sent(CLIENT, data(1, &file[..512]));
    assert_eq!(first.at, Instant::ZERO);

    let config = TransferConfig::default();
    let mut times = vec![first.at];
    for _ in 0..config.max_retries {
        t.fire_timeout();
        times.push(t.expect_sent(CLIENT, data(1, &file[..512])).at);
        t.expect_silent();
    }
    // One more timeout: no further DATA, but an ERROR and the failure.
    t.fire_timeout();
    let end = t.now;
    t.expect_error(CLIENT, 0);
    t.expect_event(Ev::Failed(TransferError::TimedOut));
    t.expect_closed();

    times.push(end);
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    // Exponential backoff from the initial timeout, clamped to max_rto.
    let secs: Vec<u64> = gaps.iter().map(Duration::as_secs).collect();
    assert_eq!(secs, vec![1, 2, 4, 8, 8, 8, 8]);
    for pair in gaps.windows(2) {
        assert!(pair[0] <= pair[1], "backoff shrank: {gaps:?}");
    }
    assert!(gaps.iter().all(|g| *g <= config.max_rto));

    t.advance(60_000);
    t.expect_closed();
}

#[test]
fn retry_count_and_backoff_follow_the_configuration() {
    let policy = ServerPolicy {
        transfer: TransferConfig {
            initial_rto: Duration::from_millis(100),
            max_rto: Duration::from_millis(300),
            max_retries: 3,
            ..TransferConfig::default()
        },
        ..ServerPolicy::default()
    };
    let mut t = Trace::server_read(&policy, &rrq("f", Mode::Octet, &[]), b"x".to_vec());
    t.expect_event(default_negotiated());
    t.expect_sent(CLIENT, data(1, b"x"));
    // Let a whole minute pass in one step: every timeout fires in order.
    t.advance(60_000);
    let mut at = Vec::new();
    for _ in 0..3 {
        at.push(t.expect_sent(CLIENT, data(1, b"x")).at.as_micros() / 1000);
    }
    t.expect_error(CLIENT, 0);
    t.expect_event(Ev::Failed(TransferError::TimedOut));
    t.expect_closed();
    assert_eq!(at, vec![100, 300, 600]);
}

#[test]
fn client_request_retries_are_bounded_too() {
    let config = TransferConfig {
        max_retries: 2,
        max_rto: Duration::from_secs(2),
        ..TransferConfig::default()
    };
    let mut t = Trace::client_get(&config, "f", Options::default());
    let request = rrq("f", Mode::Octet, &[]);
    t.expect_sent(SERVER, request.clone());
    t.advance(60_000);
    let at1 = t.expect_sent(SERVER, request.clone()).at;
    let at2 = t.expect_sent(SERVER, request).at;
    t.expect_error(SERVER, 0);
    t.expect_event(Ev::Failed(TransferError::TimedOut));
    t.expect_closed();
    assert_eq!(
        (at1, at2),
        (Instant::from_millis(1000), Instant::from_millis(3000))
    );
}

#[test]
fn retries_never_give_up_before_max_rto_without_progress() {
    // The peer's timer may be much longer than ours: even with few retries
    // allowed, the machine waits at least max_rto since the last progress.
    let config = TransferConfig {
        max_retries: 2,
        ..TransferConfig::default()
    };
    let mut t = Trace::client_get(&config, "f", Options::default());
    let request = rrq("f", Mode::Octet, &[]);
    t.expect_sent(SERVER, request.clone());
    t.advance(60_000);
    let mut at = Vec::new();
    for _ in 0..3 {
        at.push(t.expect_sent(SERVER, request.clone()).at.as_micros() / 1_000_000);
    }
    t.expect_error(SERVER, 0);
    t.expect_event(Ev::Failed(TransferError::TimedOut));
    t.expect_closed();
    assert_eq!(at, vec![1, 3, 7], "retransmissions, in seconds");
}

// 6 -------------------------------------------------------------------------

#[test]
fn foreign_tid_gets_error_5_and_the_transfer_goes_on() {
    let file = file_bytes(600);
    let mut t = Trace::server_read(
        &ServerPolicy::default(),
        &rrq("f", Mode::Octet, &[]),
        file.clone(),
    );
    t.expect_event(default_negotiated());
    t.expect_sent(CLIENT, data(1, &file[..512]));

    // Same host, another port: a different transfer ID.
    t.recv(STRANGER, ack(1));
    t.expect_error(STRANGER, 5);
    t.expect_silent();
    t.recv(OTHER_HOST, ack(1));
    t.expect_error(OTHER_HOST, 5);
    t.expect_silent();

    t.recv(CLIENT, ack(1));
    t.expect_sent(CLIENT, data(2, &file[512..]));
    t.recv(CLIENT, ack(2));
    let summary = t.expect_finished();
    assert_eq!((summary.blocks, summary.retransmits), (2, 0));
    t.expect_closed();
}

// 7 -------------------------------------------------------------------------

#[test]
fn windowed_send_restarts_after_the_acknowledged_block() {
    // 11 blocks of 8 bytes: 10 full, then 3 bytes.
    let file = file_bytes(83);
    let block = |n: u16| {
        let at = usize::from(n - 1) * 8;
        data(n, &file[at..(at + 8).min(file.len())])
    };
    let mut t = Trace::server_read(
        &ServerPolicy::default(),
        &rrq("f", Mode::Octet, &[("blksize", "8"), ("windowsize", "4")]),
        file.clone(),
    );
    t.expect_event(Ev::Negotiated(negotiated(8, 4, None)));
    t.expect_sent(CLIENT, oack(&[("blksize", "8"), ("windowsize", "4")]));
    t.advance(2);
    t.recv(CLIENT, ack(0));
    for n in 1..=4 {
        t.expect_sent(CLIENT, block(n));
    }
    t.expect_silent();
    // A duplicate ACK 0 (the client's, delayed) changes nothing.
    t.recv(CLIENT, ack(0));
    t.expect_silent();

    // ACK 2: blocks 3 and 4 were lost; the next window starts at 3. Loss
    // halves the burst: two blocks now, two after a short pause.
    t.advance(2);
    t.recv(CLIENT, ack(2));
    t.expect_sent(CLIENT, block(3));
    t.expect_sent(CLIENT, block(4));
    t.expect_silent();
    t.advance(1);
    t.expect_sent(CLIENT, block(5));
    t.expect_sent(CLIENT, block(6));
    t.expect_silent();

    // The whole window acknowledged: the next one, one block more per burst.
    t.advance(2);
    t.recv(CLIENT, ack(6));
    for n in 7..=9 {
        t.expect_sent(CLIENT, block(n));
    }
    t.expect_silent();
    t.advance(1);
    t.expect_sent(CLIENT, block(10));
    // A stale ACK from before is ignored.
    t.recv(CLIENT, ack(4));
    t.expect_silent();

    t.advance(2);
    t.recv(CLIENT, ack(10));
    t.expect_sent(CLIENT, block(11));
    t.expect_silent();
    t.recv(CLIENT, ack(11));
    let summary = t.expect_finished();
    assert_eq!((summary.bytes, summary.blocks), (83, 11));
    assert_eq!(summary.retransmits, 2, "blocks 3 and 4 went twice");
    t.expect_closed();
}

#[test]
fn ack_for_an_earlier_round_is_taken_while_a_paced_round_restarts() {
    // The receiver got the whole window but its ACK came late: the sender
    // has timed out and is resending, paced, one block so far. The ACK
    // still covers all four blocks and moves the window.
    let file = file_bytes(64);
    let block = |n: u16| {
        let at = usize::from(n - 1) * 8;
        data(n, &file[at..(at + 8).min(file.len())])
    };
    let mut t = Trace::server_read(
        &ServerPolicy::default(),
        &rrq("f", Mode::Octet, &[("blksize", "8"), ("windowsize", "4")]),
        file.clone(),
    );
    t.expect_event(Ev::Negotiated(negotiated(8, 4, None)));
    t.expect_sent(CLIENT, oack(&[("blksize", "8"), ("windowsize", "4")]));
    t.recv(CLIENT, ack(0));
    for n in 1..=4 {
        t.expect_sent(CLIENT, block(n));
    }
    t.fire_timeout();
    t.expect_sent(CLIENT, block(1));
    t.expect_sent(CLIENT, block(2));
    t.expect_silent();
    t.recv(CLIENT, ack(4));
    t.expect_sent(CLIENT, block(5));
    t.expect_sent(CLIENT, block(6));
    t.expect_silent();
    t.advance(1);
    t.expect_sent(CLIENT, block(7));
    t.expect_sent(CLIENT, block(8));
    t.recv(CLIENT, ack(8));
    t.expect_sent(CLIENT, data(9, &[]));
    t.recv(CLIENT, ack(9));
    t.expect_finished();
    t.expect_closed();
}

#[test]
fn windowed_send_timeout_resends_the_whole_window() {
    let file = file_bytes(40);
    let block = |n: u16| {
        let at = usize::from(n - 1) * 8;
        data(n, &file[at..(at + 8).min(file.len())])
    };
    let mut t = Trace::server_read(
        &ServerPolicy::default(),
        &rrq("f", Mode::Octet, &[("blksize", "8"), ("windowsize", "3")]),
        file.clone(),
    );
    t.expect_event(Ev::Negotiated(negotiated(8, 3, None)));
    t.expect_sent(CLIENT, oack(&[("blksize", "8"), ("windowsize", "3")]));
    t.recv(CLIENT, ack(0));
    for n in 1..=3 {
        t.expect_sent(CLIENT, block(n));
    }
    t.fire_timeout();
    // After a timeout the window goes out paced, one block at a time.
    t.expect_sent(CLIENT, block(1));
    t.expect_silent();
    t.advance(1);
    t.expect_sent(CLIENT, block(2));
    t.expect_sent(CLIENT, block(3));
    t.expect_silent();
    t.recv(CLIENT, ack(3));
    // 40 bytes = 5 full blocks, then the empty final one.
    t.expect_sent(CLIENT, block(4));
    t.expect_silent();
    t.advance(1);
    t.expect_sent(CLIENT, block(5));
    t.expect_sent(CLIENT, data(6, &[]));
    t.recv(CLIENT, ack(6));
    let summary = t.expect_finished();
    assert_eq!((summary.blocks, summary.retransmits), (6, 3));
    t.expect_closed();
}

// 8 -------------------------------------------------------------------------

#[test]
fn server_write_lock_step_with_dally() {
    let file = file_bytes(612);
    let mut t = Trace::server_write(&write_policy(), &wrq("up", Mode::Octet, &[]));
    t.expect_event(default_negotiated());
    t.expect_sent(CLIENT, ack(0));
    t.expect_silent();

    t.advance(4);
    t.recv(CLIENT, data(1, &file[..512]));
    t.expect_data(&file[..512]);
    t.expect_sent(CLIENT, ack(1));
    t.expect_silent();

    // Our ACK 1 was lost and the client resent DATA 1: ACK it again, but
    // the data was already handed over.
    t.advance(4);
    t.recv(CLIENT, data(1, &file[..512]));
    t.expect_sent(CLIENT, ack(1));
    t.expect_silent();

    t.advance(4);
    t.recv(CLIENT, data(2, &file[512..]));
    t.expect_data(&file[512..]);
    let summary = t.expect_finished();
    assert_eq!((summary.bytes, summary.blocks), (612, 2));
    t.expect_sent(CLIENT, ack(2));
    t.expect_silent();
    assert_eq!(t.received, file);
    assert!(
        !t.machine.is_closed(),
        "a receiver dallies after its final ACK"
    );

    // RFC 1350 §6: the final ACK was lost, the final DATA comes again.
    t.advance(400);
    t.expect_silent();
    t.recv(CLIENT, data(2, &file[512..]));
    t.expect_sent(CLIENT, ack(2));
    t.expect_silent();

    // The dally (default 1 s after the final ACK) ends.
    t.advance(599);
    t.expect_silent();
    assert!(!t.machine.is_closed());
    t.advance(1);
    t.expect_closed();
    t.recv(CLIENT, data(2, &file[512..]));
    t.expect_closed();
}

#[test]
fn server_write_lost_ack_is_resent_on_timeout() {
    let mut t = Trace::server_write(&write_policy(), &wrq("up", Mode::Octet, &[]));
    t.expect_event(default_negotiated());
    t.expect_sent(CLIENT, ack(0));
    t.fire_timeout();
    t.expect_sent(CLIENT, ack(0));
    t.recv(CLIENT, data(1, b"tiny"));
    t.expect_data(b"tiny");
    t.expect_finished();
    t.expect_sent(CLIENT, ack(1));
    t.advance(10_000);
    t.expect_closed();
}

#[test]
fn server_write_echoes_tsize() {
    let mut t = Trace::server_write(
        &write_policy(),
        &wrq("up", Mode::Octet, &[("tsize", "4"), ("blksize", "512")]),
    );
    t.expect_event(Ev::Negotiated(negotiated(512, 1, Some(4))));
    t.expect_sent(CLIENT, oack(&[("blksize", "512"), ("tsize", "4")]));
    t.recv(CLIENT, data(1, b"four"));
    t.expect_data(b"four");
    t.expect_finished();
    t.expect_sent(CLIENT, ack(1));
    t.advance(2_000);
    t.expect_closed();
}

// 9 -------------------------------------------------------------------------

#[test]
fn windowed_receiver_acks_each_window_and_reports_a_gap_once() {
    let file = file_bytes(8 * 8 + 3);
    let block = |n: u16| {
        let at = usize::from(n - 1) * 8;
        &file[at..(at + 8).min(file.len())]
    };
    let mut t = Trace::server_write(
        &write_policy(),
        &wrq("up", Mode::Octet, &[("blksize", "8"), ("windowsize", "4")]),
    );
    t.expect_event(Ev::Negotiated(negotiated(8, 4, None)));
    t.expect_sent(CLIENT, oack(&[("blksize", "8"), ("windowsize", "4")]));

    for n in 1..=3 {
        t.recv(CLIENT, data(n, block(n)));
        t.expect_data(block(n));
        t.expect_silent();
    }
    t.recv(CLIENT, data(4, block(4)));
    t.expect_data(block(4));
    t.expect_sent(CLIENT, ack(4));

    // Block 5 is lost: block 6 arrives first. One ACK 4 says where to
    // restart (RFC 7440 §4); the rest of the broken window says nothing.
    t.recv(CLIENT, data(6, block(6)));
    t.expect_sent(CLIENT, ack(4));
    t.expect_silent();
    t.recv(CLIENT, data(7, block(7)));
    t.expect_silent();
    t.recv(CLIENT, data(8, block(8)));
    t.expect_silent();

    for n in 5..=7 {
        t.recv(CLIENT, data(n, block(n)));
        t.expect_data(block(n));
        t.expect_silent();
    }
    t.recv(CLIENT, data(8, block(8)));
    t.expect_data(block(8));
    t.expect_sent(CLIENT, ack(8));

    // The final short block ends the transfer mid-window.
    t.recv(CLIENT, data(9, block(9)));
    t.expect_data(block(9));
    let summary = t.expect_finished();
    assert_eq!((summary.bytes, summary.blocks), (67, 9));
    t.expect_sent(CLIENT, ack(9));
    assert_eq!(t.received, file);
    t.advance(1_000);
    t.expect_closed();
}

#[test]
fn windowed_receiver_timeout_acks_the_last_block_in_order() {
    let mut t = Trace::server_write(
        &write_policy(),
        &wrq("up", Mode::Octet, &[("blksize", "8"), ("windowsize", "4")]),
    );
    t.expect_event(Ev::Negotiated(negotiated(8, 4, None)));
    t.expect_sent(CLIENT, oack(&[("blksize", "8"), ("windowsize", "4")]));
    t.recv(CLIENT, data(1, b"11111111"));
    t.expect_data(b"11111111");
    t.recv(CLIENT, data(2, b"22222222"));
    t.expect_data(b"22222222");
    t.expect_silent();
    // Blocks 3 and 4 never come: the timeout says where to restart.
    t.fire_timeout();
    t.expect_sent(CLIENT, ack(2));
    t.expect_silent();
    t.recv(CLIENT, data(3, b"3"));
    t.expect_data(b"3");
    t.expect_finished();
    t.expect_sent(CLIENT, ack(3));
    assert_eq!(t.received, b"11111111222222223");
    t.advance(1_000);
    t.expect_closed();
}

#[test]
fn negotiated_timeout_sets_the_dally() {
    let mut t = Trace::server_write(
        &write_policy(),
        &wrq("up", Mode::Octet, &[("timeout", "2")]),
    );
    t.expect_event(Ev::Negotiated(tftp_proto::transfer::Negotiated {
        blksize: 512,
        windowsize: 1,
        timeout: Some(2),
        tsize: None,
    }));
    t.expect_sent(CLIENT, oack(&[("timeout", "2")]));
    t.recv(CLIENT, data(1, b"x"));
    t.expect_data(b"x");
    t.expect_finished();
    t.expect_sent(CLIENT, ack(1));
    t.advance(1_999);
    t.recv(CLIENT, data(1, b"x"));
    t.expect_sent(CLIENT, ack(1));
    assert!(!t.machine.is_closed());
    t.advance(1);
    t.expect_closed();
}

// 10 ------------------------------------------------------------------------

fn get_options() -> Options {
    Options {
        blksize: Some(1468),
        tsize: Some(0),
        ..Options::default()
    }
}

#[test]
fn client_get_locks_the_tid_of_the_oack() {
    let file = file_bytes(3000);
    let mut t = Trace::client_get(&TransferConfig::default(), "boot.img", get_options());
    t.expect_sent(
        SERVER,
        rrq(
            "boot.img",
            Mode::Octet,
            &[("blksize", "1468"), ("tsize", "0")],
        ),
    );
    t.expect_silent();

    t.advance(3);
    t.recv(SERVER_TID, oack(&[("blksize", "1468"), ("tsize", "3000")]));
    t.expect_event(Ev::Negotiated(negotiated(1468, 1, Some(3000))));
    t.expect_sent(SERVER_TID, ack(0));
    assert_eq!(t.machine.peer(), SERVER_TID);

    // The request port is now a foreign transfer ID.
    t.recv(SERVER, data(1, &file[..1468]));
    t.expect_error(SERVER, 5);
    t.expect_silent();

    t.recv(SERVER_TID, data(1, &file[..1468]));
    t.expect_data(&file[..1468]);
    t.expect_sent(SERVER_TID, ack(1));
    t.recv(SERVER_TID, data(2, &file[1468..2936]));
    t.expect_data(&file[1468..2936]);
    t.expect_sent(SERVER_TID, ack(2));
    t.recv(SERVER_TID, data(3, &file[2936..]));
    t.expect_data(&file[2936..]);
    let summary = t.expect_finished();
    assert_eq!((summary.bytes, summary.blocks), (3000, 3));
    t.expect_sent(SERVER_TID, ack(3));
    assert_eq!(t.received, file);
    t.advance(1_000);
    t.expect_closed();
}

fn no_dally() -> TransferConfig {
    TransferConfig {
        dally: Duration::ZERO,
        ..TransferConfig::default()
    }
}

#[test]
fn client_get_without_dally_is_closed_right_after_the_final_ack() {
    let mut t = Trace::client_get(&no_dally(), "f", get_options());
    t.take_sent();
    t.recv(SERVER_TID, oack(&[("blksize", "1468")]));
    t.expect_event(Ev::Negotiated(negotiated(1468, 1, None)));
    t.expect_sent(SERVER_TID, ack(0));
    t.recv(SERVER_TID, data(1, &[7; 1468]));
    t.expect_data(&[7; 1468]);
    t.expect_sent(SERVER_TID, ack(1));
    t.recv(SERVER_TID, data(2, b"end"));
    t.expect_data(b"end");
    let summary = t.expect_finished();
    assert_eq!((summary.bytes, summary.blocks), (1471, 2));
    // The final ACK goes out, then nothing is left: no timer to wait for.
    t.expect_sent(SERVER_TID, ack(2));
    t.expect_closed();
    // A repeated final DATA (our ACK was lost) is the server's to time out on.
    t.recv(SERVER_TID, data(2, b"end"));
    t.expect_closed();
}

#[test]
fn client_get_without_dally_still_closes_promptly_when_windowed() {
    let options = Options {
        windowsize: Some(4),
        ..get_options()
    };
    let mut t = Trace::client_get(&no_dally(), "f", options);
    t.take_sent();
    t.recv(SERVER_TID, oack(&[("blksize", "8"), ("windowsize", "4")]));
    t.expect_event(Ev::Negotiated(negotiated(8, 4, None)));
    t.expect_sent(SERVER_TID, ack(0));
    t.recv(SERVER_TID, data(1, b"12345678"));
    t.expect_data(b"12345678");
    t.expect_silent();
    t.recv(SERVER_TID, data(2, b"9"));
    t.expect_data(b"9");
    t.expect_finished();
    t.expect_sent(SERVER_TID, ack(2));
    t.expect_closed();
}

#[test]
fn client_get_with_dally_acks_a_repeated_final_data_again() {
    let config = TransferConfig {
        dally: Duration::from_secs(1),
        ..TransferConfig::default()
    };
    let mut t = Trace::client_get(&config, "f", get_options());
    t.take_sent();
    t.recv(SERVER_TID, oack(&[("blksize", "1468")]));
    t.expect_event(Ev::Negotiated(negotiated(1468, 1, None)));
    t.expect_sent(SERVER_TID, ack(0));
    t.recv(SERVER_TID, data(1, b"end"));
    t.expect_data(b"end");
    t.expect_finished();
    t.expect_sent(SERVER_TID, ack(1));
    assert!(!t.machine.is_closed(), "dallying");
    // The server did not get ACK 1 and sends DATA 1 again: ACK it again.
    t.advance(300);
    t.recv(SERVER_TID, data(1, b"end"));
    t.expect_sent(SERVER_TID, ack(1));
    t.expect_silent();
    assert_eq!(t.received, b"end", "the repeat is not written twice");
    t.advance(700);
    t.expect_closed();
}

#[test]
fn client_get_answers_a_repeated_oack_with_ack_0() {
    let mut t = Trace::client_get(&TransferConfig::default(), "f", get_options());
    t.take_sent();
    t.recv(SERVER_TID, oack(&[("blksize", "1468")]));
    t.expect_event(Ev::Negotiated(negotiated(1468, 1, None)));
    t.expect_sent(SERVER_TID, ack(0));
    t.recv(SERVER_TID, oack(&[("blksize", "1468")]));
    t.expect_sent(SERVER_TID, ack(0));
    t.expect_silent();
    t.recv(SERVER_TID, data(1, b"end"));
    t.expect_data(b"end");
    t.expect_finished();
    t.expect_sent(SERVER_TID, ack(1));
    t.advance(1_000);
    t.expect_closed();
}

#[test]
fn client_get_refuses_an_oack_beyond_its_request() {
    let cases: [&[(&str, &str)]; 4] = [
        &[("blksize", "1468"), ("windowsize", "4")],
        &[("blksize", "2048")],
        &[("blksize", "1468"), ("x-vendor", "1")],
        &[("timeout", "5")],
    ];
    for offered in cases {
        let mut t = Trace::client_get(&TransferConfig::default(), "f", get_options());
        t.take_sent();
        t.recv(SERVER_TID, oack(offered));
        t.expect_error(SERVER_TID, 8);
        match t.expect_failed() {
            TransferError::OptionNegotiation(_) => {}
            other => panic!("{offered:?}: {other:?}"),
        }
        t.expect_closed();
        // Nothing more, whatever the server does next.
        t.recv(SERVER_TID, data(1, b"x"));
        t.advance(60_000);
        t.expect_closed();
    }
}

#[test]
fn client_get_falls_back_when_the_server_answers_with_data() {
    let file = file_bytes(600);
    let mut t = Trace::client_get(&TransferConfig::default(), "f", get_options());
    t.take_sent();
    t.recv(SERVER_TID, data(1, &file[..512]));
    t.expect_event(default_negotiated());
    t.expect_data(&file[..512]);
    t.expect_sent(SERVER_TID, ack(1));
    t.recv(SERVER_TID, data(2, &file[512..]));
    t.expect_data(&file[512..]);
    t.expect_finished();
    t.expect_sent(SERVER_TID, ack(2));
    assert_eq!(t.received, file);
    t.advance(1_000);
    t.expect_closed();
}

#[test]
fn client_get_answer_from_another_host_is_foreign() {
    let mut t = Trace::client_get(&TransferConfig::default(), "f", get_options());
    t.take_sent();
    t.recv(OTHER_HOST, oack(&[("blksize", "1468")]));
    t.expect_error(OTHER_HOST, 5);
    t.expect_silent();
    t.recv(SERVER_TID, oack(&[("blksize", "1468")]));
    t.expect_event(Ev::Negotiated(negotiated(1468, 1, None)));
    t.expect_sent(SERVER_TID, ack(0));
    t.recv(SERVER_TID, data(1, b""));
    t.expect_finished();
    t.expect_sent(SERVER_TID, ack(1));
    t.advance(1_000);
    t.expect_closed();
}

#[test]
fn client_get_of_a_missing_file_ends_on_the_servers_error() {
    let mut t = Trace::client_get(&TransferConfig::default(), "nope", Options::default());
    t.expect_sent(SERVER, rrq("nope", Mode::Octet, &[]));
    t.recv(SERVER_TID, error(1, "File not found"));
    t.expect_event(Ev::Failed(TransferError::Peer {
        code: ErrorCode::FileNotFound,
        message: "File not found".into(),
    }));
    t.expect_closed();
    t.advance(60_000);
    t.expect_closed();
}

// 11 ------------------------------------------------------------------------

fn put_options(len: u64) -> Options {
    Options {
        blksize: Some(1468),
        tsize: Some(len),
        ..Options::default()
    }
}

#[test]
fn client_put_falls_back_to_512_on_ack_0() {
    let file = file_bytes(600);
    let mut t = Trace::client_put(
        &TransferConfig::default(),
        "up",
        put_options(600),
        file.clone(),
    );
    t.expect_sent(
        SERVER,
        wrq("up", Mode::Octet, &[("blksize", "1468"), ("tsize", "600")]),
    );
    t.expect_silent();
    t.recv(SERVER_TID, ack(0));
    t.expect_event(default_negotiated());
    t.expect_sent(SERVER_TID, data(1, &file[..512]));
    t.recv(SERVER_TID, ack(1));
    t.expect_sent(SERVER_TID, data(2, &file[512..]));
    t.recv(SERVER_TID, ack(2));
    let summary = t.expect_finished();
    assert_eq!((summary.bytes, summary.blocks), (600, 2));
    t.expect_closed();
}

#[test]
fn client_put_uses_the_negotiated_blksize_after_oack() {
    let file = file_bytes(600);
    let mut t = Trace::client_put(
        &TransferConfig::default(),
        "up",
        put_options(600),
        file.clone(),
    );
    t.expect_sent(
        SERVER,
        wrq("up", Mode::Octet, &[("blksize", "1468"), ("tsize", "600")]),
    );
    t.recv(SERVER_TID, oack(&[("blksize", "1468"), ("tsize", "600")]));
    t.expect_event(Ev::Negotiated(negotiated(1468, 1, Some(600))));
    t.expect_sent(SERVER_TID, data(1, &file));
    t.expect_silent();
    t.recv(SERVER_TID, ack(1));
    let summary = t.expect_finished();
    assert_eq!((summary.bytes, summary.blocks), (600, 1));
    t.expect_closed();
}

// 12 ------------------------------------------------------------------------

#[test]
fn block_numbers_wrap_past_65535() {
    let len = 65536 * 8 + 3;
    let file = file_bytes(len);
    let mut t = Trace::server_read(
        &ServerPolicy::default(),
        &rrq("big", Mode::Octet, &[("blksize", "8")]),
        file.clone(),
    );
    t.expect_event(Ev::Negotiated(negotiated(8, 1, None)));
    t.expect_sent(CLIENT, oack(&[("blksize", "8")]));
    t.recv(CLIENT, ack(0));

    let mut wire = Vec::with_capacity(len);
    let mut numbers = Vec::new();
    let total = 65536 + 1;
    for i in 1..=total as u64 {
        let sent = t.take_sent();
        assert_eq!(sent.to, CLIENT);
        assert_eq!(&sent.bytes[..2], &[0, 3], "DATA");
        let n = u16::from_be_bytes([sent.bytes[2], sent.bytes[3]]);
        assert_eq!(u64::from(n), i % 65536, "block {i}");
        if (65534..=65538).contains(&i) {
            numbers.push(n);
        }
        wire.extend_from_slice(&sent.bytes[4..]);
        t.expect_silent();
        t.recv(CLIENT, ack(n));
    }
    assert_eq!(numbers, vec![65534, 65535, 0, 1]);
    let summary = t.expect_finished();
    assert_eq!(summary.blocks, total as u64);
    assert_eq!(summary.bytes, len as u64);
    assert_eq!(summary.retransmits, 0);
    assert!(wire == file, "content differs");
    t.expect_closed();
}

#[test]
fn receiver_block_numbers_wrap_past_65535() {
    let len = 65536 * 8 + 3;
    let file = file_bytes(len);
    let mut t = Trace::server_write(
        &write_policy(),
        &wrq("big", Mode::Octet, &[("blksize", "8")]),
    );
    t.expect_event(Ev::Negotiated(negotiated(8, 1, None)));
    t.expect_sent(CLIENT, oack(&[("blksize", "8")]));
    for (i, chunk) in file.chunks(8).enumerate() {
        let n = ((i + 1) % 65536) as u16;
        t.recv(CLIENT, data(n, chunk));
        t.expect_data(chunk);
        if chunk.len() == 8 {
            t.expect_sent(CLIENT, ack(n));
        }
    }
    let summary = t.expect_finished();
    assert_eq!((summary.blocks, summary.bytes), (65537, len as u64));
    t.expect_sent(CLIENT, ack(1));
    assert!(t.received == file, "content differs");
    t.advance(1_000);
    t.expect_closed();
}

// 13 ------------------------------------------------------------------------

fn refused(policy: &ServerPolicy, bytes: &[u8]) -> Trace {
    match accept_request(policy, CLIENT, bytes, Instant::ZERO) {
        Err(Some(t)) => Trace::new(*t, Instant::ZERO),
        Err(None) => panic!("ignored instead of refused"),
        Ok(a) => panic!("accepted: {a:?}"),
    }
}

fn expect_refusal(t: &mut Trace, code: u16) {
    let text = t.expect_error(CLIENT, code);
    assert!(!text.is_empty());
    t.expect_event(Ev::Failed(TransferError::Refused {
        code: ErrorCode::from_u16(code),
        message: text,
    }));
    t.expect_closed();
    t.advance(60_000);
    t.expect_closed();
}

#[test]
fn write_request_without_write_permission_gets_error_2() {
    let mut t = refused(&ServerPolicy::default(), &wrq("up", Mode::Octet, &[]));
    expect_refusal(&mut t, 2);
}

#[test]
fn mail_mode_gets_error_4() {
    let mut t = refused(&ServerPolicy::default(), &rrq("root", Mode::Mail, &[]));
    expect_refusal(&mut t, 4);
    let mut t = refused(&write_policy(), &wrq("root", Mode::Mail, &[]));
    expect_refusal(&mut t, 4);
}

#[test]
fn unknown_mode_gets_error_4() {
    let mut t = refused(&ServerPolicy::default(), b"\x00\x01f\x00binary\x00");
    expect_refusal(&mut t, 4);
}

#[test]
fn malformed_or_duplicate_options_get_error_8() {
    for options in [
        &[("blksize", "abc")][..],
        &[("blksize", "4")][..],
        &[("windowsize", "0")][..],
        &[("blksize", "512"), ("blksize", "1024")][..],
    ] {
        let mut t = refused(&ServerPolicy::default(), &rrq("f", Mode::Octet, options));
        expect_refusal(&mut t, 8);
    }
}

#[test]
fn non_requests_on_the_request_port_are_ignored() {
    let policy = ServerPolicy::default();
    for bytes in [
        ack(1),
        data(1, b"x"),
        error(0, "x"),
        oack(&[("blksize", "8")]),
        vec![0, 9],
        vec![],
    ] {
        assert!(
            matches!(
                accept_request(&policy, CLIENT, &bytes, Instant::ZERO),
                Err(None)
            ),
            "{bytes:?}"
        );
    }
}

#[test]
fn server_refuse_maps_local_errors() {
    for (error, code) in [
        (LocalError::NotFound, 1),
        (LocalError::PermissionDenied, 2),
        (LocalError::AlreadyExists, 6),
    ] {
        let machine =
            tftp_proto::transfer::Transfer::server_refuse(CLIENT, error, "no", Instant::ZERO);
        let mut t = Trace::new(machine, Instant::ZERO);
        t.expect_sent(CLIENT, trace::error(code, "no"));
        t.expect_event(Ev::Failed(TransferError::Refused {
            code: ErrorCode::from_u16(code),
            message: "no".into(),
        }));
        t.expect_closed();
    }
}

// 14 ------------------------------------------------------------------------

#[test]
fn data_longer_than_blksize_is_a_protocol_error() {
    let mut t = Trace::server_write(
        &write_policy(),
        &wrq("up", Mode::Octet, &[("blksize", "8")]),
    );
    t.expect_event(Ev::Negotiated(negotiated(8, 1, None)));
    t.expect_sent(CLIENT, oack(&[("blksize", "8")]));
    t.recv(CLIENT, data(1, b"123456789"));
    t.expect_error(CLIENT, 4);
    match t.expect_failed() {
        TransferError::Protocol(_) => {}
        other => panic!("{other:?}"),
    }
    t.expect_closed();
    t.advance(60_000);
    t.expect_closed();
}

#[test]
fn data_longer_than_512_without_options_is_a_protocol_error() {
    let mut t = Trace::server_write(&write_policy(), &wrq("up", Mode::Octet, &[]));
    t.expect_event(default_negotiated());
    t.expect_sent(CLIENT, ack(0));
    t.recv(CLIENT, data(1, &[7; 513]));
    t.expect_error(CLIENT, 4);
    assert!(matches!(t.expect_failed(), TransferError::Protocol(_)));
    t.expect_closed();
}

// 15 ------------------------------------------------------------------------

#[test]
fn netascii_send_expands_line_ends_and_bare_cr() {
    let mut t = Trace::server_read(
        &ServerPolicy::default(),
        &rrq("t.txt", Mode::Netascii, &[]),
        b"a\nb\r".to_vec(),
    );
    t.expect_event(default_negotiated());
    t.expect_sent(CLIENT, data(1, b"a\r\nb\r\0"));
    t.recv(CLIENT, ack(1));
    let summary = t.expect_finished();
    assert_eq!((summary.bytes, summary.blocks), (4, 1));
    t.expect_closed();
}

#[test]
fn netascii_send_splits_cr_lf_across_blocks() {
    let mut t = Trace::server_read(
        &ServerPolicy::default(),
        &rrq("t.txt", Mode::Netascii, &[("blksize", "8")]),
        b"abcdefg\nh".to_vec(),
    );
    t.expect_event(Ev::Negotiated(negotiated(8, 1, None)));
    t.expect_sent(CLIENT, oack(&[("blksize", "8")]));
    t.recv(CLIENT, ack(0));
    t.expect_sent(CLIENT, data(1, b"abcdefg\r"));
    t.recv(CLIENT, ack(1));
    t.expect_sent(CLIENT, data(2, b"\nh"));
    t.recv(CLIENT, ack(2));
    assert_eq!(t.expect_finished().bytes, 9);
    t.expect_closed();
}

#[test]
fn netascii_receive_restores_local_line_ends() {
    let mut t = Trace::server_write(
        &write_policy(),
        &wrq("t.txt", Mode::Netascii, &[("blksize", "8")]),
    );
    t.expect_event(Ev::Negotiated(negotiated(8, 1, None)));
    t.expect_sent(CLIENT, oack(&[("blksize", "8")]));
    t.recv(CLIENT, data(1, b"abcdefg\r"));
    // The CR waits for the next block to know what it is.
    t.expect_data(b"abcdefg");
    t.expect_sent(CLIENT, ack(1));
    t.recv(CLIENT, data(2, b"\nb\r\0c\r"));
    t.expect_data(b"\nb\rc\r");
    assert_eq!(t.expect_finished().bytes, 12);
    t.expect_sent(CLIENT, ack(2));
    assert_eq!(t.received, b"abcdefg\nb\rc\r");
    t.advance(1_000);
    t.expect_closed();
}

// 16 ------------------------------------------------------------------------

#[test]
fn abort_sends_the_mapped_error_and_fails() {
    let mut t = Trace::server_write(&write_policy(), &wrq("up", Mode::Octet, &[]));
    t.expect_event(default_negotiated());
    t.expect_sent(CLIENT, ack(0));
    t.recv(CLIENT, data(1, &[1; 512]));
    t.expect_data(&[1; 512]);
    t.expect_sent(CLIENT, ack(1));

    t.abort(LocalError::DiskFull, "No space left on device");
    t.expect_sent(CLIENT, error(3, "No space left on device"));
    t.expect_event(Ev::Failed(TransferError::Aborted {
        code: ErrorCode::DiskFull,
        message: "No space left on device".into(),
    }));
    t.expect_closed();
    // The client's next DATA finds nobody home.
    t.recv(CLIENT, data(2, &[2; 100]));
    t.advance(60_000);
    t.expect_closed();
}

#[test]
fn abort_of_a_sender_maps_other_to_code_0() {
    let file = file_bytes(2000);
    let mut t = Trace::server_read(
        &ServerPolicy::default(),
        &rrq("f", Mode::Octet, &[]),
        file.clone(),
    );
    t.expect_event(default_negotiated());
    t.expect_sent(CLIENT, data(1, &file[..512]));
    t.abort(LocalError::Other, "read failed");
    t.expect_sent(CLIENT, error(0, "read failed"));
    t.expect_event(Ev::Failed(TransferError::Aborted {
        code: ErrorCode::NotDefined,
        message: "read failed".into(),
    }));
    t.expect_closed();
}

// Invariants --------------------------------------------------------------

#[test]
fn after_finished_a_dallying_receiver_never_reports_failed() {
    // Finished tells the driver to commit the file; a Failed after it
    // would tell it to discard what it just committed. Whatever arrives
    // while dallying, only a repeated final DATA is answered.
    let junk: [Vec<u8>; 4] = [
        ack(1),
        vec![0, 3],
        data(1, &[0; 600]),
        error(0, "late error"),
    ];
    let mut faults = Vec::new();
    for late in junk {
        let mut t = Trace::server_write(&write_policy(), &wrq("up", Mode::Octet, &[]));
        t.expect_event(default_negotiated());
        t.expect_sent(CLIENT, ack(0));
        t.recv(CLIENT, data(1, b"last"));
        t.expect_data(b"last");
        t.expect_finished();
        t.expect_sent(CLIENT, ack(1));
        t.recv(CLIENT, late.clone());
        let said = t.take_all();
        if !said.is_empty() {
            faults.push(format!("{} -> {said:?}", trace::describe(&late)));
        }
        // The dally still answers a repeated final DATA, then ends.
        t.recv(CLIENT, data(1, b"last"));
        let said = t.take_all();
        if said != [format!("sent {} to {CLIENT}", trace::describe(&ack(1)))] {
            faults.push(format!("then DATA 1 -> {said:?}"));
        }
        t.advance(1_000);
        t.expect_closed();
    }
    assert!(faults.is_empty(), "{faults:#?}");
}

#![no_main]
//! The FTP server session fed an arbitrary mix of control-connection
//! chunks (raw, or whole lines from a table of commands), completions for its outstanding requests (chosen by the fuzz
//! bytes, fitting or not) and clock advances. Invariants: no panic; the
//! reply buffer stays bounded; every path handed out is a well-formed
//! root path; an active data address is always the control peer's; while
//! a TLS handshake asked for by AUTH runs, no control byte is taken (what
//! was pipelined behind AUTH in clear never becomes a command), and
//! transfers are protected only once the control connection is.

use core::net::SocketAddr;
use core::time::Duration;

use ftp_proto::format::Marker;
use ftp_proto::listing::{FileKind, Metadata};
use ftp_proto::server::{
    Access, Completion, Config, DataChannel, Event, Failure, Operation, RequestId, Session, Tls,
    TransferKind,
};
use ftp_proto::{Instant, RootPath};
use libfuzzer_sys::fuzz_target;

const FAILURES: [Failure; 16] = [
    Failure::NotFound,
    Failure::PermissionDenied,
    Failure::NotADirectory,
    Failure::IsADirectory,
    Failure::AlreadyExists,
    Failure::DirectoryNotEmpty,
    Failure::StorageFull,
    Failure::InvalidName,
    Failure::NoDataConnection,
    Failure::DataConnectionLost,
    Failure::Aborted,
    Failure::Io,
    Failure::DataTlsFailed,
    Failure::DataTlsNotResumed,
    Failure::TooManyMatches,
    Failure::Unsupported,
];

/// Whole command lines a client sends, picked by the fuzz bytes so that
/// commands with structured arguments (patterns, times, digests) are
/// reached in a short run, not only when the bytes happen to spell them.
const LINES: &[&str] = &[
    "USER anonymous",
    "PASS x",
    "USER alice",
    "EPSV",
    "PASV",
    "PORT 10,0,0,2,4,0",
    "NLST f*.bin",
    "NLST dir/[a-c]?.txt",
    "LIST -la /pub/*",
    "LIST a*/b",
    "NLST [",
    "MLSD *",
    "MFMT 20210304050607 a b",
    "MFMT 20210304050607.123 x",
    "MFMT 20211304050607 x",
    "MDTM 20210304050607 f.bin",
    "MDTM f.bin",
    "SITE UTIME 202103040506 f",
    "SITE UTIME f 20200101000000 20210304050607 20200101000000 UTC",
    "SITE UTIME x",
    "SITE HELP",
    "HASH f.bin",
    "HASH ../../x",
    "OPTS HASH MD5",
    "OPTS HASH SHA-1",
    "OPTS HASH crc",
    "OPTS HASH",
    "FEAT",
    "REIN",
    "RETR f",
    "ABOR",
    "STAT",
    // The data formats: TYPE E, STRU R/P, MODE B/C/Z and MODE Z's level,
    // RANG, REST at a restart marker, and a STOR after each so that
    // RANG+STOR's refusal and formatted uploads are reached.
    "TYPE E",
    "TYPE E N",
    "TYPE E T",
    "STRU R",
    "STRU P",
    "STRU F",
    "MODE B",
    "MODE C",
    "MODE S",
    "MODE Z",
    "OPTS MODE Z LEVEL 0",
    "OPTS MODE Z LEVEL 10",
    "OPTS MODE Z",
    "RANG 1 5",
    "RANG 1 0",
    "RANG 5 1",
    "REST 1048576",
    "STOR up.bin",
    "APPE up.bin",
];

fn check_path(p: &RootPath) {
    let s = p.as_str();
    assert!(!s.starts_with('/'));
    if !s.is_empty() {
        for c in s.split('/') {
            assert!(!c.is_empty() && c != "." && c != ".." && !c.contains('\0'));
        }
    }
}

fn check(op: &Operation, peer: SocketAddr) {
    match op {
        Operation::Stat { path }
        | Operation::SetModified { path, .. }
        | Operation::Hash { path, .. }
        | Operation::MakeDir { path }
        | Operation::RemoveDir { path }
        | Operation::Delete { path } => check_path(path),
        Operation::Rename { from, to } => {
            check_path(from);
            check_path(to);
        }
        Operation::Transfer(t) => {
            match &t.kind {
                TransferKind::Retrieve { path, .. }
                | TransferKind::Store { path, .. }
                | TransferKind::List { path, .. } => check_path(path),
                _ => {}
            }
            if let TransferKind::List {
                pattern: Some(pattern),
                ..
            } = &t.kind
            {
                // Only the last component is a pattern.
                assert!(!pattern.text.is_empty() && !pattern.text.contains('/'));
            }
            if let DataChannel::Active(addr) = t.data {
                assert_eq!(addr.ip(), peer.ip());
                assert!(addr.port() >= 1024);
            }
        }
        _ => {}
    }
}

fn meta(kind: FileKind, b: u8) -> Metadata {
    Metadata {
        kind,
        size: u64::from(b) << 8,
        modified: if b & 1 == 0 {
            Some(i64::from(b) * 1_000_000)
        } else {
            None
        },
        mode: 0o644,
        nlink: 1,
        unique: None,
    }
}

fn completion(b: u8, c: u8) -> Completion {
    match b % 12 {
        0 => Completion::LoggedIn {
            home: RootPath::ROOT
                .resolve(["u", "home/x", "/"][usize::from(c) % 3])
                .unwrap(),
            access: Access { write: c & 1 == 0 },
        },
        1 => Completion::LoginRefused,
        2 => Completion::Metadata(meta(FileKind::Directory, c)),
        3 => Completion::Metadata(meta(FileKind::File, c)),
        4 => Completion::Done,
        5 => Completion::Listening(SocketAddr::new(
            ["10.0.0.1", "::1", "0.0.0.0"][usize::from(c) % 3]
                .parse()
                .unwrap(),
            u16::from(c) << 8,
        )),
        6 => Completion::Started {
            size: (c & 1 == 0).then_some(u64::from(c)),
            name: (c & 2 == 0).then(|| "n\"x".into()),
        },
        7 => Completion::Finished {
            bytes: u64::from(c),
        },
        8 => Completion::Listing(
            [&b""[..], b"a\r\n213 end\r\n", b"\xff\r\n\r\n", b"x\r"][usize::from(c) % 4].to_vec(),
        ),
        9 => Completion::Hashed {
            len: u64::from(c),
            digest: vec![c; usize::from(c % 40)],
        },
        _ => Completion::Failed(FAILURES[usize::from(c) % FAILURES.len()]),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, mut data)) = data.split_first() else {
        return;
    };
    let peer: SocketAddr = if flags & 1 == 0 {
        "10.0.0.2:40000".parse().unwrap()
    } else {
        "[2001:db8::2]:40000".parse().unwrap()
    };
    let local: SocketAddr = if flags & 1 == 0 {
        "10.0.0.1:21".parse().unwrap()
    } else {
        "[2001:db8::1]:21".parse().unwrap()
    };
    let config = Config {
        anonymous: (flags & 2 == 0).then_some(Access {
            write: flags & 4 == 0,
        }),
        max_line: 16 + usize::from(flags >> 6) * 16,
        tls: Tls {
            offered: flags & 8 == 0,
            required: flags & 16 == 0,
        },
        ..Config::default()
    };
    let mut now = Instant::ZERO;
    // Implicit FTPS: the driver completed the handshake before the session.
    let implicit = flags & 32 == 0 && config.tls.offered;
    let mut session = if implicit {
        Session::new_secured(&config, peer, local, now)
    } else {
        Session::new(&config, peer, local, now)
    };
    let mut handshaking = false;
    let mut outstanding: Vec<RequestId> = Vec::new();
    let mut input: Vec<u8> = Vec::new();

    while let Some((&op, rest)) = data.split_first() {
        data = rest;
        match op % 5 {
            1 if op & 4 == 0 => {
                // A whole command line from the table, picked by the next
                // byte (the table is longer than `op` has bits for).
                let pick = match data.split_first() {
                    Some((&b, rest)) => {
                        data = rest;
                        b
                    }
                    None => op >> 3,
                };
                input.extend_from_slice(LINES[usize::from(pick) % LINES.len()].as_bytes());
                input.extend_from_slice(b"\r\n");
            }
            0 | 1 => {
                // Control bytes arrive.
                let len = usize::from(op >> 2).min(data.len());
                input.extend_from_slice(&data[..len]);
                data = &data[len..];
            }
            2 if op & 4 != 0 => {
                // The upload's data carried a restart marker: arbitrary
                // bytes (its 110 repeats only a printable one, exactly).
                let (len, offset) = match data {
                    [len, offset, rest @ ..] => {
                        data = rest;
                        (usize::from(*len % 72).min(rest.len()), u64::from(*offset))
                    }
                    _ => (0, 0),
                };
                let marker = Marker {
                    sender: data[..len].to_vec(),
                    offset,
                };
                data = &data[len..];
                let Some(&latest) = outstanding.last() else {
                    continue;
                };
                let before = session.transmit().len();
                session.restart_marker(now, latest, &marker);
                let added = &session.transmit()[before..];
                if !added.is_empty() {
                    let mut want = b"110 MARK ".to_vec();
                    want.extend_from_slice(&marker.sender);
                    want.extend_from_slice(format!(" = {offset}\r\n").as_bytes());
                    assert_eq!(added, &want[..]);
                    assert!(marker.sender.iter().all(u8::is_ascii_graphic));
                }
            }
            2 => {
                // The driver completes a request: the outstanding one, or
                // (rarely) a stale id, which must be ignored.
                let (b, c) = match data {
                    [b, c, rest @ ..] => {
                        data = rest;
                        (*b, *c)
                    }
                    _ => (0, 0),
                };
                let Some(&latest) = outstanding.last() else {
                    continue;
                };
                let pick = usize::from(op >> 3);
                let id = if pick < 40 {
                    latest
                } else {
                    outstanding[pick % outstanding.len()]
                };
                session.transfer_progress(now, id, u64::from(c));
                session.complete(now, id, completion(b, c));
            }
            3 => {
                now = now + Duration::from_millis(u64::from(op >> 3) * 25_000);
                session.handle_timeout(now);
            }
            _ if handshaking && op & 8 != 0 => {
                // The driver's TLS handshake ends: bytes not taken were
                // sent in clear and are discarded.
                input.clear();
                handshaking = false;
                if op & 16 == 0 {
                    let open = !session.is_closed();
                    session.control_secured(now);
                    assert!(!open || session.is_control_secured());
                } else {
                    session.control_tls_failed(now);
                    assert!(session.is_closed());
                }
            }
            _ => {
                // A partial write of the replies.
                let n = usize::from(op >> 3) * 3;
                session.transmitted(n);
            }
        }
        let n = session.handle_input(now, &input);
        assert!(n <= input.len());
        if handshaking && !session.is_closed() {
            assert_eq!(n, 0, "control bytes taken during the TLS handshake");
        }
        input.drain(..n);
        while let Some(event) = session.poll_event() {
            match event {
                Event::Request { id, op } => {
                    check(&op, peer);
                    if let Operation::Transfer(t) = &op {
                        assert!(!t.protected || session.is_control_secured());
                    }
                    outstanding.push(id);
                }
                Event::SecureControl => {
                    assert!(config.tls.offered && !session.is_control_secured());
                    handshaking = true;
                }
                Event::Abort { id } => assert!(outstanding.contains(&id)),
                _ => {}
            }
        }
        // Bounded: the session stops reading past its high-water mark,
        // and one command's reply is small.
        assert!(session.transmit().len() < 64 * 1024);
        // Never a timer already due: handle_timeout(now) acted on it.
        if let Some(deadline) = session.poll_timeout() {
            assert!(deadline > now);
        }
    }
    let n = session.transmit().len();
    session.transmitted(n);
    assert!(session.transmit().is_empty());
});

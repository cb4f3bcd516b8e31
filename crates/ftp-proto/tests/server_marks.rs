//! Restart markers of an upload (RFC 959 §3.5): what a driver's decoder
//! finds in the data goes to the session, which answers each with `110
//! MARK yyyy = mmmm` on the control connection, before the transfer's
//! final reply, whatever the pieces the data came in; and a client that
//! marks every block without reading its replies gets a bounded buffer.

use core::net::SocketAddr;

use ftp_proto::format::{Decoder, Format, Marker, Mode, Representation, Structure};
use ftp_proto::server::{Access, Completion, Config, Event, Operation, RequestId, Session};
use ftp_proto::Instant;
use proptest::prelude::*;

/// A session with an upload running (its 150 read), in `mode` from
/// offset `rest`, and the upload's request id.
fn uploading(mode: char, rest: u64) -> (Session, RequestId) {
    let config = Config {
        anonymous: Some(Access { write: true }),
        ..Config::default()
    };
    let peer: SocketAddr = "10.0.0.2:40000".parse().unwrap();
    let local: SocketAddr = "10.0.0.1:21".parse().unwrap();
    let mut session = Session::new(&config, peer, local, Instant::ZERO);
    let script = format!(
        "USER anonymous\r\nPASS x\r\nTYPE I\r\nMODE {mode}\r\nPORT 10,0,0,2,7,208\r\n\
         REST {rest}\r\nSTOR up.bin\r\n"
    );
    assert_eq!(
        session.handle_input(Instant::ZERO, script.as_bytes()),
        script.len()
    );
    let id = loop {
        match session.poll_event().expect("a transfer request") {
            Event::Request {
                id,
                op: Operation::Transfer(_),
            } => break id,
            Event::Log(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    let started = Completion::Started {
        size: None,
        name: None,
    };
    session.complete(Instant::ZERO, id, started);
    let all = session.transmit().len();
    let replies = String::from_utf8(session.transmit().to_vec()).unwrap();
    assert!(replies.ends_with("150 Opening BINARY mode data connection for up.bin.\r\n"));
    session.transmitted(all);
    (session, id)
}

/// Everything the session has to write now, taken.
fn written(session: &mut Session) -> String {
    let out = String::from_utf8(session.transmit().to_vec()).unwrap();
    session.transmitted(out.len());
    out
}

fn format(mode: Mode) -> Format {
    Format {
        representation: Representation::Image,
        structure: Structure::File,
        mode,
        ..Format::IMAGE
    }
}

/// MODE B: 3 data bytes, marker `A1`, 2 data bytes, marker `2`, EOF.
const BLOCKS: &[u8] = b"\x00\x00\x03abc\x10\x00\x02A1\x00\x00\x02de\x10\x00\x012\x40\x00\x00";
/// MODE C: the same.
const COMPRESSED: &[u8] = b"\x03abc\x00\x10\x02A1\x02de\x00\x10\x012\x00\x40";
/// The replies both give when the upload resumed at 100.
const REPLIES: &str = "110 MARK A1 = 103\r\n110 MARK 2 = 105\r\n226 Transfer complete.\r\n";

/// What a driver does: decodes each piece as it comes, hands the session
/// the markers found, writes the replies; then completes the transfer.
fn upload_in_pieces(mode: Mode, wire: &[u8], cuts: &[usize]) -> (Vec<u8>, String) {
    let letter = match mode {
        Mode::Block => 'B',
        _ => 'C',
    };
    let (mut session, id) = uploading(letter, 100);
    let mut decoder = Decoder::new(format(mode), 100);
    let (mut file, mut replies) = (Vec::new(), String::new());
    let mut at = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.push(wire.len());
    for cut in cuts {
        decoder.decode(&wire[at..cut], &mut file).unwrap();
        at = cut;
        while let Some(marker) = decoder.take_marker() {
            session.restart_marker(Instant::ZERO, id, &marker);
        }
        replies.push_str(&written(&mut session));
    }
    assert!(decoder.is_complete());
    let done = Completion::Finished {
        bytes: wire.len() as u64,
    };
    session.complete(Instant::ZERO, id, done);
    replies.push_str(&written(&mut session));
    (file, replies)
}

#[test]
fn markers_in_block_and_compressed_uploads_get_one_110_each() {
    for (mode, wire) in [(Mode::Block, BLOCKS), (Mode::Compressed, COMPRESSED)] {
        let (file, replies) = upload_in_pieces(mode, wire, &[]);
        assert_eq!(file, b"abcde", "{mode:?}");
        assert_eq!(replies, REPLIES, "{mode:?}");
    }
}

proptest! {
    #[test]
    fn the_replies_do_not_depend_on_how_the_data_is_split(
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
        compressed in any::<bool>(),
    ) {
        let (mode, wire) = match compressed {
            true => (Mode::Compressed, COMPRESSED),
            false => (Mode::Block, BLOCKS),
        };
        let (file, replies) = upload_in_pieces(mode, wire, &cuts);
        prop_assert_eq!(file, b"abcde".to_vec());
        prop_assert_eq!(replies, REPLIES);
    }
}

fn marker(sender: &str, offset: u64) -> Marker {
    Marker {
        sender: sender.as_bytes().to_vec(),
        offset,
    }
}

#[test]
fn a_client_that_reads_no_replies_gets_a_bounded_buffer_and_the_newest_marker() {
    let (mut session, id) = uploading('B', 0);
    for i in 1..=100_000u64 {
        session.restart_marker(Instant::ZERO, id, &marker(&i.to_string(), i * 4));
    }
    // About 1 KiB of 110s, in order from the first; the rest waited in one
    // slot, of which the newest is left.
    let held = session.transmit().len();
    assert!((1024..1024 + 64).contains(&held), "{held} bytes unsent");
    let first = written(&mut session);
    let lines: Vec<&str> = first.lines().collect();
    assert_eq!(lines[0], "110 MARK 1 = 4");
    assert_eq!(lines[1], "110 MARK 2 = 8");
    let n = lines.len() as u64;
    assert_eq!(
        lines.last().copied(),
        Some(&*format!("110 MARK {n} = {}", n * 4))
    );
    // Once read, the newest marker follows, and only it.
    assert_eq!(written(&mut session), "110 MARK 100000 = 400000\r\n");
    assert_eq!(written(&mut session), "");
    session.complete(Instant::ZERO, id, Completion::Finished { bytes: 1 });
    assert_eq!(written(&mut session), "226 Transfer complete.\r\n");

    // Still held when the transfer ends: it comes before the final reply.
    let (mut session, id) = uploading('C', 0);
    for i in 1..=1000u64 {
        session.restart_marker(Instant::ZERO, id, &marker(&i.to_string(), i));
    }
    let done = Completion::Finished { bytes: 1 };
    session.complete(Instant::ZERO, id, done);
    let all = written(&mut session);
    assert!(
        all.ends_with("110 MARK 1000 = 1000\r\n226 Transfer complete.\r\n"),
        "{all}"
    );
}

#[test]
fn a_marker_that_cannot_be_repeated_as_it_came_gets_no_110() {
    let (mut session, id) = uploading('B', 0);
    for sender in ["1\r\n226 Forged.", "a b", "", "\u{e9}", &"9".repeat(65)] {
        session.restart_marker(Instant::ZERO, id, &marker(sender, 1));
    }
    assert_eq!(written(&mut session), "");
    session.restart_marker(Instant::ZERO, id, &marker(&"9".repeat(64), 1));
    assert_eq!(
        written(&mut session),
        format!("110 MARK {} = 1\r\n", "9".repeat(64))
    );
}

//! Reply formatting (server side) and the reply reader (client side).

use ftp_proto::reply::{write_reply, ReplyError, ReplyReader};
use ftp_proto::{Reply, ReplyCode};

fn code(n: u16) -> ReplyCode {
    ReplyCode::new(n).expect("a valid code")
}

fn reply(n: u16, text: &str) -> Reply {
    Reply {
        code: code(n),
        text: text.into(),
    }
}

fn written(n: u16, text: &str) -> String {
    let mut out = Vec::new();
    write_reply(&mut out, code(n), text);
    String::from_utf8(out).expect("replies are UTF-8 when their text is")
}

/// Everything `bytes` holds, read `chunk` bytes at a time.
fn read_chunked(max: usize, bytes: &[u8], chunk: usize) -> Vec<Result<Reply, ReplyError>> {
    let mut r = ReplyReader::new(max);
    let mut out = Vec::new();
    for piece in bytes.chunks(chunk) {
        let mut at = 0;
        loop {
            at += r.push(&piece[at..]);
            match r.next_reply() {
                Some(x) => out.push(x),
                None if at == piece.len() => break,
                None => panic!("push stopped without a reply waiting"),
            }
        }
    }
    out
}

fn read_all(bytes: &[u8]) -> Vec<Result<Reply, ReplyError>> {
    read_chunked(4096, bytes, bytes.len().max(1))
}

#[test]
fn single_line() {
    assert_eq!(written(200, "OK"), "200 OK\r\n");
    assert_eq!(
        written(220, "ferry FTP server ready"),
        "220 ferry FTP server ready\r\n"
    );
    assert_eq!(written(226, ""), "226 \r\n");
    assert_eq!(written(550, "  spaced  "), "550   spaced  \r\n");
}

#[test]
fn multi_line_rfc2389_feat() {
    // RFC 2389 §3.2's example response to FEAT.
    assert_eq!(
        written(
            211,
            "Extensions supported:\n MLST size*;create;modify*;perm;media-type\n SIZE\n COMPRESSION\n MDTM\nEND"
        ),
        "211-Extensions supported:\r\n MLST size*;create;modify*;perm;media-type\r\n SIZE\r\n COMPRESSION\r\n MDTM\r\n211 END\r\n"
    );
    assert_eq!(written(211, "a\nb"), "211-a\r\n211 b\r\n");
    assert_eq!(written(211, "\n"), "211-\r\n211 \r\n");
    assert_eq!(written(211, "a\n\nb"), "211-a\r\n\r\n211 b\r\n");
}

#[test]
fn middle_lines_cannot_end_the_reply() {
    // RFC 959 §4.2: a middle line starting with the code and a space,
    // or the code alone, would end the reply; it gets a leading space.
    assert_eq!(
        written(211, "status\n211 not the end\n211-fine\n212 other\nend"),
        "211-status\r\n 211 not the end\r\n211-fine\r\n212 other\r\n211 end\r\n"
    );
    let wire = written(211, "status\n211 not the end\n211\n2111\nend");
    assert_eq!(
        wire,
        "211-status\r\n 211 not the end\r\n 211\r\n2111\r\n211 end\r\n"
    );
    assert_eq!(
        read_all(wire.as_bytes()),
        vec![Ok(reply(211, "status\n 211 not the end\n 211\n2111\nend"))]
    );
    // A CR does not hide the code.
    assert_eq!(written(211, "a\n211\r\nb"), "211-a\r\n 211\r\n211 b\r\n");
}

#[test]
fn a_bare_code_ends_a_multi_line_reply() {
    // As `DDD` alone is a one-line reply with empty text, it is the end
    // line of a multi-line one.
    assert_eq!(
        read_all(b"211-Features:\r\n EPSV\r\n211\r\n200 next\r\n"),
        vec![Ok(reply(211, "Features:\n EPSV\n")), Ok(reply(200, "next"))]
    );
    assert_eq!(
        read_chunked(100, b"211-a\n211\n", 1),
        vec![Ok(reply(211, "a\n"))]
    );
    // Other codes, or the code and more, do not end it.
    assert_eq!(
        read_all(b"211-a\r\n212\r\n2110\r\n211-b\r\n211\r\n"),
        vec![Ok(reply(211, "a\n212\n2110\n211-b\n"))]
    );
    assert_eq!(written(211, "a\n"), "211-a\r\n211 \r\n");
}

#[test]
fn carriage_returns_are_dropped() {
    // No text can end a line early or forge a second reply.
    assert_eq!(written(200, "a\rb\r"), "200 ab\r\n");
    assert_eq!(
        written(200, "a\r\n200 forged"),
        "200-a\r\n200 200 forged\r\n"
    );
    assert_eq!(
        written(211, "x\n2\r11 y\nz"),
        "211-x\r\n 211 y\r\n211 z\r\n"
    );
}

#[test]
fn reply_encode_is_write_reply() {
    let mut a = Vec::new();
    reply(257, "\"/pub\" created").encode(&mut a);
    assert_eq!(a, b"257 \"/pub\" created\r\n");
}

#[test]
fn reads_rfc959_multi_line_example() {
    // RFC 959 §4.2: lines between the first and last may begin with
    // digits, even another code.
    let wire = b"123-First line\r\nSecond line\r\n  234 A line beginning with numbers\r\n123 The last line\r\n";
    assert_eq!(
        read_all(wire),
        vec![Ok(reply(
            123,
            "First line\nSecond line\n  234 A line beginning with numbers\nThe last line"
        ))]
    );
}

#[test]
fn reads_a_session_with_lf_or_crlf() {
    let wire = b"220 hi\r\n331 pw\n230-Welcome\n230-more\r\n230 in\r\n200\r\n226 \n";
    assert_eq!(
        read_all(wire),
        vec![
            Ok(reply(220, "hi")),
            Ok(reply(331, "pw")),
            Ok(reply(230, "Welcome\n230-more\nin")),
            Ok(reply(200, "")),
            Ok(reply(226, "")),
        ]
    );
}

#[test]
fn other_codes_inside_do_not_end() {
    let wire = b"211-a\r\n212 b\r\n2110 c\r\n211-d\r\n 211\r\n 211 e\r\n211 End\r\n";
    assert_eq!(
        read_all(wire),
        vec![Ok(reply(211, "a\n212 b\n2110 c\n211-d\n 211\n 211 e\nEnd"))]
    );
}

#[test]
fn same_reply_in_every_split() {
    let wire = b"220 hi\r\n211-Features:\r\n SIZE\r\n MDTM\r\n211 End\r\n150 go\n226 done\r\n";
    let whole = read_all(wire);
    assert_eq!(whole.len(), 4);
    for chunk in 1..wire.len() {
        assert_eq!(read_chunked(4096, wire, chunk), whole, "chunk {chunk}");
    }
}

#[test]
fn push_stops_after_a_reply() {
    let mut r = ReplyReader::new(100);
    assert_eq!(r.push(b"200 a\r\n200 b\r\n"), 7);
    // A reply is waiting: nothing more is taken until it is read.
    assert_eq!(r.push(b"200 b\r\n"), 0);
    assert_eq!(r.next_reply(), Some(Ok(reply(200, "a"))));
    assert_eq!(r.next_reply(), None);
    assert_eq!(r.push(b"200 b"), 5);
    assert_eq!(r.next_reply(), None);
    assert_eq!(r.push(b"\r"), 1);
    assert_eq!(r.push(b"\n"), 1);
    assert_eq!(r.next_reply(), Some(Ok(reply(200, "b"))));
}

#[test]
fn malformed_first_lines() {
    for bad in [
        &b"\r\n"[..],
        b"20 x\r\n",
        b"2000 x\r\n",
        b"20x x\r\n",
        b"abc def\r\n",
        b" 200 x\r\n",
        b"200x\r\n",
        b"200_x\r\n",
        b"099 x\r\n",
        b"600 x\r\n",
        b"-200 x\r\n",
    ] {
        assert_eq!(
            read_all(bad),
            vec![Err(ReplyError::Malformed)],
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn errors_end_the_stream() {
    let mut r = ReplyReader::new(100);
    assert_eq!(r.push(b"xyz\r\n200 ok\r\n"), 13);
    assert_eq!(r.next_reply(), Some(Err(ReplyError::Malformed)));
    assert_eq!(r.next_reply(), None);
    // Unusable from now on: bytes are taken and dropped.
    assert_eq!(r.push(b"200 ok\r\n"), 8);
    assert_eq!(r.next_reply(), None);
}

#[test]
fn not_utf8_is_decoded_lossily() {
    assert_eq!(
        read_all("211-é\r\n211 ü\r\n".as_bytes()),
        vec![Ok(reply(211, "é\nü"))]
    );
    // A Latin-1 name: the bad byte becomes U+FFFD, and reading goes on.
    assert_eq!(
        read_all(b"257 \"/caf\xe9\" is the current directory\r\n200 ok\r\n"),
        vec![
            Ok(reply(257, "\"/caf\u{fffd}\" is the current directory")),
            Ok(reply(200, "ok")),
        ]
    );
    assert_eq!(read_all(b"200 \xff\r\n"), vec![Ok(reply(200, "\u{fffd}"))]);
    // In every kind of line; a cut-off sequence is one U+FFFD.
    assert_eq!(
        read_all(b"211-\xc3\r\n a\xc3\xa9\xc3\r\n211 \xfe\xff\r\n"),
        vec![Ok(reply(
            211,
            "\u{fffd}\n a\u{e9}\u{fffd}\n\u{fffd}\u{fffd}"
        ))]
    );
    // Split inside the bad sequence: the same.
    assert_eq!(
        read_chunked(100, b"150 Opening for \xe9t\xe9.txt (3 bytes)\r\n", 1),
        vec![Ok(reply(
            150,
            "Opening for \u{fffd}t\u{fffd}.txt (3 bytes)"
        ))]
    );
}

#[test]
fn too_long() {
    // The limit counts the whole reply, terminators included.
    assert_eq!(
        read_chunked(8, b"200 abc\n", 1),
        vec![Ok(reply(200, "abc"))]
    );
    assert_eq!(
        read_chunked(8, b"200 abcd\n", 1),
        vec![Err(ReplyError::TooLong)]
    );
    assert_eq!(
        read_chunked(8, b"200 abcde", 100),
        vec![Err(ReplyError::TooLong)]
    );
    // A multi-line reply whose lines are short but which never ends.
    let mut endless = b"211-start\r\n".to_vec();
    for _ in 0..1000 {
        endless.extend_from_slice(b"line\r\n");
    }
    assert_eq!(
        read_chunked(1024, &endless, 7),
        vec![Err(ReplyError::TooLong)]
    );
    // The count starts again with each reply.
    let wire = b"200 abc\n200 abc\n200 abc\n";
    assert_eq!(read_chunked(8, wire, 5).len(), 3);
    assert!(read_chunked(8, wire, 5).iter().all(|r| r.is_ok()));
}

#[test]
fn written_replies_read_back() {
    for (n, text) in [
        (200, "OK"),
        (211, "Features:\n SIZE\n MDTM\nEnd"),
        (
            214,
            "The following commands are recognized:\n USER PASS\n214 looks like an end\nHelp OK",
        ),
        (257, "\"/a \"\"quoted\"\" dir\" created"),
        (226, ""),
        (211, "\n\n"),
    ] {
        let wire = written(n, text);
        let expect = text.replace("\n214 ", "\n 214 ");
        assert_eq!(read_all(wire.as_bytes()), vec![Ok(reply(n, &expect))]);
    }
}

#[test]
fn codes() {
    assert_eq!(ReplyCode::new(99), None);
    assert_eq!(ReplyCode::new(600), None);
    assert_eq!(ReplyCode::new(100).map(ReplyCode::as_u16), Some(100));
    assert_eq!(ReplyCode::new(599).map(ReplyCode::as_u16), Some(599));
    assert_eq!(code(150).digits(), *b"150");
    assert_eq!(code(421).to_string(), "421");
    assert!(ReplyCode::ABOUT_TO_OPEN_DATA.is_preliminary());
    assert!(ReplyCode::CLOSING_DATA.is_completion());
    assert!(ReplyCode::NEED_PASSWORD.is_intermediate());
    assert!(ReplyCode::CANT_OPEN_DATA.is_transient_failure());
    assert!(ReplyCode::NOT_LOGGED_IN.is_permanent_failure());
    // RFC 959 §4.2.2 numbers for the codes the sessions use most.
    for (c, n) in [
        (ReplyCode::SERVICE_READY, 220),
        (ReplyCode::NEED_PASSWORD, 331),
        (ReplyCode::LOGGED_IN, 230),
        (ReplyCode::PASSIVE, 227),
        (ReplyCode::EXTENDED_PASSIVE, 229),
        (ReplyCode::PATH_CREATED, 257),
        (ReplyCode::PENDING, 350),
        (ReplyCode::TRANSFER_ABORTED, 426),
        (ReplyCode::PROTOCOL_NOT_SUPPORTED, 522),
        (ReplyCode::NAME_NOT_ALLOWED, 553),
    ] {
        assert_eq!(c.as_u16(), n);
    }
}

#[test]
fn the_too_many_sessions_reply_is_one_421_line() {
    let bytes = ftp_proto::server::TOO_MANY_SESSIONS;
    let mut reader = ftp_proto::reply::ReplyReader::new(1024);
    assert_eq!(reader.push(bytes), bytes.len());
    let reply = reader.next_reply().expect("a whole reply").expect("valid");
    assert_eq!(reply.code.as_u16(), 421);
    assert!(reader.next_reply().is_none());
}

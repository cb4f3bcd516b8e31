//! The server's control-line reader: framing, Telnet, limits.

use ftp_proto::line::{Fed, LineReader};

/// What the reader produced, in order: a line or an over-long line.
#[derive(Debug, PartialEq, Eq)]
enum Out {
    Line(Vec<u8>),
    TooLong,
}

fn line(s: &[u8]) -> Out {
    Out::Line(s.to_vec())
}

/// Feeds `input` in pieces of `chunk` bytes, collecting every result.
fn read_chunked(max: usize, input: &[u8], chunk: usize) -> Vec<Out> {
    let mut r = LineReader::new(max);
    let mut out = Vec::new();
    for piece in input.chunks(chunk) {
        let mut at = 0;
        while at < piece.len() {
            let (n, fed) = r.feed(&piece[at..]);
            at += n;
            assert!(r.buffered() <= max);
            assert!(r.capacity() <= max);
            match fed {
                Fed::Line => out.push(line(r.line())),
                Fed::TooLong => out.push(Out::TooLong),
                Fed::NeedMore => {
                    assert_eq!(at, piece.len());
                    continue;
                }
            }
            r.clear();
        }
    }
    out
}

fn read(max: usize, input: &[u8]) -> Vec<Out> {
    read_chunked(max, input, input.len().max(1))
}

#[test]
fn crlf_and_bare_lf_end_lines() {
    assert_eq!(
        read(64, b"USER a\r\nPASS b\nNOOP\r\n\r\n\n"),
        vec![
            line(b"USER a"),
            line(b"PASS b"),
            line(b"NOOP"),
            line(b""),
            line(b"")
        ]
    );
}

#[test]
fn a_cr_not_before_lf_is_kept() {
    assert_eq!(
        read(64, b"a\rb\r\n\r\r\nc\r"),
        vec![line(b"a\rb"), line(b"\r")]
    );
    // The CR before the LF is recognised across feeds too.
    assert_eq!(
        read_chunked(64, b"ab\r\ncd\r\r\n", 1),
        vec![line(b"ab"), line(b"cd\r")]
    );
}

#[test]
fn telnet_ip_and_synch_before_abor() {
    // RFC 959 §4.1.3: a client aborts with IP, then Synch (IAC DM sent
    // urgent), then ABOR. Both Telnet commands vanish from the line.
    assert_eq!(read(64, b"\xff\xf4\xff\xf2ABOR\r\n"), vec![line(b"ABOR")]);
}

#[test]
fn telnet_sequences() {
    // IAC IAC is a literal 0xFF (a byte of some file name).
    assert_eq!(read(64, b"RETR a\xff\xffb\r\n"), vec![line(b"RETR a\xffb")]);
    // WILL/WONT/DO/DONT take an option byte, whatever it is.
    assert_eq!(
        read(
            64,
            b"NO\xff\xfb\x01\xff\xfc\n\xff\xfd\xff\xff\xfe\x0dOP\r\n"
        ),
        vec![line(b"NOOP")]
    );
    // Every two-byte command from SE (240) to SB (250) is dropped.
    let mut input = b"A".to_vec();
    for cmd in 0xf0..=0xfa {
        input.extend_from_slice(&[0xff, cmd]);
    }
    input.extend_from_slice(b"B\r\n");
    assert_eq!(read(64, &input), vec![line(b"AB")]);
    // IAC before an ordinary byte: only the IAC goes, even before LF.
    assert_eq!(read(64, b"A\xffBC\xff\n"), vec![line(b"ABC")]);
    // A CR, Telnet noise, then LF: the CR was still the last data byte.
    assert_eq!(read(64, b"A\r\xff\xf1\n"), vec![line(b"A")]);
    // A CR, then an escaped 0xFF: the CR is data.
    assert_eq!(read(64, b"A\r\xff\xff\n"), vec![line(b"A\r\xff")]);
}

#[test]
fn telnet_state_survives_split_feeds() {
    let input = b"\xff\xf4\xff\xf2ABOR\r\nRETR \xff\xffx\xff\xfd\x18y\r\n";
    let whole = read(64, input);
    assert_eq!(whole, vec![line(b"ABOR"), line(b"RETR \xffxy")]);
    for chunk in 1..input.len() {
        assert_eq!(read_chunked(64, input, chunk), whole, "chunk {chunk}");
    }
}

#[test]
fn over_long_lines_are_reported_once_and_skipped() {
    assert_eq!(
        read(4, b"12345\r\n1234\r\n123456789\n\n"),
        vec![Out::TooLong, line(b"1234"), Out::TooLong, line(b"")]
    );
    // At the limit exactly: fine, with or without CR.
    assert_eq!(
        read(4, b"abcd\r\nabcd\n"),
        vec![line(b"abcd"), line(b"abcd")]
    );
    // Telnet sequences do not count; escaped 0xFF counts once.
    assert_eq!(
        read(4, b"ab\xff\xf4\xff\xfb\x01cd\r\n\xff\xff\xff\xffab\n"),
        vec![line(b"abcd"), line(b"\xff\xffab")]
    );
    // A kept CR counts.
    assert_eq!(read(4, b"ab\rcd\n"), vec![Out::TooLong]);
    // Split anywhere, the same.
    let input = b"0123456789abcdef\r\nok\r\n";
    for chunk in 1..input.len() {
        assert_eq!(
            read_chunked(8, input, chunk),
            vec![Out::TooLong, line(b"ok")],
            "chunk {chunk}"
        );
    }
    assert_eq!(read(0, b"\r\nx\n"), vec![line(b""), Out::TooLong]);
}

#[test]
fn memory_stays_bounded_without_a_line_end() {
    let mut r = LineReader::new(100);
    let junk = [b'x'; 1000];
    for _ in 0..1000 {
        assert_eq!(r.feed(&junk), (1000, Fed::NeedMore));
        assert!(r.capacity() <= 100);
        assert!(r.buffered() <= 100);
    }
    assert_eq!(r.feed(b"\r\nNOOP\r\n"), (2, Fed::TooLong));
    r.clear();
    assert_eq!(r.feed(b"NOOP\r\n"), (6, Fed::Line));
    assert_eq!(r.line(), b"NOOP");
}

#[test]
fn a_waiting_line_blocks_feed_until_cleared() {
    let mut r = LineReader::new(16);
    assert_eq!(r.buffered(), 0);
    assert_eq!(r.capacity(), 0, "allocates lazily");
    assert_eq!(r.feed(b"US"), (2, Fed::NeedMore));
    assert_eq!(r.buffered(), 2);
    assert_eq!(r.line(), b"", "no line yet");
    assert_eq!(r.feed(b"ER a\r\nPASS"), (6, Fed::Line));
    assert_eq!(r.line(), b"USER a");
    assert_eq!(r.feed(b"PASS"), (0, Fed::Line));
    assert_eq!(r.line(), b"USER a");
    r.clear();
    assert_eq!(r.line(), b"");
    assert_eq!(r.buffered(), 0);
    assert_eq!(r.feed(b"PASS b\n"), (7, Fed::Line));
    assert_eq!(r.line(), b"PASS b");
    r.clear();
    assert_eq!(r.feed(b"0123456789abcdefg\n"), (18, Fed::TooLong));
    assert_eq!(r.line(), b"");
    assert_eq!(r.feed(b"x\n"), (0, Fed::TooLong));
    r.clear();
    assert_eq!(r.feed(b""), (0, Fed::NeedMore));
}

#[test]
fn long_lines_scanned_word_at_a_time() {
    // Lines longer than the 8-byte scanning word, with the LF or IAC at
    // every position, find the same boundary.
    for len in 0..40 {
        let mut input = vec![b'a'; len];
        input.extend_from_slice(b"\r\n");
        assert_eq!(read(64, &input), vec![line(&vec![b'a'; len])], "{len}");
        let mut input = vec![b'b'; len];
        input.extend_from_slice(b"\xff\xff\n");
        let mut expect = vec![b'b'; len];
        expect.push(0xff);
        assert_eq!(read(64, &input), vec![line(&expect)], "{len}");
        // Bytes that differ from LF and IAC by one bit do not match.
        let mut input = vec![0xfe, 0x0b, 0x7f, 0x8a, 0x0a ^ 0x80, 0xef];
        input.resize(len + 6, b'c');
        input.push(b'\n');
        assert_eq!(read(64, &input), vec![line(&input[..input.len() - 1])]);
    }
}

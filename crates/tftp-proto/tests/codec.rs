//! Test vectors for the packet codec: the layouts of RFC 1350 §5 and
//! RFC 2347, and every way a datagram can fail to be a packet.
//!
//! Datagrams are built field by field with [`Wire`], so each vector reads
//! like the RFC's picture of the packet:
//!
//! ```text
//!  2 bytes    string   1 byte  string  1 byte
//! | 01/02  | Filename |   0  |  Mode  |   0  |   (RRQ/WRQ)
//! ```

use tftp_proto::options::{DEFAULT_BLKSIZE, MAX_BLKSIZE, MIN_BLKSIZE};
use tftp_proto::packet::opcode::{ACK, DATA, ERROR, OACK, RRQ, WRQ};
use tftp_proto::{BlockNumber, EncodeError, ErrorCode, Mode, Options, Packet, ParseError, Request};

/// A datagram under construction: an opcode, then fields in wire order.
struct Wire(Vec<u8>);

/// Start a datagram with `opcode`.
fn wire(opcode: u16) -> Wire {
    Wire(opcode.to_be_bytes().to_vec())
}

impl Wire {
    /// A 2-byte big-endian field (block number, error code).
    fn u16(mut self, v: u16) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// A string field followed by its terminating NUL.
    fn cstr(mut self, s: impl AsRef<[u8]>) -> Self {
        self.0.extend_from_slice(s.as_ref());
        self.0.push(0);
        self
    }
    /// Bytes with no terminator (payloads, or a string cut short).
    fn raw(mut self, b: impl AsRef<[u8]>) -> Self {
        self.0.extend_from_slice(b.as_ref());
        self
    }
    /// One RFC 2347 option: name NUL value NUL.
    fn opt(self, name: &str, value: &str) -> Self {
        self.cstr(name).cstr(value)
    }
    fn bytes(self) -> Vec<u8> {
        self.0
    }
}

fn encode(packet: &Packet<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; packet.encoded_len()];
    let n = packet
        .encode(&mut buf)
        .expect("encode into exact-size buffer");
    assert_eq!(n, buf.len(), "encode wrote encoded_len bytes");
    buf
}

/// `bytes` parse to `packet`, and `packet` encodes to exactly `bytes`.
#[track_caller]
fn assert_vector(bytes: &[u8], packet: Packet<'_>) {
    assert_eq!(Packet::parse(bytes), Ok(packet), "parse");
    assert_eq!(encode(&packet), bytes, "encode");
    assert_eq!(packet.encoded_len(), bytes.len(), "encoded_len");
}

#[track_caller]
fn assert_rejects(bytes: &[u8], error: ParseError) {
    assert_eq!(Packet::parse(bytes), Err(error), "datagram {bytes:02x?}");
}

fn request(filename: &str, mode: Mode, options: Options) -> Request<'_> {
    Request {
        filename,
        mode,
        options,
    }
}

/// Parse a request carrying `options` and return the options it yielded.
fn parse_options(options: &[(&str, &str)]) -> Result<Options, ParseError> {
    let mut w = wire(RRQ).cstr("f").cstr("octet");
    for (name, value) in options {
        w = w.opt(name, value);
    }
    match Packet::parse(&w.bytes())? {
        Packet::Rrq(r) => Ok(r.options),
        other => panic!("not an RRQ: {other:?}"),
    }
}

fn with_blksize(blksize: u16) -> Options {
    Options {
        blksize: Some(blksize),
        ..Options::default()
    }
}

// ---------------------------------------------------------------------------
// The builder itself matches the RFC's byte layout.

#[test]
fn builder_lays_out_fields_as_the_rfc_does() {
    assert_eq!(wire(ACK).u16(1).bytes(), [0x00, 0x04, 0x00, 0x01]);
    assert_eq!(
        wire(RRQ).cstr("a").cstr("octet").bytes(),
        b"\x00\x01a\x00octet\x00"
    );
    assert_eq!(
        wire(OACK).opt("tsize", "0").bytes(),
        b"\x00\x06tsize\x000\x00"
    );
}

// ---------------------------------------------------------------------------
// RRQ / WRQ (RFC 1350 §5, RFC 2347)

#[test]
fn rrq_without_options() {
    assert_vector(
        &wire(RRQ).cstr("boot/pxelinux.0").cstr("octet").bytes(),
        Packet::Rrq(request("boot/pxelinux.0", Mode::Octet, Options::default())),
    );
}

#[test]
fn wrq_without_options() {
    assert_vector(
        &wire(WRQ).cstr("upload.bin").cstr("octet").bytes(),
        Packet::Wrq(request("upload.bin", Mode::Octet, Options::default())),
    );
}

#[test]
fn requests_in_each_mode() {
    for (name, mode) in [
        ("netascii", Mode::Netascii),
        ("octet", Mode::Octet),
        ("mail", Mode::Mail),
    ] {
        assert_vector(
            &wire(RRQ).cstr("f").cstr(name).bytes(),
            Packet::Rrq(request("f", mode, Options::default())),
        );
    }
}

#[test]
fn rrq_with_every_option() {
    let options = Options {
        blksize: Some(1468),
        timeout: Some(5),
        tsize: Some(0),
        windowsize: Some(16),
        unknown: 0,
    };
    assert_vector(
        &wire(RRQ)
            .cstr("big.img")
            .cstr("octet")
            .opt("blksize", "1468")
            .opt("timeout", "5")
            .opt("tsize", "0")
            .opt("windowsize", "16")
            .bytes(),
        Packet::Rrq(request("big.img", Mode::Octet, options)),
    );
}

#[test]
fn wrq_with_options() {
    let options = Options {
        blksize: Some(8192),
        tsize: Some(67_108_864),
        ..Options::default()
    };
    assert_vector(
        &wire(WRQ)
            .cstr("up/load.bin")
            .cstr("octet")
            .opt("blksize", "8192")
            .opt("tsize", "67108864")
            .bytes(),
        Packet::Wrq(request("up/load.bin", Mode::Octet, options)),
    );
}

#[test]
fn options_parse_in_any_order_and_encode_in_canonical_order() {
    let shuffled = wire(RRQ)
        .cstr("f")
        .cstr("octet")
        .opt("windowsize", "4")
        .opt("tsize", "12")
        .opt("blksize", "512")
        .bytes();
    let packet = Packet::parse(&shuffled).unwrap();
    assert_eq!(
        encode(&packet),
        wire(RRQ)
            .cstr("f")
            .cstr("octet")
            .opt("blksize", "512")
            .opt("tsize", "12")
            .opt("windowsize", "4")
            .bytes()
    );
}

#[test]
fn empty_filename_is_a_valid_request() {
    assert_vector(
        &wire(RRQ).cstr("").cstr("octet").bytes(),
        Packet::Rrq(request("", Mode::Octet, Options::default())),
    );
}

#[test]
fn utf8_filename_is_kept() {
    assert_vector(
        &wire(RRQ).cstr("résumé-日本.txt").cstr("octet").bytes(),
        Packet::Rrq(request("résumé-日本.txt", Mode::Octet, Options::default())),
    );
}

#[test]
fn mode_is_case_insensitive() {
    for (name, mode) in [
        ("OcTeT", Mode::Octet),
        ("OCTET", Mode::Octet),
        ("NetAscii", Mode::Netascii),
        ("MAIL", Mode::Mail),
    ] {
        let bytes = wire(RRQ).cstr("f").cstr(name).bytes();
        assert_eq!(
            Packet::parse(&bytes),
            Ok(Packet::Rrq(request("f", mode, Options::default()))),
            "mode {name}"
        );
        // Encoding writes the canonical lower-case name.
        assert_eq!(
            encode(&Packet::parse(&bytes).unwrap()),
            wire(RRQ).cstr("f").cstr(mode.as_str()).bytes()
        );
    }
}

#[test]
fn unknown_mode_is_rejected() {
    for name in ["binary", "octets", "octet ", "", "image"] {
        assert_rejects(
            &wire(RRQ).cstr("f").cstr(name).bytes(),
            ParseError::UnknownMode,
        );
    }
    assert_rejects(
        &wire(WRQ).cstr("f").cstr([0xff, 0xfe]).bytes(),
        ParseError::UnknownMode,
    );
}

#[test]
fn option_names_are_case_insensitive() {
    let options = parse_options(&[
        ("BLKSIZE", "1024"),
        ("TimeOut", "3"),
        ("TSIZE", "99"),
        ("WindowSize", "8"),
    ])
    .unwrap();
    assert_eq!(
        options,
        Options {
            blksize: Some(1024),
            timeout: Some(3),
            tsize: Some(99),
            windowsize: Some(8),
            unknown: 0,
        }
    );
    // Names go back on the wire in lower case.
    let packet = Packet::Oack(options);
    assert_eq!(
        encode(&packet),
        wire(OACK)
            .opt("blksize", "1024")
            .opt("timeout", "3")
            .opt("tsize", "99")
            .opt("windowsize", "8")
            .bytes()
    );
}

#[test]
fn option_values_at_the_edges_of_their_ranges() {
    assert_eq!(
        parse_options(&[("blksize", "8")]).unwrap().blksize,
        Some(MIN_BLKSIZE)
    );
    assert_eq!(
        parse_options(&[("blksize", "65464")]).unwrap().blksize,
        Some(MAX_BLKSIZE)
    );
    assert_eq!(parse_options(&[("timeout", "1")]).unwrap().timeout, Some(1));
    assert_eq!(
        parse_options(&[("timeout", "255")]).unwrap().timeout,
        Some(255)
    );
    assert_eq!(
        parse_options(&[("windowsize", "1")]).unwrap().windowsize,
        Some(1)
    );
    assert_eq!(
        parse_options(&[("windowsize", "65535")])
            .unwrap()
            .windowsize,
        Some(65535)
    );
    assert_eq!(parse_options(&[("tsize", "0")]).unwrap().tsize, Some(0));
    assert_eq!(
        parse_options(&[("tsize", "18446744073709551615")])
            .unwrap()
            .tsize,
        Some(u64::MAX)
    );
    // Leading zeros are still a plain decimal number.
    assert_eq!(
        parse_options(&[("blksize", "00512")]).unwrap().blksize,
        Some(DEFAULT_BLKSIZE)
    );
}

#[test]
fn unknown_options_are_counted_but_ignored() {
    let bytes = wire(RRQ)
        .cstr("f")
        .cstr("octet")
        .opt("multicast", "")
        .opt("blksize", "1024")
        .opt("x-vendor", "not a number")
        .cstr([0xc3, 0x28]) // a name that is not even UTF-8
        .cstr("1")
        .bytes();
    let Ok(Packet::Rrq(r)) = Packet::parse(&bytes) else {
        panic!("not an RRQ")
    };
    assert_eq!(
        r.options,
        Options {
            blksize: Some(1024),
            unknown: 3,
            ..Options::default()
        }
    );
    // The same unknown option twice is not a duplicate we police.
    assert_eq!(
        parse_options(&[("foo", "1"), ("foo", "2")])
            .unwrap()
            .unknown,
        2
    );
    // They are not written back.
    assert_eq!(
        encode(&Packet::Rrq(r)),
        wire(RRQ)
            .cstr("f")
            .cstr("octet")
            .opt("blksize", "1024")
            .bytes()
    );
}

#[test]
fn duplicate_options_are_rejected() {
    for pair in [
        [("blksize", "512"), ("blksize", "512")],
        [("blksize", "512"), ("BLKSIZE", "1024")],
        [("TimeOut", "1"), ("timeout", "2")],
        [("tsize", "0"), ("Tsize", "0")],
        [("windowsize", "4"), ("WINDOWSIZE", "8")],
    ] {
        assert_eq!(
            parse_options(&pair),
            Err(ParseError::DuplicateOption),
            "{pair:?}"
        );
    }
    assert_rejects(
        &wire(OACK)
            .opt("blksize", "512")
            .opt("Blksize", "512")
            .bytes(),
        ParseError::DuplicateOption,
    );
}

#[test]
fn malformed_option_values_are_rejected() {
    for (name, value) in [
        ("blksize", "abc"),
        ("blksize", ""),
        ("blksize", "7"),
        ("blksize", "65465"),
        ("blksize", "0"),
        ("blksize", " 512"),
        ("blksize", "512 "),
        ("blksize", "+512"),
        ("blksize", "-512"),
        ("blksize", "0x200"),
        ("blksize", "99999999999999999999999"),
        ("windowsize", "0"),
        ("windowsize", "65536"),
        ("timeout", "0"),
        ("timeout", "256"),
        ("timeout", "1.5"),
        ("tsize", ""),
        ("tsize", "-1"),
        ("tsize", "18446744073709551616"),
    ] {
        assert_eq!(
            parse_options(&[(name, value)]),
            Err(ParseError::MalformedOption),
            "{name}={value:?}"
        );
    }
    assert_rejects(
        &wire(OACK).opt("timeout", "0").bytes(),
        ParseError::MalformedOption,
    );
}

#[test]
fn invalid_utf8_filename_is_invalid_text() {
    assert_rejects(
        &wire(RRQ).cstr([b'a', 0xff, b'b']).cstr("octet").bytes(),
        ParseError::InvalidText,
    );
    assert_rejects(
        &wire(WRQ).cstr([0xc3]).cstr("octet").bytes(),
        ParseError::InvalidText,
    );
}

// ---------------------------------------------------------------------------
// DATA

#[test]
fn data_vectors() {
    let block = |n: u16| BlockNumber(n);
    assert_vector(
        &wire(DATA).u16(1).bytes(),
        Packet::Data {
            block: block(1),
            data: &[],
        },
    );
    assert_vector(
        &wire(DATA).u16(7).raw("hello\0world").bytes(),
        Packet::Data {
            block: block(7),
            data: b"hello\0world",
        },
    );
    let full: Vec<u8> = (0..512u32).map(|i| (i % 251) as u8).collect();
    assert_vector(
        &wire(DATA).u16(65535).raw(&full).bytes(),
        Packet::Data {
            block: block(65535),
            data: &full,
        },
    );
    let largest = vec![0xa5; usize::from(MAX_BLKSIZE)];
    assert_vector(
        &wire(DATA).u16(0).raw(&largest).bytes(),
        Packet::Data {
            block: block(0),
            data: &largest,
        },
    );
}

#[test]
fn data_over_65464_bytes_is_too_long() {
    let payload = vec![0u8; usize::from(MAX_BLKSIZE) + 1];
    assert_rejects(
        &wire(DATA).u16(1).raw(&payload).bytes(),
        ParseError::DataTooLong,
    );
    let payload = vec![0u8; 65535];
    assert_rejects(
        &wire(DATA).u16(1).raw(&payload).bytes(),
        ParseError::DataTooLong,
    );
}

#[test]
fn parse_with_blksize_checks_data_against_the_negotiated_size() {
    let at = |len: usize| wire(DATA).u16(3).raw(vec![1u8; len]).bytes();
    assert_eq!(
        Packet::parse_with_blksize(&at(512), 512),
        Ok(Packet::Data {
            block: BlockNumber(3),
            data: &[1u8; 512],
        })
    );
    assert_eq!(
        Packet::parse_with_blksize(&at(513), 512),
        Err(ParseError::DataTooLong)
    );
    assert_eq!(
        Packet::parse_with_blksize(&at(9), 8),
        Err(ParseError::DataTooLong)
    );
    assert!(Packet::parse_with_blksize(&at(1468), 1468).is_ok());
    assert_eq!(
        Packet::parse_with_blksize(&at(1469), 1468),
        Err(ParseError::DataTooLong)
    );
    // Other packets are unaffected by the block size.
    assert_eq!(
        Packet::parse_with_blksize(&wire(ACK).u16(3).bytes(), 8),
        Ok(Packet::Ack(BlockNumber(3)))
    );
    let long_request = wire(RRQ).cstr("a".repeat(100)).cstr("octet").bytes();
    assert!(Packet::parse_with_blksize(&long_request, 8).is_ok());
    // And plain malformations are still reported as such.
    assert_eq!(
        Packet::parse_with_blksize(&[0, 3, 0], 512),
        Err(ParseError::Truncated)
    );
}

// ---------------------------------------------------------------------------
// ACK

#[test]
fn ack_vectors() {
    assert_vector(&wire(ACK).u16(0).bytes(), Packet::Ack(BlockNumber(0)));
    assert_vector(&wire(ACK).u16(1).bytes(), Packet::Ack(BlockNumber(1)));
    assert_vector(
        &wire(ACK).u16(65535).bytes(),
        Packet::Ack(BlockNumber(65535)),
    );
}

#[test]
fn ack_with_trailing_bytes_is_rejected() {
    assert_rejects(
        &wire(ACK).u16(1).raw([0]).bytes(),
        ParseError::TrailingBytes,
    );
    assert_rejects(
        &wire(ACK).u16(1).raw("junk").bytes(),
        ParseError::TrailingBytes,
    );
}

// ---------------------------------------------------------------------------
// ERROR

#[test]
fn error_vectors_for_every_rfc_code() {
    let codes = [
        (0, ErrorCode::NotDefined),
        (1, ErrorCode::FileNotFound),
        (2, ErrorCode::AccessViolation),
        (3, ErrorCode::DiskFull),
        (4, ErrorCode::IllegalOperation),
        (5, ErrorCode::UnknownTransferId),
        (6, ErrorCode::FileExists),
        (7, ErrorCode::NoSuchUser),
        (8, ErrorCode::OptionNegotiation),
    ];
    for (wire_code, code) in codes {
        assert_eq!(ErrorCode::from_u16(wire_code), code);
        assert_eq!(code.to_u16(), wire_code);
        let message = code.description();
        assert_vector(
            &wire(ERROR).u16(wire_code).cstr(message).bytes(),
            Packet::Error { code, message },
        );
    }
}

#[test]
fn error_with_unknown_code_keeps_code_and_text() {
    assert_vector(
        &wire(ERROR).u16(42).cstr("vendor trouble").bytes(),
        Packet::Error {
            code: ErrorCode::Other(42),
            message: "vendor trouble",
        },
    );
    assert_vector(
        &wire(ERROR).u16(65535).cstr("").bytes(),
        Packet::Error {
            code: ErrorCode::Other(65535),
            message: "",
        },
    );
    assert_eq!(ErrorCode::from_u16(9), ErrorCode::Other(9));
}

#[test]
fn error_descriptions_match_the_rfc() {
    assert_eq!(ErrorCode::NotDefined.description(), "Not defined");
    assert_eq!(ErrorCode::FileNotFound.description(), "File not found");
    assert_eq!(ErrorCode::AccessViolation.description(), "Access violation");
    assert_eq!(
        ErrorCode::DiskFull.description(),
        "Disk full or allocation exceeded"
    );
    assert_eq!(
        ErrorCode::IllegalOperation.description(),
        "Illegal TFTP operation"
    );
    assert_eq!(
        ErrorCode::UnknownTransferId.description(),
        "Unknown transfer ID"
    );
    assert_eq!(ErrorCode::FileExists.description(), "File already exists");
    assert_eq!(ErrorCode::NoSuchUser.description(), "No such user");
    assert_eq!(ErrorCode::FileNotFound.to_string(), "File not found (1)");
}

#[test]
fn error_without_trailing_nul_is_accepted() {
    // RFC 1123 §1.2.2: be liberal; the text is still the peer's reason.
    assert_eq!(
        Packet::parse(&wire(ERROR).u16(1).raw("no such file").bytes()),
        Ok(Packet::Error {
            code: ErrorCode::FileNotFound,
            message: "no such file",
        })
    );
    // Even with no text at all.
    assert_eq!(
        Packet::parse(&wire(ERROR).u16(8).bytes()),
        Ok(Packet::Error {
            code: ErrorCode::OptionNegotiation,
            message: "",
        })
    );
}

#[test]
fn error_text_stops_at_the_first_nul_or_invalid_utf8() {
    assert_eq!(
        Packet::parse(&wire(ERROR).u16(0).cstr("first").cstr("second").bytes()),
        Ok(Packet::Error {
            code: ErrorCode::NotDefined,
            message: "first",
        })
    );
    assert_eq!(
        Packet::parse(&wire(ERROR).u16(2).cstr([b'o', b'k', 0xff, b'x']).bytes()),
        Ok(Packet::Error {
            code: ErrorCode::AccessViolation,
            message: "ok",
        })
    );
}

// ---------------------------------------------------------------------------
// OACK (RFC 2347)

#[test]
fn oack_vectors() {
    assert_vector(
        &wire(OACK)
            .opt("blksize", "1468")
            .opt("tsize", "1048576")
            .bytes(),
        Packet::Oack(Options {
            blksize: Some(1468),
            tsize: Some(1_048_576),
            ..Options::default()
        }),
    );
    assert_vector(
        &wire(OACK)
            .opt("blksize", "65464")
            .opt("timeout", "255")
            .opt("tsize", "18446744073709551615")
            .opt("windowsize", "65535")
            .bytes(),
        Packet::Oack(Options {
            blksize: Some(65464),
            timeout: Some(255),
            tsize: Some(u64::MAX),
            windowsize: Some(65535),
            unknown: 0,
        }),
    );
    // An OACK with no option at all is still well formed on the wire.
    assert_vector(&wire(OACK).bytes(), Packet::Oack(Options::default()));
}

#[test]
fn oack_counts_unknown_options() {
    assert_eq!(
        Packet::parse(&wire(OACK).opt("blksize", "512").opt("foo", "1").bytes()),
        Ok(Packet::Oack(Options {
            blksize: Some(512),
            unknown: 1,
            ..Options::default()
        }))
    );
}

// ---------------------------------------------------------------------------
// Truncation and missing terminators

#[test]
fn datagrams_shorter_than_an_opcode_are_truncated() {
    assert_rejects(&[], ParseError::Truncated);
    assert_rejects(&[0], ParseError::Truncated);
    assert_rejects(&[3], ParseError::Truncated);
}

#[test]
fn truncated_fixed_fields_for_each_opcode() {
    for op in [DATA, ACK, ERROR] {
        assert_rejects(&wire(op).bytes(), ParseError::Truncated);
        assert_rejects(&wire(op).raw([0]).bytes(), ParseError::Truncated);
    }
}

#[test]
fn truncated_requests_lack_their_nul() {
    // A request cut anywhere before its mode's NUL is a missing terminator.
    for op in [RRQ, WRQ] {
        let full = wire(op).cstr("file").cstr("octet").bytes();
        for cut in 2..full.len() {
            assert_rejects(&full[..cut], ParseError::MissingNul);
        }
        assert!(Packet::parse(&full).is_ok());
    }
}

#[test]
fn truncated_options_lack_their_nul() {
    let full = wire(RRQ)
        .cstr("f")
        .cstr("octet")
        .opt("blksize", "1024")
        .bytes();
    let options_start = wire(RRQ).cstr("f").cstr("octet").bytes().len();
    for cut in options_start + 1..full.len() {
        assert_rejects(&full[..cut], ParseError::MissingNul);
    }
    let full = wire(OACK).opt("tsize", "123").bytes();
    for cut in 3..full.len() {
        assert_rejects(&full[..cut], ParseError::MissingNul);
    }
}

#[test]
fn missing_nul_in_each_string_field() {
    // filename
    assert_rejects(&wire(RRQ).raw("file").bytes(), ParseError::MissingNul);
    // mode
    assert_rejects(
        &wire(WRQ).cstr("file").raw("octet").bytes(),
        ParseError::MissingNul,
    );
    // option name
    assert_rejects(
        &wire(RRQ).cstr("file").cstr("octet").raw("blksize").bytes(),
        ParseError::MissingNul,
    );
    // option value
    assert_rejects(
        &wire(RRQ)
            .cstr("file")
            .cstr("octet")
            .cstr("blksize")
            .raw("1024")
            .bytes(),
        ParseError::MissingNul,
    );
    // option name without a value at all
    assert_rejects(
        &wire(OACK).opt("blksize", "512").cstr("tsize").bytes(),
        ParseError::MissingNul,
    );
}

// ---------------------------------------------------------------------------
// Opcodes

#[test]
fn unknown_opcodes_are_rejected() {
    for op in [0, 7, 8, 0x0100, 65535] {
        assert_rejects(
            &wire(op).cstr("f").cstr("octet").bytes(),
            ParseError::UnknownOpcode(op),
        );
        assert_rejects(&wire(op).bytes(), ParseError::UnknownOpcode(op));
    }
}

// ---------------------------------------------------------------------------
// Encoding

#[test]
fn encode_into_a_short_buffer_is_an_error() {
    let packet = Packet::Rrq(request("file", Mode::Octet, with_blksize(1024)));
    let needed = packet.encoded_len();
    assert_eq!(needed, 2 + 5 + 6 + 8 + 5);
    let mut buf = vec![0u8; needed - 1];
    assert_eq!(
        packet.encode(&mut buf),
        Err(EncodeError::BufferTooSmall { needed })
    );
    assert_eq!(
        Packet::Ack(BlockNumber(1)).encode(&mut []),
        Err(EncodeError::BufferTooSmall { needed: 4 })
    );
}

#[test]
fn encode_into_a_larger_buffer_writes_only_the_packet() {
    let mut buf = [0xeeu8; 16];
    let n = Packet::Ack(BlockNumber(0x1234)).encode(&mut buf).unwrap();
    assert_eq!(n, 4);
    assert_eq!(buf[..4], [0, 4, 0x12, 0x34]);
    assert!(buf[4..].iter().all(|&b| b == 0xee));
}

#[test]
fn block_numbers_wrap() {
    assert_eq!(BlockNumber(65535).next(), BlockNumber(0));
    assert_eq!(BlockNumber(65530).add(10), BlockNumber(4));
    assert_eq!(BlockNumber(3).distance_from(BlockNumber(65534)), 5);
}

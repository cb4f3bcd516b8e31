//! Property tests for the codec: commands and replies survive encode and
//! parse; the parsers and readers never panic on arbitrary bytes; the
//! line reader gives the same lines however the input is split, within
//! its memory bound.

use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use ftp_proto::command::{EpsvArg, FormatControl, RepresentationType, Structure, TransferMode};
use ftp_proto::line::{Fed, LineReader};
use ftp_proto::reply::{write_reply, ReplyError, ReplyReader};
use ftp_proto::{Command, Reply, ReplyCode};
use proptest::prelude::*;

/// Owned material for one command; [`build`] borrows from it.
#[derive(Debug, Clone)]
struct Material {
    kind: u8,
    text: String,
    token: String,
    maybe: Option<String>,
    number: u64,
    record: Option<u64>,
    v4: SocketAddrV4,
    eprt: SocketAddr,
    rtype: RepresentationType,
    epsv: EpsvArg,
    stru: Structure,
    mode: TransferMode,
    unknown: String,
}

const KINDS: u8 = 47;

fn build(m: &Material) -> Command<'_> {
    let s = m.text.as_str();
    let o = m.maybe.as_deref();
    match m.kind % KINDS {
        0 => Command::User(s),
        1 => Command::Pass(m.maybe.as_deref().unwrap_or("")),
        2 => Command::Acct(s),
        3 => Command::Cwd(s),
        4 => Command::Cdup,
        5 => Command::Smnt(s),
        6 => Command::Rein,
        7 => Command::Quit,
        8 => Command::Port(m.v4),
        9 => Command::Pasv,
        10 => Command::Type(m.rtype),
        11 => Command::Stru(m.stru),
        12 => Command::Mode(m.mode),
        13 => Command::Retr(s),
        14 => Command::Stor(s),
        15 => Command::Stou(o),
        16 => Command::Appe(s),
        17 => Command::Allo(m.number, m.record),
        18 => Command::Rest(m.number),
        19 => Command::Rnfr(s),
        20 => Command::Rnto(s),
        21 => Command::Abor,
        22 => Command::Dele(s),
        23 => Command::Rmd(s),
        24 => Command::Mkd(s),
        25 => Command::Pwd,
        26 => Command::List(o),
        27 => Command::Nlst(o),
        28 => Command::Site(s),
        29 => Command::Syst,
        30 => Command::Stat(o),
        31 => Command::Help(o),
        32 => Command::Noop,
        33 => Command::Feat,
        34 => Command::Opts(s),
        35 => Command::Eprt(m.eprt),
        36 => Command::Epsv(m.epsv),
        37 => Command::Size(s),
        38 => Command::Mdtm(s),
        39 => Command::Mlst(o),
        40 => Command::Mlsd(o),
        41 => Command::Auth(s),
        42 => Command::Pbsz(&m.token),
        43 => Command::Prot(&m.token),
        // Any time-val from 1000-01-01 to 9999-12-31 (RFC 3659 §2.3).
        44 => Command::Mfmt {
            modified: (m.number % 284_012_524_800) as i64 - 30_610_224_000,
            path: s,
        },
        45 => Command::Hash(s),
        _ => Command::Unknown {
            verb: &m.unknown,
            arg: o,
        },
    }
}

fn rtype() -> impl Strategy<Value = RepresentationType> {
    let form = prop_oneof![
        Just(FormatControl::NonPrint),
        Just(FormatControl::Telnet),
        Just(FormatControl::Asa),
    ];
    prop_oneof![
        form.clone().prop_map(RepresentationType::Ascii),
        form.prop_map(RepresentationType::Ebcdic),
        Just(RepresentationType::Image),
        (1u8..=255).prop_map(RepresentationType::Local),
    ]
}

fn socket_addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<u32>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::from((Ipv4Addr::from(ip), port))),
        (any::<u128>(), any::<u16>()).prop_map(|(ip, port)| {
            SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(ip), port, 0, 0))
        }),
        // IPv4-mapped and small addresses, which display specially.
        (any::<u32>(), any::<u16>()).prop_map(|(ip, port)| {
            SocketAddr::new(Ipv4Addr::from(ip).to_ipv6_mapped().into(), port)
        }),
        (0u128..70000, any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(Ipv6Addr::from(ip).into(), port)),
    ]
}

fn material() -> impl Strategy<Value = Material> {
    let unknown = "[a-zA-Z]{1,8}".prop_filter("not a known verb", |v| {
        matches!(Command::parse(v.as_bytes()), Ok(Command::Unknown { .. }))
    });
    (
        (
            0..KINDS,
            "[^\r\n]{1,24}",
            "[^\r\n]{0,8}[^\r\n ]",
            proptest::option::of("[^\r\n]{0,24}"),
            any::<u64>(),
            proptest::option::of(any::<u64>()),
        ),
        (
            (any::<u32>(), any::<u16>()).prop_map(|(ip, p)| SocketAddrV4::new(ip.into(), p)),
            socket_addr(),
            rtype(),
            prop_oneof![
                Just(EpsvArg::Any),
                Just(EpsvArg::All),
                Just(EpsvArg::Protocol(1)),
                Just(EpsvArg::Protocol(2)),
            ],
            prop_oneof![
                Just(Structure::File),
                Just(Structure::Record),
                Just(Structure::Page)
            ],
            prop_oneof![
                Just(TransferMode::Stream),
                Just(TransferMode::Block),
                Just(TransferMode::Compressed),
                Just(TransferMode::Deflate)
            ],
            unknown,
        ),
    )
        .prop_map(
            |(
                (kind, text, token, maybe, number, record),
                (v4, eprt, rtype, epsv, stru, mode, unknown),
            )| Material {
                kind,
                text,
                token,
                maybe,
                number,
                record,
                v4,
                eprt,
                rtype,
                epsv,
                stru,
                mode,
                unknown,
            },
        )
}

/// Bytes with more than their share of the ones framing cares about.
fn control_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            4 => any::<u8>(),
            2 => b'a'..=b'z',
            1 => Just(b' '),
            1 => Just(b'\n'),
            1 => Just(b'\r'),
            1 => Just(0xffu8),
            1 => 0xf0u8..=0xfe,
        ],
        0..max,
    )
}

/// Where to cut a buffer: sorted, deduplicated offsets within it.
fn cuts(len: usize, raw: &[usize]) -> Vec<usize> {
    let mut c: Vec<usize> = raw.iter().map(|&r| r % (len + 1)).collect();
    c.push(0);
    c.push(len);
    c.sort_unstable();
    c.dedup();
    c
}

fn encode(c: &Command<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    c.encode(&mut out);
    out
}

/// Parse, and if the line is a command, check encode/parse gives it back.
fn check_fixed_point(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(c) = Command::parse(bytes) {
        let wire = encode(&c);
        prop_assert!(wire.ends_with(b"\r\n"));
        let again = Command::parse(&wire[..wire.len() - 2]);
        prop_assert_eq!(again, Ok(c));
    }
    Ok(())
}

/// Reads `bytes` cut at `cut` points; every result in order.
fn read_replies(max: usize, bytes: &[u8], cut: &[usize]) -> Vec<Result<Reply, ReplyError>> {
    let mut r = ReplyReader::new(max);
    let mut out = Vec::new();
    for w in cut.windows(2) {
        let piece = &bytes[w[0]..w[1]];
        let mut at = 0;
        loop {
            let n = r.push(&piece[at..]);
            assert!(n <= piece.len() - at);
            at += n;
            match r.next_reply() {
                Some(x) => out.push(x),
                None if at == piece.len() => break,
                None => panic!("push stopped without a reply waiting"),
            }
        }
    }
    out
}

/// The text a reader gives back for `text` written by `write_reply`:
/// CRs gone, middle lines that look like the end line (the code and a
/// space, or the code alone) indented.
fn normalised(code: ReplyCode, text: &str) -> String {
    let text = text.replace('\r', "");
    let lines: Vec<&str> = text.split('\n').collect();
    let end = format!("{code} ");
    let bare = code.to_string();
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i > 0 && i + 1 < lines.len() && (l.starts_with(&end) || *l == bare) {
                format!(" {l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Debug, PartialEq, Eq)]
enum Out {
    Line(Vec<u8>),
    TooLong,
}

/// The reader's contract, one byte at a time and without a memory bound:
/// the reference the real reader is compared with.
fn reference_lines(max: usize, input: &[u8]) -> Vec<Out> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        i += 1;
        if b == 0xff {
            match input.get(i) {
                None => break, // IAC at the very end: nothing more happens
                Some(0xff) => {
                    cur.push(0xff);
                    i += 1;
                }
                Some(0xfb..=0xfe) => i += 2,
                Some(0xf0..=0xfa) => i += 1,
                Some(_) => {}
            }
            continue;
        }
        if b == b'\n' {
            if cur.last() == Some(&b'\r') {
                cur.pop();
            }
            out.push(if cur.len() > max {
                Out::TooLong
            } else {
                Out::Line(core::mem::take(&mut cur))
            });
            cur.clear();
        } else {
            cur.push(b);
        }
    }
    out
}

fn read_lines(max: usize, input: &[u8], cut: &[usize]) -> Vec<Out> {
    let mut r = LineReader::new(max);
    let mut out = Vec::new();
    for w in cut.windows(2) {
        let piece = &input[w[0]..w[1]];
        let mut at = 0;
        while at < piece.len() {
            let (n, fed) = r.feed(&piece[at..]);
            at += n;
            assert!(r.buffered() <= max, "buffered {} > {max}", r.buffered());
            assert!(r.capacity() <= max, "capacity {} > {max}", r.capacity());
            match fed {
                Fed::Line => out.push(Out::Line(r.line().to_vec())),
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

/// `lines` written as one reply with `code`, then read back in chunks cut
/// at `raw_cuts`: one reply, its text as the writer normalises it.
fn check_reply_round_trip(
    code: u16,
    lines: &[String],
    raw_cuts: &[usize],
) -> Result<(), TestCaseError> {
    let code = ReplyCode::new(code).unwrap();
    let text = lines.join("\n");
    let mut wire = Vec::new();
    write_reply(&mut wire, code, &text);
    let expect = Reply {
        code,
        text: normalised(code, &text),
    };
    let got = read_replies(usize::MAX, &wire, &cuts(wire.len(), raw_cuts));
    prop_assert_eq!(got, vec![Ok(expect)]);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn command_round_trip(m in material()) {
        let c = build(&m);
        let wire = encode(&c);
        prop_assert!(wire.ends_with(b"\r\n"));
        let line = &wire[..wire.len() - 2];
        prop_assert!(!line.contains(&b'\n'));
        prop_assert_eq!(Command::parse(line), Ok(c));
    }

    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        check_fixed_point(&bytes)?;
    }

    #[test]
    fn parse_of_known_verbs_with_any_argument(
        verb in prop::sample::select(&[
            "USER", "PASS", "ACCT", "CWD", "XCWD", "CDUP", "SMNT", "REIN", "QUIT", "PORT",
            "PASV", "TYPE", "STRU", "MODE", "RETR", "STOR", "STOU", "APPE", "ALLO", "REST",
            "RNFR", "RNTO", "ABOR", "DELE", "RMD", "MKD", "PWD", "LIST", "NLST", "SITE",
            "SYST", "STAT", "HELP", "NOOP", "FEAT", "OPTS", "EPRT", "EPSV", "SIZE", "MDTM",
            "MLST", "MLSD", "AUTH", "PBSZ", "PROT", "MFMT", "HASH",
        ][..]),
        arg in proptest::option::of(prop_oneof![
            "[ -~]{0,24}",
            "[0-9, ]{0,24}",
            "[|0-9.:a-f]{0,30}",
            "[aeilnrtcALLINTC0-9 ]{0,5}",
        ]),
    ) {
        let mut line = verb.as_bytes().to_vec();
        if let Some(a) = arg {
            line.push(b' ');
            line.extend_from_slice(a.as_bytes());
        }
        check_fixed_point(&line)?;
    }

    #[test]
    fn reply_round_trip(
        code in 100u16..=599,
        lines in proptest::collection::vec("[^\n]{0,16}", 1..6),
        raw_cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        check_reply_round_trip(code, &lines, &raw_cuts)?;
    }

    #[test]
    fn reply_lines_with_code_like_text_round_trip(
        code in prop::sample::select(&[211u16, 214, 230][..]),
        lines in proptest::collection::vec(
            prop_oneof![
                "(211|214|230|2)[ -]?[a-z ]{0,4}",
                "\r?[ 0-9]{0,5}\r?",
                "[a-z]{0,4}",
            ],
            1..8,
        ),
        raw_cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        check_reply_round_trip(code, &lines, &raw_cuts)?;
    }

    #[test]
    fn replies_in_sequence_split_anywhere(
        replies in proptest::collection::vec(
            (100u16..=599, proptest::collection::vec("[ -~]{0,12}", 1..4)),
            1..6,
        ),
        raw_cuts in proptest::collection::vec(any::<usize>(), 0..16),
    ) {
        let mut wire = Vec::new();
        let mut expect = Vec::new();
        for (code, lines) in &replies {
            let code = ReplyCode::new(*code).unwrap();
            let text = lines.join("\n");
            write_reply(&mut wire, code, &text);
            expect.push(Ok(Reply { code, text: normalised(code, &text) }));
        }
        prop_assert_eq!(read_replies(1 << 20, &wire, &cuts(wire.len(), &raw_cuts)), expect);
    }

    #[test]
    fn reply_reader_never_panics(
        bytes in prop_oneof![
            control_bytes(300),
            proptest::collection::vec(
                prop_oneof![
                    Just(b'2'), Just(b'1'), Just(b'0'), Just(b' '), Just(b'-'),
                    Just(b'\n'), Just(b'\r'), Just(b'x'),
                ],
                0..300,
            ),
        ],
        max in 0usize..400,
        raw_cuts in proptest::collection::vec(any::<usize>(), 0..16),
    ) {
        let cut = cuts(bytes.len(), &raw_cuts);
        let got = read_replies(max, &bytes, &cut);
        // Split differently, the same replies.
        prop_assert_eq!(&read_replies(max, &bytes, &[0, bytes.len()]), &got);
        let errors = got.iter().filter(|r| r.is_err()).count();
        prop_assert!(errors <= 1);
        if errors == 1 {
            prop_assert!(got.last().unwrap().is_err());
        }
        for reply in got.into_iter().flatten() {
            let mut wire = Vec::new();
            reply.encode(&mut wire);
            prop_assert_eq!(read_replies(usize::MAX, &wire, &[0, wire.len()]), vec![Ok(reply)]);
        }
    }

    #[test]
    fn line_reader_matches_reference_split_anywhere(
        input in control_bytes(400),
        max in 0usize..40,
        raw_cuts in proptest::collection::vec(any::<usize>(), 0..24),
    ) {
        let expect = reference_lines(max, &input);
        prop_assert_eq!(&read_lines(max, &input, &[0, input.len()]), &expect);
        prop_assert_eq!(&read_lines(max, &input, &cuts(input.len(), &raw_cuts)), &expect);
    }

    #[test]
    fn line_reader_memory_is_bounded(
        input in proptest::collection::vec(any::<u8>(), 0..4000),
        max in 0usize..200,
        chunk in 1usize..600,
    ) {
        let cut: Vec<usize> = (0..input.len()).step_by(chunk).chain([input.len()]).collect();
        // read_lines asserts buffered() and capacity() after every feed.
        let got = read_lines(max, &input, &cut);
        prop_assert_eq!(got, reference_lines(max, &input));
    }
}

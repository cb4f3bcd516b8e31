//! Properties of the packet codec: every valid packet survives an
//! encode/parse round trip, `encoded_len` is exact, and no input at all
//! makes `Packet::parse` panic.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use tftp_proto::options::{MAX_BLKSIZE, MIN_BLKSIZE};
use tftp_proto::{BlockNumber, EncodeError, ErrorCode, Mode, Options, Packet, ParseError, Request};

/// An owned packet, so a strategy can produce it and a test can borrow it.
#[derive(Debug, Clone)]
enum Owned {
    Rrq(String, Mode, Options),
    Wrq(String, Mode, Options),
    Data(u16, Vec<u8>),
    Ack(u16),
    Error(u16, String),
    Oack(Options),
}

impl Owned {
    fn packet(&self) -> Packet<'_> {
        fn request(filename: &str, mode: Mode, options: Options) -> Request<'_> {
            Request {
                filename,
                mode,
                options,
            }
        }
        match self {
            Owned::Rrq(f, m, o) => Packet::Rrq(request(f, *m, *o)),
            Owned::Wrq(f, m, o) => Packet::Wrq(request(f, *m, *o)),
            Owned::Data(b, d) => Packet::Data {
                block: BlockNumber(*b),
                data: d,
            },
            Owned::Ack(b) => Packet::Ack(BlockNumber(*b)),
            Owned::Error(c, m) => Packet::Error {
                code: ErrorCode::from_u16(*c),
                message: m,
            },
            Owned::Oack(o) => Packet::Oack(*o),
        }
    }
}

fn encode(packet: &Packet<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; packet.encoded_len()];
    let n = packet.encode(&mut buf).expect("exact-size buffer");
    assert_eq!(n, buf.len());
    buf
}

/// A parsed packet, encoded and parsed again, is the same packet, and its
/// encoding is a fixed point.
fn assert_reencodes(packet: Packet<'_>) -> Result<(), TestCaseError> {
    let bytes = encode(&packet);
    let again = Packet::parse(&bytes);
    prop_assert_eq!(again, Ok(packet.canonical()));
    prop_assert_eq!(encode(&again.unwrap()), bytes);
    Ok(())
}

/// Text without NUL: any Unicode, with ASCII and the empty string common.
fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[^\\x00]{0,40}", "[ -~]{0,200}", Just(String::new()),]
}

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![Just(Mode::Octet), Just(Mode::Netascii), Just(Mode::Mail)]
}

fn options() -> impl Strategy<Value = Options> {
    (
        proptest::option::of(MIN_BLKSIZE..=MAX_BLKSIZE),
        proptest::option::of(1u8..=255),
        proptest::option::of(prop_oneof![Just(0u64), any::<u64>()]),
        proptest::option::of(1u16..=65535),
    )
        .prop_map(|(blksize, timeout, tsize, windowsize)| Options {
            blksize,
            timeout,
            tsize,
            windowsize,
            unknown: 0,
        })
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    let max = usize::from(MAX_BLKSIZE);
    prop_oneof![
        4 => vec(any::<u8>(), 0..=1468),
        1 => vec(any::<u8>(), max - 8..=max),
    ]
}

fn owned_packet() -> impl Strategy<Value = Owned> {
    prop_oneof![
        (text(), mode(), options()).prop_map(|(f, m, o)| Owned::Rrq(f, m, o)),
        (text(), mode(), options()).prop_map(|(f, m, o)| Owned::Wrq(f, m, o)),
        (any::<u16>(), payload()).prop_map(|(b, d)| Owned::Data(b, d)),
        any::<u16>().prop_map(Owned::Ack),
        (prop_oneof![0u16..=8, any::<u16>()], text()).prop_map(|(c, m)| Owned::Error(c, m)),
        options().prop_map(Owned::Oack),
    ]
}

/// A change to a valid datagram.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Truncate(Index),
    Insert(Index, u8),
    Remove(Index),
    SetNul(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 1u8..).prop_map(|(i, x)| Mutation::Flip(i, x)),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<Index>().prop_map(Mutation::Remove),
        any::<Index>().prop_map(Mutation::SetNul),
    ]
}

fn mutate(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        if let Mutation::Insert(_, b) = m {
            bytes.push(*b);
        }
        return;
    }
    let len = bytes.len();
    match m {
        Mutation::Flip(i, x) => bytes[i.index(len)] ^= x,
        Mutation::Truncate(i) => bytes.truncate(i.index(len)),
        Mutation::Insert(i, b) => bytes.insert(i.index(len + 1), *b),
        Mutation::Remove(i) => {
            bytes.remove(i.index(len));
        }
        Mutation::SetNul(i) => bytes[i.index(len)] = 0,
    }
}

/// Option names with their letters in random case.
fn random_case(name: &str, upper: &[bool]) -> String {
    name.chars()
        .zip(upper.iter().cycle())
        .map(|(c, &u)| if u { c.to_ascii_uppercase() } else { c })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_packet_round_trips(owned in owned_packet()) {
        let packet = owned.packet();
        let bytes = encode(&packet);
        prop_assert_eq!(Packet::parse(&bytes), Ok(packet));
    }

    #[test]
    fn encoded_len_is_exactly_what_encode_writes(owned in owned_packet(), slack in 0usize..64) {
        let packet = owned.packet();
        let len = packet.encoded_len();
        let mut buf = vec![0x5a; len + slack];
        prop_assert_eq!(packet.encode(&mut buf), Ok(len));
        prop_assert!(buf[len..].iter().all(|&b| b == 0x5a), "wrote past encoded_len");
        let mut short = vec![0u8; len - 1];
        prop_assert_eq!(
            packet.encode(&mut short),
            Err(EncodeError::BufferTooSmall { needed: len })
        );
    }

    #[test]
    fn data_within_the_negotiated_size_parses(
        block in any::<u16>(),
        blksize in MIN_BLKSIZE..=MAX_BLKSIZE,
        len_pick in any::<Index>(),
    ) {
        let len = len_pick.index(usize::from(blksize) + 1);
        let data = vec![0x42; len];
        let bytes = encode(&Packet::Data { block: BlockNumber(block), data: &data });
        prop_assert_eq!(
            Packet::parse_with_blksize(&bytes, blksize),
            Ok(Packet::Data { block: BlockNumber(block), data: &data })
        );
        let mut longer = bytes.clone();
        longer.push(0);
        if len == usize::from(blksize) {
            prop_assert_eq!(
                Packet::parse_with_blksize(&longer, blksize),
                Err(ParseError::DataTooLong)
            );
        }
    }

    #[test]
    fn option_names_in_any_case_and_order_parse_the_same(
        options in options(),
        upper in vec(any::<bool>(), 1..12),
        order in Just(vec![0usize, 1, 2, 3]).prop_shuffle(),
        unknown in vec("x-[a-z]{1,8}", 0..4),
    ) {
        let mut pairs: Vec<(String, String)> = Vec::new();
        let known = [
            ("blksize", options.blksize.map(u64::from)),
            ("timeout", options.timeout.map(u64::from)),
            ("tsize", options.tsize),
            ("windowsize", options.windowsize.map(u64::from)),
        ];
        for i in order {
            if let (name, Some(value)) = known[i] {
                pairs.push((random_case(name, &upper), value.to_string()));
            }
        }
        for name in &unknown {
            pairs.push((name.clone(), "whatever".into()));
        }
        let mut bytes = vec![0, 6];
        for (name, value) in &pairs {
            bytes.extend_from_slice(name.as_bytes());
            bytes.push(0);
            bytes.extend_from_slice(value.as_bytes());
            bytes.push(0);
        }
        let expected = Options { unknown: unknown.len() as u16, ..options };
        prop_assert_eq!(Packet::parse(&bytes), Ok(Packet::Oack(expected)));
    }

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(bytes in vec(any::<u8>(), 0..600)) {
        if let Ok(packet) = Packet::parse(&bytes) {
            assert_reencodes(packet)?;
        }
    }

    #[test]
    fn parse_never_panics_behind_a_valid_opcode(
        op in 0u16..=7,
        body in vec(prop_oneof![3 => any::<u8>(), 1 => Just(0u8)], 0..300),
        blksize in any::<u16>(),
    ) {
        let mut bytes = op.to_be_bytes().to_vec();
        bytes.extend_from_slice(&body);
        if let Ok(packet) = Packet::parse(&bytes) {
            assert_reencodes(packet)?;
        }
        let _ = Packet::parse_with_blksize(&bytes, blksize);
    }

    #[test]
    fn parse_never_panics_on_mutated_packets(
        owned in owned_packet(),
        mutations in vec(mutation(), 1..6),
    ) {
        let mut bytes = encode(&owned.packet());
        for m in &mutations {
            mutate(&mut bytes, m);
        }
        if let Ok(packet) = Packet::parse(&bytes) {
            assert_reencodes(packet)?;
        }
    }
}

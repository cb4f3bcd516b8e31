//! netascii (RFC 1350, RFC 764): exact vectors, and properties showing that
//! the streaming transform gives the same bytes however input and output
//! are cut into pieces.

use proptest::collection::vec;
use proptest::prelude::*;
use tftp_proto::netascii::{Decoder, Encoder};

const CR: u8 = b'\r';
const LF: u8 = b'\n';
const NUL: u8 = 0;

/// Encode all of `input` with one generous output buffer.
fn encode_whole(input: &[u8]) -> Vec<u8> {
    let mut enc = Encoder::new();
    let mut out = vec![0u8; 2 * input.len()];
    let (consumed, written) = enc.encode(input, &mut out);
    assert_eq!(consumed, input.len());
    assert!(!enc.has_pending());
    out.truncate(written);
    out
}

/// Decode all of `wire` in one call, then finish.
fn decode_whole(wire: &[u8]) -> Vec<u8> {
    let mut dec = Decoder::new();
    let mut out = vec![0u8; wire.len() + 1];
    let mut n = dec.decode(wire, &mut out);
    n += dec.finish(&mut out[n..]);
    out.truncate(n);
    out
}

/// Encode `input` fed in pieces of `in_sizes` bytes into output buffers of
/// `out_sizes` bytes (both lists cycled; zero-sized pieces allowed).
fn encode_chunked(input: &[u8], in_sizes: &[usize], out_sizes: &[usize]) -> Vec<u8> {
    let mut enc = Encoder::new();
    let mut result = Vec::new();
    let mut out_size = out_sizes.iter().copied().cycle();
    let mut in_size = in_sizes.iter().copied().cycle();
    let mut rest = input;
    let mut call = |enc: &mut Encoder, piece: &[u8], result: &mut Vec<u8>| -> usize {
        let mut buf = vec![0u8; out_size.next().unwrap()];
        let (consumed, written) = enc.encode(piece, &mut buf);
        assert!(consumed <= piece.len() && written <= buf.len());
        result.extend_from_slice(&buf[..written]);
        consumed
    };
    while !rest.is_empty() {
        let take = in_size.next().unwrap().min(rest.len());
        let mut piece = &rest[..take];
        rest = &rest[take..];
        // A piece is handed over again until all of it is taken (an empty
        // piece once, which may flush a pending byte). Progress is only
        // promised by non-empty output buffers, so allow a cycle of them.
        let mut calls = 0;
        loop {
            let consumed = call(&mut enc, piece, &mut result);
            piece = &piece[consumed..];
            calls += 1;
            if piece.is_empty() {
                break;
            }
            assert!(calls <= 2 * (take + 1) * out_sizes.len(), "encoder stuck");
        }
    }
    let mut guard = 0;
    while enc.has_pending() {
        call(&mut enc, &[], &mut result);
        guard += 1;
        assert!(guard <= out_sizes.len() + 1, "pending byte never flushed");
    }
    result
}

/// Decode `wire` fed in pieces of `in_sizes` bytes, each into an output
/// buffer of the smallest size the decoder allows (piece length + 1).
fn decode_chunked(wire: &[u8], in_sizes: &[usize]) -> Vec<u8> {
    let mut dec = Decoder::new();
    let mut result = Vec::new();
    let mut in_size = in_sizes.iter().copied().cycle();
    let mut rest = wire;
    while !rest.is_empty() {
        let take = in_size.next().unwrap().min(rest.len());
        let mut buf = vec![0u8; take + 1];
        let n = dec.decode(&rest[..take], &mut buf);
        result.extend_from_slice(&buf[..n]);
        rest = &rest[take..];
    }
    let mut last = [0u8; 1];
    let n = dec.finish(&mut last);
    result.extend_from_slice(&last[..n]);
    result
}

/// The wire form by definition: each byte on its own.
fn encode_reference(input: &[u8]) -> Vec<u8> {
    input
        .iter()
        .flat_map(|&b| match b {
            LF => vec![CR, LF],
            CR => vec![CR, NUL],
            other => vec![other],
        })
        .collect()
}

/// The local form by definition: CR LF -> LF, CR NUL -> CR, any other CR
/// kept as it is.
fn decode_reference(wire: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < wire.len() {
        match (wire[i], wire.get(i + 1)) {
            (CR, Some(&LF)) => {
                out.push(LF);
                i += 2;
            }
            (CR, Some(&NUL)) => {
                out.push(CR);
                i += 2;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Vectors

#[test]
fn encode_vectors() {
    let cases: [(&[u8], &[u8]); 9] = [
        (b"", b""),
        (b"plain text", b"plain text"),
        (b"line\n", b"line\r\n"),
        (b"a\nb\n", b"a\r\nb\r\n"),
        (b"\n\n", b"\r\n\r\n"),
        (b"bare\rcr", b"bare\r\0cr"),
        (b"\r\n", b"\r\0\r\n"),
        (b"\r", b"\r\0"),
        (b"nul\0stays", b"nul\0stays"),
    ];
    for (local, wire) in cases {
        assert_eq!(encode_whole(local), wire, "encode {local:?}");
        assert_eq!(decode_whole(wire), local, "decode {wire:?}");
    }
}

#[test]
fn decode_vectors() {
    let cases: [(&[u8], &[u8]); 8] = [
        (b"a\r\nb", b"a\nb"),
        (b"a\r\0b", b"a\rb"),
        (b"\r\r\0", b"\r\r"),
        (b"\r\r\n", b"\r\n"),
        // A CR followed by anything else is kept, and so is that byte.
        (b"\rX", b"\rX"),
        (b"x\r\ty", b"x\r\ty"),
        // A CR at the very end is released by finish().
        (b"end\r", b"end\r"),
        (b"\0\0", b"\0\0"),
    ];
    for (wire, local) in cases {
        assert_eq!(decode_whole(wire), local, "decode {wire:?}");
    }
}

#[test]
fn encoder_keeps_the_second_byte_of_a_pair_that_does_not_fit() {
    let mut enc = Encoder::new();
    let mut out = [0u8; 3];
    assert_eq!(enc.encode(b"ab\ncd", &mut out), (3, 3));
    assert_eq!(&out, b"ab\r");
    assert!(enc.has_pending());
    // The pending LF comes first, then the rest.
    let mut out = [0u8; 8];
    assert_eq!(enc.encode(b"cd", &mut out), (2, 3));
    assert_eq!(&out[..3], b"\ncd");
    assert!(!enc.has_pending());
}

#[test]
fn encoder_with_one_byte_buffers() {
    let mut enc = Encoder::new();
    let mut wire = Vec::new();
    let mut input: &[u8] = b"\r\n";
    let mut one = [0u8; 1];
    while !input.is_empty() || enc.has_pending() {
        let (consumed, written) = enc.encode(input, &mut one);
        assert_eq!(written, 1, "a one-byte buffer is always filled");
        wire.push(one[0]);
        input = &input[consumed..];
    }
    assert_eq!(wire, b"\r\0\r\n");
}

#[test]
fn encoder_with_an_empty_buffer_does_nothing() {
    let mut enc = Encoder::new();
    assert_eq!(enc.encode(b"abc", &mut []), (0, 0));
    let mut one = [0u8; 1];
    assert_eq!(enc.encode(b"\n", &mut one), (1, 1));
    assert!(enc.has_pending());
    assert_eq!(enc.encode(b"x", &mut []), (0, 0));
    assert!(enc.has_pending(), "pending byte is kept, not lost");
    assert_eq!(enc.encode(b"", &mut one), (0, 1));
    assert_eq!(one, [LF]);
}

#[test]
fn decoder_split_inside_a_pair() {
    let mut dec = Decoder::new();
    let mut out = [0u8; 8];
    assert_eq!(dec.decode(b"ab\r", &mut out), 2);
    assert_eq!(&out[..2], b"ab");
    assert_eq!(dec.decode(b"\ncd\r", &mut out), 3);
    assert_eq!(&out[..3], b"\ncd");
    assert_eq!(dec.decode(b"\0", &mut out), 1);
    assert_eq!(&out[..1], b"\r");
    assert_eq!(dec.decode(b"\r", &mut out), 0);
    assert_eq!(dec.decode(b"z", &mut out), 2);
    assert_eq!(&out[..2], b"\rz");
    assert_eq!(dec.finish(&mut out), 0);
}

#[test]
fn decoder_finish_releases_a_held_cr_once() {
    let mut dec = Decoder::new();
    let mut out = [0u8; 4];
    assert_eq!(dec.decode(b"\r", &mut out), 0);
    assert_eq!(dec.finish(&mut out), 1);
    assert_eq!(out[0], CR);
    assert_eq!(dec.finish(&mut out), 0);
}

// ---------------------------------------------------------------------------
// Properties

/// Local text: any bytes, with CR, LF and NUL made frequent (a byte in
/// 0xf0..=0xfe stands for one of them) so pairs and runs of them occur.
fn local_bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..400).prop_map(|mut v| {
        for b in &mut v {
            *b = match *b {
                0xf0..=0xf4 => LF,
                0xf5..=0xf9 => CR,
                0xfa..=0xfe => NUL,
                other => other,
            };
        }
        v
    })
}

fn sizes(min: usize) -> impl Strategy<Value = Vec<usize>> {
    vec(
        prop_oneof![3 => min..4usize.max(min + 1), 1 => min..64usize],
        1..8,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn encode_matches_the_definition(input in local_bytes()) {
        prop_assert_eq!(encode_whole(&input), encode_reference(&input));
    }

    #[test]
    fn decode_matches_the_definition(wire in local_bytes()) {
        prop_assert_eq!(decode_whole(&wire), decode_reference(&wire));
    }

    #[test]
    fn decode_inverts_encode(input in local_bytes()) {
        prop_assert_eq!(decode_whole(&encode_whole(&input)), input);
    }

    #[test]
    fn chunked_encode_equals_whole_encode(
        input in local_bytes(),
        in_sizes in sizes(0),
        out_sizes in sizes(0),
    ) {
        // Zero-sized pieces are allowed, but one of each must be non-zero
        // for the stream to move at all.
        let (mut in_sizes, mut out_sizes) = (in_sizes, out_sizes);
        in_sizes.push(1);
        out_sizes.push(1);
        let chunked = encode_chunked(&input, &in_sizes, &out_sizes);
        prop_assert_eq!(&chunked, &encode_whole(&input));
        prop_assert_eq!(decode_chunked(&chunked, &in_sizes), input);
    }

    #[test]
    fn encode_into_one_byte_buffers_equals_whole_encode(
        input in local_bytes(),
        in_sizes in sizes(1),
    ) {
        prop_assert_eq!(encode_chunked(&input, &in_sizes, &[1]), encode_whole(&input));
    }

    #[test]
    fn chunked_decode_equals_whole_decode(
        wire in local_bytes(),
        in_sizes in sizes(1),
    ) {
        prop_assert_eq!(decode_chunked(&wire, &in_sizes), decode_whole(&wire));
    }

    #[test]
    fn round_trip_through_pieces(
        input in local_bytes(),
        enc_in in sizes(1),
        enc_out in sizes(1),
        dec_in in sizes(1),
    ) {
        let wire = encode_chunked(&input, &enc_in, &enc_out);
        prop_assert_eq!(decode_chunked(&wire, &dec_in), input);
    }
}

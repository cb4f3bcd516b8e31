//! TYPE A conversion (RFC 959 §3.1.1.1): LF -> CR LF out, CR LF -> LF in,
//! streaming across arbitrary buffer boundaries.

use ftp_proto::ascii::{Decoder, Encoder};
use proptest::prelude::*;

fn encode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    Encoder::new().encode(input, &mut out);
    out
}

fn decode_chunks(chunks: &[&[u8]]) -> Vec<u8> {
    let mut d = Decoder::new();
    let mut out = Vec::new();
    for c in chunks {
        d.decode(c, &mut out);
    }
    d.finish(&mut out);
    out
}

fn decode(input: &[u8]) -> Vec<u8> {
    decode_chunks(&[input])
}

/// Splits `bytes` at the given cut points (taken modulo its length).
fn split<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for p in points {
        chunks.push(&bytes[start..p]);
        start = p;
    }
    chunks.push(&bytes[start..]);
    chunks
}

#[test]
fn encode_vectors() {
    assert_eq!(encode(b""), b"");
    assert_eq!(encode(b"abc"), b"abc");
    assert_eq!(encode(b"a\nb\n"), b"a\r\nb\r\n");
    assert_eq!(encode(b"\n\n"), b"\r\n\r\n");
    // A CR already before the LF is data: it stays and gets its own pair.
    assert_eq!(encode(b"a\r\nb"), b"a\r\r\nb");
    assert_eq!(encode(b"\r"), b"\r");
}

#[test]
fn decode_vectors() {
    assert_eq!(decode(b""), b"");
    assert_eq!(decode(b"a\r\nb\r\n"), b"a\nb\n");
    assert_eq!(decode(b"a\rb"), b"a\rb");
    assert_eq!(decode(b"\r\r\n"), b"\r\n");
    assert_eq!(decode(b"\n"), b"\n");
    assert_eq!(decode(b"end\r"), b"end\r");
    assert_eq!(decode(b"\r\r\r"), b"\r\r\r");
}

#[test]
fn decode_holds_a_cr_at_a_chunk_end() {
    let mut d = Decoder::new();
    let mut out = Vec::new();
    d.decode(b"line\r", &mut out);
    assert_eq!(out, b"line");
    d.decode(b"", &mut out);
    assert_eq!(out, b"line");
    d.decode(b"\nnext\r", &mut out);
    assert_eq!(out, b"line\nnext");
    d.decode(b"x", &mut out);
    assert_eq!(out, b"line\nnext\rx");
    d.decode(b"\r", &mut out);
    d.finish(&mut out);
    assert_eq!(out, b"line\nnext\rx\r");
    // finish leaves a fresh decoder behind.
    d.finish(&mut out);
    d.decode(b"\n", &mut out);
    assert_eq!(out, b"line\nnext\rx\r\n");
}

#[test]
fn chunked_cr_lf_pairs() {
    assert_eq!(
        decode_chunks(&[b"a\r", b"\n", b"b\r", b"\r", b"\n"]),
        b"a\nb\r\n"
    );
    assert_eq!(decode_chunks(&[b"\r", b"", b"", b"\n"]), b"\n");
}

/// Mostly CR and LF, so that every combination at chunk edges is tried.
fn crlf_heavy() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![3 => Just(b'\r'), 3 => Just(b'\n'), 1 => Just(b'a'), 1 => any::<u8>()],
        0..64,
    )
}

fn any_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![crlf_heavy(), prop::collection::vec(any::<u8>(), 0..512)]
}

proptest! {
    #[test]
    fn decode_undoes_encode(
        data in any_bytes(),
        in_cuts in prop::collection::vec(any::<usize>(), 0..6),
        out_cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut enc = Encoder::new();
        let mut wire = Vec::new();
        for chunk in split(&data, &in_cuts) {
            enc.encode(chunk, &mut wire);
        }
        prop_assert_eq!(&wire, &encode(&data));
        prop_assert_eq!(decode_chunks(&split(&wire, &out_cuts)), data);
    }

    #[test]
    fn every_encoded_lf_has_a_cr(data in any_bytes()) {
        let wire = encode(&data);
        for (i, &b) in wire.iter().enumerate() {
            if b == b'\n' {
                prop_assert!(i > 0 && wire[i - 1] == b'\r');
            }
        }
        let lfs = data.iter().filter(|&&b| b == b'\n').count();
        prop_assert_eq!(wire.len(), data.len() + lfs);
    }

    #[test]
    fn chunking_does_not_change_decoding(
        wire in any_bytes(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let whole = decode(&wire);
        prop_assert_eq!(decode_chunks(&split(&wire, &cuts)), whole.clone());
        // Byte at a time, the hardest split.
        let bytes: Vec<&[u8]> = wire.chunks(1).collect();
        prop_assert_eq!(decode_chunks(&bytes), whole.clone());
        // Only CR LF pairs go: the output loses one byte per pair.
        let pairs = wire.windows(2).filter(|w| w == b"\r\n").count();
        prop_assert_eq!(whole.len(), wire.len() - pairs);
    }
}

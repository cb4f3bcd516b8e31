//! TYPE A conversion (RFC 959 §3.1.1.1): bare LF -> CR LF out, CR LF ->
//! LF in, streaming across arbitrary buffer boundaries.

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
    // A line that already ends in CR LF is in network form: left alone.
    assert_eq!(encode(b"a\r\nb"), b"a\r\nb");
    assert_eq!(encode(b"dos\r\nunix\n"), b"dos\r\nunix\r\n");
    assert_eq!(encode(b"\r"), b"\r");
    assert_eq!(encode(b"\r\r\n"), b"\r\r\n");
    assert_eq!(encode(b"\n\r\n\r"), b"\r\n\r\n\r");
}

#[test]
fn encode_remembers_a_cr_at_a_chunk_end() {
    let mut e = Encoder::new();
    let mut out = Vec::new();
    e.encode(b"a\r", &mut out);
    e.encode(b"\nb", &mut out);
    assert_eq!(out, b"a\r\nb");
    // ...but only the very last byte counts.
    e.encode(b"\r", &mut out);
    e.encode(b"x", &mut out);
    e.encode(b"\n", &mut out);
    assert_eq!(out, b"a\r\nb\rx\r\n");
    e.encode(b"", &mut out);
    e.encode(b"\n", &mut out);
    assert_eq!(out, b"a\r\nb\rx\r\n\r\n");
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

/// Encodes `data` cut into chunks at `cuts`.
fn encode_chunks(data: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut enc = Encoder::new();
    let mut wire = Vec::new();
    for chunk in split(data, cuts) {
        enc.encode(chunk, &mut wire);
    }
    wire
}

proptest! {
    #[test]
    fn decode_undoes_encode_for_text_without_cr_lf(
        data in any_bytes(),
        in_cuts in prop::collection::vec(any::<usize>(), 0..6),
        out_cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let wire = encode_chunks(&data, &in_cuts);
        prop_assert_eq!(&wire, &encode(&data));
        let back = decode_chunks(&split(&wire, &out_cuts));
        if !data.windows(2).any(|w| w == b"\r\n") {
            prop_assert_eq!(&back, &data);
        }
        // Otherwise each CR LF came back as LF: the file now has the
        // receiver's line ends, one byte shorter per pair.
        let pairs = data.windows(2).filter(|w| w == b"\r\n").count();
        prop_assert_eq!(back.len(), data.len() - pairs);
    }

    #[test]
    fn every_encoded_lf_has_a_cr(
        data in any_bytes(),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let wire = encode_chunks(&data, &cuts);
        for (i, &b) in wire.iter().enumerate() {
            if b == b'\n' {
                prop_assert!(i > 0 && wire[i - 1] == b'\r');
            }
        }
        // Exactly the bare LFs gained a CR; nothing else changed.
        let bare = data
            .iter()
            .enumerate()
            .filter(|&(i, &b)| b == b'\n' && (i == 0 || data[i - 1] != b'\r'))
            .count();
        prop_assert_eq!(wire.len(), data.len() + bare);
        let without_added: Vec<u8> = {
            let mut out = Vec::new();
            for (i, &b) in wire.iter().enumerate() {
                let added = b == b'\r' && wire.get(i + 1) == Some(&b'\n') && {
                    // An added CR sits where the data had a bare LF.
                    let k = out.len();
                    k >= data.len() || data[k] == b'\n'
                };
                if !added {
                    out.push(b);
                }
            }
            out
        };
        prop_assert_eq!(without_added, data);
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

    #[test]
    fn chunking_does_not_change_encoding(
        data in any_bytes(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let whole = encode(&data);
        prop_assert_eq!(encode_chunks(&data, &cuts), whole.clone());
        let mut enc = Encoder::new();
        let mut wire = Vec::new();
        for b in data.chunks(1) {
            enc.encode(b, &mut wire);
        }
        prop_assert_eq!(wire, whole);
    }
}

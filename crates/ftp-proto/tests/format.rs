//! TYPE E, STRU R, MODE B and C (RFC 959 §3.1–§3.5) and MODE Z (deflate): byte-exact wire
//! forms, every valid form the readers must take, and the round trip of
//! any file in every format, split anywhere.

use ftp_proto::format::{
    DecodeError, Decoder, Encoder, Format, Marker, Mode, Representation, Structure,
};
use proptest::prelude::*;

const TYPES: [Representation; 3] = [
    Representation::Image,
    Representation::Ascii,
    Representation::Ebcdic,
];
const STRUCTURES: [Structure; 2] = [Structure::File, Structure::Record];
const MODES: [Mode; 4] = [Mode::Stream, Mode::Block, Mode::Compressed, Mode::Deflate];

fn format(representation: Representation, structure: Structure, mode: Mode) -> Format {
    Format {
        representation,
        structure,
        mode,
        ..Format::IMAGE
    }
}

fn image(structure: Structure, mode: Mode) -> Format {
    format(Representation::Image, structure, mode)
}

fn encode_chunks(format: Format, interval: u64, chunks: &[&[u8]]) -> Vec<u8> {
    let mut e = Encoder::with_marker_interval(format, 0, interval);
    let mut out = Vec::new();
    for c in chunks {
        e.encode(c, &mut out);
    }
    e.finish(&mut out);
    out
}

fn encode(format: Format, file: &[u8]) -> Vec<u8> {
    encode_chunks(format, 0, &[file])
}

fn decode_chunks(format: Format, chunks: &[&[u8]]) -> Result<(Vec<u8>, Vec<Marker>), DecodeError> {
    let mut d = Decoder::new(format, 0);
    let mut out = Vec::new();
    let mut markers = Vec::new();
    for c in chunks {
        d.decode(c, &mut out)?;
        markers.extend(std::iter::from_fn(|| d.take_marker()));
    }
    d.finish(&mut out)?;
    Ok((out, markers))
}

fn decode(format: Format, wire: &[u8]) -> Result<Vec<u8>, DecodeError> {
    decode_chunks(format, &[wire]).map(|(file, _)| file)
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
fn block_mode_frames_the_file_and_its_end() {
    let f = image(Structure::File, Mode::Block);
    assert_eq!(encode(f, b"hello\n"), b"\x40\x00\x06hello\n");
    assert_eq!(encode(f, b""), b"\x40\x00\x00");
    // A full block goes as it fills; the EOF block is then empty.
    let big = vec![7u8; 65535 + 2];
    let wire = encode(f, &big);
    assert_eq!(&wire[..3], b"\x00\xff\xff");
    assert_eq!(&wire[65538..], b"\x40\x00\x02\x07\x07");
}

#[test]
fn block_mode_records_end_in_eor_blocks() {
    let f = image(Structure::Record, Mode::Block);
    assert_eq!(
        encode(f, b"ab\n\ncd"),
        b"\x80\x00\x02ab\x80\x00\x00\x40\x00\x02cd"
    );
    assert_eq!(encode(f, b"ab\n"), b"\x80\x00\x02ab\x40\x00\x00");
}

#[test]
fn block_mode_reader_takes_every_valid_form() {
    let f = image(Structure::Record, Mode::Block);
    // Empty blocks, a suspected-errors block (its data is kept), a marker
    // block, EOR and EOF on one block.
    let wire = b"\x00\x00\x00\x20\x00\x01a\x10\x00\x03x12\x00\x00\x01b\xc0\x00\x01c";
    let (file, markers) = decode_chunks(f, &[wire]).unwrap();
    assert_eq!(file, b"abc\n");
    assert_eq!(
        markers,
        [Marker {
            sender: b"x12".to_vec(),
            offset: 1
        }]
    );
    // STRU F takes EOR flags as plain data ends.
    assert_eq!(
        decode(
            image(Structure::File, Mode::Block),
            b"\x80\x00\x01a\x40\x00\x00"
        ),
        Ok(b"a".to_vec())
    );
}

#[test]
fn block_mode_reader_refuses_what_is_not_a_block_stream() {
    let f = image(Structure::File, Mode::Block);
    assert_eq!(
        decode(f, b"\x01\x00\x00"),
        Err(DecodeError::BadDescriptor(1))
    );
    assert_eq!(decode(f, b"\x40\x00\x00x"), Err(DecodeError::AfterEnd));
    assert_eq!(decode(f, b"\x00\x00\x02a"), Err(DecodeError::Truncated));
    assert_eq!(decode(f, b"\x40\x00"), Err(DecodeError::Truncated));
    assert_eq!(decode(f, b""), Err(DecodeError::Truncated));
    assert_eq!(decode(f, b"\x10\x01\x00"), Err(DecodeError::MarkerTooLong));
}

#[test]
fn restart_markers_carry_the_file_offset() {
    let f = image(Structure::File, Mode::Block);
    let wire = encode_chunks(f, 4, &[b"abcdefghij"]);
    assert_eq!(
        wire,
        b"\x00\x00\x04abcd\x10\x00\x014\x00\x00\x04efgh\x10\x00\x018\x40\x00\x02ij"
    );
    let (file, markers) = decode_chunks(f, &[&wire]).unwrap();
    assert_eq!(file, b"abcdefghij");
    let offsets: Vec<_> = markers
        .iter()
        .map(|m| (m.sender.clone(), m.offset))
        .collect();
    assert_eq!(offsets, [(b"4".to_vec(), 4), (b"8".to_vec(), 8)]);
    // A transfer resumed at a marker (REST 8) marks from there on.
    let mut e = Encoder::with_marker_interval(f, 8, 4);
    let mut out = Vec::new();
    e.encode(b"ijklm", &mut out);
    e.finish(&mut out);
    assert_eq!(out, b"\x00\x00\x04ijkl\x10\x00\x0212\x40\x00\x01m");
    let mut d = Decoder::new(f, 8);
    let mut file = Vec::new();
    d.decode(&out, &mut file).unwrap();
    assert_eq!(d.take_marker().map(|m| m.offset), Some(12));
    assert!(d.is_complete());
}

#[test]
fn compressed_mode_vectors() {
    let f = image(Structure::File, Mode::Compressed);
    // Data units, a replicated run, filler (zero in TYPE I), EOF escape.
    assert_eq!(
        encode(f, b"abxxxxx\0\0\0\0c"),
        b"\x02ab\x85x\xc4\x01c\x00\x40"
    );
    assert_eq!(encode(f, b""), b"\x00\x40");
    // Runs of two stay data; runs longer than 63 take two units.
    assert_eq!(encode(f, b"aab"), b"\x03aab\x00\x40");
    let run = vec![b'z'; 64];
    assert_eq!(encode(f, &run), b"\xbfz\x01z\x00\x40");
    // A space is TYPE A's filler; TYPE E's is EBCDIC's space (0x40).
    let a = format(Representation::Ascii, Structure::File, Mode::Compressed);
    assert_eq!(encode(a, b"a   \n"), b"\x01a\xc3\x02\r\n\x00\x40");
    let e = format(Representation::Ebcdic, Structure::Record, Mode::Compressed);
    assert_eq!(encode(e, b"A   \n"), b"\x01\xc1\xc3\x00\x80\x00\x40");
    assert_eq!(
        decode(e, b"\x01\xc1\xc3\x00\x80\x00\x40"),
        Ok(b"A   \n".to_vec())
    );
}

#[test]
fn compressed_mode_reader_takes_every_valid_form() {
    let f = image(Structure::Record, Mode::Compressed);
    // Zero-length runs and filler, an escape with no bits, a marker with
    // EOR on the same escape, errors flagged, EOR and EOF together.
    let wire = b"\x80q\xc0\x01a\x00\x00\x00\x90\x027x\x01b\x00\x20\x83c\x00\xc0";
    let (file, markers) = decode_chunks(f, &[wire]).unwrap();
    assert_eq!(file, b"a\nbccc\n");
    assert_eq!(markers[0].sender, b"7x");
    assert_eq!(markers[0].offset, 1);
    assert_eq!(decode(f, b"\x00\x01"), Err(DecodeError::BadDescriptor(1)));
    assert_eq!(decode(f, b"\x00\x10\x80"), Err(DecodeError::BadMarker));
    // A marker unit may say up to 127 bytes; as in MODE B, past
    // MAX_MARKER (64) it is refused, so no session sees a longer one.
    let mut long = b"\x00\x10\x41".to_vec();
    long.extend([b'9'; 65]);
    assert_eq!(decode(f, &long), Err(DecodeError::MarkerTooLong));
    let mut longest = b"\x00\x10\x40".to_vec();
    longest.extend([b'9'; 64]);
    longest.extend(b"\x00\x40");
    let (_, markers) = decode_chunks(f, &[&longest]).unwrap();
    assert_eq!(markers[0].sender, [b'9'; 64]);
    assert_eq!(decode(f, b"\x02a"), Err(DecodeError::Truncated));
    assert_eq!(decode(f, b"\x00\x40\x01"), Err(DecodeError::AfterEnd));
}

#[test]
fn record_stream_escapes() {
    let f = image(Structure::Record, Mode::Stream);
    assert_eq!(encode(f, b"a\xffb\nc"), b"a\xff\xffb\xff\x01c\xff\x02");
    assert_eq!(encode(f, b""), b"\xff\x02");
    assert_eq!(decode(f, b"a\xff\x03"), Ok(b"a\n".to_vec()));
    assert_eq!(
        decode(f, b"\xff\xff\xff\x01\xff\x02"),
        Ok(b"\xff\n".to_vec())
    );
    assert_eq!(decode(f, b"a\xff\x04"), Err(DecodeError::BadEscape(4)));
    assert_eq!(decode(f, b"a\xff"), Err(DecodeError::Truncated));
    assert_eq!(decode(f, b"a"), Err(DecodeError::Truncated));
    assert_eq!(decode(f, b"\xff\x02a"), Err(DecodeError::AfterEnd));
    // TYPE A records are lines without their line end.
    let a = format(Representation::Ascii, Structure::Record, Mode::Stream);
    assert_eq!(encode(a, b"one\ntwo\n"), b"one\xff\x01two\xff\x01\xff\x02");
}

#[test]
fn ebcdic_stream_maps_lf_to_nl() {
    let f = format(Representation::Ebcdic, Structure::File, Mode::Stream);
    assert_eq!(encode(f, b"Hi\n"), b"\xc8\x89\x15");
    assert_eq!(decode(f, b"\xc8\x89\x15"), Ok(b"Hi\n".to_vec()));
}

#[test]
fn deflate_mode_is_a_zlib_stream_that_ends_the_data() {
    let f = image(Structure::File, Mode::Deflate);
    let wire = encode(f, b"hello\n");
    // RFC 1950: CM 8 with a 32 KiB window, header check a multiple of 31.
    assert_eq!(wire[0], 0x78);
    assert_eq!(u16::from_be_bytes([wire[0], wire[1]]) % 31, 0);
    assert_eq!(decode(f, &wire), Ok(b"hello\n".to_vec()));
    // Level 0 stores: the file's bytes appear as they are.
    let stored = encode(Format { level: 0, ..f }, b"hello\n");
    assert!(stored.windows(6).any(|w| w == b"hello\n"));
    assert_eq!(decode(f, &stored), Ok(b"hello\n".to_vec()));
    // An empty file is still a whole zlib stream (header, empty block, Adler-32).
    assert_eq!(decode(f, &encode(f, b"")), Ok(Vec::new()));
    // Cut before the stream's end: truncated, not a shorter file.
    assert_eq!(
        decode(f, &wire[..wire.len() - 1]),
        Err(DecodeError::Truncated)
    );
    assert_eq!(decode(f, b""), Err(DecodeError::Truncated));
    // Not zlib at all, or bytes after its end.
    assert_eq!(decode(f, b"hello world"), Err(DecodeError::BadDeflate));
    let mut after = wire.clone();
    after.push(0);
    assert_eq!(decode(f, &after), Err(DecodeError::AfterEnd));
    // STRU R inside MODE Z: stream mode's record escapes, deflated.
    let r = image(Structure::Record, Mode::Deflate);
    let wire = encode(r, b"a\xffb\nc");
    assert_eq!(decode(r, &wire), Ok(b"a\xffb\nc".to_vec()));
    let plain = encode(image(Structure::Record, Mode::Stream), b"a\xffb\nc");
    assert_eq!(
        decode(image(Structure::File, Mode::Deflate), &wire),
        Ok(plain)
    );
}

#[test]
fn deflate_mode_compresses_and_takes_every_level() {
    let f = image(Structure::File, Mode::Deflate);
    let file: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    for level in 0..=9 {
        let wire = encode(Format { level, ..f }, &file);
        if level > 0 {
            assert!(
                wire.len() < file.len() / 10,
                "level {level}: {}",
                wire.len()
            );
        }
        assert_eq!(decode(f, &wire).as_deref(), Ok(&file[..]));
    }
}

#[test]
fn deflate_mode_reader_loses_nothing_when_output_outruns_input() {
    // Far more output than input per read: the inflater holds output
    // back between calls, and all of it must come out, however the wire
    // is cut.
    let f = Format {
        level: 9,
        ..image(Structure::File, Mode::Deflate)
    };
    let mut file = vec![0u8; 3 << 20];
    file.extend((0..100_000u32).map(|i| (i * 7 % 253) as u8));
    let wire = encode(f, &file);
    for slice in [wire.len(), 4096, 100, 7] {
        let chunks: Vec<&[u8]> = wire.chunks(slice).collect();
        let (back, _) = decode_chunks(f, &chunks).unwrap();
        assert!(
            back == file,
            "slice {slice}: {} of {} bytes",
            back.len(),
            file.len()
        );
    }
}

#[test]
fn deflate_mode_finds_the_same_error_however_cut() {
    // A zlib stream (found by fuzzing) whose inflated bytes hold a bad
    // STRU R escape before the stream itself goes bad: the escape is
    // the error, read whole or cut every 33 bytes.
    let wire = b"\x78\x01\x63\x63\xff\x04\x63\x63\x61\x21\xf6\x05\x63\xf7\x5e\xee\x86\x00\x43\xff\
                 \x05\x82\xf2\x61\xd6\xd6\xd6\xff\xff\xd6\xd6\xde\x2a\xff\x29\x29\xfa\xde\xa1\x08\
                 \x9e\xf7\xee\x86\xf0\x2a\x41\xff\x05\xb3\xf2\x0a\x5a\xc1\x59\xff";
    let f = format(Representation::Ascii, Structure::Record, Mode::Deflate);
    let whole = decode_chunks(f, &[wire]);
    let cut: Vec<&[u8]> = wire.chunks(33).collect();
    assert_eq!(whole, decode_chunks(f, &cut));
    assert_eq!(whole, Err(DecodeError::BadEscape(253)));
}

fn all_formats() -> impl Strategy<Value = Format> {
    (0..3usize, 0..2usize, 0..4usize)
        .prop_map(|(t, s, m)| format(TYPES[t], STRUCTURES[s], MODES[m]))
}

/// Files with long runs, 0xFF bytes and line ends, which every framing
/// treats specially.
fn file() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            any::<u8>().prop_map(|b| vec![b]),
            (any::<u8>(), 1..200usize).prop_map(|(b, n)| vec![b; n]),
            Just(b"\n".to_vec()),
            Just(vec![0xFF]),
            Just(b" ".to_vec()),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn every_format_round_trips_any_file_split_anywhere(
        format in all_formats(),
        file in file(),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
        wire_cuts in prop::collection::vec(any::<usize>(), 0..6),
        interval in prop_oneof![Just(0u64), 1..64u64],
    ) {
        // TYPE A in STRU F turns CR LF into LF on the way in: only files
        // without CR make its round trip exactly.
        let file = match (format.representation, format.structure) {
            (Representation::Ascii, Structure::File) => {
                file.into_iter().filter(|&b| b != b'\r').collect()
            }
            _ => file,
        };
        let whole = encode_chunks(format, interval, &[&file]);
        prop_assert_eq!(&encode_chunks(format, interval, &split(&file, &cuts)), &whole);
        let (back, markers) = decode_chunks(format, &split(&whole, &wire_cuts)).unwrap();
        prop_assert_eq!(&back, &file);
        // Every marker names the file offset it was placed at.
        for m in markers {
            prop_assert_eq!(m.sender.clone(), m.offset.to_string().into_bytes());
        }
    }

    #[test]
    fn decoders_never_panic_and_agree_however_split(
        format in all_formats(),
        wire in prop::collection::vec(any::<u8>(), 0..300),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let whole = decode_chunks(format, &[&wire]);
        let split = decode_chunks(format, &split(&wire, &cuts));
        prop_assert_eq!(whole, split);
    }
}

//! The data-format decoders (TYPE E, STRU R, MODE B, C and Z) on arbitrary
//! wire bytes: never a panic, the same result (the file, and the last
//! restart marker with its offset) however the bytes are split; and the encoders on the same bytes read as a file: decoding
//! what they wrote gives the file back.
#![no_main]

use ftp_proto::format::{
    DecodeError, Decoder, Encoder, Format, Marker, Mode, Representation, Structure, MAX_MARKER,
};
use libfuzzer_sys::fuzz_target;

fn format_of(b: u8) -> Format {
    let representation = [
        Representation::Image,
        Representation::Ascii,
        Representation::Ebcdic,
    ][usize::from(b % 3)];
    let structure = [Structure::File, Structure::Record][usize::from((b / 3) % 2)];
    let mode =
        [Mode::Stream, Mode::Block, Mode::Compressed, Mode::Deflate][usize::from((b / 6) % 4)];
    Format {
        representation,
        structure,
        mode,
        // MODE Z's level from the same byte: 0 (stored) to 9.
        level: (b / 24) % 10,
    }
}

/// The file, and the last restart marker with where it fell.
type Decoded = (Vec<u8>, Option<Marker>);

fn decode(format: Format, wire: &[u8], cut: usize) -> Result<Decoded, DecodeError> {
    decode_from(format, wire, cut, 7)
}

/// Decoding for a transfer that starts at file offset `start` (REST).
fn decode_from(
    format: Format,
    wire: &[u8],
    cut: usize,
    start: u64,
) -> Result<Decoded, DecodeError> {
    let mut d = Decoder::new(format, start);
    let mut out = Vec::new();
    let mut last: Option<Marker> = None;
    for piece in wire.chunks(cut.max(1)) {
        d.decode(piece, &mut out)?;
        while let Some(marker) = d.take_marker() {
            // In order, each where the file stood when it came.
            assert!(marker.offset >= last.as_ref().map_or(start, |m| m.offset));
            assert!(marker.offset <= start + out.len() as u64);
            assert!(marker.sender.len() <= MAX_MARKER);
            last = Some(marker);
        }
    }
    d.finish(&mut out)?;
    Ok((out, last))
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let Some((&cut, body)) = rest.split_first() else {
        return;
    };
    let format = format_of(head);
    assert_eq!(
        decode(format, body, body.len()),
        decode(format, body, cut.into())
    );

    // The body as a file: TYPE A in STRU F folds CR LF, so leave CRs out.
    let file: Vec<u8> = match (format.representation, format.structure) {
        (Representation::Ascii, Structure::File) => {
            body.iter().copied().filter(|&b| b != b'\r').collect()
        }
        _ => body.to_vec(),
    };
    let mut e = Encoder::with_marker_interval(format, 0, u64::from(cut) + 1);
    let mut wire = Vec::new();
    for piece in file.chunks(usize::from(cut).max(1)) {
        e.encode(piece, &mut wire);
    }
    e.finish(&mut wire);
    let (decoded, last) = decode_from(format, &wire, 7, 0).expect("an encoder's output decodes");
    assert!(decoded == file);
    // The encoder's markers name file offsets, and the decoder finds each
    // at the offset it names: a REST of it resumes where it was sent.
    if let Some(marker) = last {
        assert_eq!(marker.sender, marker.offset.to_string().into_bytes());
    }
});

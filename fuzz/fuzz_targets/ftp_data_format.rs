//! The data-format decoders (TYPE E, STRU R, MODE B, C and Z) on arbitrary
//! wire bytes: never a panic, the same result however the bytes are
//! split; and the encoders on the same bytes read as a file: decoding
//! what they wrote gives the file back.
#![no_main]

use ftp_proto::format::{DecodeError, Decoder, Encoder, Format, Mode, Representation, Structure};
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

fn decode(format: Format, wire: &[u8], cut: usize) -> Result<Vec<u8>, DecodeError> {
    let mut d = Decoder::new(format, 0);
    let mut out = Vec::new();
    for piece in wire.chunks(cut.max(1)) {
        d.decode(piece, &mut out)?;
        while d.take_marker().is_some() {}
    }
    d.finish(&mut out)?;
    Ok(out)
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
    assert_eq!(decode(format, &wire, 7).as_deref(), Ok(&file[..]));
});

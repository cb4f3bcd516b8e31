use ftp_proto::format::{Decoder, Encoder, Format, Mode};
#[test]
fn z() {
    let f = Format { mode: Mode::Deflate, level: 9, ..Format::IMAGE };
    let file = vec![0u8; 16 << 20];
    let mut wire = Vec::new();
    let mut e = Encoder::new(f, 0);
    e.encode(&file, &mut wire);
    e.finish(&mut wire);
    for slice in [wire.len(), 2048, 100] {
        let mut d = Decoder::new(f, 0);
        let mut out = Vec::new();
        for p in wire.chunks(slice) { d.decode(p, &mut out).unwrap(); }
        d.finish(&mut out).unwrap();
        let firstbad = out.iter().position(|&b| b != 0);
        eprintln!("slice {slice}: len {} firstbad {:?}", out.len(), firstbad);
    }
}

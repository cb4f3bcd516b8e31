//! The client's reply reader on arbitrary bytes in arbitrary chunks: it
//! must never panic, must give the same replies however the bytes are
//! split, and every reply it reads must survive encode and read again.
#![no_main]

use ftp_proto::reply::{ReplyError, ReplyReader};
use ftp_proto::Reply;
use libfuzzer_sys::fuzz_target;

/// Reads `bytes` cut into pieces whose lengths come from `sizes`.
fn read(max: usize, bytes: &[u8], sizes: &[u8]) -> Vec<Result<Reply, ReplyError>> {
    let mut reader = ReplyReader::new(max);
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut sizes = sizes.iter().cycle();
    while !rest.is_empty() {
        let size = usize::from(*sizes.next().unwrap_or(&255)).clamp(1, rest.len());
        let (piece, tail) = rest.split_at(size);
        rest = tail;
        let mut at = 0;
        loop {
            let n = reader.push(&piece[at..]);
            assert!(n <= piece.len() - at);
            at += n;
            match reader.next_reply() {
                Some(r) => out.push(r),
                None if at == piece.len() => break,
                None => panic!("push stopped without a reply waiting"),
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    // First byte: the reader's limit; then up to 8 chunk sizes; the rest
    // is the stream.
    let Some((&limit, data)) = data.split_first() else {
        return;
    };
    let (sizes, bytes) = data.split_at(data.len().min(8));
    let max = usize::from(limit) * 8;
    let replies = read(max, bytes, sizes);
    assert_eq!(replies, read(max, bytes, &[255]));
    if let Some(pos) = replies.iter().position(Result::is_err) {
        assert_eq!(pos, replies.len() - 1, "nothing follows an error");
    }
    for reply in replies.into_iter().flatten() {
        let mut wire = Vec::new();
        reply.encode(&mut wire);
        assert_eq!(read(usize::MAX, &wire, &[7]), vec![Ok(reply)]);
    }
});

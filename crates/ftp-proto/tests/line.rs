//! The server's control-line reader.

use ftp_proto::line::{Fed, LineReader};

fn lines(max: usize, input: &[u8]) -> Vec<Result<Vec<u8>, ()>> {
    let mut r = LineReader::new(max);
    let mut out = Vec::new();
    let mut at = 0;
    while at < input.len() {
        let (n, fed) = r.feed(&input[at..]);
        at += n;
        match fed {
            Fed::Line => out.push(Ok(r.line().to_vec())),
            Fed::TooLong => out.push(Err(())),
            Fed::NeedMore => {}
        }
        r.clear();
    }
    out
}

#[test]
fn basics() {
    assert_eq!(
        lines(16, b"USER a\r\nPASS b\nx\ry\r\n"),
        vec![
            Ok(b"USER a".to_vec()),
            Ok(b"PASS b".to_vec()),
            Ok(b"x\ry".to_vec())
        ]
    );
    // IP, DM (Synch), then ABOR; IAC IAC is a literal 0xFF.
    assert_eq!(
        lines(16, b"\xff\xf4\xff\xf2ABOR\r\nRETR \xff\xffa\xff\xfd\x01\n"),
        vec![Ok(b"ABOR".to_vec()), Ok(b"RETR \xffa".to_vec())]
    );
    assert_eq!(
        lines(4, b"12345\r\n1234\r\n"),
        vec![Err(()), Ok(b"1234".to_vec())]
    );
}

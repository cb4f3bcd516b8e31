//! Reply formatting and the client's reply reader.

use ftp_proto::reply::{write_reply, ReplyError, ReplyReader};
use ftp_proto::{Reply, ReplyCode};

fn code(n: u16) -> ReplyCode {
    ReplyCode::new(n).unwrap()
}

fn written(n: u16, text: &str) -> String {
    let mut out = Vec::new();
    write_reply(&mut out, code(n), text);
    String::from_utf8(out).unwrap()
}

fn read_all(bytes: &[u8]) -> Vec<Result<Reply, ReplyError>> {
    let mut r = ReplyReader::new(4096);
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        at += r.push(&bytes[at..]);
        match r.next_reply() {
            Some(x) => out.push(x),
            None if at == bytes.len() => return out,
            None => {}
        }
    }
}

#[test]
fn basics() {
    assert_eq!(written(200, "OK"), "200 OK\r\n");
    assert_eq!(
        written(211, "Features:\n MDTM\n211 x\nEnd"),
        "211-Features:\r\n MDTM\r\n 211 x\r\n211 End\r\n"
    );
    assert_eq!(written(200, "a\rb"), "200 ab\r\n");
    let got = read_all(b"220 hi\r\n211-a\n212 b\r\n211-c\n211 End\n200\r\n999 x\r\n");
    assert_eq!(
        got,
        vec![
            Ok(Reply {
                code: code(220),
                text: "hi".into()
            }),
            Ok(Reply {
                code: code(211),
                text: "a\n212 b\n211-c\nEnd".into()
            }),
            Ok(Reply {
                code: code(200),
                text: "".into()
            }),
            Err(ReplyError::Malformed),
        ]
    );
    let mut r = ReplyReader::new(10);
    assert_eq!(r.push(b"200 0123456789\r\n"), 16);
    assert_eq!(r.next_reply(), Some(Err(ReplyError::TooLong)));
    assert_eq!(r.next_reply(), None);
}

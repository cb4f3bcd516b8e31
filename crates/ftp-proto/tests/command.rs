//! Command parsing and encoding: every verb, every error.

use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};

use ftp_proto::command::{
    EpsvArg, FormatControl, ParseError, RepresentationType, Structure, TransferMode,
};
use ftp_proto::Command;

fn parse(line: &str) -> Result<Command<'_>, ParseError> {
    Command::parse(line.as_bytes())
}

fn encode(c: &Command<'_>) -> String {
    let mut out = Vec::new();
    c.encode(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn simple_commands() {
    assert_eq!(parse("NOOP"), Ok(Command::Noop));
    assert_eq!(parse("noop"), Ok(Command::Noop));
    assert_eq!(parse("RETR file.txt"), Ok(Command::Retr("file.txt")));
    assert_eq!(
        parse("PORT 127,0,0,1,4,1"),
        Ok(Command::Port(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 1025)))
    );
    assert_eq!(parse("XCWD /a"), Ok(Command::Cwd("/a")));
    assert_eq!(parse("LIST"), Ok(Command::List(None)));
    assert_eq!(parse("REST 100"), Ok(Command::Rest(100)));
    assert_eq!(
        parse("TYPE a n"),
        Ok(Command::Type(RepresentationType::Ascii(
            FormatControl::NonPrint
        )))
    );
    assert_eq!(
        parse("TYPE L 8"),
        Ok(Command::Type(RepresentationType::Local(8)))
    );
    assert_eq!(parse("STRU F"), Ok(Command::Stru(Structure::File)));
    assert_eq!(parse("MODE s"), Ok(Command::Mode(TransferMode::Stream)));
    assert_eq!(parse("EPSV ALL"), Ok(Command::Epsv(EpsvArg::All)));
    assert_eq!(
        parse("EPRT |2|::1|5282|"),
        Ok(Command::Eprt(SocketAddr::new(
            Ipv6Addr::LOCALHOST.into(),
            5282
        )))
    );
    assert_eq!(
        parse("EPRT |3|::1|5282|"),
        Err(ParseError::UnsupportedNetworkProtocol)
    );
    assert_eq!(
        parse("EPRT |1|::1|5282|"),
        Err(ParseError::InvalidArgument { verb: "EPRT" })
    );
    assert_eq!(parse(""), Err(ParseError::Empty));
    assert_eq!(parse("R2D2"), Err(ParseError::BadVerb));
    assert_eq!(Command::parse(b"RETR \xff"), Err(ParseError::NotUtf8));
    assert_eq!(
        parse("FROB x"),
        Ok(Command::Unknown {
            verb: "FROB",
            arg: Some("x")
        })
    );
    assert_eq!(
        parse("STOR  two  spaces "),
        Ok(Command::Stor(" two  spaces "))
    );
}

#[test]
fn encode_is_canonical() {
    assert_eq!(encode(&Command::Noop), "NOOP\r\n");
    assert_eq!(encode(&parse("xpwd").unwrap()), "PWD\r\n");
    assert_eq!(
        encode(&parse("port 1,2,3,4,5,6").unwrap()),
        "PORT 1,2,3,4,5,6\r\n"
    );
    assert_eq!(
        encode(&parse("EPRT !2!::1!5282!").unwrap()),
        "EPRT |2|::1|5282|\r\n"
    );
}

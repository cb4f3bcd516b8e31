//! Command parsing and encoding: every verb, every alias, every error.

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
    String::from_utf8(out).expect("commands encode as UTF-8")
}

fn v4(a: [u8; 4], port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::from(a), port)
}

fn missing(verb: &'static str) -> Result<Command<'static>, ParseError> {
    Err(ParseError::MissingArgument { verb })
}

fn unexpected(verb: &'static str) -> Result<Command<'static>, ParseError> {
    Err(ParseError::UnexpectedArgument { verb })
}

fn invalid(verb: &'static str) -> Result<Command<'static>, ParseError> {
    Err(ParseError::InvalidArgument { verb })
}

/// One line per verb of RFC 959 §4.1, the extensions, and the expected
/// canonical encoding.
const EVERY_VERB: &[(&str, &str)] = &[
    ("USER anonymous", "USER"),
    ("PASS guest@", "PASS"),
    ("ACCT sales", "ACCT"),
    ("CWD /pub", "CWD"),
    ("CDUP", "CDUP"),
    ("SMNT /mnt/a", "SMNT"),
    ("REIN", "REIN"),
    ("QUIT", "QUIT"),
    ("PORT 127,0,0,1,4,1", "PORT"),
    ("PASV", "PASV"),
    ("TYPE I", "TYPE"),
    ("STRU F", "STRU"),
    ("MODE S", "MODE"),
    ("RETR file.txt", "RETR"),
    ("STOR file.txt", "STOR"),
    ("STOU", "STOU"),
    ("APPE log", "APPE"),
    ("ALLO 1024", "ALLO"),
    ("REST 0", "REST"),
    ("RNFR a", "RNFR"),
    ("RNTO b", "RNTO"),
    ("ABOR", "ABOR"),
    ("DELE a", "DELE"),
    ("RMD d", "RMD"),
    ("MKD d", "MKD"),
    ("PWD", "PWD"),
    ("LIST", "LIST"),
    ("NLST", "NLST"),
    ("SITE CHMOD 644 a", "SITE"),
    ("SYST", "SYST"),
    ("STAT", "STAT"),
    ("HELP", "HELP"),
    ("NOOP", "NOOP"),
    ("FEAT", "FEAT"),
    ("OPTS UTF8 ON", "OPTS"),
    ("EPRT |1|127.0.0.1|6275|", "EPRT"),
    ("EPSV", "EPSV"),
    ("SIZE a", "SIZE"),
    ("MDTM a", "MDTM"),
    ("MLST", "MLST"),
    ("MLSD", "MLSD"),
    ("AUTH TLS", "AUTH"),
    ("PBSZ 0", "PBSZ"),
    ("PROT P", "PROT"),
];

#[test]
fn every_verb_parses_and_encodes_back_verbatim() {
    for &(line, verb) in EVERY_VERB {
        let c = parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(c.verb(), verb, "{line}");
        assert_eq!(encode(&c), format!("{line}\r\n"));
    }
}

#[test]
fn verbs_are_case_insensitive() {
    for &(line, _) in EVERY_VERB {
        let (verb, rest) = line.split_at(line.find(' ').unwrap_or(line.len()));
        for variant in [verb.to_ascii_lowercase(), mixed_case(verb)] {
            let other = format!("{variant}{rest}");
            assert_eq!(parse(&other), parse(line), "{other}");
        }
    }
}

fn mixed_case(s: &str) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                c.to_ascii_lowercase()
            } else {
                c
            }
        })
        .collect()
}

#[test]
fn string_arguments() {
    assert_eq!(parse("USER anonymous"), Ok(Command::User("anonymous")));
    assert_eq!(parse("PASS secret"), Ok(Command::Pass("secret")));
    assert_eq!(parse("ACCT x"), Ok(Command::Acct("x")));
    assert_eq!(parse("CWD /pub/linux"), Ok(Command::Cwd("/pub/linux")));
    assert_eq!(parse("SMNT /vol"), Ok(Command::Smnt("/vol")));
    assert_eq!(parse("RETR a b"), Ok(Command::Retr("a b")));
    assert_eq!(parse("STOR x"), Ok(Command::Stor("x")));
    assert_eq!(parse("APPE x"), Ok(Command::Appe("x")));
    assert_eq!(parse("RNFR old"), Ok(Command::Rnfr("old")));
    assert_eq!(parse("RNTO new"), Ok(Command::Rnto("new")));
    assert_eq!(parse("DELE x"), Ok(Command::Dele("x")));
    assert_eq!(parse("RMD x"), Ok(Command::Rmd("x")));
    assert_eq!(parse("MKD x"), Ok(Command::Mkd("x")));
    assert_eq!(parse("SITE HELP"), Ok(Command::Site("HELP")));
    assert_eq!(
        parse("OPTS MLST type;size;"),
        Ok(Command::Opts("MLST type;size;"))
    );
    assert_eq!(parse("SIZE x"), Ok(Command::Size("x")));
    assert_eq!(parse("MDTM x"), Ok(Command::Mdtm("x")));
    assert_eq!(
        parse("MFMT 20210304050607 a b"),
        Ok(Command::Mfmt {
            modified: 1_614_834_367,
            path: "a b"
        })
    );
    assert_eq!(
        parse("MFMT 20210304050607.5 x"),
        Ok(Command::Mfmt {
            modified: 1_614_834_367,
            path: "x"
        })
    );
    for bad in [
        "MFMT 20210304050607",
        "MFMT 20210304050607 ",
        "MFMT x y",
        "MFMT 09990101000000 y",
    ] {
        assert!(parse(bad).is_err(), "{bad}");
    }
    assert_eq!(parse("HASH f.bin"), Ok(Command::Hash("f.bin")));
    assert_eq!(parse("AUTH SSL"), Ok(Command::Auth("SSL")));
    assert_eq!(parse("PBSZ 0"), Ok(Command::Pbsz("0")));
    assert_eq!(parse("PROT C"), Ok(Command::Prot("C")));
}

#[test]
fn arguments_keep_every_space() {
    // Everything after the first space is the argument: leading, inner
    // and trailing spaces are part of a file name.
    assert_eq!(
        parse("STOR  two  spaces "),
        Ok(Command::Stor(" two  spaces "))
    );
    assert_eq!(parse("RETR trailing "), Ok(Command::Retr("trailing ")));
    assert_eq!(parse("CWD  "), Ok(Command::Cwd(" ")));
    assert_eq!(parse("MKD a\tb"), Ok(Command::Mkd("a\tb")));
}

#[test]
fn optional_arguments() {
    assert_eq!(parse("LIST"), Ok(Command::List(None)));
    assert_eq!(parse("LIST -la"), Ok(Command::List(Some("-la"))));
    assert_eq!(parse("NLST"), Ok(Command::Nlst(None)));
    assert_eq!(parse("NLST *.txt"), Ok(Command::Nlst(Some("*.txt"))));
    assert_eq!(parse("STAT"), Ok(Command::Stat(None)));
    assert_eq!(parse("STAT /pub"), Ok(Command::Stat(Some("/pub"))));
    assert_eq!(parse("HELP"), Ok(Command::Help(None)));
    assert_eq!(parse("HELP RETR"), Ok(Command::Help(Some("RETR"))));
    assert_eq!(parse("MLST"), Ok(Command::Mlst(None)));
    assert_eq!(parse("MLST a"), Ok(Command::Mlst(Some("a"))));
    assert_eq!(parse("MLSD"), Ok(Command::Mlsd(None)));
    assert_eq!(parse("MLSD d"), Ok(Command::Mlsd(Some("d"))));
    assert_eq!(parse("STOU"), Ok(Command::Stou(None)));
    assert_eq!(parse("STOU name"), Ok(Command::Stou(Some("name"))));
    // A space and nothing: present but empty, so encode can reproduce it.
    assert_eq!(parse("LIST "), Ok(Command::List(Some(""))));
    assert_eq!(encode(&Command::List(Some(""))), "LIST \r\n");
}

#[test]
fn password_may_be_empty() {
    assert_eq!(parse("PASS"), Ok(Command::Pass("")));
    assert_eq!(parse("PASS "), Ok(Command::Pass("")));
    assert_eq!(parse("PASS  "), Ok(Command::Pass(" ")));
    assert_eq!(
        parse(&encode(&Command::Pass(""))[..5]),
        Ok(Command::Pass(""))
    );
}

#[test]
fn bare_verbs() {
    for (line, c) in [
        ("CDUP", Command::Cdup),
        ("REIN", Command::Rein),
        ("QUIT", Command::Quit),
        ("PASV", Command::Pasv),
        ("ABOR", Command::Abor),
        ("PWD", Command::Pwd),
        ("SYST", Command::Syst),
        ("NOOP", Command::Noop),
        ("FEAT", Command::Feat),
    ] {
        assert_eq!(parse(line), Ok(c));
        // Trailing spaces are tolerated: some clients send `PASV `.
        assert_eq!(parse(&format!("{line} ")), Ok(c));
        assert_eq!(parse(&format!("{line}   ")), Ok(c));
        assert_eq!(parse(&format!("{line} x")), unexpected(c.verb()));
    }
}

#[test]
fn rfc1123_x_aliases() {
    // RFC 1123 §4.1.3.1: old clients send the experimental names.
    assert_eq!(parse("XCWD /a"), Ok(Command::Cwd("/a")));
    assert_eq!(parse("XCUP"), Ok(Command::Cdup));
    assert_eq!(parse("XPWD"), Ok(Command::Pwd));
    assert_eq!(parse("XMKD d"), Ok(Command::Mkd("d")));
    assert_eq!(parse("XRMD d"), Ok(Command::Rmd("d")));
    assert_eq!(parse("xcwd /a"), Ok(Command::Cwd("/a")));
    assert_eq!(parse("XCWD"), missing("CWD"));
    assert_eq!(parse("XPWD x"), unexpected("PWD"));
    assert_eq!(encode(&parse("XMKD d").unwrap()), "MKD d\r\n");
}

#[test]
fn port() {
    assert_eq!(
        parse("PORT 127,0,0,1,4,1"),
        Ok(Command::Port(v4([127, 0, 0, 1], 1025)))
    );
    assert_eq!(
        parse("PORT 0,0,0,0,0,0"),
        Ok(Command::Port(v4([0, 0, 0, 0], 0)))
    );
    assert_eq!(
        parse("PORT 255,255,255,255,255,255"),
        Ok(Command::Port(v4([255; 4], 65535)))
    );
    assert_eq!(
        parse("PORT 010,001,2,3,0,21"),
        Ok(Command::Port(v4([10, 1, 2, 3], 21)))
    );
    assert_eq!(
        parse("PORT 1,2,3,4,5,6 "),
        Ok(Command::Port(v4([1, 2, 3, 4], 1286)))
    );
    for bad in [
        "PORT 1,2,3,4,5",
        "PORT 1,2,3,4,5,6,7",
        "PORT 1,2,3,4,5,256",
        "PORT 256,2,3,4,5,6",
        "PORT 1,2,3,4,5,",
        "PORT 1,,3,4,5,6",
        "PORT 1, 2,3,4,5,6",
        "PORT  1,2,3,4,5,6",
        "PORT 1.2.3.4.5.6",
        "PORT -1,2,3,4,5,6",
        "PORT +1,2,3,4,5,6",
        "PORT 1,2,3,4,5,6x",
        "PORT a,b,c,d,e,f",
    ] {
        assert_eq!(parse(bad), invalid("PORT"), "{bad}");
    }
    assert_eq!(parse("PORT"), missing("PORT"));
    assert_eq!(parse("PORT "), missing("PORT"));
    assert_eq!(parse("PORT   "), missing("PORT"));
}

#[test]
fn type_parameter() {
    use FormatControl::*;
    use RepresentationType::*;
    for (arg, t) in [
        ("A", Ascii(NonPrint)),
        ("A N", Ascii(NonPrint)),
        ("A T", Ascii(Telnet)),
        ("A C", Ascii(Asa)),
        ("a t", Ascii(Telnet)),
        ("E", Ebcdic(NonPrint)),
        ("E N", Ebcdic(NonPrint)),
        ("E T", Ebcdic(Telnet)),
        ("e c", Ebcdic(Asa)),
        ("I", Image),
        ("i", Image),
        ("L 8", Local(8)),
        ("l 8", Local(8)),
        ("L8", Local(8)),
        ("L 36", Local(36)),
        ("I ", Image),
    ] {
        assert_eq!(parse(&format!("TYPE {arg}")), Ok(Command::Type(t)), "{arg}");
    }
    for bad in [
        "X", "A X", "AN", "A  N", "I N", "L", "L ", "L 0", "L 256", "L x", " I", "II",
    ] {
        assert_eq!(parse(&format!("TYPE {bad}")), invalid("TYPE"), "{bad}");
    }
    assert_eq!(parse("TYPE"), missing("TYPE"));
    assert_eq!(encode(&Command::Type(Ascii(NonPrint))), "TYPE A\r\n");
    assert_eq!(encode(&Command::Type(Ascii(Telnet))), "TYPE A T\r\n");
    assert_eq!(encode(&Command::Type(Ebcdic(Asa))), "TYPE E C\r\n");
    assert_eq!(encode(&Command::Type(Image)), "TYPE I\r\n");
    assert_eq!(encode(&Command::Type(Local(8))), "TYPE L 8\r\n");
}

#[test]
fn stru_and_mode() {
    assert_eq!(parse("STRU F"), Ok(Command::Stru(Structure::File)));
    assert_eq!(parse("STRU r"), Ok(Command::Stru(Structure::Record)));
    assert_eq!(parse("STRU P"), Ok(Command::Stru(Structure::Page)));
    assert_eq!(parse("MODE S"), Ok(Command::Mode(TransferMode::Stream)));
    assert_eq!(parse("MODE b"), Ok(Command::Mode(TransferMode::Block)));
    assert_eq!(parse("MODE C"), Ok(Command::Mode(TransferMode::Compressed)));
    assert_eq!(parse("STRU X"), invalid("STRU"));
    assert_eq!(parse("STRU FF"), invalid("STRU"));
    assert_eq!(parse("MODE z"), Ok(Command::Mode(TransferMode::Deflate)));
    assert_eq!(parse("MODE X"), invalid("MODE"));
    assert_eq!(parse("MODE"), missing("MODE"));
    assert_eq!(parse("STRU"), missing("STRU"));
    assert_eq!(encode(&Command::Stru(Structure::Record)), "STRU R\r\n");
    assert_eq!(encode(&Command::Mode(TransferMode::Block)), "MODE B\r\n");
    assert_eq!(encode(&Command::Mode(TransferMode::Deflate)), "MODE Z\r\n");
}

#[test]
fn allo_and_rest() {
    assert_eq!(parse("ALLO 1024"), Ok(Command::Allo(1024, None)));
    assert_eq!(parse("ALLO 1024 R 80"), Ok(Command::Allo(1024, Some(80))));
    assert_eq!(parse("ALLO 1024 r 80"), Ok(Command::Allo(1024, Some(80))));
    assert_eq!(parse("ALLO 1024 R"), invalid("ALLO"));
    assert_eq!(parse("ALLO x"), invalid("ALLO"));
    assert_eq!(parse("ALLO"), missing("ALLO"));
    assert_eq!(encode(&Command::Allo(5, Some(6))), "ALLO 5 R 6\r\n");

    // RFC 3659 §5: REST STREAM's marker is a decimal byte offset.
    assert_eq!(parse("REST 0"), Ok(Command::Rest(0)));
    assert_eq!(parse("REST 1234567"), Ok(Command::Rest(1_234_567)));
    assert_eq!(
        parse("REST 18446744073709551615"),
        Ok(Command::Rest(u64::MAX))
    );
    for bad in [
        "REST 18446744073709551616",
        "REST -1",
        "REST +1",
        "REST 1k",
        "REST 0x10",
        "REST  1",
    ] {
        assert_eq!(parse(bad), invalid("REST"), "{bad}");
    }
    assert_eq!(parse("REST"), missing("REST"));
}

#[test]
fn eprt_rfc2428_examples() {
    // RFC 2428 §2.
    assert_eq!(
        parse("EPRT |1|132.235.1.2|6275|"),
        Ok(Command::Eprt(SocketAddr::from(([132, 235, 1, 2], 6275))))
    );
    let v6: Ipv6Addr = "1080::8:800:200C:417A".parse().unwrap();
    assert_eq!(
        parse("EPRT |2|1080::8:800:200C:417A|5282|"),
        Ok(Command::Eprt(SocketAddr::new(v6.into(), 5282)))
    );
    assert_eq!(
        parse("EPRT |2|::1|1025|"),
        Ok(Command::Eprt(SocketAddr::new(
            Ipv6Addr::LOCALHOST.into(),
            1025
        )))
    );
    // Any printable delimiter (RFC 2428 §2: ASCII 33-126).
    assert_eq!(
        parse("EPRT !1!10.0.0.1!21!"),
        Ok(Command::Eprt(SocketAddr::from(([10, 0, 0, 1], 21))))
    );
    assert_eq!(
        encode(&parse("EPRT |2|1080::8:800:200C:417A|5282|").unwrap()),
        "EPRT |2|1080::8:800:200c:417a|5282|\r\n"
    );
}

#[test]
fn eprt_errors() {
    for proto in ["0", "3", "99", "12345678901234567890"] {
        assert_eq!(
            parse(&format!("EPRT |{proto}|1.2.3.4|21|")),
            Err(ParseError::UnsupportedNetworkProtocol),
            "{proto}"
        );
    }
    for bad in [
        // Address family does not match the protocol number.
        "EPRT |1|::1|21|",
        "EPRT |2|1.2.3.4|21|",
        "EPRT |1|1.2.3|21|",
        "EPRT |1|1.2.3.4|65536|",
        "EPRT |1|1.2.3.4|-1|",
        "EPRT |1|1.2.3.4||",
        "EPRT |1|1.2.3.4|21",
        "EPRT |1|1.2.3.4|21|x",
        "EPRT |x|1.2.3.4|21|",
        "EPRT ||1.2.3.4|21|",
        "EPRT |1||21|",
        "EPRT |1|1.2.3.4|21|21|",
        "EPRT  1 1.2.3.4 21 ",
        "EPRT \u{e9}1\u{e9}1.2.3.4\u{e9}21\u{e9}",
        "EPRT 1,2,3,4,5,6",
    ] {
        assert_eq!(parse(bad), invalid("EPRT"), "{bad}");
    }
    assert_eq!(parse("EPRT"), missing("EPRT"));
}

#[test]
fn epsv() {
    assert_eq!(parse("EPSV"), Ok(Command::Epsv(EpsvArg::Any)));
    assert_eq!(parse("EPSV 1"), Ok(Command::Epsv(EpsvArg::Protocol(1))));
    assert_eq!(parse("EPSV 2"), Ok(Command::Epsv(EpsvArg::Protocol(2))));
    assert_eq!(parse("EPSV ALL"), Ok(Command::Epsv(EpsvArg::All)));
    assert_eq!(parse("epsv all"), Ok(Command::Epsv(EpsvArg::All)));
    assert_eq!(parse("EPSV 3"), Err(ParseError::UnsupportedNetworkProtocol));
    assert_eq!(parse("EPSV x"), invalid("EPSV"));
    assert_eq!(parse("EPSV ALLX"), invalid("EPSV"));
    assert_eq!(encode(&Command::Epsv(EpsvArg::Any)), "EPSV\r\n");
    assert_eq!(encode(&Command::Epsv(EpsvArg::Protocol(2))), "EPSV 2\r\n");
    assert_eq!(encode(&Command::Epsv(EpsvArg::All)), "EPSV ALL\r\n");
}

#[test]
fn required_arguments_missing() {
    for verb in [
        "USER", "ACCT", "CWD", "SMNT", "RETR", "STOR", "APPE", "RNFR", "RNTO", "DELE", "RMD",
        "MKD", "SITE", "OPTS", "SIZE", "MDTM", "AUTH", "PBSZ", "PROT", "TYPE", "STRU", "MODE",
        "ALLO", "REST", "PORT", "EPRT",
    ] {
        assert_eq!(parse(verb), missing(verb), "{verb}");
        assert_eq!(parse(&format!("{verb} ")), missing(verb), "{verb} + space");
    }
}

#[test]
fn unknown_verbs_are_values() {
    assert_eq!(
        parse("FROB x y"),
        Ok(Command::Unknown {
            verb: "FROB",
            arg: Some("x y")
        })
    );
    assert_eq!(
        parse("xyz"),
        Ok(Command::Unknown {
            verb: "xyz",
            arg: None
        })
    );
    assert_eq!(
        parse("A"),
        Ok(Command::Unknown {
            verb: "A",
            arg: None
        })
    );
    // Longer than four letters: never a known verb, however it starts.
    assert_eq!(
        parse("RETRX a"),
        Ok(Command::Unknown {
            verb: "RETRX",
            arg: Some("a")
        })
    );
    assert_eq!(
        parse("LPRT 4,4,1,2,3,4,2,4,1"),
        Ok(Command::Unknown {
            verb: "LPRT",
            arg: Some("4,4,1,2,3,4,2,4,1")
        })
    );
    let c = parse("frob ").unwrap();
    assert_eq!(c.verb(), "?");
    assert_eq!(encode(&c), "frob \r\n");
}

#[test]
fn malformed_lines() {
    assert_eq!(parse(""), Err(ParseError::Empty));
    for bad in [
        " ",
        " NOOP",
        "R2D2",
        "123",
        "NO-OP",
        "NOOP\t",
        "\tNOOP",
        "RETR\u{e9} x",
        "\u{0}",
        "NOOP\r",
    ] {
        assert_eq!(parse(bad), Err(ParseError::BadVerb), "{bad:?}");
    }
    // RFC 2640: paths are UTF-8; anything else is refused whole.
    assert_eq!(Command::parse(b"RETR \xff"), Err(ParseError::NotUtf8));
    assert_eq!(Command::parse(b"RETR a\xc3"), Err(ParseError::NotUtf8));
    assert_eq!(Command::parse(b"NOOP \xfe"), Err(ParseError::NotUtf8));
    assert_eq!(Command::parse(b"R\xc3\xa9"), Err(ParseError::BadVerb));
    assert_eq!(Command::parse(b"RE\xffTR a"), Err(ParseError::NotUtf8));
}

#[test]
fn utf8_paths_rfc2640() {
    assert_eq!(
        parse("RETR пример/файл.txt"),
        Ok(Command::Retr("пример/файл.txt"))
    );
    assert_eq!(parse("MKD 日本語"), Ok(Command::Mkd("日本語")));
    assert_eq!(encode(&Command::Stor("é è")), "STOR é è\r\n");
}

#[test]
fn rfc959_section7_scenario() {
    // The typical scenario of RFC 959 §7, client side, then a
    // retrieval with the parameters of §5.2's defaults set explicitly.
    let lines = [
        "USER doe",
        "PASS mumble",
        "TYPE A N",
        "STRU F",
        "MODE S",
        "PORT 192,168,1,2,7,138",
        "RETR /usr/doe/file",
        "QUIT",
    ];
    let parsed: Vec<_> = lines.iter().map(|l| parse(l).unwrap()).collect();
    assert_eq!(
        parsed,
        vec![
            Command::User("doe"),
            Command::Pass("mumble"),
            Command::Type(RepresentationType::Ascii(FormatControl::NonPrint)),
            Command::Stru(Structure::File),
            Command::Mode(TransferMode::Stream),
            Command::Port(v4([192, 168, 1, 2], 1930)),
            Command::Retr("/usr/doe/file"),
            Command::Quit,
        ]
    );
}

#[test]
fn extension_commands() {
    // RFC 2389 §3, §4.
    assert_eq!(parse("FEAT"), Ok(Command::Feat));
    assert_eq!(parse("OPTS UTF8 ON"), Ok(Command::Opts("UTF8 ON")));
    // RFC 3659 §3, §4, §7.
    assert_eq!(parse("MDTM file.txt"), Ok(Command::Mdtm("file.txt")));
    assert_eq!(parse("SIZE file.txt"), Ok(Command::Size("file.txt")));
    assert_eq!(parse("MLst tmp"), Ok(Command::Mlst(Some("tmp"))));
    assert_eq!(parse("MLSD /"), Ok(Command::Mlsd(Some("/"))));
    // RFC 4217 §4, §8, §9.
    assert_eq!(parse("AUTH TLS"), Ok(Command::Auth("TLS")));
    assert_eq!(parse("PBSZ 0"), Ok(Command::Pbsz("0")));
    assert_eq!(parse("PROT P"), Ok(Command::Prot("P")));
    assert_eq!(parse("PBSZ 0 "), Ok(Command::Pbsz("0")));
}

#[test]
fn encode_appends() {
    let mut out = b"x".to_vec();
    Command::Noop.encode(&mut out);
    Command::Rest(42).encode(&mut out);
    assert_eq!(out, b"xNOOP\r\nREST 42\r\n");
    let mut out = Vec::new();
    Command::Port(v4([10, 0, 0, 1], 65535)).encode(&mut out);
    assert_eq!(out, b"PORT 10,0,0,1,255,255\r\n");
    out.clear();
    Command::Eprt(SocketAddr::from(([10, 0, 0, 1], 21))).encode(&mut out);
    assert_eq!(out, b"EPRT |1|10.0.0.1|21|\r\n");
    out.clear();
    Command::Rest(u64::MAX).encode(&mut out);
    assert_eq!(out, b"REST 18446744073709551615\r\n");
}

#[test]
fn errors_say_which_verb() {
    assert_eq!(
        parse("RETR").unwrap_err().to_string(),
        "RETR needs an argument"
    );
    assert_eq!(
        parse("NOOP x").unwrap_err().to_string(),
        "NOOP takes no argument"
    );
    assert_eq!(
        parse("PORT x").unwrap_err().to_string(),
        "invalid argument to PORT"
    );
}

//! The command parser on arbitrary bytes: it must never panic, and every
//! command it accepts must survive encode and parse unchanged.
#![no_main]

use ftp_proto::Command;
use libfuzzer_sys::fuzz_target;

fn encode(command: &Command<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    command.encode(&mut out);
    assert!(out.ends_with(b"\r\n"), "encode ends the line");
    out
}

fuzz_target!(|bytes: &[u8]| {
    let Ok(command) = Command::parse(bytes) else {
        return;
    };
    let wire = encode(&command);
    let again = Command::parse(&wire[..wire.len() - 2]).expect("an encoded command parses");
    assert_eq!(again, command);
    // The encoding of a parsed command is a fixed point.
    assert_eq!(encode(&again), wire);
});

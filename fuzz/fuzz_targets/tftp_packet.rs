//! The packet parser on arbitrary bytes: it must never panic, and whatever
//! it accepts must survive encode and parse unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tftp_proto::options::MAX_BLKSIZE;
use tftp_proto::Packet;

fn encode(packet: &Packet<'_>) -> Vec<u8> {
    let len = packet.encoded_len();
    let mut buf = vec![0u8; len];
    assert_eq!(
        packet.encode(&mut buf),
        Ok(len),
        "encode writes encoded_len bytes"
    );
    buf
}

fuzz_target!(|bytes: &[u8]| {
    let parsed = Packet::parse(bytes);
    // The largest block size checks nothing parse() has not checked.
    assert_eq!(Packet::parse_with_blksize(bytes, MAX_BLKSIZE), parsed);
    let Ok(packet) = parsed else {
        return;
    };
    let wire = encode(&packet);
    let again = Packet::parse(&wire).expect("an encoded packet parses");
    assert_eq!(again, packet.canonical());
    // The encoding of a parsed packet is a fixed point.
    assert_eq!(encode(&again), wire);
});

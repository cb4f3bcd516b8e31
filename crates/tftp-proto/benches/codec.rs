//! Packets parsed and encoded per second.
//!
//! Each iteration handles one packet, and throughput is one element per
//! iteration, so criterion reports packets/s ("elem/s").

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tftp_proto::{BlockNumber, Mode, Options, Packet, Request};

fn encode(packet: &Packet<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; packet.encoded_len()];
    packet.encode(&mut buf).expect("exact-size buffer");
    buf
}

fn data_payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// A typical PXE-style request: every option this crate knows.
fn rrq_with_four_options() -> Vec<u8> {
    encode(&Packet::Rrq(Request {
        filename: "images/debian-12/linux",
        mode: Mode::Octet,
        options: Options {
            blksize: Some(1468),
            timeout: Some(3),
            tsize: Some(0),
            windowsize: Some(16),
            unknown: 0,
        },
    }))
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(1));
    for len in [512usize, 1468, 8192] {
        let payload = data_payload(len);
        let bytes = encode(&Packet::Data {
            block: BlockNumber(4242),
            data: &payload,
        });
        group.bench_with_input(BenchmarkId::new("data", len), &bytes, |b, bytes| {
            b.iter(|| Packet::parse(black_box(bytes)))
        });
    }
    let ack = encode(&Packet::Ack(BlockNumber(4242)));
    group.bench_function("ack", |b| b.iter(|| Packet::parse(black_box(&ack))));
    let rrq = rrq_with_four_options();
    group.bench_function("rrq_4_options", |b| {
        b.iter(|| Packet::parse(black_box(&rrq)))
    });
    group.finish();
}

fn encode_packets(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(1));
    let mut buf = vec![0u8; 65536];
    for len in [512usize, 1468, 8192] {
        let payload = data_payload(len);
        group.bench_with_input(BenchmarkId::new("data", len), &payload, |b, payload| {
            b.iter(|| {
                let packet = Packet::Data {
                    block: BlockNumber(4242),
                    data: black_box(payload),
                };
                packet.encode(black_box(&mut buf[..]))
            })
        });
    }
    group.bench_function("ack", |b| {
        b.iter(|| Packet::Ack(black_box(BlockNumber(4242))).encode(black_box(&mut buf[..])))
    });
    group.finish();
}

criterion_group!(benches, parse, encode_packets);
criterion_main!(benches);

//! Control-connection codec speed: commands parsed per second, the line
//! reader's throughput, and the two together as a server runs them.
//!
//! Throughput is in elements (commands or lines), so criterion reports
//! commands/s ("elem/s"); the line reader on long lines is also given in
//! bytes/s.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ftp_proto::line::{Fed, LineReader};
use ftp_proto::reply::{write_reply, ReplyReader};
use ftp_proto::{Command, ReplyCode};

/// The simple commands of the goal, plus the ones every session
/// sends: what a busy server parses all day.
const SIMPLE: &[&str] = &[
    "NOOP",
    "RETR file.txt",
    "PORT 127,0,0,1,4,1",
    "USER anonymous",
    "PASS guest@example.org",
    "TYPE I",
    "CWD /pub/linux/kernel",
    "PASV",
    "EPSV",
    "SIZE file.txt",
    "STOR upload.bin",
    "LIST",
    "QUIT",
];

/// The mix as it arrives on the wire, `copies` times over.
fn wire(copies: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..copies {
        for line in SIMPLE {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(1));
    for line in ["NOOP", "RETR file.txt", "PORT 127,0,0,1,4,1", "TYPE I"] {
        group.bench_with_input(BenchmarkId::new("one", line), line, |b, line| {
            b.iter(|| Command::parse(black_box(line.as_bytes())))
        });
    }
    for line in [
        "EPRT |2|::1|5282|",
        "FROBNICATE x",
        "RETR \u{444}\u{430}\u{439}\u{43b}.txt",
    ] {
        group.bench_with_input(BenchmarkId::new("one", line), line, |b, line| {
            b.iter(|| Command::parse(black_box(line.as_bytes())))
        });
    }
    group.throughput(Throughput::Elements(SIMPLE.len() as u64));
    group.bench_function("simple_mix", |b| {
        b.iter(|| {
            for line in SIMPLE {
                let _ = black_box(Command::parse(black_box(line.as_bytes())));
            }
        })
    });
    group.finish();
}

fn encode(c: &mut Criterion) {
    let commands: Vec<Command<'_>> = SIMPLE
        .iter()
        .map(|l| Command::parse(l.as_bytes()).expect("valid"))
        .collect();
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(commands.len() as u64));
    let mut out = Vec::with_capacity(1024);
    group.bench_function("simple_mix", |b| {
        b.iter(|| {
            out.clear();
            for command in &commands {
                black_box(command).encode(&mut out);
            }
            black_box(&out);
        })
    });
    group.finish();
}

/// Runs the reader over all of `input`, calling `each` per line.
fn read_lines(reader: &mut LineReader, input: &[u8], mut each: impl FnMut(&[u8])) {
    let mut at = 0;
    while at < input.len() {
        let (n, fed) = reader.feed(&input[at..]);
        at += n;
        if fed == Fed::Line {
            each(reader.line());
        }
        if fed != Fed::NeedMore {
            reader.clear();
        }
    }
}

fn line_reader(c: &mut Criterion) {
    let mut group = c.benchmark_group("line_reader");
    let mix = wire(100);
    let lines = (SIMPLE.len() * 100) as u64;
    group.throughput(Throughput::Elements(lines));
    group.bench_function("simple_mix", |b| {
        let mut reader = LineReader::new(4096);
        b.iter(|| {
            read_lines(&mut reader, black_box(&mix), |l| {
                black_box(l);
            })
        })
    });
    // Long lines (a deep path): the scanning speed, in bytes.
    let mut long = Vec::new();
    for _ in 0..16 {
        long.extend_from_slice(b"STOR ");
        long.extend_from_slice(&[b'a'; 4000]);
        long.extend_from_slice(b"\r\n");
    }
    group.throughput(Throughput::Bytes(long.len() as u64));
    group.bench_function("long_lines_bytes", |b| {
        let mut reader = LineReader::new(4096);
        b.iter(|| {
            read_lines(&mut reader, black_box(&long), |l| {
                black_box(l);
            })
        })
    });
    // The same mix arriving a few bytes per read: state kept across feeds.
    group.throughput(Throughput::Elements(lines));
    group.bench_function("simple_mix_7_byte_reads", |b| {
        let mut reader = LineReader::new(4096);
        b.iter(|| {
            for piece in black_box(&mix).chunks(7) {
                read_lines(&mut reader, piece, |l| {
                    black_box(l);
                });
            }
        })
    });
    group.finish();
}

fn control_path(c: &mut Criterion) {
    // What a server does per command: frame the line, then parse it.
    let mut group = c.benchmark_group("control_path");
    let mix = wire(100);
    group.throughput(Throughput::Elements((SIMPLE.len() * 100) as u64));
    group.bench_function("read_and_parse_simple_mix", |b| {
        let mut reader = LineReader::new(4096);
        b.iter(|| {
            read_lines(&mut reader, black_box(&mix), |l| {
                let _ = black_box(Command::parse(l));
            })
        })
    });
    group.finish();
}

fn replies(c: &mut Criterion) {
    let mut group = c.benchmark_group("reply");
    let mut wire = Vec::new();
    let texts = [
        (230, "Login successful."),
        (227, "Entering Passive Mode (127,0,0,1,195,80)."),
        (150, "Opening BINARY mode data connection for file.txt (1048576 bytes)."),
        (226, "Transfer complete."),
        (211, "Features:\n EPRT\n EPSV\n MDTM\n MLST type*;size*;modify*;\n PASV\n REST STREAM\n SIZE\n UTF8\nEnd"),
    ];
    for (code, text) in texts {
        write_reply(&mut wire, ReplyCode::new(code).unwrap(), text);
    }
    let sample = wire.clone();
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.bench_function("write_mix", |b| {
        b.iter(|| {
            wire.clear();
            for (code, text) in texts {
                write_reply(&mut wire, ReplyCode::new(code).unwrap(), black_box(text));
            }
            black_box(&wire);
        })
    });
    group.bench_function("read_mix", |b| {
        let mut reader = ReplyReader::new(1 << 16);
        b.iter(|| {
            let bytes = black_box(&sample[..]);
            let mut at = 0;
            while at < bytes.len() {
                at += reader.push(&bytes[at..]);
                while let Some(r) = reader.next_reply() {
                    black_box(r.expect("well-formed"));
                }
            }
        })
    });
    group.finish();
}

criterion_group!(benches, parse, encode, line_reader, control_path, replies);
criterion_main!(benches);

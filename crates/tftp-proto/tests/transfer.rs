//! Transfers end to end through the simulated network: fixed scenarios.

mod sim;

use std::time::Duration;

use sim::{file_bytes, Faults, Sim};
use tftp_proto::transfer::{ServerPolicy, TransferConfig, TransferError};
use tftp_proto::{Mode, Options};

fn opts(blksize: u16, windowsize: u16) -> Options {
    Options {
        blksize: Some(blksize),
        windowsize: Some(windowsize),
        tsize: Some(0),
        ..Options::default()
    }
}

#[test]
fn get_without_faults_is_byte_exact() {
    for (size, blksize, window) in [
        (0, 512, 1),
        (511, 512, 1),
        (512, 512, 1),
        (513, 512, 1),
        (100_000, 1468, 8),
        (3000, 8, 64),
    ] {
        let file = file_bytes(size, 1);
        let sim = Sim::get(
            &TransferConfig::default(),
            ServerPolicy::default(),
            "f",
            file.clone(),
            Mode::Octet,
            opts(blksize, window),
            Faults::none(),
            7,
        );
        let out = sim.run(Duration::from_secs(60));
        assert!(
            matches!(out.client, Some(Ok(_))),
            "{size} {blksize} {window}: {:?}",
            out.client
        );
        assert_eq!(out.client_received, file, "{size} {blksize} {window}");
        let blocks = size as u64 / blksize as u64 + 1;
        assert_eq!(out.data_sends, blocks);
    }
}

#[test]
fn put_without_faults_is_byte_exact() {
    let policy = ServerPolicy {
        allow_write: true,
        ..ServerPolicy::default()
    };
    for (size, blksize, window) in [(0, 512, 1), (1024, 512, 4), (100_001, 1468, 16)] {
        let file = file_bytes(size, 2);
        let mut o = opts(blksize, window);
        o.tsize = Some(size as u64);
        let out = Sim::put(
            &TransferConfig::default(),
            policy.clone(),
            "up",
            file.clone(),
            Mode::Octet,
            o,
            Faults::none(),
            3,
        )
        .run(Duration::from_secs(60));
        assert!(matches!(out.client, Some(Ok(_))), "{:?}", out.client);
        assert_eq!(out.servers.len(), 1);
        assert!(matches!(out.servers[0].0, Some(Ok(_))));
        assert_eq!(out.servers[0].1, file);
    }
}

#[test]
fn netascii_round_trips_text() {
    let text = b"line one\nline two\r\nbare cr\r here\n\n".repeat(50);
    let out = Sim::get(
        &TransferConfig::default(),
        ServerPolicy::default(),
        "t",
        text.clone(),
        Mode::Netascii,
        Options::default(),
        Faults::none(),
        1,
    )
    .run(Duration::from_secs(60));
    assert_eq!(out.client_received, text);
}

#[test]
fn missing_file_fails_with_the_servers_error() {
    let sim = Sim::get(
        &TransferConfig::default(),
        ServerPolicy::default(),
        "f",
        vec![1],
        Mode::Octet,
        Options::default(),
        Faults::none(),
        1,
    );
    let mut sim = sim;
    sim.server_files.clear();
    let out = sim.run(Duration::from_secs(10));
    match out.client {
        Some(Err(TransferError::Peer { code, message })) => {
            assert_eq!(code.to_u16(), 1);
            assert_eq!(message, "File not found");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn write_refused_without_permission() {
    let out = Sim::put(
        &TransferConfig::default(),
        ServerPolicy::default(),
        "up",
        vec![1, 2, 3],
        Mode::Octet,
        Options::default(),
        Faults::none(),
        1,
    )
    .run(Duration::from_secs(10));
    assert!(
        matches!(out.client, Some(Err(TransferError::Peer { code, .. })) if code.to_u16() == 2),
        "{:?}",
        out.client
    );
}

#[test]
fn lossy_network_still_byte_exact() {
    let faults = Faults {
        loss_percent: 20,
        duplicate_percent: 10,
        jitter: Duration::from_millis(5),
        delay: Duration::from_millis(2),
        stray_percent: 5,
    };
    for seed in 0..20 {
        let file = file_bytes(20_000, seed);
        let out = Sim::get(
            &TransferConfig::default(),
            ServerPolicy::default(),
            "f",
            file.clone(),
            Mode::Octet,
            opts(512, 4),
            faults,
            seed,
        )
        .run(Duration::from_secs(3600));
        // 20 % loss is far from the retry bound: every seed must finish.
        assert!(
            matches!(out.client, Some(Ok(_))),
            "seed {seed}: {:?}",
            out.client
        );
        assert_eq!(out.client_received, file, "seed {seed}");
    }
}

//! Property tests: a client and a server machine coupled through the shared
//! simulated network always finish byte-exact, or fail cleanly within the
//! retry bound, whatever the network does.

mod sim;

use std::time::Duration;

use proptest::prelude::*;
use sim::{file_bytes, Faults, Sim};
use tftp_proto::transfer::{ServerPolicy, TransferConfig, TransferError};
use tftp_proto::{Mode, Options};

/// Virtual time no scenario may exceed: every retry round is bounded by
/// max_rto, so a transfer that neither finishes nor fails by then hangs.
const LIMIT: Duration = Duration::from_secs(24 * 3600);

fn faults() -> impl Strategy<Value = Faults> {
    (0u32..=30, 0u32..=20, 0u64..=20, 1u64..=10, 0u32..=5).prop_map(
        |(loss, dup, jitter, delay, stray)| Faults {
            loss_percent: loss,
            duplicate_percent: dup,
            jitter: Duration::from_millis(jitter),
            delay: Duration::from_millis(delay),
            stray_percent: stray,
        },
    )
}

/// File sizes around multiples of the block size, where the final-block
/// rule bites.
fn size_for(blksize: u16, blocks: usize, nudge: i64) -> usize {
    (blocks as i64 * i64::from(blksize) + nudge).max(0) as usize
}

fn config() -> TransferConfig {
    TransferConfig {
        max_retries: 8,
        ..TransferConfig::default()
    }
}

/// The outcome rules: either byte-exact success on both ends, or a clean
/// failure (timeout, or the peer's error after the other end gave up).
fn check(outcome: sim::Outcome, file: &[u8], put: bool) -> Result<(), TestCaseError> {
    match &outcome.client {
        Some(Ok(summary)) => {
            if put {
                let done: Vec<_> = outcome
                    .servers
                    .iter()
                    .filter(|s| matches!(s.0, Some(Ok(_))))
                    .collect();
                prop_assert_eq!(done.len(), 1, "exactly one server transfer completes");
                prop_assert!(done[0].1 == file, "server stored different bytes");
            } else {
                prop_assert!(
                    outcome.client_received == file,
                    "client received different bytes"
                );
            }
            prop_assert_eq!(summary.bytes, file.len() as u64);
        }
        Some(Err(TransferError::TimedOut)) | Some(Err(TransferError::Peer { .. })) => {
            // A failed put must not have produced a completed server file
            // that differs from the source.
            for (result, stored) in &outcome.servers {
                if matches!(result, Some(Ok(_))) {
                    prop_assert!(stored == file);
                }
            }
        }
        other => prop_assert!(false, "unexpected client outcome {:?}", other),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn get_completes_or_fails_cleanly(
        blksize in prop_oneof![8u16..=64, 500u16..=1500, Just(8192u16), Just(65464u16)],
        windowsize in 1u16..=64,
        blocks in 0usize..=40,
        nudge in -1i64..=1,
        faults in faults(),
        netascii in proptest::bool::weighted(0.2),
        seed in any::<u64>(),
    ) {
        let file = file_bytes(size_for(blksize, blocks, nudge), seed);
        let mode = if netascii { Mode::Netascii } else { Mode::Octet };
        let options = Options { blksize: Some(blksize), windowsize: Some(windowsize), tsize: Some(0), ..Options::default() };
        let out = Sim::get(&config(), ServerPolicy::default(), "f", file.clone(), mode, options, faults, seed).run(LIMIT);
        check(out, &file, false)?;
    }

    #[test]
    fn put_completes_or_fails_cleanly(
        blksize in prop_oneof![8u16..=64, 500u16..=1500, Just(8192u16), Just(65464u16)],
        windowsize in 1u16..=64,
        blocks in 0usize..=40,
        nudge in -1i64..=1,
        faults in faults(),
        seed in any::<u64>(),
    ) {
        let file = file_bytes(size_for(blksize, blocks, nudge), seed);
        let options = Options { blksize: Some(blksize), windowsize: Some(windowsize), tsize: Some(file.len() as u64), ..Options::default() };
        let policy = ServerPolicy { allow_write: true, ..ServerPolicy::default() };
        let out = Sim::put(&config(), policy, "f", file.clone(), Mode::Octet, options, faults, seed).run(LIMIT);
        check(out, &file, true)?;
    }

    /// Duplicated datagrams on an otherwise perfect network never cause a
    /// DATA retransmission: each block is sent exactly once (no Sorcerer's
    /// Apprentice), and the stray host only ever gets ERROR 5.
    #[test]
    fn duplicates_never_cause_retransmission(
        blksize in prop_oneof![8u16..=64, 512u16..=1468],
        windowsize in 1u16..=64,
        blocks in 0usize..=60,
        nudge in -1i64..=1,
        duplicate_percent in 0u32..=100,
        put in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let file = file_bytes(size_for(blksize, blocks, nudge), seed);
        let faults = Faults { duplicate_percent, stray_percent: 3, ..Faults::none() };
        let options = Options { blksize: Some(blksize), windowsize: Some(windowsize), ..Options::default() };
        let policy = ServerPolicy { allow_write: true, ..ServerPolicy::default() };
        let sim = if put {
            Sim::put(&config(), policy, "f", file.clone(), Mode::Octet, options, faults, seed)
        } else {
            Sim::get(&config(), policy, "f", file.clone(), Mode::Octet, options, faults, seed)
        };
        let out = sim.run(LIMIT);
        let expected_blocks = (file.len() / usize::from(blksize) + 1) as u64;
        prop_assert!(matches!(out.client, Some(Ok(_))), "{:?}", out.client);
        // A duplicated request starts a second server transfer, which the
        // client answers with ERROR 5: it may send its first window only.
        let extra_transfers = out.servers.len().saturating_sub(1) as u64;
        let bound = expected_blocks + extra_transfers * u64::from(windowsize);
        prop_assert!(out.data_sends >= expected_blocks);
        prop_assert!(out.data_sends <= bound, "{} DATA sends for {} blocks", out.data_sends, expected_blocks);
        if !put {
            prop_assert!(out.client_received == file);
        }
    }
}

/// Past 65,535 blocks the block number wraps to 0, and lossy transfers of
/// that length still arrive byte-exact.
#[test]
fn block_numbers_wrap_under_loss() {
    let blksize = 8u16;
    let file = file_bytes(70_000 * usize::from(blksize) + 5, 99);
    let faults = Faults {
        loss_percent: 2,
        duplicate_percent: 2,
        jitter: Duration::from_millis(2),
        delay: Duration::from_millis(1),
        stray_percent: 0,
    };
    let options = Options {
        blksize: Some(blksize),
        windowsize: Some(16),
        ..Options::default()
    };
    let out = Sim::get(
        &config(),
        ServerPolicy::default(),
        "f",
        file.clone(),
        Mode::Octet,
        options,
        faults,
        5,
    )
    .run(LIMIT);
    assert!(
        matches!(out.client, Some(Ok(s)) if s.blocks == 70_001),
        "{:?}",
        out.client
    );
    assert_eq!(out.client_received, file);
}

/// A client reading slower than loopback delivers, from Linux's default
/// receive buffer (212,992 bytes as the kernel charges datagrams).
const CLIENT_BUFFER: usize = 212_992;
const CLIENT_READ: Duration = Duration::from_micros(50);

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A read's window is granted only as far as it fits the client's
    /// buffer, so a slow reader with the default buffer loses nothing: no
    /// datagram overflows, every block is sent exactly once, byte-exact.
    #[test]
    fn granted_windows_fit_the_clients_buffer(
        blksize in prop_oneof![Just(512u16), Just(1468u16), Just(8192u16), Just(16384u16), Just(65464u16)],
        windowsize in prop_oneof![Just(1u16), Just(4u16), Just(8u16), Just(16u16), Just(32u16), Just(64u16)],
        blocks in 1usize..=40,
        seed in any::<u64>(),
    ) {
        let file = file_bytes(usize::from(blksize) * blocks + 7, seed);
        let options = Options { blksize: Some(blksize), windowsize: Some(windowsize), ..Options::default() };
        let sim = Sim::get(&config(), ServerPolicy::default(), "f", file.clone(), Mode::Octet, options, Faults::none(), seed)
            .with_client_buffer(CLIENT_BUFFER, CLIENT_READ);
        let out = sim.run(LIMIT);
        prop_assert!(matches!(out.client, Some(Ok(_))), "{:?}", out.client);
        prop_assert!(out.client_received == file);
        prop_assert_eq!(out.data_sends, blocks as u64 + 1, "a block was sent twice");
    }
}

/// Without the budget, the same slow reader drops the tail of every
/// window too large for its buffer, and the sender has to resend: the
/// property above really depends on the budget.
#[test]
fn an_unbudgeted_window_overflows_the_clients_buffer() {
    let blksize = 65464u16;
    let file = file_bytes(usize::from(blksize) * 20 + 7, 3);
    let options = Options {
        blksize: Some(blksize),
        windowsize: Some(8),
        ..Options::default()
    };
    let policy = ServerPolicy {
        window_budget: usize::MAX,
        ..ServerPolicy::default()
    };
    let out = Sim::get(
        &config(),
        policy,
        "f",
        file.clone(),
        Mode::Octet,
        options,
        Faults::none(),
        3,
    )
    .with_client_buffer(CLIENT_BUFFER, CLIENT_READ)
    .run(LIMIT);
    assert!(matches!(out.client, Some(Ok(_))), "{:?}", out.client);
    assert_eq!(out.client_received, file);
    assert!(
        out.data_sends > 21,
        "{} DATA sends for 21 blocks",
        out.data_sends
    );
}

//! One mio server, one event loop: 2,000 idle FTP control connections
//! held open while 200 TFTP downloads run at once against the same
//! server, every file byte-exact, and afterwards every idle connection
//! still answered.

use std::net::SocketAddr;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use ferry_blocking::tftp::{get, ClientOptions, Output, TransferConfig};
use ferry_interop::ftp::Control;
use ferry_interop::in_process::InProcess;
use ferry_interop::{content, raise_fd_limit_to_hard, skip_or_fail, temp_dir};
use ferry_service::{ftp, tftp};

const IDLE_SESSIONS: usize = 2_000;
const DOWNLOADS: usize = 200;

/// Descriptors this process needs: both ends of every control connection
/// (client and server live here), a client socket, a transfer socket and
/// an open file per download, and some to spare.
const FDS_NEEDED: u64 = (2 * IDLE_SESSIONS + 3 * DOWNLOADS + 200) as u64;

/// The size of download `i`: a few hundred KiB, each one different.
fn size(i: usize) -> usize {
    200 * 1024 + i * 1_021
}

/// Block and window sizes taken in turn, from plain lock-step 512-byte
/// blocks to wide windows.
fn options(i: usize) -> ClientOptions {
    let (blksize, windowsize) = [(512, 1), (1468, 4), (8192, 8), (1468, 16)][i % 4];
    ClientOptions {
        blksize: Some(blksize),
        windowsize: Some(windowsize),
        transfer: TransferConfig {
            dally: Duration::from_millis(20),
            ..TransferConfig::default()
        },
        ..ClientOptions::default()
    }
}

#[test]
fn idle_ftp_sessions_stay_answered_while_tftp_downloads_run() {
    let limit = raise_fd_limit_to_hard();
    if limit < FDS_NEEDED {
        let why = format!(
            "{IDLE_SESSIONS} idle sessions and {DOWNLOADS} downloads need {FDS_NEEDED} open \
             files, and the hard RLIMIT_NOFILE is {limit}"
        );
        let _: Option<()> = skip_or_fail(&why);
        return;
    }

    let root = temp_dir("scale");
    let files: Vec<Arc<Vec<u8>>> = (0..DOWNLOADS)
        .map(|i| {
            let bytes = content(7_000 + i as u64, size(i));
            std::fs::write(root.path().join(format!("f{i}.bin")), &bytes).unwrap();
            Arc::new(bytes)
        })
        .collect();

    let localhost: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut ftp = ftp::ServerConfig::new(root.path(), localhost);
    ftp.max_sessions = IDLE_SESSIONS + 100;
    let mut tftp = tftp::ServerConfig::new(root.path(), localhost);
    tftp.max_transfers = DOWNLOADS + 50;
    let server = InProcess::try_mio(Some(ftp), Some(tftp)).expect("bind the mio server");

    // Every idle session gets its greeting, then says nothing.
    let started = Instant::now();
    let mut idle: Vec<Control> = (0..IDLE_SESSIONS)
        .map(|i| {
            let mut control = Control::connect(server.ftp_addr())
                .unwrap_or_else(|e| panic!("idle session {i}: connect: {e}"));
            control.expect_code(220);
            control
        })
        .collect();
    eprintln!(
        "{IDLE_SESSIONS} idle sessions greeted in {:?}",
        started.elapsed()
    );

    // Every download starts at once.
    let tftp_port = server.tftp_addr().port();
    let barrier = Arc::new(Barrier::new(DOWNLOADS));
    let started = Instant::now();
    let downloads: Vec<_> = files
        .iter()
        .enumerate()
        .map(|(i, expected)| {
            let barrier = Arc::clone(&barrier);
            let expected = Arc::clone(expected);
            thread::Builder::new()
                .name(format!("download {i}"))
                .stack_size(256 * 1024)
                .spawn(move || {
                    let name = format!("f{i}.bin");
                    let mut got = Vec::with_capacity(expected.len());
                    barrier.wait();
                    get(
                        "127.0.0.1",
                        tftp_port,
                        &name,
                        Output::Writer(&mut got),
                        &options(i),
                        &mut |_| {},
                    )
                    .map_err(|e| format!("{name}: {e}"))?;
                    if got != *expected {
                        let at = got.iter().zip(expected.iter()).position(|(a, b)| a != b);
                        return Err(format!(
                            "{name}: {} bytes, expected {}; first difference at {at:?}",
                            got.len(),
                            expected.len()
                        ));
                    }
                    Ok(())
                })
                .expect("spawn a download thread")
        })
        .collect();
    let failures: Vec<String> = downloads
        .into_iter()
        .filter_map(|t| match t.join() {
            Ok(result) => result.err(),
            Err(_) => Some("a download thread panicked".to_owned()),
        })
        .collect();
    eprintln!("{DOWNLOADS} downloads in {:?}", started.elapsed());
    assert!(
        failures.is_empty(),
        "{} of {DOWNLOADS} downloads failed: {failures:#?}",
        failures.len()
    );

    // Every idle session is still there, and nothing was said to it
    // meanwhile: its next reply is the NOOP's.
    for (i, control) in idle.iter_mut().enumerate() {
        let reply = control.cmd("NOOP");
        assert_eq!(reply.code, 200, "idle session {i}: {reply:?}");
    }
    drop(idle);
    drop(server);
}

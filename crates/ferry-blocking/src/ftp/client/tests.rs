//! The driver against scripted servers on 127.0.0.1: what it does with
//! the sockets when the machine asks, and what it reports.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ftp_proto::client::ClientError as ProtoError;

use super::*;

/// One scripted control connection, seen from the server.
struct Peer {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Peer {
    fn send(&mut self, reply: &str) {
        self.writer
            .write_all(format!("{reply}\r\n").as_bytes())
            .unwrap();
    }

    /// The next command line, without CR LF and Telnet bytes.
    fn line(&mut self) -> String {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line).unwrap();
        line.retain(|&b| b < 0x80 && b != b'\r' && b != b'\n');
        String::from_utf8(line).unwrap()
    }

    fn expect(&mut self, command: &str, reply: &str) {
        assert_eq!(self.line(), command);
        self.send(reply);
    }

    fn login(&mut self) {
        self.send("220 scripted");
        self.expect("USER anonymous", "331 password");
        self.expect("PASS guest", "230 in");
    }

    /// Answers EPSV with a fresh listener.
    fn epsv(&mut self) -> TcpListener {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        self.expect("EPSV", &format!("229 Extended (|||{port}|)"));
        listener
    }

    /// Answers EPSV and takes the client's data connection.
    fn epsv_data(&mut self) -> TcpStream {
        let (data, _) = self.epsv().accept().unwrap();
        data
    }
}

/// A server running `script` on its one connection; joined to see its
/// assertions.
fn server(script: impl FnOnce(&mut Peer) + Send + 'static) -> (u16, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut peer = Peer {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        };
        script(&mut peer);
    });
    (port, handle)
}

fn connect(port: u16, options: ConnectOptions) -> Connection {
    let mut ftp = Connection::connect("127.0.0.1", port, options).unwrap();
    assert_eq!(ftp.greeting(), "scripted");
    ftp.login("anonymous", "guest").unwrap();
    ftp
}

/// Downloads `remote` into a fresh directory, expecting it to fail and
/// leave nothing there (no file, no temporary one).
#[track_caller]
fn failed_download(ftp: &mut Connection, remote: &str) -> ClientError {
    let dir = tempfile::tempdir().unwrap();
    let err = ftp
        .get(remote, Output::Path(&dir.path().join(remote)), &mut |_| {})
        .unwrap_err();
    assert!(files_in(dir.path()).is_empty(), "{err:?}");
    err
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn get_falls_back_to_pasv_and_renames_the_file_into_place() {
    let (port, script) = server(|peer| {
        peer.login();
        peer.expect("SIZE dir/f", "213 11");
        peer.expect("EPSV", "500 EPSV not understood");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let p = listener.local_addr().unwrap().port();
        // The address in a 227 is not used: data goes to the control peer.
        peer.expect(
            "PASV",
            &format!(
                "227 Entering Passive Mode (10,9,8,7,{},{})",
                p >> 8,
                p & 255
            ),
        );
        let (mut data, _) = listener.accept().unwrap();
        peer.expect("RETR dir/f", "150 here it comes");
        data.write_all(b"hello world").unwrap();
        drop(data);
        peer.send("226 done");
        peer.expect("QUIT", "221 bye");
    });
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("f");
    let mut ftp = connect(port, ConnectOptions::default());
    let mut seen = Vec::new();
    let bytes = ftp
        .get("dir/f", Output::Path(&dest), &mut |p| seen.push(p))
        .unwrap();
    assert_eq!(bytes, 11);
    assert_eq!(std::fs::read(&dest).unwrap(), b"hello world");
    assert_eq!(files_in(dir.path()), ["f"]);
    assert_eq!(
        seen.last(),
        Some(&Progress {
            bytes: 11,
            total: Some(11)
        })
    );
    ftp.quit().unwrap();
    script.join().unwrap();
}

#[test]
fn a_refusal_keeps_the_servers_code_and_text_and_leaves_no_file() {
    let (port, script) = server(|peer| {
        peer.login();
        peer.expect("SIZE gone", "550 No such file.");
        let _listener = peer.epsv();
        peer.expect("RETR gone", "550 No such file.");
        peer.expect("NOOP", "200 still here");
    });
    let mut ftp = connect(port, ConnectOptions::default());
    let err = failed_download(&mut ftp, "gone");
    assert_eq!(err.to_string(), "server error 550: No such file.");
    assert_eq!(err.code(), Some(550));
    // The session goes on.
    ftp.op(Op::Noop).unwrap();
    script.join().unwrap();
}

#[test]
fn a_cut_data_connection_fails_and_removes_the_partial_file() {
    let (port, script) = server(|peer| {
        peer.login();
        peer.expect("SIZE f", "213 1000000");
        let mut data = peer.epsv_data();
        peer.expect("RETR f", "150 here it comes");
        data.write_all(&[7; 1000]).unwrap();
        drop(data);
        peer.send("426 Connection closed; transfer aborted.");
    });
    let mut ftp = connect(port, ConnectOptions::default());
    let err = failed_download(&mut ftp, "f");
    assert_eq!(
        err.to_string(),
        "server error 426: Connection closed; transfer aborted."
    );
    script.join().unwrap();
}

#[test]
fn continue_appends_from_the_local_length() {
    let (port, script) = server(|peer| {
        peer.login();
        peer.expect("SIZE f", "213 10");
        let mut data = peer.epsv_data();
        peer.expect("REST 4", "350 restarting");
        peer.expect("RETR f", "150 the rest");
        data.write_all(b"456789").unwrap();
        drop(data);
        peer.send("226 done");
    });
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("f");
    std::fs::write(&dest, b"0123").unwrap();
    let mut ftp = connect(port, ConnectOptions::default());
    let mut seen = Vec::new();
    let bytes = ftp
        .get("f", Output::Continue(&dest), &mut |p| seen.push(p.bytes))
        .unwrap();
    assert_eq!(bytes, 6);
    assert_eq!(std::fs::read(&dest).unwrap(), b"0123456789");
    assert_eq!((seen.first(), seen.last()), (Some(&4), Some(&10)));
    script.join().unwrap();
}

#[test]
fn continue_without_a_local_file_leaves_none_when_the_remote_is_missing() {
    let (port, script) = server(|peer| {
        peer.login();
        peer.expect("SIZE gone", "550 No such file.");
        let _listener = peer.epsv();
        peer.expect("RETR gone", "550 No such file.");
    });
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("gone");
    let mut ftp = connect(port, ConnectOptions::default());
    let err = ftp
        .get("gone", Output::Continue(&dest), &mut |_| {})
        .unwrap_err();
    assert_eq!(err.code(), Some(550));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    script.join().unwrap();
}

#[test]
fn ascii_upload_sends_cr_lf() {
    let (port, script) = server(|peer| {
        peer.login();
        peer.expect("TYPE A", "200 ascii");
        let mut data = peer.epsv_data();
        peer.expect("STOR up.txt", "150 send it");
        let mut got = Vec::new();
        data.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"a\r\nb\r\n\r\nc");
        peer.send("226 stored");
    });
    let mut ftp = connect(port, ConnectOptions::default());
    ftp.set_type(TransferType::Ascii).unwrap();
    let mut source: &[u8] = b"a\nb\n\nc";
    let input = Input::Reader {
        reader: &mut source,
        len: Some(6),
    };
    assert_eq!(ftp.put(input, "up.txt", &mut |_| {}).unwrap(), 6);
    script.join().unwrap();
}

#[test]
fn block_mode_record_upload_sends_rfc_959_blocks() {
    let (port, script) = server(|peer| {
        peer.login();
        peer.expect("TYPE E", "200 ebcdic");
        peer.expect("STRU R", "200 records");
        peer.expect("MODE B", "200 blocks");
        let mut data = peer.epsv_data();
        peer.expect("STOR up.txt", "150 send it");
        let mut got = Vec::new();
        data.read_to_end(&mut got).unwrap();
        // "ab" EOR, then "c" with EOF: CP037 a=0x81 b=0x82 c=0x83.
        assert_eq!(got, b"\x80\x00\x02\x81\x82\x40\x00\x01\x83");
        peer.send("226 stored");
    });
    let mut ftp = connect(port, ConnectOptions::default());
    ftp.set_type(TransferType::Ebcdic).unwrap();
    ftp.set_structure(Structure::Record).unwrap();
    ftp.set_mode(Mode::Block).unwrap();
    let mut source: &[u8] = b"ab\nc";
    let input = Input::Reader {
        reader: &mut source,
        len: Some(4),
    };
    assert_eq!(ftp.put(input, "up.txt", &mut |_| {}).unwrap(), 4);
    script.join().unwrap();
}

#[test]
fn compressed_download_is_decoded_and_ends_at_its_eof() {
    let (port, script) = server(|peer| {
        peer.login();
        peer.expect("TYPE I", "200 binary");
        peer.expect("MODE C", "200 compressed");
        peer.expect("SIZE f", "213 9");
        let mut data = peer.epsv_data();
        peer.expect("RETR f", "150 here");
        // 2 data bytes, 5 x 'z', 2 filler (zero in TYPE I), EOF; the
        // connection stays open: the EOF marker ends the data.
        data.write_all(b"\x02hi\x85z\xc2\x00\x40").unwrap();
        peer.send("226 sent");
        assert_eq!(peer.line(), "QUIT");
        drop(data);
    });
    let mut ftp = connect(port, ConnectOptions::default());
    ftp.set_type(TransferType::Binary).unwrap();
    ftp.set_mode(Mode::Compressed).unwrap();
    let mut out = Vec::new();
    ftp.get("f", Output::Writer(&mut out), &mut |_| {}).unwrap();
    assert_eq!(out, b"hizzzzz\0\0");
    let _ = ftp.quit();
    script.join().unwrap();
}

#[test]
fn block_mode_download_cut_before_its_eof_fails() {
    let (port, script) = server(|peer| {
        peer.login();
        peer.expect("TYPE I", "200 binary");
        peer.expect("MODE B", "200 blocks");
        peer.expect("SIZE f", "213 3");
        let mut data = peer.epsv_data();
        peer.expect("RETR f", "150 here");
        data.write_all(b"\x00\x00\x03abc").unwrap();
        drop(data);
        peer.send("226 sent");
    });
    let mut ftp = connect(port, ConnectOptions::default());
    ftp.set_type(TransferType::Binary).unwrap();
    ftp.set_mode(Mode::Block).unwrap();
    let err = failed_download(&mut ftp, "f");
    assert!(matches!(err, ClientError::Session(_)), "{err:?}");
    script.join().unwrap();
}

/// Connects to `to` from `from` (any 127/8 address works on loopback).
fn connect_from(from: Ipv4Addr, to: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&SocketAddr::from((from, 0)).into()).unwrap();
    socket.connect(&to.into()).unwrap();
    socket.into()
}

#[test]
fn active_mode_takes_the_data_connection_only_from_the_server() {
    let (port, script) = server(|peer| {
        peer.login();
        peer.expect("SIZE f", "502 no SIZE here");
        let eprt = peer.line();
        let to: SocketAddr = {
            let fields: Vec<&str> = eprt.trim_start_matches("EPRT ").split('|').collect();
            assert_eq!(&fields[..3], ["", "1", "127.0.0.1"], "{eprt}");
            format!("127.0.0.1:{}", fields[3]).parse().unwrap()
        };
        peer.send("200 EPRT ok");
        peer.expect("RETR f", "150 connecting");
        // Someone else gets there first: refused unread.
        let mut intruder = connect_from(Ipv4Addr::new(127, 0, 0, 2), to);
        let _ = intruder.write_all(b"forged");
        let mut data = connect_from(Ipv4Addr::LOCALHOST, to);
        data.write_all(b"genuine").unwrap();
        drop(data);
        peer.send("226 done");
    });
    let options = ConnectOptions {
        data: DataMode::Active,
        ..ConnectOptions::default()
    };
    let mut ftp = connect(port, options);
    let mut out = Vec::new();
    ftp.get("f", Output::Writer(&mut out), &mut |_| {}).unwrap();
    assert_eq!(out, b"genuine");
    script.join().unwrap();
}

#[test]
fn a_silent_server_times_out() {
    let (port, script) = server(|peer| {
        peer.send("220 scripted");
        assert_eq!(peer.line(), "USER anonymous");
        // No reply; wait for the client to give up and close.
        let mut rest = Vec::new();
        let _ = peer.reader.read_to_end(&mut rest);
    });
    let mut options = ConnectOptions::default();
    options.protocol.reply_timeout = Duration::from_millis(300);
    let mut ftp = Connection::connect("127.0.0.1", port, options).unwrap();
    let started = Instant::now();
    let err = ftp.login("anonymous", "guest").unwrap_err();
    assert!(
        matches!(err, ClientError::Session(ProtoError::Timeout)),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(ftp);
    script.join().unwrap();
}

#[test]
fn cancel_aborts_a_stalled_download() {
    let (port, script) = server(|peer| {
        peer.login();
        peer.expect("SIZE f", "213 1000000");
        let mut data = peer.epsv_data();
        peer.expect("RETR f", "150 here it comes");
        data.write_all(&[1; 1000]).unwrap();
        // Stall until the client gives up on the data connection.
        let mut rest = Vec::new();
        let _ = data.read_to_end(&mut rest);
        assert_eq!(peer.line(), "ABOR");
        peer.send("426 aborted");
        peer.send("226 ABOR ok");
    });
    let cancel = Arc::new(AtomicBool::new(false));
    let options = ConnectOptions {
        cancel: Some(Arc::clone(&cancel)),
        ..ConnectOptions::default()
    };
    let mut ftp = connect(port, options);
    let flag = Arc::clone(&cancel);
    let setter = thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        flag.store(true, Ordering::Relaxed);
    });
    let err = failed_download(&mut ftp, "f");
    assert!(matches!(err, ClientError::Cancelled), "{err:?}");
    setter.join().unwrap();
    script.join().unwrap();
}

#[test]
fn a_421_ends_the_download_with_its_text() {
    let (port, script) = server(|peer| {
        peer.login();
        peer.expect("SIZE f", "421 Shutting down.");
    });
    let mut ftp = connect(port, ConnectOptions::default());
    let err = failed_download(&mut ftp, "f");
    assert_eq!(err.to_string(), "server error 421: Shutting down.");
    script.join().unwrap();
}

fn insecure_tls() -> ClientTls {
    ClientTls::new(&ClientTlsOptions {
        insecure: true,
        cacert: None,
    })
    .unwrap()
}

#[test]
fn explicit_tls_refused_is_the_servers_reply() {
    let (port, script) = server(|peer| {
        peer.send("220 scripted");
        peer.expect("AUTH TLS", "504 Security mechanism not understood");
    });
    let options = ConnectOptions {
        security: Security::Explicit(insecure_tls()),
        ..ConnectOptions::default()
    };
    let err = Connection::connect("127.0.0.1", port, options).unwrap_err();
    assert_eq!(err.code(), Some(504), "{err}");
    script.join().unwrap();
}

#[test]
fn clear_bytes_after_the_234_fail_the_handshake_not_the_wait() {
    // A server (or someone between) that answers in clear where the TLS
    // handshake should be: the connection fails at once, as TLS, and
    // the clear reply is never taken for the server's.
    let (port, script) = server(|peer| {
        peer.send("220 scripted");
        peer.expect("AUTH TLS", "234 go ahead");
        let mut hello = [0u8; 5];
        peer.reader.read_exact(&mut hello).unwrap();
        assert_eq!(hello[0], 22, "a TLS handshake record");
        peer.send("230 Logged in without TLS");
        // Hold the connection: the client must not wait for more.
        thread::sleep(Duration::from_millis(500));
    });
    let options = ConnectOptions {
        security: Security::Explicit(insecure_tls()),
        ..ConnectOptions::default()
    };
    let started = Instant::now();
    let err = Connection::connect("127.0.0.1", port, options).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Tls {
                what: "control connection",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "{err}");
    script.join().unwrap();
}

#[test]
fn implicit_tls_against_a_clear_server_fails_as_tls() {
    let (port, script) = server(|peer| {
        // A clear FTP server: its greeting is what the client's
        // ClientHello gets back.
        peer.send("220 scripted");
        let _ = peer.reader.read(&mut [0u8; 512]);
    });
    let options = ConnectOptions {
        security: Security::Implicit(insecure_tls()),
        ..ConnectOptions::default()
    };
    let err = Connection::connect("127.0.0.1", port, options).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Tls {
                what: "control connection",
                ..
            }
        ),
        "{err:?}"
    );
    script.join().unwrap();
}

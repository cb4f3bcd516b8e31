//! ferry-tls over real loopback sockets: certificate checks, data
//! connections resuming their control connection's session, the reuse
//! rule, garbage, and ends with and without close_notify.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

use ferry_tls::{
    generate_self_signed, is_not_resumed, ClientTls, ClientTlsOptions, ServerTls, TlsConn,
    TlsStream,
};

struct Pki {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
    fingerprint: String,
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, fingerprint) = generate_self_signed(&[]).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::write(&key_path, key).unwrap();
    Pki {
        _dir: dir,
        cert: cert_path,
        key: key_path,
        fingerprint,
    }
}

fn trusting(pki: &Pki) -> ClientTls {
    ClientTls::new(&ClientTlsOptions {
        insecure: false,
        cacert: Some(pki.cert.clone()),
    })
    .unwrap()
}

/// A connected pair of loopback sockets with timeouts.
fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    for s in [&client, &server] {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    }
    (client, server)
}

/// Handshakes `server` and `client` over a fresh socket pair; the
/// server side runs in a thread. Returns both outcomes and the conns.
fn handshake(
    mut server: TlsConn,
    mut client: TlsConn,
) -> (
    std::io::Result<()>,
    std::io::Result<()>,
    TlsStream<TcpStream>,
    TlsStream<TcpStream>,
) {
    let (mut c, s) = pair();
    let t = thread::spawn(move || {
        let mut s = s;
        let r = server.handshake(&mut s);
        // Send whatever alert the failure queued.
        while server.wants_write() && server.write_tls(&mut s).unwrap_or(0) > 0 {}
        (r, TlsStream::new(s, server))
    });
    let rc = client.handshake(&mut c);
    let (rs, server) = t.join().unwrap();
    (rs, rc, TlsStream::new(c, client), server)
}

#[test]
fn fingerprint_is_sha256_of_the_certificate_in_openssl_form() {
    let pki = pki();
    let tls = ServerTls::from_pem_files(&pki.cert, &pki.key, false).unwrap();
    assert_eq!(tls.fingerprint(), pki.fingerprint);
    assert_eq!(pki.fingerprint.len(), 32 * 3 - 1);
    assert!(pki.fingerprint.split(':').all(|h| h.len() == 2
        && h.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())));
    if let Ok(out) = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(&pki.cert)
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.trim().ends_with(&pki.fingerprint),
            "openssl says {text:?}"
        );
    }
}

#[test]
fn bad_files_name_the_problem() {
    let pki = pki();
    let missing = pki.cert.with_file_name("missing.pem");
    let err = ServerTls::from_pem_files(&missing, &pki.key, false).unwrap_err();
    assert!(err.to_string().contains("missing.pem"), "{err}");
    // Key and certificate swapped.
    let err = ServerTls::from_pem_files(&pki.key, &pki.cert, false).unwrap_err();
    assert!(err.to_string().contains("no PEM certificate"), "{err}");
    let err = ServerTls::from_pem_files(&pki.cert, &pki.cert, false).unwrap_err();
    assert!(err.to_string().contains("no PEM private key"), "{err}");
    // A key that is not the certificate's.
    let other = self::pki();
    let err = ServerTls::from_pem_files(&pki.cert, &other.key, false).unwrap_err();
    assert!(err.to_string().contains("TLS configuration"), "{err}");
}

#[test]
fn client_verifies_against_cacert_and_refuses_unknown_issuers() {
    let pki = pki();
    let server = ServerTls::from_pem_files(&pki.cert, &pki.key, false).unwrap();

    let (rs, rc, mut c, mut s) = handshake(
        server.accept_control(),
        trusting(&pki).connect("127.0.0.1").unwrap(),
    );
    rs.unwrap();
    rc.unwrap();
    c.write_all(b"hello").unwrap();
    c.flush().unwrap();
    let mut buf = [0u8; 5];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hello");

    // The same certificate by DNS name.
    let (rs, rc, _, _) = handshake(
        server.accept_control(),
        trusting(&pki).connect("localhost").unwrap(),
    );
    rs.unwrap();
    rc.unwrap();

    // Not among the roots.
    let roots_only = ClientTlsOptions::default();
    if let Ok(system) = ClientTls::new(&roots_only) {
        let (_, rc, _, _) = handshake(
            server.accept_control(),
            system.connect("127.0.0.1").unwrap(),
        );
        let err = rc.unwrap_err();
        // UnknownIssuer, or a system root that shares the name.
        assert!(
            err.to_string().contains("invalid peer certificate"),
            "the error names the certificate problem: {err}"
        );
    }

    // A name the certificate does not carry.
    let (_, rc, _, _) = handshake(
        server.accept_control(),
        trusting(&pki).connect("example.org").unwrap(),
    );
    let err = rc.unwrap_err();
    assert!(err.to_string().contains("not valid for name"), "{err}");

    // --insecure takes it.
    let insecure = ClientTls::new(&ClientTlsOptions {
        insecure: true,
        cacert: None,
    })
    .unwrap();
    let (rs, rc, _, _) = handshake(
        server.accept_control(),
        insecure.connect("example.org").unwrap(),
    );
    rs.unwrap();
    rc.unwrap();
}

#[test]
fn server_names_must_be_names_or_addresses() {
    let pki = pki();
    assert!(trusting(&pki).connect("::1").is_ok());
    assert!(trusting(&pki).connect("[::1]").is_ok());
    assert!(trusting(&pki).connect("not a name").is_err());
}

/// Control handshake, then `n` data handshakes from `data_client`.
fn data_connections(
    server: &ServerTls,
    control_client: &ClientTls,
    data_client: &ClientTls,
    n: usize,
) -> Vec<Result<bool, std::io::Error>> {
    let (rs, rc, mut c, mut s) = handshake(
        server.accept_control(),
        control_client.connect("127.0.0.1").unwrap(),
    );
    rs.unwrap();
    rc.unwrap();
    // A TLS 1.3 client learns its tickets from the first bytes after the
    // handshake, as an FTP client does reading its next reply.
    s.write_all(b"200 ok\r\n").unwrap();
    s.flush().unwrap();
    let mut line = [0u8; 8];
    c.read_exact(&mut line).unwrap();
    let key = s.tls.reuse_key();
    assert!(key.is_some());
    (0..n)
        .map(|_| {
            let (rs, _, mut c, mut s) = handshake(
                server.accept_data(key),
                data_client.connect("127.0.0.1").unwrap(),
            );
            rs?;
            // A download: the client reads to the end, and with it the
            // ticket its next connection resumes with.
            s.shutdown().unwrap();
            drop(s);
            let mut rest = Vec::new();
            c.read_to_end(&mut rest).unwrap();
            assert!(c.clean_eof());
            Ok(c.tls.resumed())
        })
        .collect()
}

#[test]
fn data_connections_resume_the_control_session() {
    let pki = pki();
    let server = ServerTls::from_pem_files(&pki.cert, &pki.key, true).unwrap();
    assert!(server.require_reuse());
    let client = trusting(&pki);
    for outcome in data_connections(&server, &client, &client, 12) {
        assert!(outcome.unwrap(), "each data connection resumed");
    }
}

#[test]
fn uploads_in_a_row_resume_then_a_download_brings_fresh_tickets() {
    let pki = pki();
    let server = ServerTls::from_pem_files(&pki.cert, &pki.key, true).unwrap();
    let client = trusting(&pki);
    let (rs, rc, mut c, mut s) = handshake(
        server.accept_control(),
        client.connect("127.0.0.1").unwrap(),
    );
    rs.unwrap();
    rc.unwrap();
    s.write_all(b"200 ok\r\n").unwrap();
    s.flush().unwrap();
    let mut line = [0u8; 8];
    c.read_exact(&mut line).unwrap();
    let key = s.tls.reuse_key();
    let upload = || {
        let (rs, rc, mut c, mut s) = handshake(
            server.accept_upload(key),
            client.connect("127.0.0.1").unwrap(),
        );
        rs?;
        rc.unwrap();
        c.write_all(b"file").unwrap();
        c.shutdown().unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"file");
        assert!(s.clean_eof());
        Ok::<bool, std::io::Error>(c.tls.resumed())
    };
    for _ in 0..3 {
        assert!(upload().unwrap());
    }
    // A download spends the last of the control connection's tickets and
    // brings a fresh one, which the next upload spends.
    let (rs, _, mut c, mut s) = handshake(
        server.accept_data(key),
        client.connect("127.0.0.1").unwrap(),
    );
    rs.unwrap();
    s.shutdown().unwrap();
    drop(s);
    c.read_to_end(&mut Vec::new()).unwrap();
    assert!(c.tls.resumed());
    assert!(upload().unwrap());
    // Nothing left to resume with: refused, as documented.
    assert!(is_not_resumed(&upload().unwrap_err()));
}

#[test]
fn reuse_required_refuses_a_stranger_and_another_controls_session() {
    let pki = pki();
    let server = ServerTls::from_pem_files(&pki.cert, &pki.key, true).unwrap();
    let client = trusting(&pki);
    // A fresh client, with no session to resume.
    for outcome in data_connections(&server, &client, &trusting(&pki), 1) {
        let err = outcome.unwrap_err();
        assert!(is_not_resumed(&err), "{err}");
        assert!(err.to_string().contains("did not resume"), "{err}");
    }
    // A client resuming the session of another control connection.
    let (rs, rc, mut c, mut s) = handshake(
        server.accept_control(),
        client.connect("127.0.0.1").unwrap(),
    );
    rs.unwrap();
    rc.unwrap();
    s.write_all(b"200 ok\r\n").unwrap();
    let mut line = [0u8; 8];
    c.read_exact(&mut line).unwrap();
    let other_key = server.accept_control();
    let _ = other_key.reuse_key();
    // accept_data with an unknown or absent key: nothing to resume.
    let (rs, _, _, _) = handshake(
        server.accept_data(None),
        client.connect("127.0.0.1").unwrap(),
    );
    assert!(is_not_resumed(&rs.unwrap_err()));
    let (rs, _, _, _) = handshake(
        server.accept_data(other_key.reuse_key()),
        client.connect("127.0.0.1").unwrap(),
    );
    assert!(is_not_resumed(&rs.unwrap_err()));

    // Without the requirement the same connections are taken.
    let lax = ServerTls::from_pem_files(&pki.cert, &pki.key, false).unwrap();
    for outcome in data_connections(&lax, &client, &trusting(&pki), 1) {
        assert!(!outcome.unwrap(), "accepted without resuming");
    }
}

#[test]
fn tls12_data_connections_resume_too() {
    // Built by hand: a client that speaks only TLS 1.2, as older FTP
    // clients and servers do.
    let pki = pki();
    let server = ServerTls::from_pem_files(&pki.cert, &pki.key, true).unwrap();
    let mut roots = ferry_tls::rustls::RootCertStore::empty();
    let pem = std::fs::read(&pki.cert).unwrap();
    use ferry_tls::rustls::pki_types::pem::PemObject;
    for c in ferry_tls::rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(c.unwrap()).unwrap();
    }
    #[allow(deprecated)]
    let provider = std::sync::Arc::new(ferry_tls::rustls::crypto::ring::default_provider());
    let config = std::sync::Arc::new(
        ferry_tls::rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&ferry_tls::rustls::version::TLS12])
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    let connect = || {
        ferry_tls::rustls::ClientConnection::new(config.clone(), "127.0.0.1".try_into().unwrap())
            .unwrap()
    };
    // Drive raw rustls client connections over the same sockets.
    let run = |server_conn: TlsConn| -> (std::io::Result<()>, TlsStream<TcpStream>) {
        let (mut c, s) = pair();
        let t = thread::spawn(move || {
            let mut s = s;
            let mut server_conn = server_conn;
            let r = server_conn.handshake(&mut s);
            (r, TlsStream::new(s, server_conn))
        });
        let mut client = connect();
        client.complete_io(&mut c).unwrap();
        let (r, s) = t.join().unwrap();
        (r, s)
    };
    let (r, control) = run(server.accept_control());
    r.unwrap();
    assert_eq!(control.tls.version(), Some("TLSv1.2"));
    let key = control.tls.reuse_key();
    for _ in 0..3 {
        let (r, data) = run(server.accept_data(key));
        r.unwrap();
        assert!(data.tls.resumed());
    }
}

#[test]
fn garbage_and_plain_text_fail_cleanly() {
    let pki = pki();
    let server = ServerTls::from_pem_files(&pki.cert, &pki.key, false).unwrap();
    for junk in [
        &b"USER anonymous\r\n"[..],
        &[0x16, 0x03, 0x01, 0xff, 0xff, 0, 0][..],
        &[0u8; 300][..],
    ] {
        let mut conn = server.accept_control();
        let mut input = junk;
        let err = conn.read_tls(&mut input).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        // The alert is ready to go; then nothing more.
        let mut out = Vec::new();
        while conn.wants_write() {
            conn.write_tls(&mut out).unwrap();
        }
    }
    // A handshake cut short by the peer.
    let (c, s) = pair();
    drop(c);
    let mut s = s;
    let err = server.accept_control().handshake(&mut s).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
}

#[test]
fn ends_with_and_without_close_notify() {
    let pki = pki();
    let server = ServerTls::from_pem_files(&pki.cert, &pki.key, false).unwrap();
    let client = trusting(&pki);

    // With close_notify.
    let (rs, rc, mut c, mut s) = handshake(
        server.accept_upload(None),
        client.connect("127.0.0.1").unwrap(),
    );
    rs.unwrap();
    rc.unwrap();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let sent = data.clone();
    let t = thread::spawn(move || {
        c.write_all(&sent).unwrap();
        c.shutdown().unwrap();
    });
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    t.join().unwrap();
    assert_eq!(got, data);
    assert!(s.clean_eof());

    // A plain TCP end: all the bytes, then 0, but not clean.
    let (rs, rc, mut c, mut s) = handshake(
        server.accept_upload(None),
        client.connect("127.0.0.1").unwrap(),
    );
    rs.unwrap();
    rc.unwrap();
    let sent = data.clone();
    let t = thread::spawn(move || {
        c.write_all(&sent).unwrap();
        c.flush().unwrap();
        drop(c);
    });
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    t.join().unwrap();
    assert_eq!(got, data);
    assert!(!s.clean_eof());
}

#[test]
fn write_plain_is_bounded() {
    let pki = pki();
    let server = ServerTls::from_pem_files(&pki.cert, &pki.key, false).unwrap();
    let (rs, rc, _c, mut s) = handshake(
        server.accept_control(),
        trusting(&pki).connect("127.0.0.1").unwrap(),
    );
    rs.unwrap();
    rc.unwrap();
    let big = vec![7u8; 1 << 20];
    let taken = s.tls.write_plain(&big);
    assert!(taken > 0 && taken <= 64 * 1024 + 16 * 1024, "took {taken}");
}

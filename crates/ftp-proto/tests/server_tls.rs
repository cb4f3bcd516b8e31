//! Transcripts of FTPS (RFC 4217) in the server session: what AUTH, PBSZ,
//! PROT and CCC answer, what `--require-tls` refuses, which transfers are
//! protected, and that nothing sent in clear after AUTH becomes a command.

mod transcript;

use std::time::Duration;

use ftp_proto::server::{CloseReason, Config, LogEvent, Tls};
use transcript::{anonymous_read_only, transcript, Transcript};

fn offered() -> Config {
    Config {
        tls: Tls {
            offered: true,
            required: false,
        },
        ..anonymous_read_only()
    }
}

fn required() -> Config {
    Config {
        tls: Tls {
            offered: true,
            required: true,
        },
        ..anonymous_read_only()
    }
}

/// AUTH TLS, the handshake, then PBSZ 0 and PROT P: the sequence RFC 4217
/// §§ 4, 8, 9 and every FTPS client follow.
const SECURE: &str = "
    < 220 ferry FTP server ready
    > AUTH TLS
    < 234 Proceed with negotiation.
    ! SecureControl
    secure
    > PBSZ 0
    < 200 PBSZ=0
    > PROT P
    < 200 Data protection level set to P.
";

const ALICE: &str = "
    > USER alice
    < 331 Please specify the password.
    > PASS secret
    ! Authenticate alice secret -> login /home/alice rw
    < 230 Login successful.
";

#[test]
fn explicit_tls_login_and_protected_transfers() {
    let t = transcript(
        &offered(),
        &format!(
            "{SECURE}{ALICE}
            > TYPE I
            < 200 Switching to Binary mode.
            > PASV
            ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
            < 227 Entering Passive Mode (10,0,0,1,117,48).
            > RETR a.bin
            ! Transfer Retrieve /home/alice/a.bin @0 passive protected -> Started 5
            < 150...
            -> Finished 5
            < 226 Transfer complete.
            > PORT 10,0,0,2,156,65
            < 200 PORT command successful.
            > STOR b.bin
            ! Transfer Store /home/alice/b.bin replace active 10.0.0.2:40001 protected -> Started
            < 150...
            -> Finished 9
            < 226 Transfer complete.
            > PASV
            ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
            < 227...
            > NLST
            ! Transfer List /home/alice names passive protected -> Started
            < 150...
            -> Finished 10
            < 226 Transfer complete.
            "
        ),
    );
    assert!(t.session.is_control_secured());
    assert!(t.logs.contains(&LogEvent::Secured));
}

#[test]
fn prot_c_turns_data_protection_off_again() {
    transcript(
        &offered(),
        &format!(
            "{SECURE}{ALICE}
            > PROT C
            < 200 Data protection level set to C.
            > PASV
            ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
            < 227...
            > RETR a.bin
            ! Transfer Retrieve /home/alice/a.bin @0 passive ascii -> Started 5
            < 150...
            -> Finished 5
            < 226 Transfer complete.
            "
        ),
    );
}

#[test]
fn feat_lists_auth_pbsz_and_prot_when_offered() {
    let mut t = Transcript::new(&offered());
    t.step("< 220 ferry FTP server ready\n> FEAT\n< 211-Features:");
    let mut lines = Vec::new();
    loop {
        let line = t.next_line().expect("FEAT reply ends");
        if line.starts_with("211 ") {
            break;
        }
        lines.push(line);
    }
    assert_eq!(lines.first().map(String::as_str), Some(" AUTH TLS"));
    assert!(lines.iter().any(|l| l == " PBSZ"));
    assert!(lines.iter().any(|l| l == " PROT"));
    t.finish();

    // Not offered: none of the three.
    let mut t = Transcript::new(&anonymous_read_only());
    t.step("< 220 ferry FTP server ready\n> FEAT\n< 211-Features:");
    loop {
        let line = t.next_line().expect("FEAT reply ends");
        assert!(!line.contains("AUTH") && !line.contains("PBSZ") && !line.contains("PROT"));
        if line.starts_with("211 ") {
            break;
        }
    }
}

#[test]
fn auth_names_curl_and_old_clients_send() {
    for mechanism in ["SSL", "TLS-C", "TLS-P", "tls"] {
        transcript(
            &offered(),
            &format!(
                "
                < 220 ferry FTP server ready
                > AUTH {mechanism}
                < 234 Proceed with negotiation.
                ! SecureControl
                secure
                open
                "
            ),
        );
    }
    transcript(
        &offered(),
        "
        < 220 ferry FTP server ready
        > AUTH KERBEROS_V4
        < 504 Security mechanism not implemented.
        > AUTH GSSAPI
        < 504 Security mechanism not implemented.
        ",
    );
}

#[test]
fn auth_ssl_protects_data_without_pbsz_and_prot() {
    // The historical SSL mechanism protects data connections as well.
    transcript(
        &offered(),
        &format!(
            "
            < 220 ferry FTP server ready
            > AUTH SSL
            < 234 Proceed with negotiation.
            ! SecureControl
            secure
            {ALICE}
            > PASV
            ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
            < 227...
            > RETR a.bin
            ! Transfer Retrieve /home/alice/a.bin @0 passive ascii protected -> Started 5
            < 150...
            -> Finished 5
            < 226 Transfer complete.
            "
        ),
    );
}

#[test]
fn auth_without_a_certificate_is_not_implemented() {
    transcript(
        &anonymous_read_only(),
        "
        < 220 ferry FTP server ready
        > AUTH TLS
        < 504 Security mechanism not implemented.
        > PBSZ 0
        < 503 PBSZ needs a completed AUTH first.
        > PROT P
        < 503 PROT needs AUTH and PBSZ first.
        > CCC
        < 503 The control connection is not protected.
        ",
    );
}

#[test]
fn pbsz_and_prot_in_the_wrong_order_or_with_bad_arguments() {
    transcript(
        &offered(),
        "
        < 220 ferry FTP server ready
        > AUTH TLS
        < 234 Proceed with negotiation.
        ! SecureControl
        secure
        > PROT P
        < 503 PROT needs AUTH and PBSZ first.
        > PBSZ x
        < 501 PBSZ takes a decimal size.
        > PBSZ 1048576
        < 200 PBSZ=0
        > PROT S
        < 536 Only PROT C and PROT P are supported.
        > PROT E
        < 536 Only PROT C and PROT P are supported.
        > PROT Q
        < 504 Unknown protection level.
        > PROT P
        < 200 Data protection level set to P.
        > AUTH TLS
        < 503 Already using TLS.
        > CCC
        < 533 The control connection stays protected.
        ",
    );
}

#[test]
fn bytes_pipelined_after_auth_are_never_commands() {
    // STARTTLS command injection: whatever the client (or a man in the
    // middle) sent in clear behind AUTH must not run inside the TLS
    // session. The session takes nothing while the handshake runs, and
    // the driver discards what it did not take.
    let mut t = Transcript::new(&offered());
    t.step("< 220 ferry FTP server ready");
    t.send(b"AUTH TLS\r\nUSER alice\r\nPASS secret\r\nDELE x\r\n");
    t.step(
        "
        < 234 Proceed with negotiation.
        ! SecureControl
        waiting
        secure
        > NOOP
        < 200 NOOP ok.
        ",
    );
    t.finish();
}

#[test]
fn handshake_failure_and_timeout_close_without_a_reply() {
    let t = transcript(
        &offered(),
        "
        < 220 ferry FTP server ready
        > AUTH TLS
        < 234 Proceed with negotiation.
        ! SecureControl
        tls-failed
        closed
        ",
    );
    assert!(t.logs.contains(&LogEvent::Closed {
        reason: CloseReason::TlsFailed
    }));

    let mut t = Transcript::new(&offered());
    t.step(
        "
        < 220 ferry FTP server ready
        > AUTH TLS
        < 234 Proceed with negotiation.
        ! SecureControl
        ",
    );
    assert_eq!(
        t.session.poll_timeout(),
        Some(t.now + Duration::from_secs(30)),
        "the handshake deadline is the session's timer"
    );
    t.advance(Duration::from_secs(29));
    t.step("open");
    t.advance(Duration::from_secs(1));
    t.step("closed");
    t.finish();
    assert!(t.logs.contains(&LogEvent::Closed {
        reason: CloseReason::TlsFailed
    }));
}

#[test]
fn auth_resets_a_login_begun_in_clear() {
    // RFC 2228 §3: the USER sent before AUTH does not carry over.
    transcript(
        &offered(),
        "
        < 220 ferry FTP server ready
        > USER alice
        < 331 Please specify the password.
        > AUTH TLS
        < 234 Proceed with negotiation.
        ! SecureControl
        secure
        > PASS secret
        < 503...
        ",
    );
}

#[test]
fn require_tls_refuses_clear_logins_and_clear_data() {
    transcript(
        &required(),
        "
        < 220 ferry FTP server ready
        > USER alice
        < 530 Login in clear refused: use AUTH TLS first.
        > PASS secret
        < 530 Login in clear refused: use AUTH TLS first.
        > USER anonymous
        < 530 Login in clear refused: use AUTH TLS first.
        ",
    );
    transcript(
        &required(),
        &format!(
            "
            < 220 ferry FTP server ready
            > AUTH TLS
            < 234 Proceed with negotiation.
            ! SecureControl
            secure
            {ALICE}
            > PASV
            ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
            < 227...
            > RETR a.bin
            < 521 Data connections must be protected: use PROT P.
            > PBSZ 0
            < 200 PBSZ=0
            > PROT P
            < 200 Data protection level set to P.
            > RETR a.bin
            ! Transfer Retrieve /home/alice/a.bin @0 passive ascii protected -> Started 5
            < 150...
            -> Finished 5
            < 226 Transfer complete.
            "
        ),
    );
}

#[test]
fn data_tls_failures_answer_522() {
    transcript(
        &offered(),
        &format!(
            "{SECURE}{ALICE}
            > PASV
            ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
            < 227...
            > RETR a.bin
            ! Transfer Retrieve /home/alice/a.bin @0 passive ascii protected -> Started 5
            < 150...
            -> Failed DataTlsFailed
            < 522 TLS negotiation on the data connection failed.
            > PASV
            ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
            < 227...
            > RETR a.bin
            ! Transfer Retrieve /home/alice/a.bin @0 passive ascii protected -> Started 5
            < 150...
            -> Failed DataTlsNotResumed
            < 522 TLS session reuse required on the data connection.
            "
        ),
    );
}

#[test]
fn rein_keeps_tls_and_protection() {
    transcript(
        &offered(),
        &format!(
            "{SECURE}{ALICE}
            > REIN
            < 220 Service ready for new user.
            > AUTH TLS
            < 503 Already using TLS.
            {ALICE}
            > PASV
            ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
            < 227...
            > RETR a.bin
            ! Transfer Retrieve /home/alice/a.bin @0 passive ascii protected -> Started 5
            < 150...
            -> Finished 5
            < 226 Transfer complete.
            "
        ),
    );
}

#[test]
fn implicit_tls_sessions_protect_data_from_the_start() {
    let mut t = Transcript::secured(&offered());
    t.step(&format!(
        "
        < 220 ferry FTP server ready
        > AUTH TLS
        < 503 Already using TLS.
        {ALICE}
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > LIST
        ! Transfer List /home/alice long passive protected -> Started
        < 150...
        -> Finished 10
        < 226 Transfer complete.
        "
    ));
    t.finish();
    assert!(t.session.is_control_secured());
}

#[test]
fn shutdown_during_a_handshake_closes_without_421() {
    let mut t = Transcript::new(&offered());
    t.step(
        "
        < 220 ferry FTP server ready
        > AUTH TLS
        < 234 Proceed with negotiation.
        ! SecureControl
        ",
    );
    let now = t.now;
    t.session.shutdown(now);
    t.step("closed");
    t.finish();
}

#[test]
fn commands_queued_behind_auth_during_a_transfer_are_dropped() {
    // AUTH sent during a transfer waits for it, like any command; what
    // was queued behind it came in clear and never runs.
    let mut t = Transcript::new(&offered());
    t.step(&format!(
        "
        < 220 ferry FTP server ready
        {ALICE}
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > RETR a.bin
        ! Transfer Retrieve /home/alice/a.bin @0 passive ascii -> Started 5
        < 150...
        "
    ));
    t.send(b"AUTH TLS\r\nDELE a.bin\r\nRMD pub\r\n");
    t.step(
        "
        -> Finished 5
        < 226 Transfer complete.
        < 234 Proceed with negotiation.
        ! SecureControl
        secure
        > NOOP
        < 200 NOOP ok.
        ",
    );
    t.finish();
}

//! Executable transcripts of the server session: the RFC 959 dialogues,
//! the four worked examples (a directory list, an image file stored with
//! TYPE and STRU, an anonymous session with PWD, a session ended by QUIT)
//! and one transcript per rule the session enforces.

mod transcript;

use std::time::Duration;

use ftp_proto::server::{CloseReason, Config, LogEvent};
use ftp_proto::{ReplyCode, RootPath};
use transcript::{anonymous_read_only, transcript, Transcript};

/// Anonymous read-only, plus alice (password secret, home /home/alice,
/// may write) when the script authenticates her.
fn config() -> Config {
    anonymous_read_only()
}

const ALICE: &str = "
    < 220 ferry FTP server ready
    > USER alice
    < 331 Please specify the password.
    > PASS secret
    ! Authenticate alice secret -> login /home/alice rw
    < 230 Login successful.
";

const ANONYMOUS: &str = "
    < 220 ferry FTP server ready
    > USER anonymous
    < 331 Guest login ok, send your complete e-mail address as password.
    > PASS guest@example.org
    < 230 Login successful.
";

fn alice(script: &str) -> Transcript {
    transcript(&config(), &format!("{ALICE}{script}"))
}

fn anonymous(script: &str) -> Transcript {
    transcript(&config(), &format!("{ANONYMOUS}{script}"))
}

// RFC 959 ------------------------------------------------------------------

#[test]
fn rfc959_section7_typical_scenario() {
    // RFC 959 §7, with one difference: this server has no default data
    // port, so the client names its port before RETR (as every client
    // does today). STOR is refused: Doe may not write there.
    transcript(
        &config(),
        "
        < 220 ferry FTP server ready
        > USER Doe
        < 331 Please specify the password.
        > PASS mumble
        ! Authenticate Doe mumble -> login /doe ro
        < 230 Login successful.
        > PORT 10,0,0,2,156,65
        < 200 PORT command successful.
        > RETR test.pl1
        ! Transfer Retrieve /doe/test.pl1 @0 active 10.0.0.2:40001 ascii -> Started 120
        < 150 Opening ASCII mode data connection for test.pl1 (120 bytes).
        -> Finished 124
        < 226 Transfer complete.
        > TYPE I
        < 200 Switching to Binary mode.
        > STOR >udd>cn>fd
        < 550 Permission denied.
        > QUIT
        < 221 Goodbye.
        closed
        ",
    );
}

#[test]
fn rfc959_5_4_login_sequence() {
    // USER: 230, 530, 500, 501, 421, 331, 332. PASS: 230, 202, 530, 500,
    // 501, 503, 421, 332.
    transcript(
        &config(),
        "
        < 220 ferry FTP server ready
        > PASS early
        < 503 Login with USER first.
        > USER
        < 501...
        > USER bob
        < 331
        > PASS wrong
        ! Authenticate bob wrong -> refused
        ~ 1s
        < 530 Login incorrect.
        > USER bob
        < 331
        > PASS right
        ! Authenticate bob right -> login /bob ro
        < 230 Login successful.
        > PASS again
        < 202 Already logged in.
        > ACCT dept
        < 202 ACCT not needed.
        ",
    );
}

#[test]
fn rfc959_5_4_acct_before_user_is_a_bad_sequence() {
    transcript(
        &config(),
        "
        < 220
        > ACCT dept
        < 503 Login with USER first.
        > USER bob
        < 331
        > ACCT dept
        < 503 Login with USER first.
        ",
    );
}

#[test]
fn rfc959_5_4_rename_sequence() {
    // RNFR: 450, 550, 500, 501, 502, 421, 530, 350; RNTO: 250, 532, 553...
    alice(
        "
        > RNFR old
        ! Stat /home/alice/old -> file 3
        < 350 Ready for RNTO.
        > RNTO new
        ! Rename /home/alice/old /home/alice/new -> done
        < 250 Rename successful.
        > RNTO again
        < 503 RNFR required first.
        > RNFR missing
        ! Stat /home/alice/missing -> Failed NotFound
        < 550 No such file or directory.
        > RNTO new
        < 503 RNFR required first.
        ",
    );
}

#[test]
fn rfc959_5_4_restart_sequence() {
    // REST: 500, 501, 502, 421, 530, 350; the next command carries it.
    alice(
        "
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227 Entering Passive Mode (10,0,0,1,117,48).
        > REST 100
        < 350 Restarting at 100. Send RETR, STOR or APPE.
        > RETR big.iso
        ! Transfer Retrieve /home/alice/big.iso @100 passive ascii -> Started 900
        < 150 Opening ASCII mode data connection for big.iso (900 bytes).
        -> Finished 900
        < 226 Transfer complete.
        > REST x
        < 501...
        ",
    );
}

#[test]
fn rfc959_commands_before_login_get_530() {
    transcript(
        &config(),
        "
        < 220
        > CWD /
        < 530 Please login with USER and PASS.
        > RETR f
        < 530
        > PASV
        < 530
        > TYPE I
        < 530
        > MKD x
        < 530
        > NOOP
        < 200 NOOP ok.
        > SYST
        < 215 UNIX Type: L8
        > FEAT
        < 211
        > HELP
        < 214
        ",
    );
}

// The four worked examples --------------------------------------------------

#[test]
fn example_1_retrieving_a_directory_list() {
    anonymous(
        "
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227 Entering Passive Mode (10,0,0,1,117,48).
        > LIST
        ! Transfer List / long passive -> Started
        < 150 Opening ASCII mode data connection for file list.
        -> Finished 312
        < 226 Transfer complete.
        > QUIT
        < 221 Goodbye.
        closed
        ",
    );
}

#[test]
fn example_1_with_port_and_a_directory() {
    anonymous(
        "
        > PORT 10,0,0,2,7,208
        < 200 PORT command successful.
        > LIST pub
        ! Transfer List /pub long active 10.0.0.2:2000 -> Started, Finished 80
        < 150 Opening ASCII mode data connection for file list.
        < 226 Transfer complete.
        > QUIT
        < 221 Goodbye.
        closed
        ",
    );
}

#[test]
fn example_2_storing_an_image_file_with_type_and_stru() {
    alice(
        "
        > TYPE I
        < 200 Switching to Binary mode.
        > STRU F
        < 200 Structure set to F.
        > PORT 10,0,0,2,7,208
        < 200 PORT command successful.
        > STOR photo.jpg
        ! Transfer Store /home/alice/photo.jpg replace active 10.0.0.2:2000 -> Started
        < 150 Opening BINARY mode data connection for photo.jpg.
        -> Finished 48213
        < 226 Transfer complete.
        ",
    );
}

#[test]
fn example_3_anonymous_session_with_pwd() {
    transcript(
        &config(),
        r#"
        < 220 ferry FTP server ready
        > USER anonymous
        < 331 Guest login ok, send your complete e-mail address as password.
        > PASS guest
        < 230 Login successful.
        > PWD
        < 257 "/" is the current directory.
        > CWD pub
        ! Stat /pub -> dir
        < 250 Directory successfully changed.
        > PWD
        < 257 "/pub" is the current directory.
        "#,
    );
}

#[test]
fn example_4_a_session_closing_with_quit() {
    let t = anonymous(
        "
        > QUIT
        < 221 Goodbye.
        closed
        ",
    );
    assert!(t.logs.contains(&LogEvent::Closed {
        reason: CloseReason::Quit
    }));
    // Nothing is read after QUIT.
    let mut t = Transcript::new(&config());
    t.run("< 220\n> QUIT\n< 221\nclosed");
    assert_eq!(t.session.handle_input(t.now, b"NOOP\r\n"), 0);
    assert!(t.session.transmit().is_empty());
}

// Login ---------------------------------------------------------------------

#[test]
fn anonymous_login_needs_no_authentication_and_may_not_write() {
    let t = anonymous(
        "
        > STOR up.txt
        < 550 Permission denied.
        > MKD d
        < 550 Permission denied.
        > DELE f
        < 550 Permission denied.
        > RNFR f
        < 550 Permission denied.
        > RMD d
        < 550 Permission denied.
        > APPE f
        < 550 Permission denied.
        > STOU
        < 550 Permission denied.
        ",
    );
    assert!(t.logs.contains(&LogEvent::LoggedIn {
        user: "anonymous".into(),
        anonymous: true
    }));
}

#[test]
fn ftp_is_the_other_anonymous_name() {
    transcript(
        &config(),
        "
        < 220
        > user FTP
        < 331 Guest login ok, send your complete e-mail address as password.
        > pass
        < 230 Login successful.
        ",
    );
}

#[test]
fn without_anonymous_access_the_name_is_checked_like_any_other() {
    transcript(
        &Config::default(),
        "
        < 220
        > USER anonymous
        < 331 Please specify the password.
        > PASS x@y
        ! Authenticate anonymous x@y -> refused
        ~ 1s
        < 530 Login incorrect.
        ",
    );
}

#[test]
fn failed_login_530_is_held_for_the_delay() {
    let mut t = Transcript::new(&config());
    t.step(
        "
        < 220
        > USER bob
        < 331
        > PASS bad
        ! Authenticate bob bad -> refused
        ",
    );
    assert_eq!(
        t.session.poll_timeout(),
        Some(t.now + Duration::from_secs(1))
    );
    // Nothing yet, and a pipelined command waits behind the 530.
    t.step("> NOOP\nwaiting\n~ 999ms\nwaiting");
    t.run("~ 1ms\n< 530 Login incorrect.\n< 200 NOOP ok.");
    assert!(t
        .logs
        .contains(&LogEvent::LoginFailed { user: "bob".into() }));
}

#[test]
fn third_failed_login_closes_the_session() {
    let t = transcript(
        &config(),
        "
        < 220
        > USER bob
        < 331
        > PASS 1
        ! Authenticate bob 1 -> refused
        ~ 1s
        < 530 Login incorrect.
        > USER bob
        < 331
        > PASS 2
        ! Authenticate bob 2 -> refused
        ~ 1s
        < 530 Login incorrect.
        open
        > USER bob
        < 331
        > PASS 3
        ! Authenticate bob 3 -> refused
        ~ 1s
        < 530 Login incorrect.
        closed
        ",
    );
    assert!(t.logs.contains(&LogEvent::Closed {
        reason: CloseReason::TooManyLoginFailures
    }));
}

#[test]
fn rein_logs_out_and_resets_parameters() {
    alice(
        "
        > TYPE I
        < 200
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > REIN
        ! ReleaseData
        < 220 Service ready for new user.
        > PWD
        < 530 Please login with USER and PASS.
        > USER alice
        < 331
        > PASS secret
        ! Authenticate alice secret -> login /home/alice rw
        < 230
        > PORT 10,0,0,2,7,208
        < 200
        > RETR x
        ! Transfer Retrieve /home/alice/x @0 active 10.0.0.2:2000 ascii -> Failed NotFound
        < 550 No such file or directory.
        ",
    );
}

// Reply codes of single commands ------------------------------------------

#[test]
fn syntax_errors_unknown_verbs_and_unimplemented_commands() {
    anonymous(
        "
        > XYZZY plugh
        < 500 Unknown command.
        >
        < 500 Unknown command.
        > 12345
        < 500 Unknown command.
        > CWD
        < 501...
        > PORT 1,2,3
        < 501...
        > SMNT /mnt
        < 502 SMNT not implemented.
        > SITE CHMOD 644 f
        < 502 SITE command not implemented.
        > SITE HELP
        < 214 SITE UTIME is offered.
        > HELP RETR
        < 214 Command RETR is recognized.
        > HELP FROB
        < 502...
        > ALLO 1000
        < 202 ALLO not needed.
        > NOOP
        < 200 NOOP ok.
        ",
    );
}

#[test]
fn type_stru_and_mode() {
    anonymous(
        "
        > TYPE A
        < 200 Switching to ASCII mode.
        > TYPE A N
        < 200 Switching to ASCII mode.
        > TYPE I
        < 200 Switching to Binary mode.
        > TYPE L 8
        < 200 Switching to Binary mode.
        > TYPE L 16
        < 504 Only TYPE A, E, I and L 8 are supported.
        > TYPE E
        < 200 Switching to EBCDIC mode (code page 037).
        > TYPE E N
        < 200 Switching to EBCDIC mode (code page 037).
        > TYPE E T
        < 504...
        > TYPE A T
        < 504...
        > TYPE E C
        < 504...
        > TYPE Q
        < 501...
        > STRU F
        < 200 Structure set to F.
        > STRU R
        < 200 Structure set to R (a record per line).
        > STRU P
        < 504 STRU P has no Unix file form; use STRU F or R.
        > MODE S
        < 200 Mode set to S.
        > MODE B
        < 200 Mode set to B.
        > MODE C
        < 200 Mode set to C.
        > MODE Z
        < 200 Mode set to Z.
        > MODE X
        < 501...
        > MODE C
        < 200 Mode set to C.
        > STAT
        < 211-FTP server status:
        <  Connected to 10.0.0.2
        <  Logged in as anonymous (anonymous)
        <  TYPE: EBCDIC, STRU: R, MODE: C
        <  Data connection: none
        <  Directory: /
        < 211 End of status.
        > PORT 10,0,0,2,7,208
        < 200
        > RETR a
        ! Transfer Retrieve /a @0 active 10.0.0.2:2000 Ebcdic/Record/Compressed -> Started 5, Finished 5
        < 150 Opening EBCDIC mode data connection for a (5 bytes).
        < 226...
        > PORT 10,0,0,2,7,208
        < 200
        > NLST
        ! Transfer List / names active 10.0.0.2:2000 Image/File/Compressed -> Started, Finished 0
        < 150...
        < 226...
        > REIN
        < 220...
        > USER anonymous
        < 331...
        > PASS x
        < 230...
        > PORT 10,0,0,2,7,208
        < 200
        > RETR a
        ! Transfer Retrieve /a @0 active 10.0.0.2:2000 ascii -> Started 5, Finished 5
        < 150...
        < 226...
        ",
    );
}

#[test]
fn rang_restricts_the_next_retr_to_its_bytes() {
    // draft-bryan-ftp-range §3: both ends included; REST and RANG replace
    // each other; `RANG 1 0` resets; a STOR after RANG is refused.
    alice(
        "
        > RANG 10 19
        < 350 Restarting at 10. Ending byte 19. Send RETR.
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > TYPE I
        < 200...
        > RETR big
        ! Transfer Retrieve /home/alice/big @10 len 10 passive -> Started 10, Finished 10
        < 150 Opening BINARY mode data connection for big (10 bytes).
        < 226...
        > RANG 10 19
        < 350...
        > REST 5
        < 350...
        > PORT 10,0,0,2,7,208
        < 200
        > RETR big
        ! Transfer Retrieve /home/alice/big @5 active 10.0.0.2:2000 -> Started 995, Finished 995
        < 150...
        < 226...
        > REST 5
        < 350...
        > RANG 0 0
        < 350 Restarting at 0. Ending byte 0. Send RETR.
        > PORT 10,0,0,2,7,208
        < 200
        > RETR big
        ! Transfer Retrieve /home/alice/big @0 len 1 active 10.0.0.2:2000 -> Started 1, Finished 1
        < 150...
        < 226...
        > RANG 5 9
        < 350...
        > RANG 1 0
        < 350 Range reset; transfers send whole files.
        > PORT 10,0,0,2,7,208
        < 200
        > RETR big
        ! Transfer Retrieve /home/alice/big @0 active 10.0.0.2:2000 -> Started 1000, Finished 1000
        < 150...
        < 226...
        > RANG 9 5
        < 501 RANG start must not be after its end.
        > RANG 5
        < 501...
        > RANG a b
        < 501...
        > RANG 0 4
        < 350...
        > PORT 10,0,0,2,7,208
        < 200
        > STOR up
        < 504 RANG applies to RETR only; the range is reset.
        > STOR up
        ! Transfer Store /home/alice/up replace active 10.0.0.2:2000 -> Started, Finished 3
        < 150...
        < 226...
        ",
    );
}

#[test]
fn feat_lists_exactly_what_is_implemented() {
    anonymous(
        "
        > FEAT
        < 211-Features:
        <  EPRT
        <  EPSV
        <  HASH SHA-256*;SHA-1;MD5
        <  MDTM
        <  MFMT
        <  MLST type*;size*;modify*;perm*;unique*;
        <  MODE Z
        <  PASV
        <  RANG STREAM
        <  REST STREAM
        <  SIZE
        <  TVFS
        <  UTF8
        < 211 End
        > OPTS MLST type;size;
        < 200 MLST OPTS type;size;
        > OPTS HASH md5
        < 200 MD5
        > FEAT
        < 211-Features:
        <  EPRT
        <  EPSV
        <  HASH SHA-256;SHA-1;MD5*
        <  MDTM
        <  MFMT
        <  MLST type*;size*;modify;perm;unique;
        <  MODE Z
        <  PASV
        <  RANG STREAM
        <  REST STREAM
        <  SIZE
        <  TVFS
        <  UTF8
        < 211 End
        ",
    );
}

#[test]
fn opts_utf8_and_mlst() {
    transcript(
        &config(),
        "
        < 220
        > OPTS UTF8 ON
        < 200 Always in UTF8 mode.
        > OPTS UTF8 OFF
        < 504...
        > OPTS FROB 1
        < 501 Option not understood.
        > OPTS MLST size;bogus;Modify;
        < 200 MLST OPTS size;modify;
        > OPTS MLST
        < 200 MLST OPTS
        > OPTS MODE Z
        < 200 MODE Z LEVEL 6
        > OPTS MODE Z LEVEL 9
        < 200 MODE Z LEVEL 9
        > OPTS mode z level 0
        < 200 MODE Z LEVEL 0
        > OPTS MODE Z LEVEL 10
        < 501 LEVEL takes 0 to 9.
        > OPTS MODE Z LEVEL
        < 504 MODE Z takes only LEVEL.
        > OPTS MODE Z ENGINE 1
        < 504 MODE Z takes only LEVEL.
        > OPTS MODE B
        < 504 Only MODE Z takes options.
        > OPTS MODE Z
        < 200 MODE Z LEVEL 0
        ",
    );
}

#[test]
fn syst_help_and_security_commands() {
    anonymous(
        "
        > SYST
        < 215 UNIX Type: L8
        > HELP
        < 214-The following commands are recognized.
        <  ABOR ACCT ALLO APPE AUTH CCC CDUP CWD DELE EPRT EPSV FEAT
        <  HASH HELP LIST MDTM MFMT MKD MLSD MLST MODE NLST NOOP OPTS
        <  PASS PASV PBSZ PORT PROT PWD QUIT RANG REIN REST RETR RMD
        <  RNFR RNTO SITE SIZE SMNT STAT STOR STOU STRU SYST TYPE USER
        <  XCUP XCWD XMKD XPWD XRMD
        < 214 Help OK.
        > AUTH TLS
        < 504 Security mechanism not implemented.
        > PBSZ 0
        < 503 PBSZ needs a completed AUTH first.
        > PROT P
        < 503 PROT needs AUTH and PBSZ first.
        ",
    );
}

#[test]
fn stat_without_argument_reports_the_session() {
    anonymous(
        "
        > TYPE I
        < 200
        > STAT
        < 211-FTP server status:
        <  Connected to 10.0.0.2
        <  Logged in as anonymous (anonymous)
        <  TYPE: BINARY, STRU: F, MODE: S
        <  Data connection: none
        <  Directory: /
        < 211 End of status.
        ",
    );
}

#[test]
fn stat_of_a_path_lists_it_on_the_control_connection() {
    // RFC 959 §4.1.3: STAT with an argument is "analogous to LIST", the
    // lines coming as one multi-line reply instead of over a data
    // connection.
    anonymous(
        "
        > STAT pub
        ! List /pub
        -> lines -rw-r--r-- 1 ftp ftp 12 Sep 09 01:46 a.txt | drwxr-xr-x 2 ftp ftp 4096 Sep 09 01:46 sub
        < 213-Status of /pub:
        < -rw-r--r-- 1 ftp ftp 12 Sep 09 01:46 a.txt
        < drwxr-xr-x 2 ftp ftp 4096 Sep 09 01:46 sub
        < 213 End of status.
        > STAT pub/a.txt
        ! List /pub/a.txt -> lines -rw-r--r-- 1 ftp ftp 12 Sep 09 01:46 a.txt
        < 213-Status of /pub/a.txt:
        < -rw-r--r-- 1 ftp ftp 12 Sep 09 01:46 a.txt
        < 213 End of status.
        > STAT empty
        ! List /empty -> lines
        < 213-Status of /empty:
        < 213 End of status.
        > STAT nowhere
        ! List /nowhere -> Failed NotFound
        < 550 No such file or directory.
        ",
    );
}

#[test]
fn a_listed_name_cannot_end_the_status_reply() {
    // A file named "213 x" lists as a line that, at the start of a line,
    // would end the reply early; it is written with a leading space.
    anonymous(
        "
        > STAT d
        ! List /d -> lines 213 x | 213-y
        < 213-Status of /d:
        <  213 x
        < 213-y
        < 213 End of status.
        > NOOP
        < 200
        ",
    );
}

#[test]
fn stat_with_only_ls_options_is_the_current_directory() {
    // lftp with `ftp:use-stat-for-list` sends `STAT .`; other clients send
    // `STAT -la` as LIST's control-connection twin. Options alone name
    // the current directory, as for LIST, rather than an empty path (501).
    anonymous(
        "
        > STAT -la
        ! List / -> lines drwxr-xr-x 2 ftp ftp 4096 Sep 09 01:46 pub
        < 213-Status of /:
        < drwxr-xr-x 2 ftp ftp 4096 Sep 09 01:46 pub
        < 213 End of status.
        > STAT .
        ! List / -> lines
        < 213-Status of /:
        < 213 End of status.
        > CWD pub
        ! Stat /pub -> dir
        < 250 Directory successfully changed.
        > STAT -l
        ! List /pub -> lines
        < 213-Status of /pub:
        < 213 End of status.
        ",
    );
}

// Paths ----------------------------------------------------------------------

#[test]
fn pwd_quotes_double_quotes_by_doubling_them() {
    alice(
        r#"
        > CWD say "hi"
        ! Stat /home/alice/say "hi" -> dir
        < 250 Directory successfully changed.
        > PWD
        < 257 "/say ""hi""" is the current directory.
        > MKD a"b
        ! MakeDir /home/alice/say "hi"/a"b -> done
        < 257 "/say ""hi""/a""b" created.
        "#,
    );
}

#[test]
fn dot_dot_is_clamped_at_the_users_home() {
    alice(
        "
        > CWD ../../..
        ! Stat /home/alice -> dir
        < 250 Directory successfully changed.
        > PWD
        < 257 \"/\" is the current directory.
        > RETR ../../etc/passwd
        < 425 Use PORT or PASV first.
        > PORT 10,0,0,2,7,208
        < 200
        > RETR ../../etc/passwd
        ! Transfer Retrieve /home/alice/etc/passwd @0 active 10.0.0.2:2000 ascii -> Failed NotFound
        < 550 No such file or directory.
        > SIZE /../../../etc/shadow
        ! Stat /home/alice/etc/shadow -> Failed NotFound
        < 550...
        > CDUP
        ! Stat /home/alice -> dir
        < 200 Directory successfully changed.
        ",
    );
}

#[test]
fn cwd_cdup_and_their_failures() {
    anonymous(
        "
        > CWD pub/a.txt
        ! Stat /pub/a.txt -> file 3
        < 550 Not a directory.
        > CWD nowhere
        ! Stat /nowhere -> Failed NotFound
        < 550 No such file or directory.
        > CWD /pub/sub
        ! Stat /pub/sub -> dir
        < 250
        > CDUP
        ! Stat /pub -> dir
        < 200 Directory successfully changed.
        > PWD
        < 257 \"/pub\" is the current directory.
        > XCUP
        ! Stat / -> dir
        < 200
        > XPWD
        < 257 \"/\" is the current directory.
        ",
    );
}

#[test]
fn a_nul_in_a_path_is_a_bad_argument() {
    let mut t = Transcript::new(&config());
    t.step(ANONYMOUS);
    t.send(b"CWD a\0b\r\n");
    t.run("< 501...");
}

#[test]
fn file_system_commands_with_write_access() {
    alice(
        "
        > MKD new
        ! MakeDir /home/alice/new -> done
        < 257 \"/new\" created.
        > MKD new
        ! MakeDir /home/alice/new -> Failed AlreadyExists
        < 550 File exists.
        > RMD new
        ! RemoveDir /home/alice/new -> done
        < 250 Remove directory operation successful.
        > RMD full
        ! RemoveDir /home/alice/full -> Failed DirectoryNotEmpty
        < 550 Directory not empty.
        > DELE f
        ! Delete /home/alice/f -> done
        < 250 Delete operation successful.
        > DELE g
        ! Delete /home/alice/g -> Failed PermissionDenied
        < 550 Permission denied.
        > XMKD x
        ! MakeDir /home/alice/x -> done
        < 257 \"/x\" created.
        > XRMD x
        ! RemoveDir /home/alice/x -> done
        < 250
        ",
    );
}

#[test]
fn size_mdtm_and_mlst() {
    anonymous(
        "
        > SIZE pub/a.txt
        ! Stat /pub/a.txt -> file 1234
        < 213 1234
        > SIZE pub
        ! Stat /pub -> dir
        < 550 Not a regular file.
        > MDTM pub/a.txt
        ! Stat /pub/a.txt -> file 1234
        < 213 20010909014640
        > MLST pub/a.txt
        ! Stat /pub/a.txt -> file 1234
        < 250-Listing /pub/a.txt
        <  type=file;size=1234;modify=20010909014640;perm=r;unique=801-64; /pub/a.txt
        < 250 End
        > MLST
        ! Stat / -> dir
        < 250-Listing /
        <  type=dir;modify=20010909014640;perm=el;unique=801-2; /
        < 250 End
        ",
    );
}

#[test]
fn rnfr_must_be_immediately_followed_by_rnto() {
    alice(
        "
        > RNFR a
        ! Stat /home/alice/a -> file 1
        < 350 Ready for RNTO.
        > NOOP
        < 200
        > RNTO b
        < 503 RNFR required first.
        > RNFR a
        ! Stat /home/alice/a -> file 1
        < 350
        > RNFR c
        ! Stat /home/alice/c -> file 1
        < 350
        > RNTO d
        ! Rename /home/alice/c /home/alice/d -> Failed InvalidName
        < 553 File name not allowed.
        ",
    );
}

// Data connections -------------------------------------------------------------

#[test]
fn port_and_eprt_to_another_host_are_refused_without_a_request() {
    alice(
        "
        > PORT 10,0,0,9,7,208
        < 504 Illegal address: only the client's own, port 1024 or above.
        > EPRT |1|10.0.0.9|2000|
        < 504...
        > PORT 10,0,0,2,0,25
        < 504...
        > EPRT |1|10.0.0.2|1023|
        < 504...
        > EPRT |2|::1|2000|
        < 504...
        > RETR f
        < 425 Use PORT or PASV first.
        > EPRT |1|10.0.0.2|2000|
        < 200 EPRT command successful.
        > EPRT |3|x|1|
        < 522 Network protocol not supported, use (1).
        ",
    );
}

#[test]
fn ipv6_control_connections_use_eprt_and_epsv() {
    let mut t = Transcript::between(
        &config(),
        "[2001:db8::2]:40000".parse().unwrap(),
        "[2001:db8::1]:21".parse().unwrap(),
    );
    t.run(&format!(
        "{ANONYMOUS}
        > PASV
        < 522 PASV needs IPv4; use EPSV.
        > EPSV 1
        < 522 Network protocol not supported, use (2).
        > EPSV 2
        ! Listen 2001:db8::1 -> listening [2001:db8::1]:30000
        < 229 Entering Extended Passive Mode (|||30000|)
        > EPRT |2|2001:db8::9|2000|
        < 504...
        > EPRT |2|2001:db8::2|2000|
        ! ReleaseData
        < 200 EPRT command successful.
        "
    ));
    assert!(t
        .session
        .accept_data_peer("[2001:db8::2]:5555".parse().unwrap()));
    assert!(!t
        .session
        .accept_data_peer("[2001:db8::9]:5555".parse().unwrap()));
}

#[test]
fn ipv4_mapped_peers_count_as_ipv4() {
    let mut t = Transcript::between(
        &config(),
        "[::ffff:10.0.0.2]:40000".parse().unwrap(),
        "[::ffff:10.0.0.1]:21".parse().unwrap(),
    );
    t.run(&format!(
        "{ANONYMOUS}
        > PORT 10,0,0,2,7,208
        < 200 PORT command successful.
        > PASV
        ! Listen 10.0.0.1 -> listening [::ffff:10.0.0.1]:30000
        < 227 Entering Passive Mode (10,0,0,1,117,48).
        "
    ));
}

#[test]
fn passive_listener_accepts_only_the_control_peer() {
    let t = anonymous(
        "
        > EPSV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30001
        < 229 Entering Extended Passive Mode (|||30001|)
        ",
    );
    assert!(t.session.accept_data_peer("10.0.0.2:6000".parse().unwrap()));
    assert!(t
        .session
        .accept_data_peer("[::ffff:10.0.0.2]:6000".parse().unwrap()));
    assert!(!t.session.accept_data_peer("10.0.0.9:6000".parse().unwrap()));
}

#[test]
fn epsv_all_refuses_every_other_data_setup() {
    anonymous(
        "
        > EPSV ALL
        < 200 EPSV ALL ok.
        > PORT 10,0,0,2,7,208
        < 503 Only EPSV after EPSV ALL.
        > EPRT |1|10.0.0.2|2000|
        < 503...
        > PASV
        < 503...
        > EPSV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30002
        < 229 Entering Extended Passive Mode (|||30002|)
        > NLST
        ! Transfer List / names passive -> Started, Finished 10
        < 150...
        < 226...
        ",
    );
}

#[test]
fn pasv_replaces_and_port_releases_the_listener() {
    anonymous(
        "
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227 Entering Passive Mode (10,0,0,1,117,48).
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30003
        < 227 Entering Passive Mode (10,0,0,1,117,51).
        > PORT 10,0,0,2,7,208
        ! ReleaseData
        < 200 PORT command successful.
        > EPSV
        ! Listen 10.0.0.1 -> Failed Io
        < 425 Can't open passive connection.
        > LIST
        < 425 Use PORT or PASV first.
        ",
    );
}

#[test]
fn a_transfer_uses_up_the_data_setup() {
    anonymous(
        "
        > PORT 10,0,0,2,7,208
        < 200
        > RETR a
        ! Transfer Retrieve /a @0 active 10.0.0.2:2000 ascii -> Failed NotFound
        < 550...
        > RETR a
        < 425 Use PORT or PASV first.
        ",
    );
}

// Transfers ---------------------------------------------------------------------

#[test]
fn transfer_failures_map_to_their_codes() {
    for (failure, reply, started) in [
        ("NoDataConnection", "425 Can't open data connection.", true),
        (
            "DataConnectionLost",
            "426 Connection closed; transfer aborted.",
            true,
        ),
        ("Io", "451 Local error in processing.", true),
        ("StorageFull", "552 Insufficient storage space.", true),
        ("InvalidName", "553 File name not allowed.", false),
        ("IsADirectory", "550 Is a directory.", false),
        ("NotADirectory", "550 Not a directory.", false),
        ("PermissionDenied", "550 Permission denied.", false),
    ] {
        let start = if started {
            "-> Started\n< 150 Opening BINARY mode data connection for f."
        } else {
            ""
        };
        alice(&format!(
            "
            > TYPE I
            < 200
            > PORT 10,0,0,2,7,208
            < 200
            > STOR f
            ! Transfer Store /home/alice/f replace active 10.0.0.2:2000
            {start}
            -> Failed {failure}
            < {reply}
            "
        ));
    }
}

#[test]
fn stor_appe_stou_and_rest() {
    alice(
        "
        > TYPE I
        < 200
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > REST 4096
        < 350...
        > STOR part.bin
        ! Transfer Store /home/alice/part.bin resume 4096 passive -> Started, Finished 10
        < 150...
        < 226...
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > REST 10
        < 350...
        > APPE log.txt
        ! Transfer Store /home/alice/log.txt append passive -> Started, Finished 10
        < 150 Opening BINARY mode data connection for log.txt.
        < 226...
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > STOU
        ! Transfer Store /home/alice/upload unique passive -> Started name=upload.1, Finished 7
        < 150 FILE: upload.1
        < 226 Transfer complete.
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > REST 5
        < 350...
        > STOU report.txt
        ! Transfer Store /home/alice/report.txt unique passive -> Started, Finished 7
        < 150 FILE: report.txt
        < 226 Transfer complete.
        ",
    );
}

#[test]
fn rest_applies_to_the_next_command_only() {
    anonymous(
        "
        > REST 100
        < 350...
        > NOOP
        < 200
        > PORT 10,0,0,2,7,208
        < 200
        > RETR a
        ! Transfer Retrieve /a @0 active 10.0.0.2:2000 ascii -> Started 5, Finished 5
        < 150 Opening ASCII mode data connection for a (5 bytes).
        < 226 Transfer complete.
        > REST 7
        < 350...
        > SIZE a
        ! Stat /a -> file 5
        < 213 5
        > PORT 10,0,0,2,7,208
        < 200
        > RETR a
        ! Transfer Retrieve /a @0 active 10.0.0.2:2000 ascii -> Started 5, Finished 5
        < 150...
        < 226...
        > REST 50
        < 350...
        > PORT 10,0,0,2,7,208
        < 200
        > LIST
        ! Transfer List / long active 10.0.0.2:2000 -> Started, Finished 0
        < 150...
        < 226...
        ",
    );
}

#[test]
fn rest_survives_data_connection_setup() {
    // REST, then PASV/PORT/TYPE, then RETR: the offset still applies,
    // and is used up by the transfer.
    anonymous(
        "
        > REST 2
        < 350...
        > EPSV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 229...
        > TYPE I
        < 200
        > RETR hello.txt
        ! Transfer Retrieve /hello.txt @2 passive -> Started 4, Finished 4
        < 150...
        < 226...
        > REST 3
        < 350...
        > PORT 10,0,0,2,7,208
        < 200
        > STOR up
        < 550 Permission denied.
        > PORT 10,0,0,2,7,208
        < 200
        > RETR hello.txt
        ! Transfer Retrieve /hello.txt @0 active 10.0.0.2:2000 -> Started 6, Finished 6
        < 150...
        < 226...
        ",
    );
}

#[test]
fn list_options_are_dropped() {
    anonymous(
        "
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > LIST -la
        ! Transfer List / long passive -> Started, Finished 0
        < 150...
        < 226...
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > LIST -l -a my dir
        ! Transfer List /my dir long passive -> Started, Finished 0
        < 150...
        < 226...
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > MLSD pub
        ! Transfer List /pub machine passive -> Failed NotADirectory
        < 550 Not a directory.
        ",
    );
}

#[test]
fn abor_during_a_transfer_gives_426_then_226() {
    anonymous(
        "
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > RETR big
        ! Transfer Retrieve /big @0 passive ascii -> Started 1000000
        < 150...
        > ABOR
        ! Abort
        -> Failed Aborted
        < 426 Connection closed; transfer aborted.
        < 226 ABOR successful.
        > NOOP
        < 200
        ",
    );
}

#[test]
fn abor_racing_the_end_of_a_transfer_gives_226_twice() {
    anonymous(
        "
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > RETR big
        ! Transfer Retrieve /big @0 passive ascii -> Started 10
        < 150...
        > ABOR
        ! Abort
        -> Finished 10
        < 226 Transfer complete.
        < 226 ABOR successful.
        ",
    );
}

#[test]
fn abor_when_idle() {
    anonymous(
        "
        > ABOR
        < 226 No transfer to ABOR.
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > ABOR
        ! ReleaseData
        < 225 No transfer to ABOR.
        > LIST
        < 425 Use PORT or PASV first.
        > PORT 10,0,0,2,7,208
        < 200
        > ABOR
        < 226 No transfer to ABOR.
        > RETR a
        < 425 Use PORT or PASV first.
        ",
    );
}

#[test]
fn stat_during_a_transfer_reports_progress() {
    let t = anonymous(
        "
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > RETR big
        ! Transfer Retrieve /big @0 passive ascii -> Started 1000
        < 150 Opening ASCII mode data connection for big (1000 bytes).
        progress 400
        > STAT
        < 213 Status: 400 bytes transferred.
        progress 900
        > STAT
        < 213 Status: 900 bytes transferred.
        -> Finished 1000
        < 226 Transfer complete.
        ",
    );
    assert!(t.logs.contains(&LogEvent::Transfer {
        verb: "RETR",
        path: RootPath::ROOT.resolve("big").unwrap(),
        bytes: 1000,
        code: ReplyCode::CLOSING_DATA,
    }));
}

#[test]
fn quit_during_a_transfer_waits_for_it_then_says_goodbye() {
    // RFC 959 §4.1.1: "If file transfer is in progress, the connection
    // will remain open for result response and the server will then
    // close it." A client that sent all of a STOR and then QUIT without
    // waiting for the 226 keeps its file.
    alice(
        "
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > STOR up.bin
        ! Transfer Store /home/alice/up.bin replace passive ascii -> Started
        < 150 Opening ASCII mode data connection for up.bin.
        > QUIT
        open
        -> Finished 5000000
        < 226 Transfer complete.
        < 221 Goodbye.
        closed
        ",
    );
}

#[test]
fn other_commands_wait_for_the_transfer() {
    anonymous(
        "
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > LIST
        ! Transfer List / long passive -> Started
        < 150...
        > PWD
        > NOOP
        -> Finished 42
        < 226 Transfer complete.
        < 257 \"/\" is the current directory.
        < 200 NOOP ok.
        ",
    );
}

#[test]
fn abor_behind_a_waiting_command_still_stops_the_transfer() {
    // A keep-alive NOOP sent during a long transfer must not hide the
    // ABOR after it (with Telnet IP and Synch, as RFC 959 §4.1.3 asks):
    // the transfer stops at once, and the replies keep command order.
    let mut t = anonymous(
        "
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > RETR big
        ! Transfer Retrieve /big @0 passive ascii -> Started
        < 150...
        ",
    );
    t.send(b"NOOP\r\n\xff\xf4\xff\xf2ABOR\r\n");
    t.run(
        "
        ! Abort
        -> Failed Aborted
        < 426 Connection closed; transfer aborted.
        < 200 NOOP ok.
        < 226 ABOR successful.
        > NOOP
        < 200
        ",
    );
}

#[test]
fn quit_behind_a_waiting_command_closes_in_turn() {
    anonymous(
        "
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > RETR big
        ! Transfer Retrieve /big @0 passive ascii -> Started
        < 150...
        > PWD
        > QUIT
        open
        -> Finished 10
        < 226 Transfer complete.
        < 257...
        < 221 Goodbye.
        closed
        ",
    );
}

#[test]
fn stat_before_the_150_waits_for_the_transfer() {
    // Answered at once, a 213 before the 150 would read as RETR's reply.
    anonymous(
        "
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > RETR big
        > STAT
        ! Transfer Retrieve /big @0 passive ascii -> Started 5
        < 150...
        -> Finished 5
        < 226 Transfer complete.
        < 211
        ",
    );
}

#[test]
fn commands_past_the_deferred_limit_wait_in_the_client_input() {
    let mut t = anonymous(
        "
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > RETR big
        ! Transfer Retrieve /big @0 passive ascii -> Started
        < 150...
        progress 1
        ",
    );
    // 1,000 NOOPs: more than a session holds during a transfer.
    t.send(&b"NOOP\r\n".repeat(1000));
    t.run("waiting");
    // Offering the untaken bytes again is no activity: the data timeout
    // still fires, measured from the last progress.
    t.run(
        "
        ~ 200s
        waiting
        ~ 100s
        ! Abort
        -> Failed Aborted
        < 426 Connection closed; transfer aborted.
        < 421 Data connection timed out.
        closed
        ",
    );
}

#[test]
fn commands_after_abor_wait_for_its_reply() {
    anonymous(
        "
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > RETR big
        ! Transfer Retrieve /big @0 passive ascii -> Started
        < 150...
        > ABOR
        > STAT
        ! Abort
        -> Failed DataConnectionLost
        < 426...
        < 226 ABOR successful.
        < 211
        ",
    );
}

// Pipelining, limits, timeouts ---------------------------------------------------

#[test]
fn pipelined_commands_are_answered_in_order() {
    let mut t = Transcript::new(&config());
    t.step("< 220");
    t.send(b"USER anonymous\r\nPASS x\r\nCWD pub\r\nPWD\r\nSIZE a\r\nNOOP\r\n");
    t.run(
        "
        < 331
        < 230
        ! Stat /pub -> dir
        < 250
        < 257 \"/pub\" is the current directory.
        ! Stat /pub/a -> file 9
        < 213 9
        < 200
        ",
    );
}

#[test]
fn commands_split_across_chunks_and_bare_lf() {
    let mut t = Transcript::new(&config());
    t.step("< 220");
    for chunk in [
        &b"US"[..],
        b"ER anon",
        b"ymous\r",
        b"\nPASS x\n",
        b"NO",
        b"OP\r\n",
    ] {
        t.send(chunk);
    }
    t.run("< 331\n< 230\n< 200 NOOP ok.");
}

#[test]
fn an_over_long_line_is_refused_and_the_stream_stays_in_step() {
    let mut t = Transcript::new(&Config {
        max_line: 64,
        ..config()
    });
    t.step(ANONYMOUS);
    let long = format!("RETR {}\r\n", "x".repeat(200));
    t.send(long.as_bytes());
    t.run("< 500 Command line too long.\n> NOOP\n< 200 NOOP ok.");
}

#[test]
fn idle_session_gets_421_and_closes() {
    let mut t = Transcript::new(&config());
    t.step(ANONYMOUS);
    assert_eq!(
        t.session.poll_timeout(),
        Some(t.now + Duration::from_secs(300))
    );
    t.run(
        "
        ~ 299s
        > NOOP
        < 200
        ~ 299s
        open
        ~ 1s
        < 421 Timeout.
        closed
        ",
    );
    assert_eq!(t.session.poll_timeout(), None);
    assert!(t.logs.contains(&LogEvent::Closed {
        reason: CloseReason::IdleTimeout
    }));
}

#[test]
fn no_idle_timeout_during_a_transfer_that_moves() {
    let mut t = anonymous(
        "
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > RETR big
        ! Transfer Retrieve /big @0 passive ascii -> Started
        < 150...
        ",
    );
    // The data timeout runs from the last progress, not the idle timer.
    assert_eq!(
        t.session.poll_timeout(),
        Some(t.now + Duration::from_secs(300))
    );
    t.run(
        "
        ~ 299s
        progress 1000
        ~ 299s
        progress 2000
        ~ 299s
        open
        -> Finished 3000
        < 226
        ~ 300s
        < 421 Timeout.
        closed
        ",
    );
}

#[test]
fn a_transfer_without_progress_times_out_with_421() {
    let mut t = anonymous(
        "
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > RETR big
        ! Transfer Retrieve /big @0 passive ascii -> Started
        < 150...
        progress 10
        ~ 299s
        open
        ~ 1s
        ! Abort
        ",
    );
    // Stopped: nothing more to time until the driver confirms.
    assert_eq!(t.session.poll_timeout(), None);
    t.run(
        "
        -> Failed Aborted
        < 426 Connection closed; transfer aborted.
        < 421 Data connection timed out.
        closed
        ",
    );
    assert!(t.logs.contains(&LogEvent::Closed {
        reason: CloseReason::DataTimeout
    }));
}

#[test]
fn a_data_connection_that_never_comes_times_out() {
    // Started, but the client never connects: the driver reports no
    // progress, and the session stops the transfer.
    anonymous(
        "
        > EPSV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 229...
        > LIST
        ! Transfer List / long passive -> Started
        < 150...
        ~ 300s
        ! Abort
        -> Failed NoDataConnection
        < 426 Connection closed; transfer aborted.
        < 421 Data connection timed out.
        closed
        ",
    );
}

#[test]
fn every_command_is_logged_with_its_code_and_path() {
    let t = anonymous(
        "
        > SIZE pub/a
        ! Stat /pub/a -> file 3
        < 213 3
        > BOGUS
        < 500
        ",
    );
    assert!(t.logs.contains(&LogEvent::Command {
        verb: "SIZE",
        path: Some(RootPath::ROOT.resolve("pub/a").unwrap()),
        code: ReplyCode::FILE_STATUS,
    }));
    assert!(t
        .logs
        .iter()
        .any(|l| matches!(l, LogEvent::Command { code, .. } if *code == ReplyCode::SYNTAX_ERROR)));
}

#[test]
fn output_backpressure_stops_reading_until_replies_are_written() {
    let now = ftp_proto::Instant::ZERO;
    let mut session = ftp_proto::server::Session::new(
        &config(),
        transcript::CLIENT.parse().unwrap(),
        transcript::SERVER.parse().unwrap(),
        now,
    );
    let help = b"HELP\r\n".repeat(1000);
    let taken = session.handle_input(now, &help);
    assert!(
        taken < help.len(),
        "a client not reading replies is throttled"
    );
    assert!(session.transmit().len() < 64 * 1024);
    let n = session.transmit().len();
    session.transmitted(n);
    let more = session.handle_input(now, &help[taken..]);
    assert!(more > 0);
}

#[test]
fn shutdown_stops_a_transfer_then_answers_421() {
    let mut t = anonymous(
        "
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > RETR big
        ! Transfer Retrieve /big @0 passive ascii -> Started
        < 150...
        ",
    );
    let now = t.now;
    t.session.shutdown(now);
    t.session.shutdown(now);
    t.run(
        "
        ! Abort
        -> Failed Aborted
        < 426 Connection closed; transfer aborted.
        < 421 Server shutting down.
        closed
        ",
    );
    assert!(t.logs.contains(&LogEvent::Closed {
        reason: CloseReason::Shutdown
    }));
}

#[test]
fn shutdown_of_an_idle_session_answers_421_at_once() {
    let mut t = anonymous("");
    let now = t.now;
    t.session.shutdown(now);
    t.run(
        "
        < 421 Server shutting down.
        closed
        ",
    );
    assert_eq!(t.session.poll_timeout(), None);
}

#[test]
fn rest_beyond_the_end_of_a_stored_file_gets_554() {
    alice(
        "
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > REST 999999
        < 350...
        > STOR part.bin
        ! Transfer Store /home/alice/part.bin resume 999999 passive ascii -> Failed InvalidOffset
        < 554 Restart offset beyond the end of the file.
        > NOOP
        < 200
        ",
    );
}

#[test]
fn nothing_after_a_held_quit_is_read() {
    // The session ends once QUIT is answered, so an ABOR sent after it
    // stays unread rather than taken and never answered.
    let mut t = anonymous(
        "
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > RETR big
        ! Transfer Retrieve /big @0 passive ascii -> Started
        < 150...
        ",
    );
    let now = t.now;
    let input = b"QUIT\r\nABOR\r\n";
    assert_eq!(t.session.handle_input(now, input), 6);
    t.run(
        "
        -> Finished 10
        < 226 Transfer complete.
        < 221 Goodbye.
        closed
        ",
    );
}

#[test]
fn nlst_and_list_expand_wildcards_in_the_last_component() {
    anonymous(
        "
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > NLST f*.bin
        ! Transfer List / names named=\"\" pattern=\"f*.bin\" limit=10000 passive -> Started, Finished 20
        < 150...
        < 226...
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > NLST pub/[ab]?.txt
        ! Transfer List /pub names named=\"pub/\" pattern=\"[ab]?.txt\" limit=10000 passive -> Started, Finished 20
        < 150...
        < 226...
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > LIST -la /pub/*
        ! Transfer List /pub long named=\"/pub/\" pattern=\"*\" limit=10000 passive -> Started, Finished 20
        < 150...
        < 226...
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > LIST pub/*/x
        ! Transfer List /pub/*/x long passive -> Failed NotFound
        < 550 No such file or directory.
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > MLSD pub*
        ! Transfer List /pub* machine passive -> Failed NotFound
        < 550 No such file or directory.
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > NLST *
        ! Transfer List / names named=\"\" pattern=\"*\" limit=10000 passive -> Failed TooManyMatches
        < 550 Too many matches for the pattern; narrow it.
        ",
    );
}

#[test]
fn the_match_cap_comes_from_the_config() {
    let config = Config {
        max_matches: 3,
        ..config()
    };
    transcript(
        &config,
        "
        < 220
        > USER ftp
        < 331...
        > PASS x
        < 230...
        > EPSV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 229...
        > NLST ?
        ! Transfer List / names named=\"\" pattern=\"?\" limit=3 passive -> Started, Finished 2
        < 150...
        < 226...
        ",
    );
}

#[test]
fn mfmt_mdtm_and_site_utime_set_modification_times() {
    alice(
        "
        > MFMT 20210304050607 a b.txt
        ! SetModified /home/alice/a b.txt 1614834367 -> done
        < 213 Modify=20210304050607; a b.txt
        > MFMT 20210304050607.123 sub/c
        ! SetModified /home/alice/sub/c 1614834367 -> done
        < 213 Modify=20210304050607; sub/c
        > MFMT 20211304050607 x
        < 501...
        > MFMT 20210304050607
        < 501...
        > MFMT 20210304050607 gone
        ! SetModified /home/alice/gone 1614834367 -> Failed NotFound
        < 550 No such file or directory.
        > MDTM 20210304050607 f.bin
        ! SetModified /home/alice/f.bin 1614834367 -> done
        < 213 File modification time set.
        > MDTM 2021 f.bin
        ! Stat /home/alice/2021 f.bin -> file 3
        < 213 20010909014640
        > SITE UTIME 20210304050607 f.bin
        ! SetModified /home/alice/f.bin 1614834367 -> done
        < 200 Modification time set.
        > SITE UTIME 202103040506 f.bin
        ! SetModified /home/alice/f.bin 1614834360 -> done
        < 200 Modification time set.
        > SITE UTIME my file 20200101000000 20210304050607 20200101000000 UTC
        ! SetModified /home/alice/my file 1614834367 -> done
        < 200 Modification time set.
        > SITE UTIME nonsense
        < 501...
        ",
    );
}

#[test]
fn read_only_users_may_not_set_times() {
    // 550, as every other change to the tree by a user without write
    // access: the file exists, this user may not change it (532 would ask
    // for an account, which would not help).
    anonymous(
        "
        > MFMT 20210304050607 a.txt
        < 550 Permission denied.
        > MDTM 20210304050607 a.txt
        < 550 Permission denied.
        > SITE UTIME 20210304050607 a.txt
        < 550 Permission denied.
        > MDTM a.txt
        ! Stat /a.txt -> file 3
        < 213 20010909014640
        ",
    );
}

#[test]
fn hash_in_the_selected_algorithm() {
    anonymous(
        "
        > HASH pub/a b.bin
        ! Hash /pub/a b.bin SHA-256 -> hashed 3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
        < 213 SHA-256 0-3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad pub/a b.bin
        > OPTS HASH
        < 200 SHA-256
        > OPTS HASH SHA-1
        < 200 SHA-1
        > HASH x
        ! Hash /x SHA-1 -> hashed 0 da39a3ee5e6b4b0d3255bfef95601890afd80709
        < 213 SHA-1 0-0 da39a3ee5e6b4b0d3255bfef95601890afd80709 x
        > OPTS HASH CRC32
        < 504 Unknown algorithm; FEAT lists them.
        > HASH pub
        ! Hash /pub SHA-1 -> Failed IsADirectory
        < 550 Is a directory.
        > HASH
        < 501...
        > REIN
        < 220...
        > HASH x
        < 530...
        ",
    );
}

#[test]
fn an_append_the_storage_cannot_do_gets_553_naming_the_limitation() {
    alice(
        "
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > APPE log.txt
        ! Transfer Store /home/alice/log.txt append passive ascii -> Failed Unsupported
        < 553 Not supported on object storage (no append, resume, unique name or date change).
        > NOOP
        < 200
        ",
    );
}

// Restart markers (RFC 959 §3.5) -----------------------------------------

#[test]
fn restart_markers_of_an_upload_get_110_before_the_226() {
    // The marker as the client wrote it, then the file offset it fell at,
    // which REST takes (here the upload resumed at 100).
    alice(
        "
        > TYPE I
        < 200
        > MODE B
        < 200 Mode set to B.
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > REST 100
        < 350...
        > STOR part.bin
        ! Transfer Store /home/alice/part.bin resume 100 passive Image/File/Block -> Started
        < 150 Opening BINARY mode data connection for part.bin.
        mark 1048576 1048676
        < 110 MARK 1048576 = 1048676
        mark chk-2 2097252
        < 110 MARK chk-2 = 2097252
        # Not repeatable as it came (a space, nothing at all): no 110.
        mark two words 3000000
        mark  3000000
        -> Finished 3000000
        < 226 Transfer complete.
        ",
    );
}

#[test]
fn restart_markers_are_for_the_running_upload_only() {
    alice(
        "
        > MODE B
        < 200
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > RETR big
        ! Transfer Retrieve /home/alice/big @0 passive Ascii/File/Block -> Started 10
        < 150...
        # A download's markers are the server's own: nothing to answer.
        mark 5 5
        -> Finished 10
        < 226 Transfer complete.
        > PASV
        ! Listen 10.0.0.1 -> listening 10.0.0.1:30000
        < 227...
        > STOR up
        ! Transfer Store /home/alice/up replace passive Ascii/File/Block
        # Before its 150 a 110 would read as the transfer's start.
        mark 1 1
        -> Started
        < 150...
        mark 2 2
        < 110 MARK 2 = 2
        > ABOR
        ! Abort
        # Once stopping, the client waits for 426 and 226 alone.
        mark 3 3
        -> Failed Aborted
        < 426 Connection closed; transfer aborted.
        < 226 ABOR successful.
        ",
    );
}

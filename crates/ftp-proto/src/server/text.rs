//! Reply texts that take more than a literal: FEAT, HELP, passive-mode
//! addresses, the 150 line of a transfer, and the code of each failure.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddr};

use super::ops::{Failure, HashAlgorithm};
use crate::format::{Marker, Mode, Representation, Structure, MAX_MARKER};
use crate::listing::{mlst_feature, Facts};
use crate::reply::ReplyCode;

/// The FEAT reply text (RFC 2389 §3.2): every extension this session
/// implements, one per line with a leading space, in alphabetical order,
/// and nothing it does not.
pub(super) fn features(facts: &Facts, tls: bool, hash: HashAlgorithm) -> String {
    let mut mlst = Vec::new();
    mlst_feature(facts, &mut mlst);
    while matches!(mlst.last(), Some(b'\r' | b'\n')) {
        mlst.pop();
    }
    let mlst = String::from_utf8(mlst).unwrap_or_default();
    // RFC 4217 §6: AUTH TLS, PBSZ and PROT, only when TLS is offered.
    let (auth, pbsz_prot) = if tls {
        ("\n AUTH TLS", "\n PBSZ\n PROT")
    } else {
        ("", "")
    };
    // draft-bryan-ftpext-hash §3.2: the algorithms, the selected one starred.
    let mut hashes = String::from("HASH ");
    for (i, algorithm) in HashAlgorithm::ALL.into_iter().enumerate() {
        if i > 0 {
            hashes.push(';');
        }
        hashes.push_str(algorithm.name());
        if algorithm == hash {
            hashes.push('*');
        }
    }
    format!(
        "Features:{auth}\n EPRT\n EPSV\n {hashes}\n MDTM\n MFMT\n {}\n MODE Z\n PASV{pbsz_prot}\n RANG STREAM\n REST STREAM\n SIZE\n TVFS\n UTF8\nEnd",
        mlst.trim_start()
    )
}

/// The text of a 110 reply, which RFC 959 §4.2 fixes exactly: `MARK
/// yyyy = mmmm`, the sender's marker as it came, then the receiver's,
/// here the file offset the marker fell at (what REST takes).
pub(super) fn restart_mark(marker: &Marker) -> String {
    // Only printable ASCII reaches here (`printable_marker`).
    let sender = core::str::from_utf8(&marker.sender).unwrap_or_default();
    format!("MARK {sender} = {}", marker.offset)
}

/// Whether a sender's marker can be repeated in a 110 as it came: 1 to
/// [`MAX_MARKER`] printable characters, none a space (RFC 959 §3.4.2).
/// Anything else (a CR LF above all) would change the reply's meaning.
pub(super) fn printable_marker(sender: &[u8]) -> bool {
    !sender.is_empty() && sender.len() <= MAX_MARKER && sender.iter().all(u8::is_ascii_graphic)
}

/// Verbs this server recognises, for HELP (RFC 959 §4.1.3).
pub(super) const VERBS: &[&str] = &[
    "ABOR", "ACCT", "ALLO", "APPE", "AUTH", "CCC", "CDUP", "CWD", "DELE", "EPRT", "EPSV", "FEAT",
    "HASH", "HELP", "LIST", "MDTM", "MFMT", "MKD", "MLSD", "MLST", "MODE", "NLST", "NOOP", "OPTS",
    "PASS", "PASV", "PBSZ", "PORT", "PROT", "PWD", "QUIT", "RANG", "REIN", "REST", "RETR", "RMD",
    "RNFR", "RNTO", "SITE", "SIZE", "SMNT", "STAT", "STOR", "STOU", "STRU", "SYST", "TYPE", "USER",
    "XCUP", "XCWD", "XMKD", "XPWD", "XRMD",
];

/// The HELP reply text: the verbs, twelve to a line.
pub(super) fn help() -> String {
    let mut text = String::from("The following commands are recognized.");
    for row in VERBS.chunks(12) {
        text.push('\n');
        for verb in row {
            text.push(' ');
            text.push_str(verb);
        }
    }
    text.push_str("\nHelp OK.");
    text
}

/// `Entering Passive Mode (h1,h2,h3,h4,p1,p2).` (RFC 959 §4.1.2, PASV).
pub(super) fn passive(ip: Ipv4Addr, port: u16) -> String {
    let [a, b, c, d] = ip.octets();
    format!(
        "Entering Passive Mode ({a},{b},{c},{d},{},{}).",
        port >> 8,
        port & 0xff
    )
}

/// `Entering Extended Passive Mode (|||port|)` (RFC 2428 §3).
pub(super) fn extended_passive(addr: SocketAddr) -> String {
    format!("Entering Extended Passive Mode (|||{}|)", addr.port())
}

/// Code and text of the final reply for a failed request.
pub(super) fn failure(f: Failure) -> (ReplyCode, &'static str) {
    match f {
        Failure::NotFound => (ReplyCode::FILE_UNAVAILABLE, "No such file or directory."),
        Failure::PermissionDenied => (ReplyCode::FILE_UNAVAILABLE, "Permission denied."),
        Failure::NotADirectory => (ReplyCode::FILE_UNAVAILABLE, "Not a directory."),
        Failure::IsADirectory => (ReplyCode::FILE_UNAVAILABLE, "Is a directory."),
        Failure::AlreadyExists => (ReplyCode::FILE_UNAVAILABLE, "File exists."),
        Failure::DirectoryNotEmpty => (ReplyCode::FILE_UNAVAILABLE, "Directory not empty."),
        Failure::StorageFull => (ReplyCode::EXCEEDED_STORAGE, "Insufficient storage space."),
        Failure::InvalidName => (ReplyCode::NAME_NOT_ALLOWED, "File name not allowed."),
        Failure::NoDataConnection => (ReplyCode::CANT_OPEN_DATA, "Can't open data connection."),
        Failure::DataConnectionLost | Failure::Aborted => (
            ReplyCode::TRANSFER_ABORTED,
            "Connection closed; transfer aborted.",
        ),
        Failure::InvalidOffset => (
            ReplyCode::INVALID_REST,
            "Restart offset beyond the end of the file.",
        ),
        Failure::Io => (ReplyCode::LOCAL_ERROR, "Local error in processing."),
        Failure::Unsupported => (
            ReplyCode::NAME_NOT_ALLOWED,
            "Not supported on object storage (no append, resume, unique name or date change).",
        ),
        Failure::DataTlsFailed => (
            ReplyCode::DATA_TLS_FAILED,
            "TLS negotiation on the data connection failed.",
        ),
        Failure::DataTlsNotResumed => (
            ReplyCode::DATA_TLS_FAILED,
            "TLS session reuse required on the data connection.",
        ),
        Failure::MalformedData => (
            ReplyCode::LOCAL_ERROR,
            "The data did not follow the transfer's MODE and STRU; nothing stored.",
        ),
        Failure::TooManyMatches => (
            ReplyCode::FILE_UNAVAILABLE,
            "Too many matches for the pattern; narrow it.",
        ),
    }
}

/// TYPE as the 150 and STAT texts name it.
pub(super) fn mode_name(representation: Representation) -> &'static str {
    match representation {
        Representation::Ascii => "ASCII",
        Representation::Ebcdic => "EBCDIC",
        Representation::Image => "BINARY",
    }
}

/// STRU as STAT names it.
pub(super) fn structure_letter(structure: Structure) -> char {
    match structure {
        Structure::File => 'F',
        Structure::Record => 'R',
    }
}

/// MODE as STAT names it.
pub(super) fn mode_letter(mode: Mode) -> char {
    match mode {
        Mode::Stream => 'S',
        Mode::Block => 'B',
        Mode::Compressed => 'C',
        Mode::Deflate => 'Z',
    }
}
